"""What the connector uses to apply venue reports to orders and to extend their trail.

``ReportApplier.apply_many`` runs ``lua/apply_report.lua`` once per partition for a batch of
reports (all its keys share the tag ``{p}``, all are passed in KEYS: Cluster-safe). Each report
is deduplicated by ExecID (a PossDup replay changes nothing), guarded against overfill, changes
status only along the state machine in ``gateway/states.py``, and appends an event to
``og:{p}:events`` and a step to the order's trail. The calls of all partitions are pipelined
(one round trip).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any, Literal

from redis import exceptions as rexc

from gateway import keys
from gateway.ids import partition_of_order_id
from gateway.model import OrderStatus, price_scaled, price_str, utc_iso
from gateway.redis_compat import CHECKOUT_ARGS
from gateway.resp import bulks_format, bulks_utf8, lens_utf8, str_bulks_format
from gateway.scripts import Scripts, pipeline, redis_errors
from gateway.states import OrderEvent
from gateway.trail import detail_json, step_json

_bulks2 = bulks_format(2)
_bulks3 = bulks_format(3)
_sbulks5 = str_bulks_format(5)
_sbulks9 = str_bulks_format(9)


def _key_prefixes(p: int) -> tuple[str, str, str, str, str]:
    """The five per-report key names of partition ``p`` without their id, from ``gateway.keys``
    (each is the prefix followed by the order / account id: pinned by a unit test)."""
    return (
        keys.order(p, ""),
        keys.execs(p, ""),
        keys.account(p, ""),
        keys.account_open(p, ""),
        keys.trail(p, ""),
    )


Outcome = Literal[
    "applied", "duplicate", "unknown_order", "invalid_transition", "overfill", "wrong_account"
]


@dataclass(slots=True)
class ExecReport:
    """A venue report mapped to an order event. For fills, ``last_qty`` / ``last_px`` are the
    fill; ``partial_fill`` and ``fill`` are interchangeable (the quantities decide).

    Treated as immutable (``dataclasses.replace`` for a changed copy); not ``frozen`` only
    because a frozen dataclass's ``__init__`` costs five times as much, once per report."""

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


_RESULTS: dict[tuple[Any, Any], ApplyResult] = {}


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
        batch: int = 200,
    ) -> None:
        self.redis = redis
        self.P = partitions
        self.process = process
        self.component = component
        self.events_maxlen = events_maxlen
        self.clock = clock or (lambda: datetime.now(UTC))
        self.scripts = scripts or Scripts()
        self.batch = batch  # reports per script call (bounds how long one call blocks Redis)
        self._prefix_cache: dict[int, tuple[str, str, str, str, str]] = {}

    async def load_scripts(self) -> None:
        await self.scripts.load(self.redis)

    def _groups(
        self, reports: Sequence[ExecReport], accounts: Sequence[str | None]
    ) -> list[tuple[int, list[int]]]:
        """The script calls to make: (partition, report indexes), the reports grouped by
        partition (order kept within each), at most ``batch`` per call."""
        by_p: dict[int, list[int]] = {}
        for i, acct in enumerate(accounts):
            if acct is not None:
                by_p.setdefault(partition_of_order_id(reports[i].order_id), []).append(i)
        return [
            (p, idx[lo : lo + self.batch])
            for p, idx in by_p.items()
            for lo in range(0, len(idx), self.batch)
        ]

    def _fields(
        self, r: ExecReport, p: int, account: str, now: str
    ) -> tuple[tuple[str, ...], tuple[str | int, ...]]:
        """One report's 5 keys and 9 arguments (``lua/apply_report.lua``)."""
        oid = r.order_id
        px = r.last_px
        return (
            keys.order(p, oid),
            keys.execs(p, oid),
            keys.account(p, account),
            keys.account_open(p, account),
            keys.trail(p, oid),
        ), (
            r.exec_id,
            r.event.value,
            r.last_qty,
            0 if px is None else price_scaled(px),
            "" if px is None else (price_str(px) or ""),
            r.at or now,
            r.reason,
            detail_json(r.detail),
            r.cl_ord_id,
        )

    def _call_args(
        self,
        p: int,
        idx: Sequence[int],
        reports: Sequence[ExecReport],
        accounts: Sequence[Any],
        now: str,
    ) -> tuple[list[str], list[Any]]:
        skeys: list[str] = [keys.open_orders(p), keys.events(p)]
        args: list[Any] = [self.process, self.component, self.events_maxlen]
        for i in idx:
            k, a = self._fields(reports[i], p, accounts[i], now)
            skeys += k
            args += a
        return skeys, args

    def _packed_call(
        self,
        p: int,
        idx: Sequence[int],
        reports: Sequence[ExecReport],
        accounts: Sequence[Any],
        now: str,
    ) -> bytes:
        """The EVALSHA of one call as RESP bytes, built directly: one ``%`` format per report
        for its keys and one for its arguments (the generic packer's per-argument type
        dispatch was the largest client cost of applying reports). Same bytes as packing
        ``_call_args`` (pinned by a unit test)."""
        n = len(idx)
        ko, ke, ka, kao, kt = self._prefixes(p)
        kparts: list[bytes] = [_bulks2 % lens_utf8(keys.open_orders(p), keys.events(p))]
        aparts: list[bytes] = [
            _bulks3 % lens_utf8(self.process, self.component, str(self.events_maxlen))
        ]
        for i in idx:
            r = reports[i]
            oid = r.order_id
            acct = accounts[i]
            px = r.last_px
            k1, k2, k3, k4, k5 = ko + oid, ke + oid, ka + acct, kao + acct, kt + oid
            if px is None:
                scaled, px_text = "0", ""
            else:
                scaled, px_text = str(price_scaled(px)), price_str(px) or ""
            a1, a2, a3, a6 = r.exec_id, r.event.value, str(r.last_qty), r.at or now
            a7, a8, a9 = r.reason, detail_json(r.detail), r.cl_ord_id
            text = _sbulks5 % (
                len(k1), k1, len(k2), k2, len(k3), k3, len(k4), k4, len(k5), k5
            )  # fmt: skip
            kparts.append(text.encode() if text.isascii() else bulks_utf8(k1, k2, k3, k4, k5))
            text = _sbulks9 % (
                len(a1), a1, len(a2), a2, len(a3), a3, len(scaled), scaled, len(px_text), px_text,
                len(a6), a6, len(a7), a7, len(a8), a8, len(a9), a9,
            )  # fmt: skip
            aparts.append(
                text.encode()
                if text.isascii()
                else bulks_utf8(a1, a2, a3, scaled, px_text, a6, a7, a8, a9)
            )
        head = self.scripts.apply_report.evalsha_head(2 + 5 * n, 3 + 9 * n)
        return b"".join([head, *kparts, *aparts])

    def _prefixes(self, p: int) -> tuple[str, str, str, str, str]:
        got = self._prefix_cache.get(p)
        if got is None:
            got = self._prefix_cache[p] = _key_prefixes(p)
        return got

    @staticmethod
    def _results(res: Sequence[Any]) -> list[ApplyResult]:
        """The script's flat (outcome, status) pairs; results are few distinct immutable
        values, so they are cached by the raw pair."""
        out = []
        cache = _RESULTS
        for j in range(0, len(res), 2):
            key = (res[j], res[j + 1])
            r = cache.get(key)
            if r is None:
                o, st = key
                outcome = o.decode() if isinstance(o, bytes) else str(o)
                s = st.decode() if isinstance(st, bytes) else str(st)
                r = ApplyResult(outcome, OrderStatus(s) if s else None)  # type: ignore[arg-type]
                if len(cache) < 256:
                    cache[key] = r
            out.append(r)
        return out

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
        """Apply a batch in one pipelined round trip (two when accounts must be looked up):
        one script call per partition (up to ``batch`` reports each); each report is still
        atomic on its own, and those of one order apply in the order given."""
        return await self.apply_chunks([reports])

    async def apply_chunks(self, chunks: Iterable[Sequence[ExecReport]]) -> list[ApplyResult]:
        """Apply reports produced chunk by chunk, in order; results in the same order.

        On a single Redis each chunk's script calls are written on one connection as soon as
        the chunk exists, and the replies are read at the end: Redis applies a chunk while the
        caller's iterator produces the next (the connector maps FIX messages in it). On Redis
        Cluster the chunks are joined and pipelined per node."""
        with redis_errors():
            if not self._pooled():
                return await self._apply_routed([r for c in chunks for r in c])
            pool = self.redis.connection_pool
            conn = await pool.get_connection(*CHECKOUT_ARGS)
            sent: list[tuple[Sequence[ExecReport], list[Any], list[tuple[int, list[int]]], str]]
            sent = []
            replies: list[Any] = []
            try:
                for chunk in chunks:
                    if not chunk:
                        continue
                    accounts = await self._accounts(chunk)
                    groups = self._groups(chunk, accounts)
                    now = utc_iso(self.clock())
                    if groups:
                        # one write per chunk: with a socket timeout (the connector's) redis-py
                        # sends through asyncio.wait_for, a new task, so each send let the loop
                        # parse a whole socket read of FIX first while Redis had nothing to do
                        await conn.send_packed_command(
                            b"".join(
                                [
                                    self._packed_call(p, idx, chunk, accounts, now)
                                    for p, idx in groups
                                ]
                            )
                        )
                    sent.append((chunk, accounts, groups, now))
                for _chunk, _accts, groups, _now in sent:
                    for _ in groups:
                        try:
                            replies.append(await conn.read_response())
                        except rexc.ResponseError as exc:
                            replies.append(exc)
            except BaseException:
                await conn.disconnect(nowait=True)  # replies can no longer be matched
                raise
            finally:
                await pool.release(conn)
            out: list[ApplyResult] = []
            it = iter(replies)
            for chunk, accounts, groups, now in sent:
                part = [ApplyResult("unknown_order", None)] * len(chunk)
                for p, idx in groups:
                    await self._collect(next(it), p, idx, chunk, accounts, now, part)
                out += part
            return out

    def _pooled(self) -> bool:
        """A single Redis behind a connection pool (not Cluster, not a one-connection client)."""
        return (
            getattr(self.redis, "connection_pool", None) is not None
            and getattr(self.redis, "connection", None) is None
        )

    async def _apply_routed(self, reports: Sequence[ExecReport]) -> list[ApplyResult]:
        """Redis Cluster (or a one-connection client): the generic pipeline routes each call."""
        out: list[ApplyResult] = [ApplyResult("unknown_order", None)] * len(reports)
        if not reports:
            return out
        accounts = await self._accounts(reports)
        groups = self._groups(reports, accounts)
        now = utc_iso(self.clock())
        script = self.scripts.apply_report
        commands = []
        for p, idx in groups:
            skeys, args = self._call_args(p, idx, reports, accounts, now)
            commands.append(script.evalsha(skeys, args))
        results = await pipeline(self.redis, commands) if commands else []
        for (p, idx), res in zip(groups, results, strict=True):
            await self._collect(res, p, idx, reports, accounts, now, out)
        return out

    async def _collect(
        self,
        res: Any,
        p: int,
        idx: Sequence[int],
        reports: Sequence[ExecReport],
        accounts: Sequence[Any],
        now: str,
        out: list[ApplyResult],
    ) -> None:
        """One call's reply into ``out``; a call that met NOSCRIPT (Redis restarted or failed
        over) is made again with EVAL, which also caches the script."""
        if isinstance(res, rexc.NoScriptError):
            skeys, args = self._call_args(p, idx, reports, accounts, now)
            res = await self.scripts.apply_report(self.redis, skeys, args)
        elif isinstance(res, Exception):
            raise res
        for i, r in zip(idx, self._results(res), strict=True):
            out[i] = r

    async def trail_step(
        self, order_id: str, step: str, detail: dict[str, Any] | None = None, at: str | None = None
    ) -> None:
        """Append a step that changes no state (``sent`` with its sequence number, ...)."""
        p = partition_of_order_id(order_id)
        with redis_errors():
            await self.redis.rpush(
                keys.trail(p, order_id),
                step_json(at or utc_iso(self.clock()), step, self.component, self.process, detail),
            )
