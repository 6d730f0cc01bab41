"""``ordergate up`` as a real process for tests: started with its output in a file, its printed
``NAME=value`` lines read back, stopped with SIGTERM (the stack's own shutdown)."""

from __future__ import annotations

import re
import signal
import subprocess
import sys
from pathlib import Path

from support.procs import wait_until

ROOT = Path(__file__).resolve().parents[2]
UP = [sys.executable, "-m", "gateway.cli", "up"]


class UpProcess:
    def __init__(self, tmp: Path, *args: str) -> None:
        self.out = tmp / "up.out"
        self.data = tmp / "data"
        self.argv = [*UP, "--data-dir", str(self.data), *args]
        self.proc: subprocess.Popen[bytes] | None = None

    def start(self, own_group: bool = False) -> UpProcess:
        """``own_group``: run it as a terminal runs a job (its own process group)."""
        with open(self.out, "wb") as f:
            self.proc = subprocess.Popen(
                self.argv,
                cwd=ROOT,
                stdout=f,
                stderr=subprocess.STDOUT,
                start_new_session=own_group,
            )
        return self

    def text(self) -> str:
        return self.out.read_text(errors="replace")

    def value(self, name: str) -> str:
        m = re.search(rf"^{name}=(\S+)$", self.text(), re.M)
        assert m, f"no {name}= line in:\n{self.text()}"
        return m.group(1)

    def wait_ready(self) -> None:
        assert self.proc is not None
        wait_until(
            lambda: (
                self.proc is not None
                and (self.proc.poll() is not None or "\nTOKEN=" in self.text())
            ),
            60,
            "ordergate up to print the token",
        )
        assert self.proc.poll() is None, f"ordergate up exited:\n{self.text()}"

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(30)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(5)
