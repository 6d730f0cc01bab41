"""Leader terms: standby while another connector holds the session's lease, and while the lease
is ours one *term* at a time: a fresh FIX session on the store fenced by the term's token
(``store.SentRecordingStore``), an initiator, the lease renewal and the term's work (the command
pump, status, admin). Anything that goes wrong in a term (lease lost, Redis gone, store fenced)
ends it; the next one starts from what Redis says, never from memory."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable, Coroutine
from typing import Any

from connector.common import COMPONENT
from connector.config import ConnectorConfig
from connector.lease import Lease
from connector.status import Stats
from connector.store import SentRecordingStore
from fixengine import Application, FixSession, Initiator
from gateway import keys

log = logging.getLogger("ordergate.connector")

Work = Callable[[FixSession], list[tuple[str, Coroutine[Any, Any, Any]]]]


class Terms:
    """``run()`` until ``stop()``. ``prepare`` runs (again after a failure) before the lease is
    tried; ``work(session)`` gives the named coroutines of a term; ``standby`` runs each time the
    lease is found held elsewhere. ``role`` is what this connector is now: starting, standby,
    leader, waiting (Redis away or between terms), stopping, stopped."""

    def __init__(
        self,
        cfg: ConnectorConfig,
        redis: Any,
        lease: Lease,
        stats: Stats,
        *,
        process: str,
        app: Application,
        prepare: Callable[[], Awaitable[None]],
        work: Work,
        standby: Callable[[], Awaitable[None]],
    ) -> None:
        self.cfg = cfg
        self.redis = redis
        self.lease = lease
        self.stats = stats
        self.process = process
        self.session_id = cfg.session_id
        self.app = app
        self._prepare = prepare
        self._work = work
        self._standby = standby
        self.session: FixSession | None = None
        self.role = "starting"
        self._stop = asyncio.Event()
        self._failed: asyncio.Event | None = None

    def stop(self) -> None:
        self._stop.set()

    def fail(self) -> None:
        """End the current term (the session cannot go on: a failed apply or store write)."""
        if self._failed is not None:
            self._failed.set()

    async def run(self) -> None:
        """Until ``stop()``: standby while another connector leads, leader when the lease is
        ours. Redis being away is waited out."""
        prepared = False
        while not self._stop.is_set():
            try:
                if not prepared:
                    await self._prepare()
                    prepared = True
                if await self.lease.try_acquire():
                    await self._term()
                else:
                    if self.role != "standby":
                        log.info("%s: standby (lease held elsewhere)", self.session_id)
                    self.role = "standby"
                    await self._standby()
                    await self._sleep(self.lease.renew_interval)
            except Exception as exc:  # Redis away, scripts not loadable...: wait and retry
                if isinstance(exc, asyncio.CancelledError):
                    raise
                log.warning("%s: %s; retrying", self.session_id, exc)
                self.role = "waiting"
                await self._sleep(0.5)
        with contextlib.suppress(Exception):
            await self.lease.release()
        with contextlib.suppress(Exception):
            await self.redis.hset(keys.fix_status(self.session_id), "role", "stopped")

    async def _sleep(self, seconds: float) -> None:
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._stop.wait(), seconds)

    async def _term(self) -> None:
        """One leadership term: fresh session from the stored numbers, fenced by our token."""
        self.stats.terms += 1
        self.role = "leader"
        token = self.lease.token
        log.info("%s: leader, fencing token %d", self.session_id, token)
        store = SentRecordingStore(
            self.redis,
            self.session_id,
            fence_token=token,
            venue=self.cfg.venue,
            process=self.process,
            component=COMPONENT,
        )
        session = FixSession(self.cfg.session_settings(), store=store, app=self.app)
        self.session = session
        self._failed = asyncio.Event()
        initiator = Initiator(session, self.cfg.host, self.cfg.port)
        await initiator.start()
        tasks = [
            asyncio.create_task(self._renew_loop(), name="lease-renew"),
            *(asyncio.create_task(c, name=name) for name, c in self._work(session)),
            asyncio.create_task(self._stop.wait(), name="stop"),
            asyncio.create_task(self._failed.wait(), name="failed"),
        ]
        try:
            done, _ = await asyncio.wait(tasks, return_when=asyncio.FIRST_COMPLETED)
            for t in done:
                if not t.cancelled() and t.exception() is not None:
                    log.warning("%s: term ends: %r", self.session_id, t.exception())
        finally:
            await cancel_all(tasks)
            clean = self._stop.is_set() and self.lease.valid()
            with contextlib.suppress(Exception):
                await initiator.stop(logout=clean)
            self.session = None
            self.role = "stopping" if self._stop.is_set() else "waiting"
            if not clean:
                self.lease.lose()

    async def _renew_loop(self) -> None:
        while True:
            await asyncio.sleep(self.lease.renew_interval)
            try:
                ok = await asyncio.wait_for(self.lease.renew(), self.lease.ttl * 0.5)
            except Exception as exc:
                log.warning("%s: lease renewal failed: %r", self.session_id, exc)
                ok = False
            if not ok:
                log.error("%s: lease lost: stop sending now", self.session_id)
                self.lease.lose()
                if self.session is not None:
                    self.session.abort("leader lease lost")
                return


async def cancel_all(tasks: list[asyncio.Task[Any]], again_after: float = 0.5) -> None:
    """Cancel ``tasks`` and wait until all have ended, cancelling again those still running
    after ``again_after`` seconds: on Python 3.11 a cancellation that arrives as an inner
    ``asyncio.wait_for`` completes (redis-py wraps every socket write in one when the client
    has a socket timeout, as the command line's has) is lost, and the task runs on; a term
    whose pump kept running never ended (seen in bench.connector: the process hung at stop)."""
    for t in tasks:
        t.cancel()
    pending: set[asyncio.Task[Any]] = set(tasks)
    while pending:
        _, pending = await asyncio.wait(pending, timeout=again_after)
        for t in pending:
            t.cancel()
    for t in tasks:
        if not t.cancelled():
            t.exception()  # retrieved: ended terms log their cause in _term already
