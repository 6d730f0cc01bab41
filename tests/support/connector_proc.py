"""Run ``ordergate connector`` as a real process for end-to-end and chaos tests."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


@dataclass
class ConnectorProcess:
    redis_url: str
    fix_port: int
    venue: str = "TSE"
    extra: list[str] = field(default_factory=list)
    proc: subprocess.Popen[bytes] | None = None
    log_path: str = ""

    def command(self) -> list[str]:
        return [
            sys.executable,
            "-m",
            "gateway.cli",
            "connector",
            "--venue",
            self.venue,
            "--connect",
            f"127.0.0.1:{self.fix_port}",
            "--sender-comp-id",
            "ORDERGATE",
            "--target-comp-id",
            self.venue,
            "--redis",
            self.redis_url,
            "--hours",
            "always",
            "--heartbeat",
            "5",
            *self.extra,
        ]

    def start(self) -> ConnectorProcess:
        fd, self.log_path = tempfile.mkstemp(prefix="og-connector-", suffix=".log")
        env = {**os.environ, "PYTHONUNBUFFERED": "1"}
        env["PYTHONPATH"] = str(ROOT) + os.pathsep + env.get("PYTHONPATH", "")
        self.proc = subprocess.Popen(
            self.command(), stdout=fd, stderr=subprocess.STDOUT, env=env, cwd=str(ROOT)
        )
        os.close(fd)
        return self

    @property
    def pid(self) -> int:
        assert self.proc is not None
        return self.proc.pid

    def alive(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    def log(self) -> str:
        try:
            return Path(self.log_path).read_text(errors="replace")[-6000:]
        except OSError:
            return ""

    def kill(self) -> None:
        """SIGKILL: no Logout, no lease release, nothing flushed."""
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGKILL)
            self.proc.wait(10)

    def stop(self) -> int | None:
        if self.proc is None:
            return None
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(15)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(5)
        return self.proc.returncode
