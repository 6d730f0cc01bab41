"""Start and stop real server processes for tests, and wait for conditions (never fixed sleeps)."""

from __future__ import annotations

import asyncio
import os
import re
import signal
import socket
import subprocess
import tempfile
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path

from operations.stack.redis_server import find_redis_server
from operations.stack.supervisor import redis_answers as redis_ready  # PONG, not only open


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on right now."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def wait_until(
    predicate: Callable[[], bool], timeout: float = 10.0, what: str = "condition"
) -> None:
    """Poll ``predicate`` until it is true; fail with ``what`` after ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    delay = 0.005
    while True:
        if predicate():
            return
        if time.monotonic() > deadline:
            raise TimeoutError(f"timed out after {timeout}s waiting for {what}")
        time.sleep(delay)
        delay = min(delay * 2, 0.1)


async def async_wait_until(
    predicate: Callable[[], Awaitable[bool]], timeout: float = 10.0, what: str = "condition"
) -> None:
    """Async twin of :func:`wait_until`."""
    deadline = time.monotonic() + timeout
    delay = 0.005
    while True:
        if await predicate():
            return
        if time.monotonic() > deadline:
            raise TimeoutError(f"timed out after {timeout}s waiting for {what}")
        await asyncio.sleep(delay)
        delay = min(delay * 2, 0.1)


def wait_for_line(
    proc: subprocess.Popen[bytes],
    log_path: str | os.PathLike[str],
    pattern: str,
    timeout: float = 20.0,
    what: str = "ready line",
) -> re.Match[str]:
    """Wait until ``proc`` itself writes a line matching ``pattern`` to its own log (its
    stdout/stderr); RuntimeError if it exits first. Readiness then comes from the process we
    started, not from a port that another process may hold (or a port bound before the
    process failed its start-up)."""
    regex = re.compile(pattern)
    found: list[re.Match[str]] = []

    def seen() -> bool:
        try:
            with open(log_path, errors="replace") as f:
                match = regex.search(f.read())
        except OSError:
            match = None
        if match:
            found.append(match)
            return True
        return proc.poll() is not None

    wait_until(seen, timeout, what)
    if not found:
        raise RuntimeError(f"process {proc.pid} exited {proc.returncode} before its {what}")
    return found[0]


def listens_on(pid: int, port: int) -> bool:
    """True if process ``pid`` itself holds the socket listening on IPv4 ``port`` (Linux /proc):
    a port that answers may belong to someone else."""
    inode = None
    for line in Path("/proc/net/tcp").read_text().splitlines()[1:]:
        fields = line.split()
        if fields[3] == "0A" and int(fields[1].split(":")[1], 16) == port:  # 0A: LISTEN
            inode = fields[9]
            break
    if inode is None:
        return False
    try:
        fds = list(Path(f"/proc/{pid}/fd").iterdir())
    except OSError:
        return False
    for fd in fds:
        try:
            if os.readlink(fd) == f"socket:[{inode}]":
                return True
        except OSError:
            continue
    return False


@dataclass
class RedisServer:
    """A private Redis server on a free port, stopped by PID. Nothing kept on disk unless ``aof``.

    The binary is ``operations.stack.redis_server.find_redis_server()``'s: ``redis-server`` from the
    PATH, else the embedded valkey-server (``ORDERGATE_REDIS_SERVER=embedded`` forces that one).
    """

    port: int = 0
    aof: bool = False
    extra: list[str] = field(default_factory=list)
    proc: subprocess.Popen[bytes] | None = None
    dir: str = ""

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> RedisServer:
        server = find_redis_server().path
        if not self.port:
            self.port = free_port()
        if not self.dir:
            self.dir = tempfile.mkdtemp(prefix="og-redis-")
        args = [
            server,
            "--bind",
            "127.0.0.1",
            "--port",
            str(self.port),
            "--dir",
            self.dir,
            "--save",
            "",
            "--daemonize",
            "no",
            "--logfile",
            os.path.join(self.dir, "redis.log"),
        ]
        if self.aof:
            args += ["--appendonly", "yes", "--appendfsync", "always"]
        else:
            args += ["--appendonly", "no"]
        args += self.extra
        self.proc = subprocess.Popen(args, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        wait_until(lambda: redis_ready(self.port), 20, f"redis-server ready on port {self.port}")
        return self

    def stop(self, sig: int = signal.SIGTERM) -> None:
        if self.proc and self.proc.poll() is None:
            self.proc.send_signal(sig)
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(5)
        self.proc = None

    def kill(self) -> None:
        """SIGKILL: no AOF flush, no clean shutdown; only what ``appendfsync`` already made
        durable survives. The port and the AOF directory stay for :meth:`start`."""
        self.stop(signal.SIGKILL)

    def restart(self, sig: int = signal.SIGTERM) -> None:
        """Stop with ``sig`` (SIGTERM: graceful, SIGKILL: a crash), start on the same port and
        directory (so the AOF is loaded again)."""
        self.stop(sig)
        self.start()
