"""Drive a FIX peer in its own process from a test: QuickFIX (:mod:`qf_peer`) or ours (:mod:`og_peer`).

Both speak the same JSON-lines protocol on stdin/stdout, so a test drives either engine the same
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
from collections.abc import Callable
from pathlib import Path
from typing import Any

from support.tls import self_signed_cert

ROOT = Path(__file__).resolve().parents[2]
QF_SCRIPT = Path(__file__).with_name("qf_peer.py")
OG_SCRIPT = Path(__file__).with_name("og_peer.py")
QUICKFIX_FIX44 = ROOT / ".venv" / "share" / "quickfix" / "FIX44.xml"

Event = dict[str, Any]


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
        self.wait_for(lambda e: e["ev"] == "started", 15, f"{self.role} start")

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

    def wait_for(
        self,
        predicate: Callable[[Event], bool],
        timeout: float = 10.0,
        what: str = "event",
        start: int = 0,
    ) -> Event:
        deadline = time.monotonic() + timeout
        with self._cond:
            while True:
                for event in self.events[start:]:
                    if predicate(event):
                        return event
                left = deadline - time.monotonic()
                if left <= 0 or self.proc.poll() is not None:
                    tail = self.events[-6:]
                    raise TimeoutError(
                        f"QuickFIX {self.role}: no {what} within {timeout}s "
                        f"(exit {self.proc.poll()}); last events: {tail}"
                    )
                self._cond.wait(min(left, 0.2))

    def wait_count(
        self, predicate: Callable[[Event], bool], n: int, timeout: float = 20.0, what: str = ""
    ) -> None:
        deadline = time.monotonic() + timeout
        with self._cond:
            while True:
                got = sum(1 for e in self.events if predicate(e))
                if got >= n:
                    return
                left = deadline - time.monotonic()
                if left <= 0 or self.proc.poll() is not None:
                    raise TimeoutError(
                        f"QuickFIX {self.role}: {got}/{n} {what} within {timeout}s; "
                        f"last events: {self.events[-4:]}"
                    )
                self._cond.wait(min(left, 0.2))

    def wait_until(self, check: Callable[[], bool], timeout: float = 20.0, what: str = "") -> None:
        """Wait until ``check()`` (re-evaluated at every new event) is true."""
        deadline = time.monotonic() + timeout
        with self._cond:
            while not check():
                left = deadline - time.monotonic()
                if left <= 0 or self.proc.poll() is not None:
                    raise TimeoutError(f"{self.role}: not {what} within {timeout}s")
                self._cond.wait(min(left, 0.2))

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

    def app_keys(self, msg_type: str) -> list[str]:
        """Keys (ClOrdID / ExecID) of inbound application messages, in delivery order."""
        return [e["key"] for e in self.select("app_in", msg_type)]

    def session_rejects_sent(self) -> list[Event]:
        """Session-level Rejects (35=3) QuickFIX sent: each is a message it found malformed."""
        return self.select("admin_out", "3")

    def problems(self) -> list[Event]:
        """Rejects in either direction, BusinessMessageRejects, and errors inside QuickFIX callbacks."""
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

    def command(self, timeout: float = 30.0, **cmd: Any) -> Event:
        cmd["id"] = next(self._ids)
        start = self.mark()
        assert self.proc.stdin is not None
        self.proc.stdin.write(json.dumps(cmd) + "\n")
        self.proc.stdin.flush()
        return self.wait_for(
            lambda e: e["ev"] == "answer" and e.get("id") == cmd["id"],
            timeout,
            f"answer to {cmd['op']}",
            start,
        )

    def command_nowait(self, **cmd: Any) -> int:
        """Send a command without waiting for its answer; returns its id."""
        cmd["id"] = next(self._ids)
        assert self.proc.stdin is not None
        self.proc.stdin.write(json.dumps(cmd) + "\n")
        self.proc.stdin.flush()
        return int(cmd["id"])

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
                assert self.proc.stdin is not None
                self.proc.stdin.write(json.dumps({"op": "stop", "force": force}) + "\n")
                self.proc.stdin.flush()
                self.proc.wait(10)
            except (OSError, subprocess.TimeoutExpired):
                os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait(5)
        if self.proc.stdin:
            try:
                self.proc.stdin.close()
            except OSError:
                pass
        self._reader.join(5)

    def kill(self) -> None:
        """SIGKILL the peer's process group: no Logout, no flush, nothing."""
        if self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGKILL)
            self.proc.wait(5)
        self._reader.join(5)


class QuickFix(PeerProcess):
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
    ) -> None:
        self.role = f"QuickFIX {role}"
        self.workdir = workdir
        args = [sys.executable, str(QF_SCRIPT), "--role", role, "--port", str(port)]
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
        self._spawn(args)


class OurPeer(PeerProcess):
    """Our engine (``connector.fix``) as initiator or acceptor, memory or Redis store."""

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
        args = [sys.executable, str(OG_SCRIPT), "--role", role, "--port", str(port)]
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


def tls_files(directory: Path) -> tuple[Path, Path]:
    """A self-signed certificate for localhost / 127.0.0.1 and its key, as PEM files that
    quickfix-ssl can load."""
    return self_signed_cert(directory)
