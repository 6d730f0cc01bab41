"""``OrderGateway``: every piece of Redis work the API does, behind one small async interface.

Each change is one Lua script in the order's partition slot ``{p}`` (see ``gateway/lua/``), so
it is all or nothing on a single Redis and on Redis Cluster alike. Validation is pure and runs
before Redis is touched; risk counters live in Redis and are checked inside the scripts.
"""

from __future__ import annotations

import asyncio
import json
import math
from collections.abc import AsyncIterator, Callable, Iterable
from dataclasses import dataclass
from datetime import UTC, date, datetime
from decimal import Decimal
from json.encoder import encode_basestring_ascii as _q
from typing import Any, Literal

from redis import exceptions as rexc
from redis.asyncio.cluster import RedisCluster

from gateway import fields, keys, trail
from gateway.codec import (
    FIELD,
    CancelCommand,
    CodecError,
    ReplaceCommand,
    decode_event,
    encode_command,
    encode_new_order,
    encode_submitted,
)
from gateway.config import GatewayConfig
from gateway.errors import ErrorCode, OrderError
from gateway.ids import new_order_id, partition_of_order_id
from gateway.market_rules import daily_limits
from gateway.model import (
    NewOrderRequest,
    Order,
    OrderStatus,
    OrderType,
    TrailStep,
    fingerprint,
    price_str,
    utc_iso,
)
from gateway.refdata import ReferenceData
from gateway.resp import resp_bulk
from gateway.routing import RoutingTable
from gateway.scripts import (
    Batcher,
    ReplySink,
    Scripts,
    packs_itself,
    pipeline,
    redis_errors,
)
from gateway.validation import (
    BODY_ONLY_ERRORS,
    TOKYO,
    NewOrderValidator,
    canonical_request,
    validate_replace,
)

Clock = Callable[[], datetime]
HaltScope = Literal["account", "venue", "all"]
ListStatus = Literal["open", "done", "all"]

_MESSAGES = {
    ErrorCode.duplicate_client_order_id: "client_order_id was already used with a different body",
    ErrorCode.halted: "new orders are halted for this account or venue",
    ErrorCode.risk_max_quantity: "quantity is above the per-order maximum",
    ErrorCode.risk_max_notional: "order value is above the per-order maximum",
    ErrorCode.risk_max_open_orders: "the account has too many open orders",
    ErrorCode.risk_daily_buy_notional: "the account's daily buy value would exceed its limit",
    ErrorCode.rate_limited: "too many orders per second for this account",
    ErrorCode.order_not_found: "no such order",
    ErrorCode.order_not_open: "the order is already done",
    ErrorCode.order_in_flight: "another change of this order is still pending at the venue",
    ErrorCode.replace_below_filled: "quantity must be above the filled quantity",
}
_FIELDS = {
    ErrorCode.risk_max_quantity: "quantity",
    ErrorCode.risk_max_notional: "quantity",
    ErrorCode.duplicate_client_order_id: "client_order_id",
    ErrorCode.replace_below_filled: "quantity",
}


def _script_error(code: str, retry_after_ms: Any = None) -> OrderError:
    ec = ErrorCode(code)
    retry = None
    if ec is ErrorCode.rate_limited:
        retry = max(int(retry_after_ms or 0), 1) / 1000
    return OrderError(ec, _MESSAGES.get(ec, code), _FIELDS.get(ec), retry)


def _flat_to_dict(flat: list[Any]) -> dict[str, str]:
    it = iter(x.decode() if isinstance(x, bytes) else str(x) for x in flat)
    return dict(zip(it, it, strict=True))


def _s(x: Any) -> str:
    return x.decode() if isinstance(x, bytes) else str(x)


def _new_order(r: NewOrderRequest, order_id: str, p: int, venue: str, at: str) -> Order:
    """The order as submit.lua writes it (saves reading it back)."""
    return Order(
        order_id=order_id,
        partition=p,
        account=r.account,
        client_order_id=r.client_order_id,
        symbol=r.symbol,
        side=r.side,
        type=r.type,
        quantity=r.quantity,
        price=r.price,
        time_in_force=r.time_in_force,
        venue=venue,
        when_closed=r.when_closed,
        status=OrderStatus.pending_new,
        cum_qty=0,
        leaves_qty=r.quantity,
        avg_px=Decimal(0),
        fills=(),
        created_at=at,
        updated_at=at,
        cl_ord_id=order_id,
    )


API = "api"  # the component name on the trail

# the submit's trail steps (compact, as the scripts write theirs), from the one encoder's
# templates: ``received`` takes (at, process, client order id, venue); ``enqueued`` stops at
# the command entry id, which only Redis knows: submit.lua writes before + id + after
_RECEIVED = trail.template("received", API, ("client_order_id", "venue"), compact=True)
_ENQ_BEFORE, _ENQ_AFTER = trail.template(
    "enqueued", API, ("stream", "entry_id"), compact=True, raw=("at", "entry_id")
).rsplit("%s", 1)


class _SecondText:
    """The ``YYYY-MM-DDTHH:MM:SS`` part of the last UTC second formatted: consecutive submits
    fall in the same second, so the date and time are formatted once per second and only
    the microseconds per order (``isoformat`` was ~1.3 us a call)."""

    __slots__ = ("second", "text")

    def __init__(self) -> None:
        self.second: tuple[int, ...] = ()
        self.text = ""

    def of(self, at: datetime) -> str:
        """The formatted second of an aware UTC datetime (exact key: every field of it)."""
        second = (at.second, at.minute, at.hour, at.day, at.month, at.year)
        if second != self.second:
            self.text = at.isoformat(timespec="seconds")[:-6]
            self.second = second
        return self.text


_SECOND = _SecondText()


def _utc_iso(at: datetime) -> str:
    """``utc_iso`` for the clock's own aware-UTC datetimes, the second's text reused."""
    if at.tzinfo is UTC:
        return f"{_SECOND.of(at)}.{at.microsecond:06d}Z"
    return utc_iso(at)


def _same(x: Any) -> Any:
    return x


@dataclass(frozen=True, slots=True)
class _SubmitPlan:
    p: int
    cmd_key: str
    # str, or RespBulk on a single Redis; names: the layout gateway.calls.SUBMIT
    mid_keys: tuple[Any, ...]  # k_account .. k_events
    halt_key: Any  # k_halt
    account_venue: tuple[Any, Any]  # a_account, a_venue
    limits: tuple[Any, ...]  # a_max_quantity .. a_burst
    p_arg: Any  # a_partition
    stream_json: str  # the command stream's name as a JSON string (the enqueued step)


@dataclass(slots=True)  # not frozen: a frozen __init__ costs a setattr call per field
class SubmitCall:
    """A validated submit, ready for the script: ``keys`` and ``args`` of submit.lua."""

    request: NewOrderRequest
    process: str
    now: datetime
    p: int
    venue: str
    at: str
    order_id: str
    keys: list[Any]
    args: list[Any]
    price_text: str | None  # price_str(request.price), for the answer


class SubmitOutcome:
    """A submit's result: the order, and whether this submit created it (False: the same
    request was accepted before, an idempotent replay).

    An order this submit created is described by its ``call`` alone, so its ``Order`` (23
    frozen fields, ~4 us) is only built when ``order`` is read: the API formats its answer
    from the call (``stateless_api.presenters.outcome_body``)."""

    __slots__ = ("_order", "created", "call")

    def __init__(self, order: Order | None, created: bool, call: SubmitCall | None = None):
        if order is None and call is None:
            raise ValueError("an outcome needs the order or the call that created it")
        self._order = order
        self.created = created
        self.call = call  # set for an order this submit created

    @property
    def order(self) -> Order:
        if self._order is None:
            call = self.call
            assert call is not None
            self._order = _new_order(call.request, call.order_id, call.p, call.venue, call.at)
        return self._order

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, SubmitOutcome):
            return NotImplemented
        return (self.order, self.created) == (other.order, other.created)

    def __hash__(self) -> int:
        return hash((self.order, self.created))

    def __repr__(self) -> str:
        return f"SubmitOutcome(order={self.order!r}, created={self.created!r})"


class MomentRefusal(Exception):
    """A rule of the moment (trading phase, the day's limits) refused the order; see
    ``OrderGateway.refused_now``."""

    def __init__(self, error: OrderError) -> None:
        super().__init__(str(error))
        self.error = error


def _not_found() -> OrderError:
    return OrderError(ErrorCode.order_not_found, "no such order", "order_id")


class OrderGateway:
    def __init__(
        self,
        redis: Any,
        config: GatewayConfig,
        refdata: ReferenceData,
        clock: Clock | None = None,
        routing: RoutingTable | None = None,
    ) -> None:
        self.redis = redis
        self.config = config
        self.refdata = refdata
        self.clock: Clock = clock or (lambda: datetime.now(UTC))
        self.routing = routing or RoutingTable.load(config.routing_path)
        self.scripts = Scripts()
        self.batcher = Batcher(
            redis, wait_replicas=config.wait_replicas, wait_timeout_ms=config.wait_timeout_ms
        )
        self.P = config.partitions
        self.validator = NewOrderValidator(refdata, self.routing)
        self._plans: dict[tuple[str, str], _SubmitPlan] = {}
        self._packs = packs_itself(redis)  # single Redis: the batcher packs RESP itself
        self._proc_args: dict[str, tuple[Any, Any]] = {}
        self._enq_after: Any = resp_bulk(_ENQ_AFTER) if self._packs else _ENQ_AFTER
        self._day = (date.min, date.min.isoformat())  # the last trading day and its text

    # --- lifecycle ---------------------------------------------------------------------

    async def load_scripts(self) -> None:
        await self.scripts.load(self.redis)

    async def ping(self, timeout: float | None = None) -> bool:
        """Redis answers PING (within ``timeout`` seconds when given); ``OrderError``
        ``redis_unavailable`` otherwise. A cancelled call drops its connection (redis-py)."""
        with redis_errors():
            async with asyncio.timeout(timeout):
                return bool(await self.redis.ping())

    # --- submit ------------------------------------------------------------------------

    def _plan(self, account: str, venue: str) -> _SubmitPlan:
        """The per-(account, venue) constants of a submit: partition, keys, limits."""
        plan = self._plans.get((account, venue))
        if plan is None:
            p = keys.partition_of(account, self.P)
            limits = self.config.risk_for(account)
            cmd_key = keys.cmd_stream(p, venue)
            # on a single Redis the constants travel pre-encoded (RespBulk), else as values
            enc: Callable[[Any], Any] = resp_bulk if self._packs else _same
            plan = _SubmitPlan(
                p=p,
                cmd_key=cmd_key,
                mid_keys=tuple(
                    map(
                        enc,
                        (
                            keys.account(p, account),
                            keys.account_orders(p, account),
                            keys.account_open(p, account),
                            keys.open_orders(p),
                            cmd_key,
                            keys.events(p),
                        ),
                    )
                ),
                halt_key=enc(keys.halt(p)),
                account_venue=(enc(account), enc(venue)),
                limits=tuple(
                    map(
                        enc,
                        (
                            limits.max_order_quantity,
                            limits.max_order_notional,
                            limits.max_open_orders,
                            limits.max_daily_buy_notional,
                            repr(float(limits.orders_per_second)),
                            limits.burst,
                        ),
                    )
                ),
                p_arg=enc(p),
                stream_json=_q(cmd_key),
            )
            if len(self._plans) >= 4096:
                self._plans.clear()
            self._plans[(account, venue)] = plan
        return plan

    def _day_text(self, day: date) -> str:
        """``a_day`` of submit.lua: the trading day's ISO text, formatted once per day."""
        if day != self._day[0]:
            self._day = (day, day.isoformat())
        return self._day[1]

    def _process_args(self, process: str) -> tuple[Any, Any]:
        """``a_process``, ``a_events_maxlen`` of submit.lua: the process name and the events stream's MAXLEN."""
        pair = self._proc_args.get(process)
        if pair is None:
            enc: Callable[[Any], Any] = resp_bulk if self._packs else _same
            pair = (enc(process), enc(self.config.events_maxlen))
            if len(self._proc_args) < 64:
                self._proc_args[process] = pair
        return pair

    def prepare_submit(
        self, request: NewOrderRequest, *, process: str, now: datetime | None = None
    ) -> SubmitCall:
        """Validate and build the submit script's call: everything before Redis, synchronous,
        so the HTTP fast path runs it inside a parser callback. ``OrderError`` for a body that
        breaks a rule; ``MomentRefusal`` for a rule of the moment (phase, the day's limits),
        which is only a refusal once Redis says no earlier submit of this body was accepted
        (``refused_now``).

        This is the hot path of the API: constants per account and venue come from
        ``_plan``, the wire payloads from the codec's direct encoders, the trail steps from
        one JSON encoder (see the README's order API benchmark for what each step saved)."""
        now = self.clock() if now is None else now
        if request.venue is not None:  # the default venue spelled out: the same order
            request = canonical_request(request, self.refdata, self.routing)
        try:
            _, venue, _, risk_price, day = self.validator.check(request, now)  # pure, no Redis
        except OrderError as exc:
            if exc.code in BODY_ONLY_ERRORS:
                raise  # no earlier submit of this body can have been accepted: 422 at once
            raise MomentRefusal(exc) from None
        plan = self._plan(request.account, venue)
        p = plan.p
        notional = math.ceil(risk_price * request.quantity)
        at = _utc_iso(now)
        price = price_str(request.price)
        side = request.side._value_  # the member's value without Enum's property descriptor
        otype = request.type._value_
        tif = request.time_in_force._value_
        account = request.account
        cid = request.client_order_id
        qty = request.quantity
        proc_json = _q(process)
        received = _RECEIVED % (at, proc_json, _q(cid), _q(venue))
        enq_before = _ENQ_BEFORE % (at, proc_json, plan.stream_json)
        order_id = new_order_id(p)
        # in the order of gateway.calls.SUBMIT (the script reads them by those names; a list
        # literal is the hot path's cheapest builder; test_gw_submit_layout pins each name)
        skeys = [
            keys.order(p, order_id),  # k_order
            keys.idempotency(p, account, cid),  # k_idempotency
            *plan.mid_keys,  # k_account .. k_events
            keys.trail(p, order_id),  # k_trail
            plan.halt_key,  # k_halt
        ]
        args: list[Any] = [
            order_id,  # a_order_id
            fingerprint(request, price),  # a_fingerprint
            *plan.account_venue,  # a_account, a_venue
            side,  # a_side
            qty,  # a_quantity
            notional,  # a_notional
            *plan.limits,  # a_max_quantity .. a_burst
            self._day_text(day),  # a_day
            encode_new_order(  # a_command
                order_id, account, cid, request.symbol, side, otype, qty, price, tif, venue, at
            ),
            at,  # a_at
            *self._process_args(process),  # a_process, a_events_maxlen
            cid,  # a_client_order_id
            request.symbol,  # a_symbol
            otype,  # a_type
            price or "",  # a_price
            tif,  # a_time_in_force
            request.when_closed,  # a_when_closed
            plan.p_arg,  # a_partition
            encode_submitted(order_id, account, request.symbol, side, qty, price, at),
            received,  # a_received
            enq_before,  # a_enqueued_before
            self._enq_after,  # a_enqueued_after
        ]
        return SubmitCall(request, process, now, p, venue, at, order_id, skeys, args, price)

    def finish_submit(self, call: SubmitCall, res: Any, acked: int) -> SubmitOutcome | str | None:
        """The submit script's reply as an outcome: ``SubmitOutcome`` when accepted; the
        existing order id (str) when this client order id was used before (``settle_submit``
        reads and compares it); None when the new order id collided (``settle_submit`` tries
        a new one). ``OrderError`` for a refusal (risk, halt, rate) or too few replicas."""
        status = _s(res[0])
        if status == "ok":
            if acked < self.config.wait_replicas:
                raise OrderError(
                    ErrorCode.redis_unavailable,
                    f"order written but acknowledged by {acked} of "
                    f"{self.config.wait_replicas} replicas",
                )
            return SubmitOutcome(None, True, call)
        if status == "dup":
            return _s(res[1])
        code = _s(res[1])
        if code == "id_collision":
            return None
        raise _script_error(code, _s(res[2]))

    async def submit(self, request: NewOrderRequest, *, process: str) -> SubmitOutcome:
        """Validate, then one script: idempotency, halt, risk, record, command, trail, event."""
        try:
            call = self.prepare_submit(request, process=process)
        except MomentRefusal as refusal:
            return await self.refused_now(request, refusal)
        with redis_errors():
            res, acked = await self.send_submit(call)
        return await self.settle_submit(call, self.finish_submit(call, res, acked))

    def send_submit(self, call: SubmitCall) -> asyncio.Future[Any]:
        """The script call on the batcher: a future of ``(result, acked replicas)``."""
        return self.batcher.call_soon(self.scripts.submit, call.keys, call.args)

    def send_submit_into(self, call: SubmitCall, sink: ReplySink) -> None:
        """``send_submit`` handing ``(result, acked replicas)`` or the exception to ``sink``."""
        self.batcher.call_into(self.scripts.submit, call.keys, call.args, sink)

    async def refused_now(self, request: NewOrderRequest, refusal: MomentRefusal) -> SubmitOutcome:
        """A rule of the moment refused the body: a retry of an order accepted earlier (e.g.
        before the venue closed) is still 200, so ask Redis first."""
        request = canonical_request(request, self.refdata, self.routing)
        replay = await self._replay(keys.partition_of(request.account, self.P), request)
        if replay is not None:
            return SubmitOutcome(replay, False)
        raise refusal.error

    async def settle_submit(
        self, call: SubmitCall, result: SubmitOutcome | str | None
    ) -> SubmitOutcome:
        """The rare ends of ``finish_submit``: a used client order id (the earlier order if the
        body is the same, else 409) or an order id collision (again with a new id)."""
        for _ in range(3):
            if isinstance(result, SubmitOutcome):
                return result
            if result is not None:
                replay = await self._replay(call.p, call.request, result)
                if replay is not None:
                    return SubmitOutcome(replay, False)
                raise RuntimeError("idempotency key points at a missing order")  # not by us
            call = self.prepare_submit(call.request, process=call.process, now=call.now)
            with redis_errors():
                res, acked = await self.send_submit(call)
            result = self.finish_submit(call, res, acked)
        raise RuntimeError("order id collided three times in a row")  # needs a broken clock

    async def _replay(
        self, p: int, request: NewOrderRequest, order_id: str | None = None
    ) -> Order | None:
        """The order an earlier submit of this client order id created, if the body is the
        same; ``duplicate_client_order_id`` if it differs; None if there is none."""
        with redis_errors():
            if order_id is None:
                existing = await self.redis.get(
                    keys.idempotency(p, request.account, request.client_order_id)
                )
                if existing is None:
                    return None
                order_id = _s(existing)
            raw = await self.redis.hgetall(keys.order(p, order_id))
        if not raw:
            return None
        order = Order.from_redis(raw)
        fp = raw.get(b"fp", raw.get("fp"))
        if fp is None or _s(fp) != request.fingerprint():
            raise _script_error("duplicate_client_order_id")
        return order

    # --- reads -------------------------------------------------------------------------

    def _partition(self, order_id: str) -> int:
        try:
            p = partition_of_order_id(order_id)
        except ValueError:
            raise _not_found() from None
        if p >= self.P:
            raise _not_found()
        return p

    async def get(self, order_id: str, *, accounts: set[str] | None) -> Order:
        """The order, if it exists and belongs to one of ``accounts`` (None: any account)."""
        p = self._partition(order_id)
        with redis_errors():
            raw = await self.redis.hgetall(keys.order(p, order_id))
        if not raw:
            raise _not_found()
        order = Order.from_redis(raw)
        if accounts is not None and order.account not in accounts:
            raise _not_found()
        return order

    async def trail(self, order_id: str, *, accounts: set[str] | None) -> list[TrailStep]:
        """The order's trail in time order (every component's steps)."""
        order = await self.get(order_id, accounts=accounts)
        with redis_errors():
            entries = await self.redis.lrange(keys.trail(order.partition, order_id), 0, -1)
        return [s for s in map(trail.parse, entries) if s is not None]

    async def list_orders(
        self,
        account: str,
        status: ListStatus = "all",
        limit: int = 100,
        cursor: str | None = None,
    ) -> tuple[list[Order], str | None]:
        """The account's orders, newest first, ``limit`` at a time; pass back ``next_cursor``."""
        if status not in ("open", "done", "all"):
            raise OrderError(
                ErrorCode.invalid_request, "status must be open, done or all", "status"
            )
        if isinstance(limit, bool) or not isinstance(limit, int) or not 1 <= limit <= 1000:
            raise OrderError(ErrorCode.invalid_request, "limit must be 1..1000", "limit")
        if cursor is not None:
            try:
                partition_of_order_id(cursor)
            except ValueError:
                raise OrderError(ErrorCode.invalid_request, "bad cursor", "cursor") from None
        p = keys.partition_of(account, self.P)
        index = (
            keys.account_open(p, account) if status == "open" else keys.account_orders(p, account)
        )
        start = f"({cursor}" if cursor else "+"
        out: list[Order] = []
        batch = limit + 1 if status != "done" else max(limit * 2, 50)
        with redis_errors():
            while len(out) <= limit:
                ids = await self.redis.zrange(
                    index, start, "-", desc=True, bylex=True, offset=0, num=batch
                )
                if not ids:
                    break
                pipe = self.redis.pipeline(transaction=False)
                for oid in ids:
                    pipe.hgetall(keys.order(p, _s(oid)))
                for raw in await pipe.execute():
                    if not raw:
                        continue
                    order = Order.from_redis(raw)
                    if status == "done" and order.status.is_open:
                        continue
                    out.append(order)
                start = f"({_s(ids[-1])}"
                if len(ids) < batch:
                    break
        if len(out) > limit:
            return out[:limit], out[limit - 1].order_id
        return out, None

    # --- changes -----------------------------------------------------------------------

    async def cancel(
        self, order_id: str, *, accounts: set[str] | None, process: str = "api"
    ) -> Order:
        """Ask the venue to cancel: pending_cancel now, the connector sends it."""
        order = await self.get(order_id, accounts=accounts)
        skeys, args = self._cancel_call(order, process)
        with redis_errors():
            res = await self.scripts.cancel(self.redis, skeys, args)
        if _s(res[0]) == "err":
            raise _script_error(_s(res[1]))
        return Order.from_redis(_flat_to_dict(res[1:]))

    def _cancel_call(self, order: Order, process: str) -> tuple[list[str], list[Any]]:
        p = order.partition
        at = utc_iso(self.clock())
        cmd = CancelCommand(
            order_id=order.order_id,
            account=order.account,
            symbol=order.symbol,
            side=order.side.value,
            quantity=order.quantity,
            venue=order.venue,
            at=at,
        )
        skeys = [
            keys.order(p, order.order_id),
            keys.cmd_stream(p, order.venue),
            keys.events(p),
            keys.trail(p, order.order_id),
        ]
        return skeys, [encode_command(cmd), at, process, self.config.events_maxlen]

    async def replace(
        self,
        order_id: str,
        quantity: int | None,
        price: Decimal | None,
        *,
        accounts: set[str] | None,
        process: str = "api",
    ) -> Order:
        """Ask the venue to amend quantity and/or price: pending_replace now."""
        order = await self.get(order_id, accounts=accounts)
        now = self.clock()
        new_qty, new_px = validate_replace(order, quantity, price, self.refdata, now)
        p = order.partition
        limits = self.config.risk_for(order.account)
        if order.type is OrderType.limit and new_px is not None:
            risk_price = new_px
        else:
            sym = self.refdata.get(order.symbol)
            risk_price = (
                daily_limits(sym.base_price, now.astimezone(TOKYO).date())[1] if sym else Decimal(0)
            )
        notional = math.ceil(risk_price * new_qty)
        at = utc_iso(now)
        cmd = ReplaceCommand(
            order_id=order_id,
            account=order.account,
            symbol=order.symbol,
            side=order.side.value,
            type=order.type.value,
            quantity=new_qty,
            price=price_str(new_px),
            time_in_force=order.time_in_force.value,
            venue=order.venue,
            at=at,
        )
        skeys = [
            keys.order(p, order_id),
            keys.account(p, order.account),
            keys.cmd_stream(p, order.venue),
            keys.events(p),
            keys.trail(p, order_id),
        ]
        args = [
            encode_command(cmd),
            at,
            process,
            self.config.events_maxlen,
            new_qty,
            price_str(new_px) or "",
            notional,
            limits.max_order_quantity,
            limits.max_order_notional,
            limits.max_daily_buy_notional,
            now.astimezone(TOKYO).date().isoformat(),
        ]
        with redis_errors():
            res = await self.scripts.replace(self.redis, skeys, args)
        if _s(res[0]) == "err":
            raise _script_error(_s(res[1]))
        return Order.from_redis(_flat_to_dict(res[1:]))

    # --- kill switch -------------------------------------------------------------------

    def _halt_targets(self, scope: HaltScope, target: str | None) -> tuple[list[int], str]:
        if scope == "all":
            return list(range(self.P)), fields.HALT_ALL
        if not target:
            raise OrderError(ErrorCode.invalid_request, f"a {scope} halt needs a target", "target")
        if scope == "account":
            return [keys.partition_of(target, self.P)], fields.halt_account(target)
        if scope == "venue":
            return list(range(self.P)), fields.halt_venue(target)
        raise OrderError(ErrorCode.invalid_request, "scope must be account, venue or all", "scope")

    async def halt(
        self,
        scope: HaltScope,
        target: str | None = None,
        cancel_open: bool = False,
        *,
        process: str = "ops",
        reason: str = "",
    ) -> int:
        """Refuse new orders for an account, a venue or everything; optionally cancel open
        orders in that scope. Returns how many cancels were requested."""
        parts, fld = self._halt_targets(scope, target)
        value = json.dumps({"at": utc_iso(self.clock()), "by": process, "reason": reason})
        with redis_errors():
            for p in parts:
                await self.redis.hset(keys.halt(p), fld, value)
        if not cancel_open:
            return 0
        canceled = 0
        script = self.scripts.cancel
        with redis_errors():
            for p in parts:
                ids = [_s(x) for x in await self.redis.zrange(keys.open_orders(p), 0, -1)]
                for i in range(0, len(ids), 500):  # pipelined: a kill switch must be quick
                    chunk = ids[i : i + 500]
                    raws = await pipeline(
                        self.redis, [["HGETALL", keys.order(p, o)] for o in chunk]
                    )
                    calls = []
                    for raw in raws:
                        if isinstance(raw, Exception) or not raw:
                            continue
                        order = Order.from_redis(
                            raw if isinstance(raw, dict) else _flat_to_dict(raw)
                        )
                        if scope == "account" and order.account != target:
                            continue
                        if scope == "venue" and order.venue != target:
                            continue
                        calls.append(self._cancel_call(order, process))
                    results = await pipeline(
                        self.redis,
                        [script.evalsha(k, a) for k, a in calls],
                    )
                    for (k, a), res in zip(calls, results, strict=True):
                        if isinstance(res, rexc.NoScriptError):
                            res = await script(self.redis, k, a)
                        elif isinstance(res, Exception):
                            raise res
                        # 'err': already done, a replace in flight; 'same': already canceling
                        canceled += _s(res[0]) == "ok"
        return canceled

    async def resume(self, scope: HaltScope, target: str | None = None) -> None:
        """Lift a halt set by ``halt`` with the same scope and target."""
        parts, fld = self._halt_targets(scope, target)
        with redis_errors():
            for p in parts:
                await self.redis.hdel(keys.halt(p), fld)

    async def halts(self) -> dict[str, Any]:
        """Halts in force: ``{"all" | "venue:X" | "account:A": {...}}``."""
        out: dict[str, Any] = {}
        with redis_errors():
            for p in range(self.P):
                for k, v in (await self.redis.hgetall(keys.halt(p))).items():
                    out[_s(k)] = json.loads(_s(v))
        return out

    # --- live updates ------------------------------------------------------------------

    async def subscribe(
        self,
        accounts: Iterable[str] | None,
        last_event_id: str | None = None,
        *,
        block_ms: int = 1000,
    ) -> AsyncIterator[tuple[str, dict[str, Any]]]:
        """Order updates for ``accounts`` (None: every account), starting NOW: the start
        position of every partition stream is fixed before this returns (``$`` resolved to
        the stream's current last entry), so every event appended after ``subscribe``
        returns is delivered, however late the first read comes. With ``last_event_id`` it
        resumes right after that cursor instead. Each event id is a cursor over every
        partition read (``"p:entry,p:entry"``). ``OrderError`` for a bad ``last_event_id``
        or an unreachable Redis is raised here, not on the first read."""
        acct_set = None if accounts is None else set(accounts)
        parts = (
            sorted({keys.partition_of(a, self.P) for a in acct_set})
            if acct_set is not None
            else list(range(self.P))
        )
        pos = await self._start_positions(parts, last_event_id)
        return self._read_events(acct_set, parts, pos, block_ms)

    async def events(
        self,
        accounts: Iterable[str] | None,
        last_event_id: str | None = None,
        *,
        block_ms: int = 1000,
    ) -> AsyncIterator[tuple[str, dict[str, Any]]]:
        """``subscribe`` as one async generator. Its start is fixed on the first read (a
        generator runs nothing before it); use ``await subscribe(...)`` where "subscribed"
        must mean "nothing after this point is missed"."""
        source = await self.subscribe(accounts, last_event_id, block_ms=block_ms)
        async for item in source:
            yield item

    async def _read_events(
        self, acct_set: set[str] | None, parts: list[int], pos: dict[int, str], block_ms: int
    ) -> AsyncIterator[tuple[str, dict[str, Any]]]:
        cluster = isinstance(self.redis, RedisCluster)
        part_of = {keys.events(p): p for p in parts}
        while True:
            with redis_errors():
                if cluster:  # one slot per XREAD: a blocking read per partition
                    results = await asyncio.gather(
                        *(
                            self.redis.xread(
                                {keys.events(p): pos[p]}, count=500, block=min(block_ms, 100)
                            )
                            for p in parts
                        )
                    )
                    rows = [r for res in results for r in (res or [])]
                else:
                    rows = (
                        await self.redis.xread(
                            {keys.events(p): pos[p] for p in parts}, count=500, block=block_ms
                        )
                        or []
                    )
            for stream, entries in rows:
                p = part_of[_s(stream)]
                for entry_id, f in entries:
                    pos[p] = _s(entry_id)
                    data = f.get(FIELD.encode(), f.get(FIELD))
                    try:
                        ev = decode_event(data)
                    except (CodecError, TypeError):
                        continue
                    if acct_set is not None and ev.account not in acct_set:
                        continue
                    cursor = ",".join(f"{q}:{pos[q]}" for q in parts)
                    yield cursor, ev.to_json()

    async def _start_positions(self, parts: list[int], last_event_id: str | None) -> dict[int, str]:
        given: dict[int, str] = {}
        if last_event_id:
            try:
                for item in last_event_id.split(","):
                    p_text, entry = item.split(":", 1)
                    given[int(p_text)] = entry
            except ValueError:
                raise OrderError(
                    ErrorCode.invalid_request, "bad last event id", "last_event_id"
                ) from None
        pos = {}
        with redis_errors():
            for p in parts:
                if p in given:
                    pos[p] = given[p]
                    continue
                last = await self.redis.xrevrange(keys.events(p), count=1)
                pos[p] = _s(last[0][0]) if last else "0-0"
        return pos
