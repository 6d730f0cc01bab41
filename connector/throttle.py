"""Token bucket: a smooth cap on the outbound message rate of a session (venues cap it).

Pure: the caller passes the time. ``rate`` messages per second refill the bucket up to
``burst``; ``wait_time(n, now)`` says how long until ``n`` tokens are there. Commands the
bucket holds back wait in the Redis stream (back-pressure): nothing is dropped.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable


class TokenBucket:
    def __init__(self, rate: float, burst: float | None = None, now: float = 0.0) -> None:
        if rate <= 0:
            raise ValueError("rate must be positive")
        self.rate = float(rate)
        self.burst = float(burst if burst is not None else max(1.0, rate / 10))
        if self.burst < 1:
            raise ValueError("burst must be at least 1")
        self.tokens = self.burst
        self.last = now

    def _refill(self, now: float) -> None:
        if now > self.last:
            self.tokens = min(self.burst, self.tokens + (now - self.last) * self.rate)
            self.last = now

    def available(self, now: float) -> int:
        self._refill(now)
        return int(self.tokens)

    def try_take(self, n: int, now: float) -> bool:
        self._refill(now)
        if self.tokens >= n:
            self.tokens -= n
            return True
        return False

    def wait_time(self, n: int, now: float) -> float:
        """Seconds until ``n`` tokens are available (0 if they are now)."""
        self._refill(now)
        missing = n - self.tokens
        return 0.0 if missing <= 0 else missing / self.rate


class Throttle:
    """The I/O shell: ``await acquire()`` before each message (no-op without a bucket)."""

    def __init__(
        self,
        rate: float | None,
        burst: float | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.clock = clock
        self.bucket = TokenBucket(rate, burst, clock()) if rate else None
        self.waited = 0.0

    async def acquire(self, n: int = 1) -> None:
        b = self.bucket
        if b is None:
            return
        while not b.try_take(n, self.clock()):
            delay = b.wait_time(n, self.clock())
            self.waited += delay
            await asyncio.sleep(delay)
