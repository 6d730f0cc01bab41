"""Drive a FIX peer in its own process from a test: QuickFIX (:mod:`qfix_process`) or our engine
(``tests/interop/og_peer.py``).

Both speak the JSON-lines protocol of :mod:`qfix_protocol`, so a test drives either engine the same
way; every event a peer reports is kept, in order, for the test to wait on and inspect.
"""

from __future__ import annotations

import itertools
import json
import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any, TypeVar

from .qfix_protocol import new_order_fields, utc_timestamp

ROOT = Path(__file__).resolve().parents[2]
QUICKFIX_SCRIPT = Path(__file__).with_name("qfix_process.py")
OUR_SCRIPT = ROOT / "tests" / "interop" / "og_peer.py"
QUICKFIX_FIX44 = ROOT / ".venv" / "share" / "quickfix" / "FIX44.xml"

Event = dict[str, Any]
Fields = Sequence[Sequence[object]]  # [(tag, value), ...]
T = TypeVar("T")


class PeerProcess:
    """One FIX session in a subprocess (its own process group, so it can be killed cleanly)."""

    role: str
    workdir: Path | None = None

    def _spawn(self, args: list[str]) -> None:
        self.events: list[Event] = []
        self._cond = threading.Condition()
        self._ids = itertools.count(1)
        self.proc = subprocess.Popen(
            args,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
            bufsize=1,
            start_new_session=True,
        )
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()
        self.wait_for(lambda e: e["ev"] == "started", 15, "start")

    def _read(self) -> None:
        assert self.proc.stdout is not None
        for line in self.proc.stdout:
            try:
                event = json.loads(line)
            except ValueError:
                continue
            with self._cond:
                self.events.append(event)
                self._cond.notify_all()
        with self._cond:
            self._cond.notify_all()

    # -- waiting ------------------------------------------------------------------------------

    def mark(self) -> int:
        """Index to pass as ``start`` to wait only for events after now."""
        with self._cond:
            return len(self.events)

    def _wait(self, found: Callable[[], T | None], timeout: float, what: str) -> T:
        """Re-evaluate ``found`` at every new event until it is not None; fail after ``timeout``
        or as soon as the process has exited."""
        deadline = time.monotonic() + timeout
        with self._cond:
            while True:
                result = found()
                if result is not None:
                    return result
                left = deadline - time.monotonic()
                if left <= 0 or self.proc.poll() is not None:
                    raise TimeoutError(
                        f"{self.role}: no {what} within {timeout}s (exit {self.proc.poll()}); "
                        f"last events: {self.events[-6:]}"
                    )
                self._cond.wait(min(left, 0.2))

    def wait_for(
        self,
        predicate: Callable[[Event], bool],
        timeout: float = 10.0,
        what: str = "event",
        start: int = 0,
    ) -> Event:
        """The first event from index ``start`` on that satisfies ``predicate``."""
        return self._wait(
            lambda: next((e for e in self.events[start:] if predicate(e)), None), timeout, what
        )

    def wait_count(
        self, predicate: Callable[[Event], bool], n: int, timeout: float = 20.0, what: str = ""
    ) -> None:
        """Wait until ``n`` events satisfy ``predicate``."""

        def enough() -> bool | None:
            return sum(1 for e in self.events if predicate(e)) >= n or None

        self._wait(enough, timeout, f"{n} x {what}")

    def wait_until(self, check: Callable[[], bool], timeout: float = 20.0, what: str = "") -> None:
        """Wait until ``check()`` (re-evaluated at every new event) is true."""
        self._wait(lambda: check() or None, timeout, what)

    def wait_logon(self, timeout: float = 15.0, start: int = 0) -> Event:
        return self.wait_for(lambda e: e["ev"] == "logon", timeout, "logon", start)

    def wait_logout(self, timeout: float = 15.0, start: int = 0) -> Event:
        return self.wait_for(lambda e: e["ev"] == "logout", timeout, "logout", start)

    def wait_app_in(self, n: int, msg_type: str, timeout: float = 30.0) -> None:
        self.wait_count(
            lambda e: e["ev"] == "app_in" and e["msg_type"] == msg_type,
            n,
            timeout,
            f"inbound {msg_type}",
        )

    # -- what happened ----------------------------------------------------------------------

    def select(self, ev: str, msg_type: str | None = None) -> list[Event]:
        with self._cond:
            return [
                e
                for e in self.events
                if e["ev"] == ev and (msg_type is None or e.get("msg_type") == msg_type)
            ]

    def count(self, ev: str, msg_type: str | None = None) -> int:
        return len(self.select(ev, msg_type))

    def app_keys(self, msg_type: str) -> list[str]:
        """Keys (ClOrdID / ExecID) of inbound application messages, in delivery order."""
        return [e["key"] for e in self.select("app_in", msg_type)]

    def session_rejects(self) -> list[Event]:
        """Session-level Rejects (35=3) in either direction, and errors inside the peer."""
        return [e for e in self.problems() if e.get("msg_type") != "j"]

    def session_rejects_sent(self) -> list[Event]:
        """Session-level Rejects (35=3) this peer sent: each is a message it found malformed."""
        return self.select("admin_out", "3")

    def problems(self) -> list[Event]:
        """Rejects in either direction, BusinessMessageRejects, and errors inside the peer."""
        with self._cond:
            return [
                e
                for e in self.events
                if e["ev"] == "error"
                or (e["ev"] in ("admin_in", "admin_out") and e.get("msg_type") == "3")
                or (e["ev"] in ("app_in", "app_out") and e.get("msg_type") == "j")
            ]

    def resets_received(self) -> list[Event]:
        """Inbound SequenceReset-Reset (no GapFill) or Logon with ResetSeqNumFlag=Y."""
        out = []
        for e in self.select("admin_in"):
            f = e["fields"]
            if (e["msg_type"] == "4" and f.get("123") != "Y") or (
                e["msg_type"] == "A" and f.get("141") == "Y"
            ):
                out.append(e)
        return out

    def logs(self) -> str:
        """QuickFIX's own message and event logs (for failure messages)."""
        out: list[str] = []
        if self.workdir is None:
            return ""
        for p in sorted((self.workdir / "log").glob("*.log")):
            out.append(f"--- {p.name}\n{p.read_text(errors='replace')[-4000:]}")
        return "\n".join(out)

    # -- commands -----------------------------------------------------------------------------

    def command_nowait(self, **cmd: Any) -> int:
        """Send a command without waiting for its answer; returns its id."""
        cmd["id"] = next(self._ids)
        assert self.proc.stdin is not None
        self.proc.stdin.write(json.dumps(cmd) + "\n")
        self.proc.stdin.flush()
        return int(cmd["id"])

    def command(self, timeout: float = 30.0, **cmd: Any) -> Event:
        start = self.mark()
        cmd_id = self.command_nowait(**cmd)
        return self.wait_for(
            lambda e: e["ev"] == "answer" and e.get("id") == cmd_id,
            timeout,
            f"answer to {cmd['op']}",
            start,
        )

    def send_orders(self, count: int, prefix: str = "C") -> int:
        return int(self.command(op="orders", count=count, prefix=prefix)["sent"])

    def seq(self) -> Event:
        return self.command(op="seq")

    def logout(self) -> None:
        self.command(op="logout")

    def bench(self, count: int, window: int = 100) -> Event:
        return self.command(timeout=180, op="bench", count=count, window=window)

    def stop(self, force: bool = True) -> None:
        """Stop the peer (``force``: without a Logout), SIGKILL of its process group if it hangs."""
        if self.proc.poll() is None:
            try:
                self.command_nowait(op="stop", force=force)
                self.proc.wait(10)
            except (OSError, subprocess.TimeoutExpired):
                os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait(5)
        self._close()

    def kill(self) -> None:
        """SIGKILL the peer's process group: no Logout, no flush, the line just drops."""
        if self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGKILL)
            self.proc.wait(5)
        self._close()

    def _close(self) -> None:
        if self.proc.stdin:
            try:
                self.proc.stdin.close()
            except OSError:
                pass
        self._reader.join(5)


class QuickFixPeer(PeerProcess):
    """QuickFIX/C++ acceptor or initiator, validating everything against QuickFIX's FIX44.xml."""

    def __init__(
        self,
        role: str,
        port: int,
        workdir: Path,
        *,
        sender: str,
        target: str,
        heartbeat: int = 30,
        reset_on_logon: bool = False,
        store: str = "file",
        answer: bool = False,
        quiet: bool = False,
        log: bool = True,
        dictionary: Path = QUICKFIX_FIX44,
        tls: tuple[Path, Path] | None = None,
        username: str | None = None,
        password: str | None = None,
    ) -> None:
        self.role = f"QuickFIX {role}"
        self.workdir = workdir
        self.sender = sender
        args = [sys.executable, str(QUICKFIX_SCRIPT), "--role", role, "--port", str(port)]
        args += ["--sender", sender, "--target", target, "--dir", str(workdir)]
        args += ["--dictionary", str(dictionary), "--heartbeat", str(heartbeat), "--store", store]
        for flag, on in (
            ("--reset-on-logon", reset_on_logon),
            ("--answer", answer),
            ("--quiet", quiet),
            ("--log", log),
        ):
            if on:
                args.append(flag)
        if tls:
            args += ["--tls-cert", str(tls[0]), "--tls-key", str(tls[1])]
        if username:
            args += ["--username", username]
        if password:
            args += ["--password", password]
        self._spawn(args)

    def logon(self) -> None:
        self.command(op="logon")

    def send(self, msg_type: str, fields: Fields, header: Fields = ()) -> bool:
        """Send an application message; ``header`` adds header fields (e.g. PossDupFlag)."""
        answer = self.command(op="send", msg_type=msg_type, fields=fields, header=header)
        return bool(answer["ok"])

    def wait_app(
        self,
        predicate: Callable[[dict[str, str]], bool],
        timeout: float = 10.0,
        what: str = "application message",
        start: int = 0,
    ) -> dict[str, str]:
        """Fields of the first inbound application message matching ``predicate``."""
        event = self.wait_for(
            lambda e: e["ev"] == "app_in" and predicate(e["fields"]), timeout, what, start
        )
        return dict(event["fields"])

    def app_messages(self, msg_type: str | None = None) -> list[dict[str, str]]:
        """Fields of the inbound application messages (of ``msg_type``), in delivery order."""
        return [
            dict(e["fields"])
            for e in self.select("app_in")
            if msg_type is None or e["msg_type"] == msg_type
        ]

    # --- order messages (FIX 4.4 field order as QuickFIX's FIX44.xml expects) ----------------

    def new_order(
        self,
        cl_ord_id: str,
        symbol: str,
        side: str,
        qty: int,
        price: str | None = None,
        ord_type: str | None = None,
        tif: str = "0",
        extra: list[tuple[int, str]] | None = None,
        poss_dup: bool = False,
    ) -> bool:
        fields = new_order_fields(cl_ord_id, symbol, side, qty, price, ord_type, tif)
        header = [(43, "Y"), (122, utc_timestamp())] if poss_dup else []
        return self.send("D", fields + (extra or []), header)

    def cancel(self, cl_ord_id: str, orig: str, symbol: str, side: str, qty: int) -> bool:
        return self.send(
            "F",
            [
                (41, orig),
                (11, cl_ord_id),
                (55, symbol),
                (54, side),
                (60, utc_timestamp()),
                (38, str(qty)),
            ],
        )

    def replace(
        self, cl_ord_id: str, orig: str, symbol: str, side: str, qty: int, price: str
    ) -> bool:
        fields = new_order_fields(cl_ord_id, symbol, side, qty, price)[:-1]  # no TimeInForce
        return self.send("G", [(41, orig), *fields])

    def status(self, cl_ord_id: str, symbol: str, side: str) -> bool:
        return self.send("H", [(11, cl_ord_id), (55, symbol), (54, side)])


class OurPeer(PeerProcess):
    """Our engine (``fixengine``) as initiator or acceptor, memory or Redis store."""

    def __init__(
        self,
        role: str,
        port: int,
        *,
        sender: str,
        target: str,
        heartbeat: int = 30,
        store: str = "memory",
        redis_url: str = "",
        answer: bool = False,
        quiet: bool = False,
        tls: tuple[Path, Path] | None = None,
    ) -> None:
        self.role = f"ordergate {role}"
        args = [sys.executable, str(OUR_SCRIPT), "--role", role, "--port", str(port)]
        args += ["--sender", sender, "--target", target, "--heartbeat", str(heartbeat)]
        args += ["--store", store]
        if redis_url:
            args += ["--redis-url", redis_url]
        for flag, on in (("--answer", answer), ("--quiet", quiet)):
            if on:
                args.append(flag)
        if tls:
            args += ["--tls-cert", str(tls[0]), "--tls-key", str(tls[1])]
        self._spawn(args)
