"""The connector process: Redis command streams -> FIX, and FIX reports -> orders in Redis.

One ``Connector`` per FIX session, composed of one part per concern; each part is the I/O shell
around pure logic (``mapping``, ``throttle``, ``reconcile.awaiting_answer``, ``admin.decide``):

| part | module | does |
|---|---|---|
| ``terms`` | ``term`` | the leader lease loop and one term at a time (session, initiator, renewal) |
| ``pump`` | ``pump`` | commands to FIX: XREADGROUP -> map -> write-ahead -> send -> XACK |
| ``reports`` | ``reports`` | FIX to orders: inbound messages -> map -> one Lua apply per report |
| ``reconciler`` | ``reconcile`` | at logon, OrderStatusRequest for every order sent and unanswered |
| ``status`` | ``status`` | counters and session state in the status hash |
| ``admin`` | ``admin`` | operator commands from the admin stream, audited |

The ``Connector`` is the engine's ``Application``: its callbacks route the session's events to
the parts; the inbound batch (``on_messages``) is the reports part's own method, so the hot
path goes through no extra call.
"""

from __future__ import annotations

import asyncio
import gc
import logging
from typing import Any

import simplefix

from connector.admin import Admin
from connector.common import COMPONENT
from connector.config import ConnectorConfig
from connector.lease import Lease
from connector.pump import CommandPump
from connector.reconcile import Reconciler
from connector.reports import InboundReports
from connector.status import Stats, StatusPublisher
from connector.term import Terms
from connector.throttle import Throttle
from fixengine import Application, FixSession, State
from gateway.reports import ReportApplier

log = logging.getLogger("ordergate.connector")


def tune_gc() -> None:
    """Garbage collection for a process whose messages make many short-lived objects: what
    exists at start-up is frozen (never traversed again) and the young generation is collected
    every 20,000 allocations instead of 700 (the defaults cost about a fifth of the CPU of
    applying reports, mostly traversing objects that were about to be freed anyway)."""
    gc.freeze()
    gc.set_threshold(20_000, 20, 20)


class Connector(Application):
    def __init__(
        self,
        cfg: ConnectorConfig,
        redis: Any,
        *,
        process: str | None = None,
        lease: Lease | None = None,
    ) -> None:
        self.cfg = cfg
        self.redis = redis
        self.session_id = cfg.session_id
        self.lease = lease or Lease(redis, self.session_id, cfg.lease_ttl)
        self.process = process or f"connector:{self.lease.holder}"
        self.stats = Stats()
        self.throttle = Throttle(cfg.throttle_rate, cfg.throttle_burst)
        self.applier = ReportApplier(
            redis,
            cfg.partitions,
            process=self.process,
            component=COMPONENT,
            events_maxlen=cfg.events_maxlen,
        )
        self.reconciler = Reconciler(cfg, redis, self.lease, self.throttle, self.stats)
        self.reports = InboundReports(
            redis, self.session_id, self.applier, self.stats, self.reconciler
        )
        self.on_messages = self.reports.on_messages  # the inbound hot path, called directly
        self.pump = CommandPump(
            cfg,
            redis,
            self.lease,
            self.throttle,
            self.stats,
            process=self.process,
            apply=self.reports.apply,
            reconcile=self.reconciler.reconcile if cfg.reconcile else None,
            cluster=_is_cluster(redis),
        )
        self.terms = Terms(
            cfg,
            redis,
            self.lease,
            self.stats,
            process=self.process,
            app=self,
            prepare=self._load_scripts,
            work=self._work,
            standby=self._standby,
        )
        self.status = StatusPublisher(
            redis, self.session_id, self.lease, self.stats, lambda: self.terms.role
        )
        self.admin = Admin(redis, self.session_id, self.process, self.stop)

    # ------------------------------------------------------------------ lifecycle

    @property
    def role(self) -> str:
        return self.terms.role

    @property
    def session(self) -> FixSession | None:
        return self.terms.session

    @property
    def status_requests_supported(self) -> bool:
        return self.reconciler.status_requests_supported

    async def in_flight(self) -> list[dict[str, str]]:
        return await self.reconciler.in_flight()

    def stop(self) -> None:
        self.terms.stop()

    async def run(self) -> None:
        await self.terms.run()

    async def _load_scripts(self) -> None:
        await self.applier.load_scripts()
        await self.pump.load_scripts()

    def _work(self, session: FixSession) -> list[tuple[str, Any]]:
        return [
            ("command-pump", self.pump.run(session)),
            ("publish", self.status.loop(session)),
            ("admin", self.admin.loop(session)),
        ]

    async def _standby(self) -> None:
        await self.status.publish()

    # ------------------------------------------------------------------ session callbacks

    async def on_message(self, session: FixSession, msg: simplefix.FixMessage) -> None:
        await self.reports.on_messages(session, [msg])

    def on_event(self, session: FixSession, kind: str, text: str) -> None:
        if kind in ("apply_failure", "store_failure"):
            self.terms.fail()
        elif kind == "reject_received":
            # session-level Reject of one of our messages: "RefSeqNum=N text"
            head, _, rest = text.partition(" ")
            ref = head.removeprefix("RefSeqNum=")
            if ref.isdigit():
                asyncio.get_running_loop().create_task(self.reports.session_reject(int(ref), rest))

    def on_logon(self, session: FixSession) -> None:
        self.pump.logons += 1
        self.stats.logons += 1
        log.info(
            "%s: logged on (out %d, in %d)",
            self.session_id,
            session.next_sender_seq,
            session.next_target_seq,
        )

    def on_state_change(self, session: FixSession, old: State, new: State) -> None:
        log.info("%s: %s -> %s", self.session_id, old.value, new.value)
        asyncio.get_running_loop().create_task(self.status.publish_quietly(session))


def _is_cluster(redis: Any) -> bool:
    from redis.asyncio.cluster import RedisCluster

    return isinstance(redis, RedisCluster)
