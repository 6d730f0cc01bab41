"""Reconciliation at logon: never guess. Every order this session sent that has no final answer
yet is asked about (OrderStatusRequest); the answers become the events that bring the order
record up to what the venue says (``mapping.reconcile``, pure). A venue that refuses H is
reconciled by the resend of its execution reports instead (asked for at logon from the stored
inbound number, which advances only once a report was applied)."""

from __future__ import annotations

import logging
from collections.abc import Sequence
from typing import Any

from connector import mapping
from connector.common import text as _s
from connector.config import ConnectorConfig
from connector.lease import Lease
from connector.status import Stats
from connector.throttle import Throttle
from fixengine import FixSession, NotLoggedOn
from gateway import fields, keys
from gateway.ids import partition_of_order_id
from gateway.model import OrderStatus
from gateway.reports import ExecReport

log = logging.getLogger("ordergate.connector")

# an order sent and not yet answered by the venue is in one of these
_PENDING = frozenset(
    {
        OrderStatus.pending_new.value,
        OrderStatus.pending_cancel.value,
        OrderStatus.pending_replace.value,
    }
)

#: the order-record fields reconciliation reads
ORDER_FIELDS = ("order_id", "status", "venue", "symbol", "side", fields.ORDER_CLORDID)


def awaiting_answer(
    rows: Sequence[Sequence[Any]], venue: str, fields: Sequence[str] = ORDER_FIELDS
) -> list[dict[str, str]]:
    """The order records (HMGET replies of ``fields``) that are this venue's and still wait for
    the venue's answer (pending new, cancel or replace); records gone (all None) are left out."""
    out = []
    for vals in rows:
        d = {k: _s(v) for k, v in zip(fields, vals, strict=True) if v is not None}
        if d.get("status") in _PENDING and d.get("venue") == venue:
            out.append(d)
    return out


class Reconciler:
    def __init__(
        self,
        cfg: ConnectorConfig,
        redis: Any,
        lease: Lease,
        throttle: Throttle,
        stats: Stats,
    ) -> None:
        self.cfg = cfg
        self.redis = redis
        self.session_id = cfg.session_id
        self.lease = lease
        self.throttle = throttle
        self.stats = stats
        #: False once the venue refused an OrderStatusRequest: the resend reconciles instead
        self.status_requests_supported = True

    async def in_flight(self) -> list[dict[str, str]]:
        """Orders of this venue that were sent and have no final answer yet.

        The session's sent map is asked first (one HMGET per 1,000 open orders): a backlog
        queued while the line was down is open but was never sent, and reading each of its
        order records would delay the first send of a market-open drain (20,000 queued orders
        took 20,000 HMGETs, ~0.6 s, before the first order left)."""
        pipe = self.redis.pipeline(transaction=False)
        for p in range(self.cfg.partitions):
            pipe.zrange(keys.open_orders(p), 0, -1)
        open_ids = [(p, _s(oid)) for p, ids in enumerate(await pipe.execute()) for oid in ids]
        sent_ids = await self._sent_among(open_ids)
        if not sent_ids:
            return []
        fields = list(ORDER_FIELDS)
        pipe = self.redis.pipeline(transaction=False)
        for p, oid in sent_ids:
            pipe.hmget(keys.order(p, oid), fields)
        return awaiting_answer(await pipe.execute(), self.cfg.venue)

    async def _sent_among(
        self, open_ids: list[tuple[int, str]], chunk: int = 1000
    ) -> list[tuple[int, str]]:
        """The open orders that this session has sent (its ``sent`` map holds them)."""
        if not open_ids:
            return []
        pipe = self.redis.pipeline(transaction=False)
        for lo in range(0, len(open_ids), chunk):
            pipe.hmget(
                keys.fix_sent(self.session_id), [oid for _, oid in open_ids[lo : lo + chunk]]
            )
        sent = [v for part in await pipe.execute() for v in part]
        return [po for po, s in zip(open_ids, sent, strict=True) if s is not None]

    async def reconcile(self, session: FixSession) -> None:
        """Ask the venue (OrderStatusRequest) about every order sent but not yet answered; the
        answers come back as inbound messages and are turned into events by ``reports``."""
        if not self.status_requests_supported:
            return
        orders = await self.in_flight()
        for d in orders:
            if not session.logged_on or not self.lease.valid():
                return
            await self.throttle.acquire()
            try:
                session.send_body(
                    b"H",
                    mapping.status_request(
                        d.get(fields.ORDER_CLORDID) or d["order_id"], d["symbol"], d["side"]
                    ),
                )
            except (NotLoggedOn, mapping.MappingError):
                return
            self.stats.status_requests += 1
        if orders:
            await session.flushed()
            log.info("%s: OrderStatusRequest for %d in-flight orders", self.session_id, len(orders))

    async def reports(self, status_reports: list[dict[bytes, bytes]]) -> list[ExecReport]:
        """The venue's answers to our status requests as the events that bring each order's
        record to the venue's state (none where they agree, or the order is unknown here)."""
        pipe = self.redis.pipeline(transaction=False)
        ids = []
        for f in status_reports:
            try:
                oid = mapping.base_order_id(f.get(b"11", b"").decode())
            except ValueError:
                oid = ""
            ids.append(oid)
            if oid:
                pipe.hget(keys.order(partition_of_order_id(oid), oid), "status")
        statuses = iter(await pipe.execute()) if any(ids) else iter(())
        out = []
        for f, oid in zip(status_reports, ids, strict=True):
            if not oid:
                continue
            st = next(statuses)
            if st is None:
                continue
            r = mapping.reconcile(OrderStatus(_s(st)), f)
            if r is not None:
                out.append(r)
        return out
