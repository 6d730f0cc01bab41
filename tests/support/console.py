"""``ordergate console`` as a real process (the API's process helper, another subcommand)."""

from __future__ import annotations

from dataclasses import dataclass, field

from support.api import ORDERGATE, ApiProcess


@dataclass
class ConsoleProcess(ApiProcess):
    """One ``ordergate console``; ready when ``GET /readyz`` answers 200."""

    simulators: list[str] = field(default_factory=list)
    sessions: list[str] = field(default_factory=list)

    def command(self) -> list[str]:
        cmd = [*ORDERGATE, "console", "--host", "127.0.0.1", "--port", str(self.port)]
        cmd += ["--redis", self.redis_url]
        for url in self.simulators:
            cmd += ["--simulator", url]
        for session in self.sessions:
            cmd += ["--session", session]
        if self.config:
            cmd += ["--config", self.config]
        return cmd + self.extra
