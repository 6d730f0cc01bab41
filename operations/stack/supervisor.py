"""The I/O shell of ``ordergate up``: start children, wait until each is ready, watch them, stop
them. Synchronous and single-threaded on purpose: signals and child exits wake one ``select``
through ``signal.set_wakeup_fd``, so there is no watcher thread and ``preexec_fn`` is safe.

Process model: every child runs in ONE process group of its own (the stack's group; the first
child leads it, the others join it), not in the group of ``ordergate up``. So a Ctrl-C typed at
the terminal reaches only ``ordergate up``, which then stops the children in order (API workers
and the connector first, so the connector logs out while the simulator still listens; Redis
last). Each child is stopped by PID (SIGTERM, then SIGKILL after a deadline), and the group is
SIGKILLed at the end, so nothing a child started survives. Every child also gets
``PR_SET_PDEATHSIG`` = SIGTERM: if ``ordergate up`` itself is SIGKILLed, the kernel stops them.
"""

from __future__ import annotations

import ctypes
import json
import os
import select
import signal
import socket
import subprocess
import time
import urllib.error
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

from gateway.keys import OUR_COMP_ID
from operations.stack.plan import ChildSpec, tail

_PR_SET_PDEATHSIG = 1
try:
    _LIBC: Any = ctypes.CDLL(None, use_errno=True)
except OSError:  # pragma: no cover - not Linux
    _LIBC = None

# loopback only: never send these through an HTTP proxy from the environment
_OPENER = urllib.request.build_opener(urllib.request.ProxyHandler({}))


class StackError(Exception):
    """The stack cannot start or keep running; the message names the child and shows its log."""


def _die_with_parent(parent: int) -> Callable[[], None]:
    def preexec() -> None:
        if _LIBC is not None:
            _LIBC.prctl(_PR_SET_PDEATHSIG, signal.SIGTERM)
        if os.getppid() != parent:  # the parent died before prctl took effect
            os._exit(1)

    return preexec


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def port_free(port: int) -> bool:
    with socket.socket() as s:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            s.bind(("127.0.0.1", port))
        except OSError:
            return False
        return True


def port_open(port: int, host: str = "127.0.0.1") -> bool:
    try:
        with socket.create_connection((host, port), timeout=0.3):
            return True
    except OSError:
        return False


def redis_answers(port: int, host: str = "127.0.0.1") -> bool:
    """PONG, not merely an open port (Redis refuses commands while it loads its AOF)."""
    try:
        with socket.create_connection((host, port), timeout=0.5) as s:
            s.sendall(b"PING\r\n")
            return s.recv(64).startswith(b"+PONG")
    except OSError:
        return False


def http_json(
    method: str, url: str, body: Any = None, token: str | None = None, timeout: float = 5.0
) -> tuple[int, Any]:
    """One JSON request with the standard library (the stack needs no HTTP client package)."""
    data = None if body is None else json.dumps(body).encode()
    req = urllib.request.Request(url, data=data, method=method)
    if data is not None:
        req.add_header("Content-Type", "application/json")
    if token:
        req.add_header("Authorization", f"Bearer {token}")
    try:
        with _OPENER.open(req, timeout=timeout) as resp:
            raw = resp.read()
            return resp.status, json.loads(raw) if raw else None
    except urllib.error.HTTPError as exc:
        raw = exc.read()
        try:
            return exc.code, json.loads(raw) if raw else None
        except ValueError:
            return exc.code, raw.decode(errors="replace")


def http_ok(url: str) -> bool:
    try:
        return http_json("GET", url, timeout=1.0)[0] == 200
    except (OSError, ValueError):
        return False


def simulator_session(control_port: int, venue: str) -> dict[str, Any] | None:
    """The simulator's view of our FIX session (None while unreachable)."""
    try:
        status, state = http_json("GET", f"http://127.0.0.1:{control_port}/state", timeout=1.0)
    except (OSError, ValueError):
        return None
    if status != 200 or not isinstance(state, dict):
        return None
    for s in state.get("sessions", []):
        if s.get("target_comp_id") == OUR_COMP_ID and s.get("sender_comp_id") == venue:
            return dict(s)
    return None


@dataclass
class Child:
    spec: ChildSpec
    log_path: Path
    proc: subprocess.Popen[bytes] | None = None
    _log: IO[bytes] | None = None

    @property
    def name(self) -> str:
        return self.spec.name

    @property
    def pid(self) -> int:
        assert self.proc is not None
        return self.proc.pid

    def start(self, process_group: int) -> None:
        self._log = open(self.log_path, "ab")  # noqa: SIM115 - closed in close()
        env = {**os.environ, "PYTHONUNBUFFERED": "1", **self.spec.env}
        try:
            self.proc = subprocess.Popen(
                self.spec.argv,
                stdin=subprocess.DEVNULL,
                stdout=self._log,
                stderr=subprocess.STDOUT,
                env=env,
                process_group=process_group,
                preexec_fn=_die_with_parent(os.getpid()),
            )
        except BaseException:
            self.close()
            raise

    def exited(self) -> int | None:
        return None if self.proc is None else self.proc.poll()

    def log_tail(self, lines: int = 15) -> str:
        try:
            return tail(self.log_path.read_text(errors="replace"), lines)
        except OSError:
            return "    | (no log)"

    def close(self) -> None:
        if self._log is not None:
            self._log.close()
            self._log = None


@dataclass
class Supervisor:
    """Starts the children into one process group, waits for readiness, watches, stops."""

    log_dir: Path
    children: list[Child] = field(default_factory=list)
    pgid: int = 0
    stop_requested: int = 0  # the signal that asked us to stop
    _wake_r: int = -1
    _wake_w: int = -1
    _old: dict[int, Any] = field(default_factory=dict)

    # --- signals -------------------------------------------------------------------------
    def install_signals(self) -> None:
        self._wake_r, self._wake_w = os.pipe()
        os.set_blocking(self._wake_r, False)
        os.set_blocking(self._wake_w, False)
        signal.set_wakeup_fd(self._wake_w, warn_on_full_buffer=False)
        for sig in (signal.SIGINT, signal.SIGTERM):
            self._old[sig] = signal.signal(sig, self._on_stop)
        self._old[signal.SIGCHLD] = signal.signal(signal.SIGCHLD, lambda *_: None)

    def _on_stop(self, signum: int, _frame: object) -> None:
        self.stop_requested = signum

    def restore_signals(self) -> None:
        for sig, handler in self._old.items():
            signal.signal(sig, handler)
        signal.set_wakeup_fd(-1)
        for fd in (self._wake_r, self._wake_w):
            if fd >= 0:
                os.close(fd)
        self._wake_r = self._wake_w = -1

    def sleep(self, seconds: float) -> None:
        """Wait up to ``seconds``, waking at once on a signal or a child exit."""
        if self._wake_r < 0:
            time.sleep(seconds)
            return
        ready, _, _ = select.select([self._wake_r], [], [], seconds)
        if ready:
            try:
                while os.read(self._wake_r, 512):
                    pass
            except BlockingIOError:
                pass

    # --- children ------------------------------------------------------------------------
    def start(self, spec: ChildSpec) -> Child:
        child = Child(spec, self.log_dir / f"{spec.name}.log")
        try:
            child.start(self.pgid)
        except PermissionError:
            # the group is gone (every earlier child exited): this child leads a new one
            child.start(0)
            self.pgid = child.pid
        except OSError as exc:
            child.close()
            raise StackError(f"cannot start {spec.name} ({spec.argv[0]}): {exc}") from None
        if self.pgid == 0:
            self.pgid = child.pid
        self.children.append(child)
        return child

    def wait_ready(
        self, child: Child, ready: Callable[[], bool], deadline: float, what: str
    ) -> None:
        """Poll ``ready`` until true; a StackError naming the child if it exits, the deadline
        passes, or a stop is requested."""
        delay = 0.02
        while True:
            if self.stop_requested:
                raise StackError(f"stopped by signal {self.stop_requested} during start-up")
            code = child.exited()
            if code is not None:
                raise StackError(
                    f"{child.name} (pid {child.pid}) exited with status {code} before it was "
                    f"ready ({what}); last lines of {child.log_path}:\n{child.log_tail()}"
                )
            if ready():
                return
            if time.monotonic() > deadline:
                raise StackError(
                    f"{child.name} (pid {child.pid}) not ready: {what} did not happen within "
                    f"the start-up deadline; last lines of {child.log_path}:\n{child.log_tail()}"
                )
            self.sleep(delay)
            delay = min(delay * 2, 0.2)

    def first_dead(self) -> Child | None:
        return next((c for c in self.children if c.exited() is not None), None)

    def watch(self) -> Child | None:
        """Block until a stop signal (None) or a child exits (that child)."""
        while not self.stop_requested:
            dead = self.first_dead()
            if dead is not None:
                return dead
            self.sleep(1.0)
        return None

    def stop_all(self, grace: float = 10.0) -> None:
        """Stop children by PID in their stop order, then SIGKILL whatever is left in the group."""
        for order in sorted({c.spec.stop_order for c in self.children}):
            batch = [c for c in self.children if c.spec.stop_order == order and c.proc]
            for c in batch:
                if c.exited() is None:
                    _signal(c.pid, signal.SIGTERM)
            deadline = time.monotonic() + grace
            for c in batch:
                assert c.proc is not None
                try:
                    c.proc.wait(max(0.0, deadline - time.monotonic()))
                except subprocess.TimeoutExpired:
                    _signal(c.pid, signal.SIGKILL)
                    c.proc.wait(5)
        if self.pgid:
            try:
                os.killpg(self.pgid, signal.SIGKILL)
            except (ProcessLookupError, PermissionError):
                pass
        for c in self.children:
            c.close()


def _signal(pid: int, sig: int) -> None:
    try:
        os.kill(pid, sig)
    except ProcessLookupError:
        pass
