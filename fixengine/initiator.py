"""The initiator role: connect one session and keep it connected (reconnect with capped
exponential backoff), inside its schedule window."""

from __future__ import annotations

import asyncio
import logging
import ssl
from collections.abc import Callable

from fixengine.transport import Connection, FixSession

log = logging.getLogger("fixengine")


class Initiator:
    """Connects one session and keeps it connected: reconnect with capped exponential backoff."""

    def __init__(
        self,
        session: FixSession,
        host: str | None = None,
        port: int | None = None,
        ssl_context: ssl.SSLContext | None = None,
        server_hostname: str | None = None,
        in_session: Callable[[float], bool] | None = None,
    ) -> None:
        self.session = session
        self.host = host or session.settings.SocketConnectHost
        self.port = port or session.settings.SocketConnectPort
        self.ssl_context = ssl_context
        self.server_hostname = server_hostname
        self.in_session = in_session
        self.connects = 0
        self.failures = 0
        self.outside_window_waits = 0
        self.last_backoff = 0.0
        self._task: asyncio.Task[None] | None = None
        self._stopping = False

    async def start(self) -> None:
        if not self.session.loaded:
            await self.session.load()
        self._stopping = False
        self._task = asyncio.get_running_loop().create_task(self._run())

    async def _run(self) -> None:
        s = self.session.settings
        backoff = s.ReconnectInterval
        loop = asyncio.get_running_loop()
        while not self._stopping:
            now = self.session.clock()
            if not self.session.schedule.in_session(now) or (
                self.in_session is not None and not self.in_session(now)
            ):
                self.outside_window_waits += 1
                await asyncio.sleep(1.0)
                continue
            try:
                _, conn = await loop.create_connection(
                    lambda: Connection(self.session),
                    self.host,
                    self.port,
                    ssl=self.ssl_context,
                    server_hostname=self.server_hostname if self.ssl_context else None,
                )
                self.connects += 1
                await conn.closed
                if self.session.reached_logon:
                    backoff = s.ReconnectInterval
            except (OSError, ssl.SSLError) as exc:
                self.failures += 1
                log.info("%s: connect failed: %s", self.session.session_id, exc)
            if self._stopping:
                break
            self.last_backoff = backoff
            await asyncio.sleep(backoff)
            backoff = min(backoff * 2, s.MaxReconnectInterval)

    async def stop(self, logout: bool = True, timeout: float | None = None) -> None:
        """Log out (bounded by LogoutTimeout) and stop reconnecting."""
        self._stopping = True
        if logout and self.session.connected:
            try:
                await self.session.logout(
                    timeout=timeout or self.session.settings.LogoutTimeout + 1.0
                )
            except TimeoutError:
                self.session.abort("logout did not complete")
        elif self.session.connected:
            self.session.abort("stopped")
        if self.session.connected:
            try:
                await self.session.wait_for(lambda: not self.session.connected, 5.0)
            except TimeoutError:
                pass
        if self._task is not None:
            self._task.cancel()
            try:
                await self._task
            except asyncio.CancelledError:
                pass
            self._task = None
        await self.session.writes_done()
