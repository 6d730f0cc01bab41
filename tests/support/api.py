"""Run ``ordergate api`` as a real process on a free port, for end-to-end tests and benchmarks."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx

from gateway.auth import mint_token

from .procs import free_port, listens_on, wait_until

ROOT = Path(__file__).resolve().parents[2]
ORDERGATE = [sys.executable, "-m", "gateway.cli"]


def _ready(url: str) -> bool:
    try:
        return httpx.get(f"{url}/readyz", timeout=1.0).status_code == 200
    except httpx.HTTPError:
        return False


@dataclass
class ApiProcess:
    """One ``ordergate api`` process. ``url`` is its base URL; stopped by PID."""

    redis_url: str
    config: str | None = None
    extra: list[str] = field(default_factory=list)
    env: dict[str, str] = field(default_factory=dict)
    port: int = 0
    cpu: int | None = None  # pin to this core with taskset (benchmarks)
    http: str = "fast"  # ``--http``: the submit fast path, or uvicorn's standard protocol
    #: the command that runs ``ordergate`` (default: this interpreter on the source tree); any
    #: other command runs as installed, outside the source tree
    ordergate: list[str] = field(default_factory=lambda: list(ORDERGATE))
    proc: subprocess.Popen[bytes] | None = None
    log_path: str = ""

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def command(self) -> list[str]:
        cmd = [*self.ordergate, "api", "--host", "127.0.0.1", "--port", str(self.port)]
        cmd += ["--redis", self.redis_url, "--http", self.http]
        if self.config:
            cmd += ["--config", self.config]
        cmd += self.extra
        if self.cpu is not None:
            cmd = ["taskset", "-c", str(self.cpu), *cmd]
        return cmd

    def start(self, wait_ready: bool = True, timeout: float = 20.0) -> ApiProcess:
        if not self.port:
            self.port = free_port()
        fd, self.log_path = tempfile.mkstemp(prefix="og-api-", suffix=".log")
        env = {**os.environ, "PYTHONUNBUFFERED": "1", **self.env}
        cwd = tempfile.gettempdir()
        if self.ordergate == ORDERGATE:
            env["PYTHONPATH"] = str(ROOT) + os.pathsep + env.get("PYTHONPATH", "")
            cwd = str(ROOT)
        self.proc = subprocess.Popen(
            self.command(), stdout=fd, stderr=subprocess.STDOUT, env=env, cwd=cwd
        )
        os.close(fd)
        if wait_ready:
            try:
                # ready when *this* process listens on the port and answers /readyz there:
                # another process may have taken the free port first
                wait_until(
                    lambda: self.exited() or (self._owns_port() and _ready(self.url)),
                    timeout,
                    f"API on port {self.port}",
                )
            except TimeoutError:
                self.stop()
                raise RuntimeError(f"API did not become ready:\n{self.log()}") from None
            if self.exited():
                raise RuntimeError(f"API exited:\n{self.log()}")
        return self

    def _owns_port(self) -> bool:
        return self.proc is not None and listens_on(self.proc.pid, self.port)

    def exited(self) -> bool:
        return self.proc is not None and self.proc.poll() is not None

    def log(self) -> str:
        try:
            return Path(self.log_path).read_text(errors="replace")[-5000:]
        except OSError:
            return ""

    def stop(self, sig: int = signal.SIGTERM) -> None:
        if self.proc and self.proc.poll() is None:
            self.proc.send_signal(sig)
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(5)
        self.proc = None


def bearer(
    accounts: tuple[str, ...] | list[str] = ("A1",),
    scopes: tuple[str, ...] = ("trade", "read"),
    **kw: Any,
) -> dict[str, str]:
    """An Authorization header with a development token."""
    return {"Authorization": f"Bearer {mint_token('tester', list(accounts), scopes, **kw)}"}


def order_body(**over: Any) -> dict[str, Any]:
    """A valid limit order for 7203 (Toyota: TOPIX500, base 2850, tick 0.5 below 3000)."""
    body: dict[str, Any] = {
        "account": "A1",
        "client_order_id": "c-1",
        "symbol": "7203",
        "side": "buy",
        "type": "limit",
        "quantity": 100,
        "price": "2500.5",
        "time_in_force": "day",
    }
    body.update(over)
    return {k: v for k, v in body.items() if v is not ...}
