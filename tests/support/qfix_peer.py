"""Drive :mod:`qfix_initiator` (a real QuickFIX initiator in its own process) from a test."""

from __future__ import annotations

import itertools
import json
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]
SCRIPT = Path(__file__).with_name("qfix_initiator.py")
QUICKFIX_FIX44 = ROOT / ".venv" / "share" / "quickfix" / "FIX44.xml"

Event = dict[str, Any]


class QuickFixPeer:
    """One QuickFIX initiator session; every event it reports is kept in ``events``."""

    def __init__(
        self,
        port: int,
        workdir: Path,
        sender: str = "ORDERGATE",
        target: str = "TSE",
        heartbeat: int = 30,
        reset_on_logon: bool = True,
        password: str | None = None,
        username: str | None = None,
    ) -> None:
        args = [
            sys.executable,
            str(SCRIPT),
            "--port",
            str(port),
            "--sender",
            sender,
            "--target",
            target,
            "--dir",
            str(workdir),
            "--dictionary",
            str(QUICKFIX_FIX44),
            "--heartbeat",
            str(heartbeat),
        ]
        if reset_on_logon:
            args.append("--reset-on-logon")
        if password:
            args += ["--password", password]
        if username:
            args += ["--username", username]
        self.events: list[Event] = []
        self._cond = threading.Condition()
        self._ids = itertools.count(1)
        self.proc = subprocess.Popen(
            args, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True, bufsize=1
        )
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()

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

    # --- waiting -------------------------------------------------------------------------

    def wait_for(
        self,
        predicate: Callable[[Event], bool],
        timeout: float = 10.0,
        what: str = "event",
        start: int = 0,
    ) -> Event:
        """The first event from index ``start`` on that satisfies ``predicate``."""
        deadline = time.monotonic() + timeout
        with self._cond:
            while True:
                for event in self.events[start:]:
                    if predicate(event):
                        return event
                left = deadline - time.monotonic()
                if left <= 0 or self.proc.poll() is not None:
                    tail = self.events[-8:]
                    raise TimeoutError(f"QuickFIX peer: no {what} within {timeout}s; last: {tail}")
                self._cond.wait(min(left, 0.2))

    def mark(self) -> int:
        """Index to pass as ``start`` to wait only for events after now."""
        with self._cond:
            return len(self.events)

    def wait_logon(self, timeout: float = 10.0, start: int = 0) -> Event:
        return self.wait_for(lambda e: e["ev"] == "logon", timeout, "logon", start)

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
        with self._cond:
            return [
                dict(e["fields"])
                for e in self.events
                if e["ev"] == "app_in" and (msg_type is None or e["msg_type"] == msg_type)
            ]

    def session_rejects(self) -> list[Event]:
        """Session-level Rejects (35=3) in either direction, and QuickFIX errors in callbacks."""
        with self._cond:
            return [
                e
                for e in self.events
                if (e["ev"] in ("admin_in", "admin_out") and e["msg_type"] == "3")
                or e["ev"] == "error"
            ]

    def count(self, ev: str, msg_type: str | None = None) -> int:
        with self._cond:
            return sum(
                1
                for e in self.events
                if e["ev"] == ev and (msg_type is None or e.get("msg_type") == msg_type)
            )

    # --- commands ------------------------------------------------------------------------

    def _command(self, **cmd: Any) -> Event:
        cmd["id"] = next(self._ids)
        start = self.mark()
        assert self.proc.stdin is not None
        self.proc.stdin.write(json.dumps(cmd) + "\n")
        self.proc.stdin.flush()
        return self.wait_for(
            lambda e: e.get("id") == cmd["id"], 10, f"answer to {cmd['op']}", start
        )

    def send(
        self,
        msg_type: str,
        fields: list[tuple[int, str]],
        header: list[tuple[int, str]] | None = None,
    ) -> bool:
        """Send an application message; ``header`` adds header fields (e.g. PossDupFlag)."""
        answer = self._command(op="send", msg_type=msg_type, fields=fields, header=header or [])
        return bool(answer["ok"])

    def seq(self) -> Event:
        return self._command(op="seq")

    def logout(self) -> None:
        self._command(op="logout")

    def logon(self) -> None:
        self._command(op="logon")

    def stop(self, graceful: bool = False) -> None:
        """End the peer. Not graceful (the default, fast): the process is killed and the line
        drops. Graceful: Logout first (QuickFIX sends it at its next one-second timer tick)."""
        if self.proc.poll() is None and not graceful:
            self.proc.kill()
            self.proc.wait(5)
        if self.proc.poll() is None:
            try:
                assert self.proc.stdin is not None
                self.proc.stdin.write(json.dumps({"op": "stop"}) + "\n")
                self.proc.stdin.flush()
                self.proc.wait(15)
            except (OSError, subprocess.TimeoutExpired):
                self.proc.kill()
                self.proc.wait(5)

    # --- order helpers (FIX 4.4 field order as QuickFIX's FIX44.xml expects) ------------

    @staticmethod
    def transact_time() -> str:
        return time.strftime("%Y%m%d-%H:%M:%S", time.gmtime()) + ".000"

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
        ord_type = ord_type or ("2" if price is not None else "1")
        fields: list[tuple[int, str]] = [
            (11, cl_ord_id),
            (21, "1"),
            (55, symbol),
            (54, side),
            (60, self.transact_time()),
            (38, str(qty)),
            (40, ord_type),
        ]
        if price is not None:
            fields.append((44, price))
        fields.append((59, tif))
        fields += extra or []
        header = [(43, "Y"), (122, self.transact_time())] if poss_dup else None
        return self.send("D", fields, header)

    def cancel(self, cl_ord_id: str, orig: str, symbol: str, side: str, qty: int) -> bool:
        return self.send(
            "F",
            [
                (41, orig),
                (11, cl_ord_id),
                (55, symbol),
                (54, side),
                (60, self.transact_time()),
                (38, str(qty)),
            ],
        )

    def replace(
        self,
        cl_ord_id: str,
        orig: str,
        symbol: str,
        side: str,
        qty: int,
        price: str,
    ) -> bool:
        return self.send(
            "G",
            [
                (41, orig),
                (11, cl_ord_id),
                (21, "1"),
                (55, symbol),
                (54, side),
                (60, self.transact_time()),
                (38, str(qty)),
                (40, "2"),
                (44, price),
            ],
        )

    def status(self, cl_ord_id: str, symbol: str, side: str) -> bool:
        return self.send("H", [(11, cl_ord_id), (55, symbol), (54, side)])
