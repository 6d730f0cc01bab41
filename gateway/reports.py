"""What the connector uses to apply venue reports to orders and to extend their trail.

``ReportApplier.apply`` runs ``lua/apply_report.lua`` in the order's slot: deduplicated by
ExecID (a PossDup replay changes nothing), guarded against overfill, status changed only along
the state machine in ``gateway/states.py``, event appended to ``og:{p}:events`` and a step to
the order's trail. ``apply_many`` pipelines a batch (one round trip).
"""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any, Literal

from redis import exceptions as rexc

from gateway import keys
from gateway.ids import partition_of_order_id
from gateway.model import OrderStatus, price_scaled, price_str, utc_iso
from gateway.scripts import Scripts, pipeline, redis_errors
from gateway.states import OrderEvent

Outcome = Literal[
    "applied", "duplicate", "unknown_order", "invalid_transition", "overfill", "wrong_account"
]


@dataclass(frozen=True, slots=True)
class ExecReport:
    """A venue report mapped to an order event. For fills, ``last_qty`` / ``last_px`` are the
    fill; ``partial_fill`` and ``fill`` are interchangeable (the quantities decide)."""

    order_id: str
    event: OrderEvent
    exec_id: str = ""  # '' for messages without one (OrderCancelReject): not deduplicated
    last_qty: int = 0
    last_px: Decimal | None = None
    reason: str = ""
    at: str | None = None  # ISO UTC; default: now
    detail: dict[str, Any] = field(default_factory=dict)  # extra trail detail (seq num, ...)
    account: str | None = None  # the order's account if known (saves a lookup round trip)
    cl_ord_id: str = ""  # with ``replaced``: the ClOrdID the venue now knows the order by


@dataclass(frozen=True, slots=True)
class ApplyResult:
    outcome: Outcome
    status: OrderStatus | None  # the order's status after (or unchanged)


class ReportApplier:
    def __init__(
        self,
        redis: Any,
        partitions: int = keys.DEFAULT_PARTITIONS,
        *,
        process: str = "connector",
        component: str = "connector",
        events_maxlen: int = 1_000_000,
        clock: Callable[[], datetime] | None = None,
        scripts: Scripts | None = None,
    ) -> None:
        self.redis = redis
        self.P = partitions
        self.process = process
        self.component = component
        self.events_maxlen = events_maxlen
        self.clock = clock or (lambda: datetime.now(UTC))
        self.scripts = scripts or Scripts()

    async def load_scripts(self) -> None:
        await self.scripts.load(self.redis)

    def _call(self, r: ExecReport, account: str) -> tuple[list[str], list[Any]]:
        p = partition_of_order_id(r.order_id)
        skeys = [
            keys.order(p, r.order_id),
            keys.execs(p, r.order_id),
            keys.account(p, account),
            keys.account_open(p, account),
            keys.open_orders(p),
            keys.events(p),
            keys.trail(p, r.order_id),
        ]
        px = r.last_px if r.last_px is not None else Decimal(0)
        args = [
            r.exec_id,
            r.event.value,
            int(r.last_qty),
            price_scaled(px),
            price_str(r.last_px) or "",
            r.at or utc_iso(self.clock()),
            self.process,
            self.component,
            r.reason,
            self.events_maxlen,
            json.dumps(r.detail or {}, default=str) if r.detail else "{}",
            r.cl_ord_id,
        ]
        return skeys, args

    @staticmethod
    def _result(res: Any) -> ApplyResult:
        outcome = res[0].decode() if isinstance(res[0], bytes) else str(res[0])
        status = None
        if len(res) > 1:
            s = res[1].decode() if isinstance(res[1], bytes) else str(res[1])
            status = OrderStatus(s)
        return ApplyResult(outcome, status)  # type: ignore[arg-type]

    async def _accounts(self, reports: Sequence[ExecReport]) -> list[str | None]:
        """The account of each report's order: given, or read (one pipelined round trip)."""
        missing = [i for i, r in enumerate(reports) if r.account is None]
        out: list[str | None] = [r.account for r in reports]
        if missing:
            pipe = self.redis.pipeline(transaction=False)
            for i in missing:
                oid = reports[i].order_id
                pipe.hget(keys.order(partition_of_order_id(oid), oid), "account")
            for i, acct in zip(missing, await pipe.execute(), strict=True):
                out[i] = acct.decode() if isinstance(acct, bytes) else acct
        return out

    async def apply(self, report: ExecReport) -> ApplyResult:
        """Apply one report. ``ValueError`` if its order id is not one of ours."""
        return (await self.apply_many([report]))[0]

    async def apply_many(self, reports: Sequence[ExecReport]) -> list[ApplyResult]:
        """Apply a batch in one pipelined round trip (two when accounts must be looked up);
        each report is still atomic on its own, and they apply in order."""
        if not reports:
            return []
        script = self.scripts.apply_report
        with redis_errors():
            accounts = await self._accounts(reports)
            calls = [
                (i, *self._call(r, acct))
                for i, (r, acct) in enumerate(zip(reports, accounts, strict=True))
                if acct is not None
            ]
            out: list[ApplyResult] = [ApplyResult("unknown_order", None)] * len(reports)
            if not calls:
                return out
            results = await pipeline(
                self.redis,
                [["EVALSHA", script.sha, len(skeys), *skeys, *args] for _, skeys, args in calls],
            )
            for (i, skeys, args), res in zip(calls, results, strict=True):
                if isinstance(res, rexc.NoScriptError):
                    res = await script(self.redis, skeys, args)
                elif isinstance(res, Exception):
                    raise res
                out[i] = self._result(res)
        return out

    async def trail_step(
        self, order_id: str, step: str, detail: dict[str, Any] | None = None, at: str | None = None
    ) -> None:
        """Append a step that changes no state (``sent`` with its sequence number, ...)."""
        p = partition_of_order_id(order_id)
        with redis_errors():
            await self.redis.rpush(
                keys.trail(p, order_id),
                json.dumps(
                    {
                        "at": at or utc_iso(self.clock()),
                        "step": step,
                        "component": self.component,
                        "process": self.process,
                        "detail": detail or {},
                    },
                    default=str,
                ),
            )
