"""The acceptor role: listen, and route each connection to its session by the CompIDs of its
first message (a Logon); connections for unknown sessions, with a non-Logon first message or for
a session already connected are closed without a Logout."""

from __future__ import annotations

import asyncio
import ssl
from collections.abc import Iterable

import simplefix

from fixengine.transport import Connection, FixSession


class Acceptor:
    """Listens for many sessions, each keyed by (its SenderCompID, its TargetCompID)."""

    def __init__(
        self,
        sessions: Iterable[FixSession],
        host: str = "127.0.0.1",
        port: int = 0,
        ssl_context: ssl.SSLContext | None = None,
    ) -> None:
        self.sessions = {(s.settings.SenderCompID, s.settings.TargetCompID): s for s in sessions}
        self.host = host
        self.port = port
        self.ssl_context = ssl_context
        self.refused = 0
        self._server: asyncio.Server | None = None
        self._conns: set[Connection] = set()

    async def start(self) -> None:
        for s in self.sessions.values():
            if not s.loaded:
                await s.load()
        loop = asyncio.get_running_loop()
        self._server = await loop.create_server(
            self._make_conn, self.host, self.port, ssl=self.ssl_context
        )
        self.port = self._server.sockets[0].getsockname()[1]

    def _make_conn(self) -> Connection:
        conn = Connection(
            None,
            self._route,
            max((s.settings.LogonTimeout for s in self.sessions.values()), default=10.0),
        )
        self._conns.add(conn)
        conn.closed.add_done_callback(lambda _f: self._conns.discard(conn))
        return conn

    def _route(self, conn: Connection, first: simplefix.FixMessage) -> FixSession | None:
        if first.message_type != b"A":
            self.refused += 1
            return None
        ours, theirs = first.get(56), first.get(49)
        if ours is None or theirs is None:
            self.refused += 1
            return None
        session = self.sessions.get(
            (ours.decode(errors="replace"), theirs.decode(errors="replace"))
        )
        if session is None or session.connected or first.begin_string != session.core.begin_string:
            self.refused += 1  # unknown, already connected, or another FIX version (case 1d)
            return None
        return session

    async def stop(self, logout: bool = True) -> None:
        if self._server is not None:
            self._server.close()
        for s in self.sessions.values():
            if s.connected:
                if logout and s.logged_on:
                    try:
                        await s.logout(timeout=s.settings.LogoutTimeout + 1.0)
                    except TimeoutError:
                        s.abort("logout did not complete")
                else:
                    s.abort("acceptor stopped")
        for c in list(self._conns):
            if c.transport is not None:
                c.transport.abort()
        for c in list(self._conns):
            try:
                await asyncio.wait_for(asyncio.shield(c.closed), 5.0)
            except TimeoutError:
                pass
        if self._server is not None:
            await self._server.wait_closed()
            self._server = None
