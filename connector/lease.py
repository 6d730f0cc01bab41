"""Leader lease with a fencing token: one connector per FIX session sends; the others wait.

``acquire`` is SET NX PX inside a script that also takes a fresh fencing token (INCR of the
session's fence counter): every new term's token is larger than any before it, and the session
store (``connector/store.py``) writes only with the current token, so a paused or partitioned
old leader cannot write. The leader renews every ``ttl/3``; ``valid()`` is false as soon as a
renewal failed or ``ttl * 0.8`` passed since the last one (by the local monotonic clock), and the
connector then stops sending at once.
"""

from __future__ import annotations

import os
import socket
import time
import uuid
from collections.abc import Callable
from typing import Any

from connector.scripts import LEASE_ACQUIRE, LEASE_RELEASE, LEASE_RENEW
from gateway import keys


def holder_id() -> str:
    """This process, recognisably: host, pid and a random part (a restarted pid is new)."""
    return f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"


class Lease:
    def __init__(
        self,
        redis: Any,
        session_id: str,
        ttl: float = 3.0,
        holder: str | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        if ttl <= 0:
            raise ValueError("lease TTL must be positive")
        self.redis = redis
        self.session_id = session_id
        self.ttl = ttl
        self.ttl_ms = int(ttl * 1000)
        self.holder = holder or holder_id()
        self.clock = clock
        self.keys = [keys.fix_lease(session_id), keys.fix_fence(session_id)]
        self.token = 0
        self._renewed_at = 0.0

    @property
    def renew_interval(self) -> float:
        return self.ttl / 3

    @property
    def value(self) -> str:
        return f"{self.holder}|{self.token}"

    def valid(self) -> bool:
        """Held, and renewed recently enough that no one else can have it yet."""
        return self.token > 0 and self.clock() - self._renewed_at < self.ttl * 0.8

    async def try_acquire(self) -> bool:
        started = self.clock()
        token = int(await LEASE_ACQUIRE(self.redis, self.keys, [self.holder, self.ttl_ms]))
        if token > 0:
            self.token = token
            self._renewed_at = started
            return True
        self.token = 0
        return False

    async def renew(self) -> bool:
        """Extend the lease; False (and the lease dropped locally) if it is not ours any more."""
        if self.token <= 0:
            return False
        started = self.clock()
        ok = int(await LEASE_RENEW(self.redis, self.keys, [self.value, self.ttl_ms, self.token]))
        if ok:
            self._renewed_at = started
            return True
        self.token = 0
        return False

    def lose(self) -> None:
        """Forget the lease locally (renewal failed: stop sending now)."""
        self.token = 0

    async def release(self) -> None:
        if self.token > 0:
            try:
                await LEASE_RELEASE(self.redis, self.keys[:1], [self.value])
            finally:
                self.token = 0

    async def current(self) -> tuple[str | None, int]:
        """(holder, token) of whoever holds the lease now; (None, 0) if free."""
        raw = await self.redis.get(self.keys[0])
        if raw is None:
            return None, 0
        text = raw.decode() if isinstance(raw, bytes) else str(raw)
        holder, _, token = text.rpartition("|")
        return holder, int(token) if token.isdigit() else 0
