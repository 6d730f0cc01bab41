"""Start a real ``ordergate simulator`` process for a test, talk to its control API, stop it."""

from __future__ import annotations

import contextlib
import json
import os
import signal
import subprocess
import sys
import tempfile
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from .procs import wait_for_line, wait_until
from .qfix_peer import QuickFixPeer

ROOT = Path(__file__).resolve().parents[2]


#: what the simulator logs once it listens and its books are loaded (simulators/exchange/server.py)
READY_LINE = r"simulator \S+: FIX on \S+:(\d+), control API on http://\S+:(\d+)"


class SimulatorProcess:
    """``ordergate simulator``; ``args`` are extra command-line flags.

    Its ports are chosen by the simulator itself (``--port 0``) unless set before ``start``, and
    read back from the line it logs when its start-up is complete: no port picked here can be
    taken by another process meanwhile, and a simulator that binds and then fails its start-up
    (a bad book file) is never reported ready."""

    def __init__(self, *args: str, config: str | None = None, workdir: Path | None = None) -> None:
        self.port = 0
        self.control_port = 0
        self.args = list(args)
        self.config = config
        self.workdir = workdir
        self.proc: subprocess.Popen[bytes] | None = None
        self.log_path: Path | None = None

    def start(self, timeout: float = 20.0) -> SimulatorProcess:
        cmd = [
            sys.executable,
            "-m",
            "gateway.cli",
            "simulator",
            "--port",
            str(self.port),
            "--control-port",
            str(self.control_port),
            *self.args,
        ]
        if self.config is not None:
            assert self.workdir is not None, "a config needs a workdir"
            path = self.workdir / "simulator.toml"
            path.write_text(self.config)
            cmd += ["--config", str(path)]
        fd, log_path = tempfile.mkstemp(
            prefix="simulator-", suffix=".log", dir=self.workdir or None
        )
        self.log_path = Path(log_path)
        self._log = os.fdopen(fd, "wb")  # closed in stop()
        self.proc = subprocess.Popen(cmd, cwd=ROOT, stdout=self._log, stderr=subprocess.STDOUT)
        try:
            ready = wait_for_line(self.proc, self.log_path, READY_LINE, timeout, "ready line")
        except RuntimeError:
            raise RuntimeError(f"simulator exited {self.proc.returncode}: {self.log()}") from None
        self.port, self.control_port = int(ready[1]), int(ready[2])
        return self

    def log(self) -> str:
        return self.log_path.read_text(errors="replace") if self.log_path else ""

    def stop(self) -> int | None:
        code = None
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                code = self.proc.wait(15)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                code = self.proc.wait(5)
        elif self.proc is not None:
            code = self.proc.returncode
        if getattr(self, "_log", None) is not None:
            self._log.close()
        return code

    # --- control API ---------------------------------------------------------------------

    def call(self, method: str, path: str, body: Any = None) -> tuple[int, Any]:
        data = None if body is None else json.dumps(body).encode()
        req = urllib.request.Request(
            f"http://127.0.0.1:{self.control_port}{path}", data=data, method=method
        )
        req.add_header("Content-Type", "application/json")
        try:
            with urllib.request.urlopen(req, timeout=10) as resp:
                return resp.status, json.loads(resp.read())
        except urllib.error.HTTPError as exc:
            return exc.code, json.loads(exc.read() or b"null")

    def get(self, path: str) -> Any:
        status, body = self.call("GET", path)
        assert status == 200, (status, body)
        return body

    def post(self, path: str, body: Any) -> Any:
        status, answer = self.call("POST", path, body)
        assert status == 200, (status, answer)
        return answer

    def session_state(self, name: str | None = None) -> dict[str, Any]:
        sessions = self.get("/state")["sessions"]
        if name is None:
            assert len(sessions) == 1
            return dict(sessions[0])
        return next(s for s in sessions if name in (s["session"], s["target_comp_id"]))

    def order(self, cl_ord_id: str) -> dict[str, Any] | None:
        for row in self.get("/orders")["orders"]:
            if row["cl_ord_id"] == cl_ord_id:
                return dict(row)
        return None


def quickfix_initiator(sim: SimulatorProcess, workdir: Path, **peer_args: Any) -> QuickFixPeer:
    """A QuickFIX initiator towards ``sim`` (not waited for): ORDERGATE -> TSE, 30 s heartbeats and
    ResetOnLogon=Y (a fresh file store each time) unless ``peer_args`` say otherwise."""
    args: dict[str, Any] = {"sender": "ORDERGATE", "target": "TSE", "reset_on_logon": True}
    return QuickFixPeer("initiator", sim.port, workdir, **(args | peer_args))


@contextlib.contextmanager
def logged_on_peer(
    sim: SimulatorProcess, workdir: Path, **peer_args: Any
) -> Iterator[QuickFixPeer]:
    """A QuickFIX initiator logged on to ``sim``; on exit it is killed, the simulator has seen the
    line drop, and the test is failed if any session-level Reject was exchanged."""
    peer = quickfix_initiator(sim, workdir, **peer_args)
    try:
        peer.wait_logon()
        yield peer
        assert peer.session_rejects() == [], "session-level Rejects were exchanged"
    finally:
        peer.kill()
        wait_until(
            lambda: not sim.session_state(peer.sender)["logged_on"], 10, "simulator to see the drop"
        )
