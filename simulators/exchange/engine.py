"""The exchange simulator's matching engine: pure logic, no I/O.

One :class:`MatchingEngine` serves one venue (TSE, or a PTS with its own hours). It keeps one order
book per symbol in price-time priority and runs the market phases on a :class:`SimClock`. Every
call takes a command and returns the events it caused, as plain data
(:class:`~simulators.exchange.model.ExecutionReport`, :class:`~simulators.exchange.model.CancelReject`),
each addressed to the FIX session (``.session``) that must receive it: a fill produces one report
for each side, possibly for two sessions. The FIX layer turns events into messages; nothing here
knows about sockets or FIX encoding.

API (stable; the simulator process builds on it)::

    engine = MatchingEngine(instruments, clock=SimClock.parse(spec), venue="TSE", phase=None)
    engine.new_order(NewOrder(...))        -> list[Event]   # D (PossDup flag in .poss_dup)
    engine.cancel(CancelOrder(...))        -> list[Event]   # F
    engine.replace(ReplaceOrder(...))      -> list[Event]   # G
    engine.status(StatusRequest(...))      -> list[Event]   # H: one ExecType=I report
    engine.tick()                          -> list[Event]   # call often (e.g. every 100 ms):
                                                            # runs phase changes, auctions, expiry
    engine.phase / engine.pinned / engine.now()
    engine.pin_phase(Phase | None)         -> list[Event]   # pin (runs the auctions the move
                                                            # implies); None follows the clock
    engine.configure_session(name, SessionRules(...))       # STP, hard limits, symbols
    engine.set_kill_switch(name, on)       -> list[Event]   # on: cancel all + refuse new
    engine.cancel_session_orders(name, text) -> list[Event] # cancel-on-disconnect
    engine.inject_rejects(name, count); engine.pending_rejects(name)  # fault: reject next N
    engine.book_view(symbol) -> BookView | None; engine.order_view(session, cl_ord_id)
    engine.orders() -> list[OrderView]; engine.trades (last Trade records, with trade_log=N); engine.reset()
    engine.counters (orders, rejects, trades, volume); engine.next_transition_at()

Liquidity (``simulators/exchange/liquidity.py``): ``RandomWalkLiquidity(engine, seed=...)`` with
``.tick()`` from the same ticker, and ``load_book(engine, path)`` for a deterministic book.

Instruments come from the gateway's reference data: ``from_reference_data(path, on=date,
venue=venue)`` (pass the venue, so a PTS only trades the symbols listed on it).

Every call first brings the phase up to the clock (so events of a phase change, such as the
opening itayose's fills, come first in the returned list). Sessions whose name starts with ``#``
are internal (the liquidity provider, a loaded book): their orders trade normally but produce no
events. IDs (OrderID, ExecID, TrdMatchID) carry ``id_prefix``, unique per engine run, so a
restarted simulator never repeats an ExecID the gateway has already applied.

Rules, the TimeInForce mapping, phases and reject reasons are documented in the README
(simulator section, "Matching engine").
"""

from __future__ import annotations

import secrets
from collections import deque
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import ROUND_HALF_EVEN, Decimal

from .book import Book, BookSide, Order
from .instruments import Instrument, Instruments
from .itayose import determine_price
from .model import (
    DONE_STATUSES,
    CancelOrder,
    CancelReject,
    CxlRejReason,
    CxlRejResponseTo,
    Event,
    ExecType,
    ExecutionReport,
    NewOrder,
    OrdRejReason,
    OrdStatus,
    OrdType,
    RejectRule,
    ReplaceOrder,
    Side,
    StatusRequest,
    TimeInForce,
    Trade,
)
from .phases import Auction, Phase, SimClock, VenueProfile, auction_between, profile_for

# enum members as module constants: an Enum attribute lookup costs ~10x a global one
_TIF_DAY = TimeInForce.DAY
_TIF_AT_THE_OPENING = TimeInForce.AT_THE_OPENING
_TIF_AT_THE_CLOSE = TimeInForce.AT_THE_CLOSE
_TIF_IOC = TimeInForce.IOC
_TIF_FOK = TimeInForce.FOK
_OT_MARKET = OrdType.MARKET
_OT_LIMIT = OrdType.LIMIT
_SIDE_BUY = Side.BUY
_SIDE_SELL = Side.SELL
_PH_CLOSED = Phase.CLOSED
_PH_PRE_OPEN = Phase.PRE_OPEN
_PH_CONTINUOUS = Phase.CONTINUOUS
_PH_LUNCH = Phase.LUNCH
_PH_CLOSING_AUCTION = Phase.CLOSING_AUCTION
_ST_NEW = OrdStatus.NEW
_ST_PARTIALLY_FILLED = OrdStatus.PARTIALLY_FILLED
_ST_FILLED = OrdStatus.FILLED
_ST_CANCELED = OrdStatus.CANCELED
_ST_REJECTED = OrdStatus.REJECTED
_ST_EXPIRED = OrdStatus.EXPIRED
_ET_NEW = ExecType.NEW
_ET_CANCELED = ExecType.CANCELED
_ET_REPLACED = ExecType.REPLACED
_ET_REJECTED = ExecType.REJECTED
_ET_EXPIRED = ExecType.EXPIRED
_ET_TRADE = ExecType.TRADE
_ET_ORDER_STATUS = ExecType.ORDER_STATUS

ZERO = Decimal(0)
_AVG_QUANTUM = Decimal("0.000001")
_ONE_SECOND = timedelta(seconds=1)
NONE_ID = "NONE"  # OrderID of a reject for an order never booked (FIX convention)
INTERNAL_PREFIX = "#"


@dataclass(slots=True)
class SessionRules:
    """Per-session exchange-side behaviour; everything off by default, so a load test is never
    refused by a limit nobody configured."""

    self_trade_prevention: bool = False  # on: an order never trades with its own session
    max_order_value: Decimal | None = None  # yen, price x quantity (market: the upper limit)
    max_value_per_second: Decimal | None = None  # yen accepted in any rolling second
    symbols: frozenset[str] | None = None  # symbols the session may trade (None: all)


class _Session:
    __slots__ = ("rules", "cl_ord_ids", "killed", "reject_next", "window", "window_sum")

    def __init__(self, rules: SessionRules):
        self.rules = rules
        self.cl_ord_ids: dict[str, Order | None] = {}  # every ClOrdID seen (None: rejected)
        self.killed = False
        self.reject_next = 0
        self.window: deque[tuple[datetime, Decimal]] = deque()
        self.window_sum = ZERO


@dataclass(frozen=True, slots=True)
class LevelView:
    price: Decimal
    quantity: int
    count: int


@dataclass(frozen=True, slots=True)
class BookView:
    symbol: str
    base_price: Decimal
    lower_limit: Decimal
    upper_limit: Decimal
    last_price: Decimal | None
    bids: list[LevelView]  # best first
    asks: list[LevelView]  # best first
    market_buy_qty: int = 0  # market orders waiting for the itayose
    market_sell_qty: int = 0
    at_open_count: int = 0
    at_close_count: int = 0


@dataclass(frozen=True, slots=True)
class OrderView:
    order_id: str
    session: str
    cl_ord_id: str
    orig_cl_ord_id: str | None
    symbol: str
    side: Side
    ord_type: OrdType
    time_in_force: TimeInForce
    price: Decimal | None
    order_qty: int
    cum_qty: int
    leaves_qty: int
    avg_px: Decimal
    status: OrdStatus


def _average(notional: Decimal, qty: int) -> Decimal:
    avg = notional / qty
    exponent = avg.as_tuple().exponent
    if isinstance(exponent, int) and exponent >= -6:
        return avg  # exact (e.g. 2851 or 2851.5)
    return avg.quantize(_AVG_QUANTUM, ROUND_HALF_EVEN)


class _Rejected(Exception):
    """Internal: a validation rule failed (never escapes the engine)."""

    def __init__(self, reason: OrdRejReason, rule: RejectRule, detail: str):
        self.reason = reason
        self.rule = rule
        self.text = f"{rule.value}: {detail}"


@dataclass
class _Counters:
    orders: int = 0
    rejects: int = 0
    trades: int = 0
    volume: int = 0


class MatchingEngine:
    """See the module docstring."""

    def __init__(
        self,
        instruments: Instruments,
        *,
        clock: SimClock | None = None,
        venue: str = "TSE",
        profile: VenueProfile | None = None,
        phase: Phase | None = None,
        id_prefix: str | None = None,
        trade_log: int = 0,
    ):
        self.instruments = instruments
        self.clock = clock or SimClock()
        self.profile = profile or profile_for(venue)
        self.venue = self.profile.venue
        self._prefix = id_prefix if id_prefix is not None else secrets.token_hex(3).upper()
        self._books: dict[str, Book] = {}
        self._orders: dict[str, Order] = {}
        self._sessions: dict[str, _Session] = {}
        self._seq = 0
        self._ids = 0
        self.trades: deque[Trade] = deque(maxlen=trade_log)  # last trades, if asked for
        self._log_trades = trade_log > 0
        self.counters = _Counters()
        now = self.clock.now()
        self._last = now
        self._pinned = phase is not None
        self._phase = phase if phase is not None else self.profile.schedule.phase_at(now)
        self._next_boundary = self.profile.schedule.next_boundary(now)
        # tuples, not sets: `in` on a few Enum members by identity beats hashing an Enum
        self._order_types = tuple(self.profile.order_types)
        self._tif_now = tuple(self.profile.time_in_force.get(self._phase, ()))

    # --- clock and phases --------------------------------------------------------------

    @property
    def phase(self) -> Phase:
        return self._phase

    @property
    def pinned(self) -> bool:
        return self._pinned

    def now(self) -> datetime:
        return self.clock.now()

    def tick(self) -> list[Event]:
        """Bring the phase up to the clock; returns what the phase changes caused."""
        out: list[Event] = []
        self._sync(self.clock.now(), out)
        return out

    def pin_phase(self, phase: Phase | None) -> list[Event]:
        """Pin ``phase`` (running the auction or expiry the move implies), or with None go back
        to following the clock."""
        out: list[Event] = []
        now = self.clock.now()
        if phase is None:
            self._pinned = False
            self._last = now
            self._next_boundary = self.profile.schedule.next_boundary(now)
            self._enter(self.profile.schedule.phase_at(now), now, out)
        else:
            self._pinned = True
            self._enter(phase, now, out)
        return out

    def next_transition_at(self) -> datetime | None:
        """Clock time of the next phase change (None while pinned)."""
        return None if self._pinned else self._next_boundary

    def _sync(self, now: datetime, out: list[Event]) -> None:
        if self._pinned:
            return
        if self._last <= now < self._next_boundary:
            self._last = now
            return
        schedule = self.profile.schedule
        if now < self._last:  # the clock was set back: jump straight there
            self._enter(schedule.phase_at(now), now, out)
        else:
            for at, phase in schedule.transitions(self._last, now):
                self._enter(phase, at, out)
        self._last = now
        self._next_boundary = schedule.next_boundary(now)

    def _enter(self, new: Phase, at: datetime, out: list[Event]) -> None:
        old = self._phase
        if new is old:
            return
        self._phase = new
        self._tif_now = tuple(self.profile.time_in_force.get(new, ()))
        kind = auction_between(old, new)
        if kind is not None:
            for book in list(self._books.values()):
                self._auction(book, kind, at, out)
        if new is _PH_CLOSED:
            for book in self._books.values():
                for o in self._live_in_book(book):
                    self._expire(book, o, at, "end of the trading day", out)
        if old is _PH_CLOSED:
            self._new_day()

    def _new_day(self) -> None:
        """A new trading day: ClOrdIDs and order status are per day, as at the exchange."""
        self._orders.clear()
        for sess in self._sessions.values():
            sess.cl_ord_ids.clear()
            sess.window.clear()
            sess.window_sum = ZERO
        for book in self._books.values():
            book.last_price = None

    # --- sessions ------------------------------------------------------------------------

    def _session(self, name: str) -> _Session:
        sess = self._sessions.get(name)
        if sess is None:
            sess = self._sessions[name] = _Session(SessionRules())
        return sess

    def configure_session(self, name: str, rules: SessionRules) -> None:
        self._session(name).rules = rules

    def session_rules(self, name: str) -> SessionRules:
        return self._session(name).rules

    def kill_switch_on(self, name: str) -> bool:
        return self._session(name).killed

    def set_kill_switch(self, name: str, on: bool) -> list[Event]:
        """On: cancel every open order of the session and refuse its new orders until off."""
        out: list[Event] = []
        now = self.clock.now()
        self._sync(now, out)
        self._session(name).killed = on
        if on:
            self._cancel_all(name, "kill_switch: canceled by the exchange kill switch", now, out)
        return out

    def cancel_session_orders(self, name: str, text: str = "cancel_on_disconnect") -> list[Event]:
        """Cancel every open order of the session (cancel-on-disconnect). The reports are
        returned for the caller to deliver when the session logs on again."""
        out: list[Event] = []
        now = self.clock.now()
        self._sync(now, out)
        self._cancel_all(name, text, now, out)
        return out

    def inject_rejects(self, name: str, count: int) -> None:
        """Fault: reject the next ``count`` new orders of the session (OrdRejReason 0)."""
        if count < 0:
            raise ValueError("count must be >= 0")
        self._session(name).reject_next = count

    def pending_rejects(self, name: str) -> int:
        """How many injected rejects the session still has to take."""
        sess = self._sessions.get(name)
        return sess.reject_next if sess is not None else 0

    def _cancel_all(self, name: str, text: str, now: datetime, out: list[Event]) -> None:
        for o in [o for o in self._orders.values() if o.session == name and o.live]:
            book = self._books[o.symbol]
            self._take_off(book, o)
            o.status = _ST_CANCELED
            o.leaves_qty = 0
            self._report(o, _ET_CANCELED, now, out, text=text)

    # --- commands ----------------------------------------------------------------------

    def new_order(self, cmd: NewOrder) -> list[Event]:
        out: list[Event] = []
        now = self.clock.now()
        if not self._pinned:
            if self._last <= now < self._next_boundary:
                self._last = now
            else:
                self._sync(now, out)
        sess = self._sessions.get(cmd.session) or self._session(cmd.session)
        known = sess.cl_ord_ids
        if cmd.cl_ord_id in known:
            if cmd.poss_dup:
                return out  # a resend of an order we already have: ignored (FIX PossDup rule)
            out.append(
                self._reject_new(
                    cmd,
                    _Rejected(
                        OrdRejReason.DUPLICATE_ORDER,
                        RejectRule.DUPLICATE_CLIENT_ORDER_ID,
                        f"ClOrdID {cmd.cl_ord_id} was already used in this session today",
                    ),
                    now,
                )
            )
            return out
        try:
            self._check_new(cmd, sess, now)
        except _Rejected as rej:
            known[cmd.cl_ord_id] = None
            out.append(self._reject_new(cmd, rej, now))
            return out

        self._seq += 1
        self._ids += 1
        order = Order(
            f"{self._prefix}-{self._ids}",
            cmd.session,
            cmd.cl_ord_id,
            cmd.symbol,
            cmd.side,
            cmd.ord_type,
            cmd.price,
            cmd.quantity,
            cmd.time_in_force,
            self._seq,
            cmd.account,
        )
        known[cmd.cl_ord_id] = order
        self._orders[order.order_id] = order
        self.counters.orders += 1
        book = self._books.get(cmd.symbol)
        if book is None:
            book = self._books[cmd.symbol] = Book(cmd.symbol)
        self._report(order, _ET_NEW, now, out)

        tif = order.tif
        if tif is _TIF_AT_THE_OPENING:
            order.live = True
            book.at_open[order.order_id] = order
        elif tif is _TIF_AT_THE_CLOSE:
            order.live = True
            book.at_close[order.order_id] = order
        elif self._phase is _PH_CONTINUOUS:
            self._continuous(book, order, sess.rules.self_trade_prevention, now, out)
        else:
            book.side(order.side).add(order)  # waits for the itayose
        return out

    def cancel(self, cmd: CancelOrder) -> list[Event]:
        out: list[Event] = []
        now = self.clock.now()
        self._sync(now, out)
        target = self._amend_target(cmd, CxlRejResponseTo.CANCEL, now, out)
        if target is None:
            return out
        sess, order = target
        sess.cl_ord_ids[cmd.cl_ord_id] = order
        self._take_off(self._books[order.symbol], order)
        order.orig_cl_ord_id = order.cl_ord_id
        order.cl_ord_id = cmd.cl_ord_id
        order.status = _ST_CANCELED
        order.leaves_qty = 0
        self._report(order, _ET_CANCELED, now, out)
        return out

    def replace(self, cmd: ReplaceOrder) -> list[Event]:
        out: list[Event] = []
        now = self.clock.now()
        self._sync(now, out)
        to = CxlRejResponseTo.REPLACE
        target = self._amend_target(cmd, to, now, out)
        if target is None:
            return out
        sess, order = target
        try:
            self._check_replace(cmd, order, sess)
        except _Rejected as rej:
            out.append(self._cxl_reject(cmd, order, to, CxlRejReason.OTHER, rej.text, now))
            return out

        sess.cl_ord_ids[cmd.cl_ord_id] = order
        book = self._books[order.symbol]
        new_price = cmd.price if order.ord_type is _OT_LIMIT else None
        new_leaves = cmd.quantity - order.cum_qty
        loses_priority = new_price != order.price or cmd.quantity > order.qty
        order.orig_cl_ord_id = order.cl_ord_id
        order.cl_ord_id = cmd.cl_ord_id
        in_pool = order.order_id in book.at_open or order.order_id in book.at_close
        if in_pool:
            order.price, order.qty, order.leaves_qty = new_price, cmd.quantity, new_leaves
            if loses_priority:
                self._seq += 1
                order.seq = self._seq
            self._report(order, _ET_REPLACED, now, out)
            return out
        side = book.side(order.side)
        if not loses_priority:  # a pure quantity decrease keeps its place in the queue
            side.reduce(order, order.leaves_qty - new_leaves)
            order.qty, order.leaves_qty = cmd.quantity, new_leaves
            self._report(order, _ET_REPLACED, now, out)
            return out
        side.remove(order, eager=True)  # it may come back to this very level
        order.price, order.qty, order.leaves_qty = new_price, cmd.quantity, new_leaves
        self._seq += 1
        order.seq = self._seq
        self._report(order, _ET_REPLACED, now, out)
        if self._phase is _PH_CONTINUOUS and order.ord_type is _OT_LIMIT:
            self._continuous(book, order, sess.rules.self_trade_prevention, now, out)
        else:
            side.add(order)
        return out

    def status(self, cmd: StatusRequest) -> list[Event]:
        """OrderStatusRequest: an ExecType=I report of the order's current state, or OrdStatus
        Rejected with OrdRejReason 5 (unknown order)."""
        out: list[Event] = []
        now = self.clock.now()
        self._sync(now, out)
        sess = self._session(cmd.session)
        order = self._find(sess, cmd.session, cmd.cl_ord_id, cmd.order_id)
        if order is None:
            self._ids += 1
            out.append(
                ExecutionReport(
                    session=cmd.session,
                    order_id=cmd.order_id or NONE_ID,
                    cl_ord_id=cmd.cl_ord_id,
                    orig_cl_ord_id=None,
                    exec_id=f"{self._prefix}-X{self._ids}",
                    exec_type=_ET_ORDER_STATUS,
                    ord_status=_ST_REJECTED,
                    symbol=cmd.symbol,
                    side=cmd.side,
                    ord_type=_OT_LIMIT,
                    time_in_force=_TIF_DAY,
                    order_qty=0,
                    price=None,
                    cum_qty=0,
                    leaves_qty=0,
                    avg_px=ZERO,
                    transact_time=now,
                    ord_rej_reason=OrdRejReason.UNKNOWN_ORDER,
                    text=f"{RejectRule.ORDER_NOT_FOUND.value}: no order {cmd.cl_ord_id} "
                    "in this session",
                )
            )
            return out
        self._report(order, _ET_ORDER_STATUS, now, out, force=True)
        return out

    # --- validation ----------------------------------------------------------------------

    def _check_new(self, cmd: NewOrder, sess: _Session, now: datetime) -> Instrument:
        if sess.reject_next > 0:
            sess.reject_next -= 1
            raise _Rejected(
                OrdRejReason.BROKER_OPTION, RejectRule.INJECTED, "fault reject_next_orders"
            )
        if sess.killed:
            raise _Rejected(
                OrdRejReason.BROKER_OPTION,
                RejectRule.KILL_SWITCH,
                "the kill switch of this session is on",
            )
        phase = self._phase
        if phase is _PH_CLOSED:
            raise _Rejected(
                OrdRejReason.EXCHANGE_CLOSED, RejectRule.MARKET_CLOSED, f"{self.venue} is closed"
            )
        inst = self.instruments.get(cmd.symbol)
        allowed = sess.rules.symbols
        if inst is None or (allowed is not None and cmd.symbol not in allowed):
            raise _Rejected(
                OrdRejReason.UNKNOWN_SYMBOL,
                RejectRule.UNKNOWN_SYMBOL,
                f"{cmd.symbol!r} is not traded on {self.venue}"
                + (" by this session" if inst is not None else ""),
            )
        if cmd.ord_type not in self._order_types:
            raise _Rejected(
                OrdRejReason.UNSUPPORTED_ORDER_CHARACTERISTIC,
                RejectRule.ORDER_TYPE_NOT_ALLOWED,
                f"OrdType {cmd.ord_type.value} is not accepted on {self.venue}",
            )
        if cmd.time_in_force not in self._tif_now:
            raise _Rejected(
                OrdRejReason.UNSUPPORTED_ORDER_CHARACTERISTIC,
                RejectRule.TIME_IN_FORCE_NOT_ALLOWED,
                f"TimeInForce {cmd.time_in_force.value} ({cmd.time_in_force.name}) is not "
                f"accepted during {phase.value}",
            )
        self._check_quantity(cmd.quantity, inst)
        price = self._check_price(cmd.ord_type, cmd.price, inst)
        self._check_limits(sess, cmd.quantity, price, inst, now, count=True)
        return inst

    @staticmethod
    def _check_quantity(quantity: int, inst: Instrument) -> None:
        if quantity <= 0 or quantity % inst.unit:
            raise _Rejected(
                OrdRejReason.INCORRECT_QUANTITY,
                RejectRule.QUANTITY_NOT_MULTIPLE_OF_UNIT,
                f"quantity {quantity} is not a positive multiple of the trading unit {inst.unit}",
            )

    @staticmethod
    def _check_price(ord_type: OrdType, price: Decimal | None, inst: Instrument) -> Decimal | None:
        if ord_type is _OT_MARKET:
            if price is not None:
                raise _Rejected(
                    OrdRejReason.OTHER,
                    RejectRule.PRICE_NOT_ALLOWED,
                    "a market order carries no price",
                )
            return None
        if price is None:
            raise _Rejected(
                OrdRejReason.OTHER, RejectRule.PRICE_REQUIRED, "a limit order needs a price"
            )
        if not price.is_finite() or price <= 0 or not inst.on_tick(price):
            tick = inst.tick_of(price) if price.is_finite() and price > 0 else "?"
            raise _Rejected(
                OrdRejReason.OTHER,
                RejectRule.PRICE_OFF_TICK,
                f"price {price} is not on the tick ({tick} yen at that price)",
            )
        if not inst.lower_limit <= price <= inst.upper_limit:
            raise _Rejected(
                OrdRejReason.OTHER,
                RejectRule.PRICE_OUTSIDE_DAILY_LIMIT,
                f"price {price} is outside the daily limit {inst.lower_limit}-{inst.upper_limit}"
                f" (base price {inst.base_price})",
            )
        return price

    @staticmethod
    def _check_limits(
        sess: _Session,
        quantity: int,
        price: Decimal | None,
        inst: Instrument,
        now: datetime,
        count: bool,
    ) -> None:
        rules = sess.rules
        if rules.max_order_value is None and rules.max_value_per_second is None:
            return
        value = (price if price is not None else inst.upper_limit) * quantity
        if rules.max_order_value is not None and value > rules.max_order_value:
            raise _Rejected(
                OrdRejReason.ORDER_EXCEEDS_LIMIT,
                RejectRule.HARD_LIMIT_EXCEEDED,
                f"order value {value} yen is above the session's limit of "
                f"{rules.max_order_value} yen per order",
            )
        cap = rules.max_value_per_second
        if cap is None or not count:
            return
        window = sess.window
        while window and window[0][0] <= now - _ONE_SECOND:
            sess.window_sum -= window.popleft()[1]
        if sess.window_sum + value > cap:
            raise _Rejected(
                OrdRejReason.ORDER_EXCEEDS_LIMIT,
                RejectRule.HARD_LIMIT_EXCEEDED,
                f"order value {value} yen would take the session above its limit of {cap} yen "
                "per second",
            )
        window.append((now, value))
        sess.window_sum += value

    def _check_replace(self, cmd: ReplaceOrder, order: Order, sess: _Session) -> None:
        inst = self.instruments.get(order.symbol)
        assert inst is not None
        if sess.killed:
            raise _Rejected(
                OrdRejReason.BROKER_OPTION,
                RejectRule.KILL_SWITCH,
                "the kill switch of this session is on",
            )
        if cmd.ord_type is not order.ord_type:
            raise _Rejected(
                OrdRejReason.OTHER,
                RejectRule.REPLACE_NOT_ALLOWED,
                "a replace cannot change the order type",
            )
        self._check_quantity(cmd.quantity, inst)
        if cmd.quantity <= order.cum_qty:
            raise _Rejected(
                OrdRejReason.OTHER,
                RejectRule.REPLACE_NOT_ALLOWED,
                f"new quantity {cmd.quantity} is not above the executed quantity {order.cum_qty}",
            )
        price = self._check_price(order.ord_type, cmd.price, inst)
        self._check_limits(sess, cmd.quantity, price, inst, self._last, count=False)

    def _amend_target(
        self,
        cmd: CancelOrder | ReplaceOrder,
        to: CxlRejResponseTo,
        now: datetime,
        out: list[Event],
    ) -> tuple[_Session, Order] | None:
        """What cancel and replace share: the request's ClOrdID must be new to the session (a
        PossDup repeat is ignored, an unflagged one refused) and the order must be there to
        change. Returns the session and the order, or None with any reject appended to ``out``."""
        sess = self._session(cmd.session)
        order = self._find(sess, cmd.session, cmd.orig_cl_ord_id, cmd.order_id)
        if cmd.cl_ord_id in sess.cl_ord_ids:
            if not cmd.poss_dup:
                out.append(
                    self._cxl_reject(
                        cmd,
                        order,
                        to,
                        CxlRejReason.DUPLICATE_CLORDID,
                        f"{RejectRule.DUPLICATE_CLIENT_ORDER_ID.value}: ClOrdID {cmd.cl_ord_id} "
                        "was already used in this session today",
                        now,
                    )
                )
            return None
        sess.cl_ord_ids[cmd.cl_ord_id] = None
        problem = self._cxl_problem(cmd, order, to, now)
        if problem is not None:
            out.append(problem)
            return None
        assert order is not None
        return sess, order

    def _find(
        self, sess: _Session, session: str, cl_ord_id: str, order_id: str | None
    ) -> Order | None:
        order = sess.cl_ord_ids.get(cl_ord_id)
        if order is None and order_id:
            found = self._orders.get(order_id)
            if found is not None and found.session == session:
                order = found
        return order

    def _cxl_problem(
        self,
        cmd: CancelOrder | ReplaceOrder,
        order: Order | None,
        to: CxlRejResponseTo,
        now: datetime,
    ) -> CancelReject | None:
        if order is None:
            return self._cxl_reject(
                cmd,
                None,
                to,
                CxlRejReason.UNKNOWN_ORDER,
                f"{RejectRule.ORDER_NOT_FOUND.value}: no order {cmd.orig_cl_ord_id} in this "
                "session",
                now,
            )
        if order.status in DONE_STATUSES:
            return self._cxl_reject(
                cmd,
                order,
                to,
                CxlRejReason.TOO_LATE_TO_CANCEL,
                f"{RejectRule.ORDER_NOT_OPEN.value}: order {order.order_id} is already "
                f"{order.status.name.lower()}",
                now,
            )
        if (cmd.symbol and cmd.symbol != order.symbol) or (cmd.side and cmd.side != order.side):
            return self._cxl_reject(
                cmd,
                order,
                to,
                CxlRejReason.OTHER,
                f"{RejectRule.REPLACE_NOT_ALLOWED.value}: symbol or side does not match order "
                f"{order.order_id}",
                now,
            )
        return None

    # --- matching ------------------------------------------------------------------------

    def _continuous(
        self, book: Book, order: Order, stp: bool, now: datetime, out: list[Event]
    ) -> None:
        """Match ``order`` as the aggressor, then rest, expire or cancel what is left."""
        if order.tif is _TIF_FOK and not self._fok_fillable(book, order, stp):
            self._finish(order, _ST_EXPIRED, now, "FOK: not fully fillable at once", out)
            return
        stopped = self._sweep(book, order, stp, now, out)
        if not order.leaves_qty:
            return
        if stopped:
            self._finish(
                order,
                _ST_CANCELED,
                now,
                "self_trade_prevention: would trade with an order of the same session",
                out,
            )
        elif order.ord_type is _OT_MARKET:
            self._finish(
                order,
                _ST_EXPIRED,
                now,
                "market order: no more liquidity within the daily limit",
                out,
            )
        elif order.tif is _TIF_IOC or order.tif is _TIF_FOK:
            self._finish(order, _ST_EXPIRED, now, "IOC: remainder expired", out)
        else:
            book.side(order.side).add(order)

    def _sweep(self, book: Book, order: Order, stp: bool, now: datetime, out: list[Event]) -> bool:
        """Trade ``order`` against the contra side; True if self-trade prevention stopped it."""
        contra = book.contra(order.side)
        prices = contra.prices
        levels = contra.levels
        limit = order.price
        buy = order.side is _SIDE_BUY
        own = order.session if stp else None
        while order.leaves_qty and prices:
            best = prices[-1]
            if limit is not None and (best > limit if buy else best < limit):
                break
            level = levels[best]
            while order.leaves_qty:
                resting = level.front()
                if resting is None:
                    break
                if own is not None and resting.session == own:
                    return True
                qty = (
                    order.leaves_qty
                    if order.leaves_qty < resting.leaves_qty
                    else resting.leaves_qty
                )
                self._fill(book, contra, order, resting, qty, best, now, out)
        return False

    def _fok_fillable(self, book: Book, order: Order, stp: bool) -> bool:
        need = order.leaves_qty
        limit = order.price
        buy = order.side is _SIDE_BUY
        have = 0
        for level in book.contra(order.side).levels_best_first():
            if limit is not None and (level.price > limit if buy else level.price < limit):
                break
            if stp:
                for o in level:
                    if o.session == order.session:
                        return have >= need
                    have += o.leaves_qty
                    if have >= need:
                        return True
            else:
                have += level.qty
                if have >= need:
                    return True
        return have >= need

    def _fill(
        self,
        book: Book,
        contra: BookSide,
        aggressor: Order,
        resting: Order,
        qty: int,
        price: Decimal,
        now: datetime,
        out: list[Event],
    ) -> None:
        """One trade: both orders' reports at the same price, with one TrdMatchID. ``resting``
        is on ``contra``; ``aggressor`` is on the book too only in an itayose."""
        self._ids += 1
        match_id = f"{self._prefix}-M{self._ids}"
        value = price * qty
        # the resting order (unrolled: this is the hot path)
        o = resting
        o.cum_qty += qty
        o.leaves_qty -= qty
        o.notional += value
        if o.cum_qty == qty:
            o.avg_px = price  # first fill
        elif price != o.avg_px:
            o.avg_px = _average(o.notional, o.cum_qty)
        level = o.level
        if level is not None:
            level.qty -= qty
        if o.leaves_qty:
            o.status = _ST_PARTIALLY_FILLED
        else:
            o.status = _ST_FILLED
            if o.live:
                contra.remove(o)
        # the aggressor
        a = aggressor
        a.cum_qty += qty
        a.leaves_qty -= qty
        a.notional += value
        if a.cum_qty == qty:
            a.avg_px = price
        elif price != a.avg_px:
            a.avg_px = _average(a.notional, a.cum_qty)
        if a.live:
            side = book.side(a.side)
            side.reduce(a, qty)
            if not a.leaves_qty:
                side.remove(a)
        a.status = _ST_PARTIALLY_FILLED if a.leaves_qty else _ST_FILLED
        self._report(a, _ET_TRADE, now, out, qty, price, match_id)
        self._report(o, _ET_TRADE, now, out, qty, price, match_id)
        book.last_price = price
        counters = self.counters
        counters.trades += 1
        counters.volume += qty
        if self._log_trades:
            buy, sell = (a, o) if a.side is _SIDE_BUY else (o, a)
            self.trades.append(
                Trade(match_id, book.symbol, price, qty, buy.order_id, sell.order_id, now)
            )

    def _auction(self, book: Book, kind: Auction, at: datetime, out: list[Event]) -> None:
        """Itayose on ``book``: the orders of the auction's pool join the book, the price is
        determined (:mod:`.itayose`), fills are allocated market orders first, then by price,
        then by time; pool orders and market orders left over expire."""
        pool = book.at_open if kind is Auction.OPEN else book.at_close
        joined = list(pool.values())
        pool.clear()
        for o in joined:
            o.live = False
            book.side(o.side).add(o)
        for name, sess in self._sessions.items():
            if sess.rules.self_trade_prevention:
                self._auction_self_trades(book, name, at, out)
        bids = [(lv.price, lv.qty) for lv in book.bids.levels.values()]
        asks = [(lv.price, lv.qty) for lv in book.asks.levels.values()]
        market_buy = sum(o.leaves_qty for o in book.bids.market if o.live)
        market_sell = sum(o.leaves_qty for o in book.asks.market if o.live)
        inst = self.instruments.get(book.symbol)
        reference = book.last_price or (inst.base_price if inst else None)
        result = determine_price(bids, asks, market_buy, market_sell, reference)
        if result is not None:
            price = result.price
            buys = [
                o for o in book.bids.orders_in_priority() if o.price is None or o.price >= price
            ]
            sells = [
                o for o in book.asks.orders_in_priority() if o.price is None or o.price <= price
            ]
            remaining = result.volume
            i = j = 0
            while remaining and i < len(buys) and j < len(sells):
                b, s = buys[i], sells[j]
                qty = min(b.leaves_qty, s.leaves_qty, remaining)
                self._fill(book, book.asks, b, s, qty, price, at, out)
                remaining -= qty
                if not b.leaves_qty:
                    i += 1
                if not s.leaves_qty:
                    j += 1
        label = "at-the-open" if kind is Auction.OPEN else "at-the-close"
        for o in joined:
            if o.live:
                self._expire(book, o, at, f"{label}: not executed in the itayose", out)
        for o in [*book.bids.market, *book.asks.market]:
            if o.live:
                self._expire(book, o, at, "market order: not executed in the itayose", out)

    def _auction_self_trades(
        self, book: Book, session: str, at: datetime, out: list[Event]
    ) -> None:
        """Self-trade prevention before an itayose: while the session's best buy would trade
        with its own best sell (a market order trades with anything), cancel the newer of the
        two. Then no price can pair two of its orders, and the auction runs as usual."""
        buys = [o for o in book.bids.orders_in_priority() if o.session == session]
        sells = [o for o in book.asks.orders_in_priority() if o.session == session]
        i = j = 0
        while i < len(buys) and j < len(sells):
            b, s = buys[i], sells[j]
            if b.price is not None and s.price is not None and b.price < s.price:
                return
            newer = b if b.seq > s.seq else s
            self._take_off(book, newer)
            self._finish(
                newer,
                _ST_CANCELED,
                at,
                "self_trade_prevention: would trade with an order of the same session",
                out,
            )
            if newer is b:
                i += 1
            else:
                j += 1

    # --- order end states and reports ----------------------------------------------------

    def _live_in_book(self, book: Book) -> list[Order]:
        found = [*book.at_open.values(), *book.at_close.values()]
        for side in (book.bids, book.asks):
            found.extend(o for o in side.market if o.live)
            for level in side.levels.values():
                found.extend(level)
        return found

    def _take_off(self, book: Book, o: Order) -> None:
        if book.at_open.pop(o.order_id, None) is not None or (
            book.at_close.pop(o.order_id, None) is not None
        ):
            o.live = False
            return
        if o.live:
            book.side(o.side).remove(o)

    def _expire(self, book: Book, o: Order, at: datetime, text: str, out: list[Event]) -> None:
        self._take_off(book, o)
        self._finish(o, _ST_EXPIRED, at, text, out)

    def _finish(
        self, o: Order, status: OrdStatus, at: datetime, text: str, out: list[Event]
    ) -> None:
        o.status = status
        o.leaves_qty = 0
        kind = _ET_EXPIRED if status is _ST_EXPIRED else _ET_CANCELED
        self._report(o, kind, at, out, text=text)

    def _report(
        self,
        o: Order,
        exec_type: ExecType,
        at: datetime,
        out: list[Event],
        last_qty: int = 0,
        last_px: Decimal | None = None,
        match_id: str | None = None,
        text: str | None = None,
        force: bool = False,
    ) -> None:
        if o.quiet and not force:
            return
        self._ids += 1
        out.append(
            ExecutionReport(
                o.session,
                o.order_id,
                o.cl_ord_id,
                o.orig_cl_ord_id,
                f"{self._prefix}-X{self._ids}",
                exec_type,
                o.status,
                o.symbol,
                o.side,
                o.ord_type,
                o.tif,
                o.qty,
                o.price,
                o.cum_qty,
                o.leaves_qty,
                o.avg_px,
                at,
                last_qty,
                last_px,
                match_id,
                None,
                text,
                o.account,
            )
        )

    def _reject_new(self, cmd: NewOrder, rej: _Rejected, at: datetime) -> ExecutionReport:
        self.counters.rejects += 1
        self._ids += 1
        return ExecutionReport(
            session=cmd.session,
            order_id=NONE_ID,
            cl_ord_id=cmd.cl_ord_id,
            orig_cl_ord_id=None,
            exec_id=f"{self._prefix}-X{self._ids}",
            exec_type=_ET_REJECTED,
            ord_status=_ST_REJECTED,
            symbol=cmd.symbol,
            side=cmd.side,
            ord_type=cmd.ord_type,
            time_in_force=cmd.time_in_force,
            order_qty=cmd.quantity,
            price=cmd.price,
            cum_qty=0,
            leaves_qty=0,
            avg_px=ZERO,
            transact_time=at,
            ord_rej_reason=rej.reason,
            text=rej.text,
            account=cmd.account,
        )

    def _cxl_reject(
        self,
        cmd: CancelOrder | ReplaceOrder,
        order: Order | None,
        to: CxlRejResponseTo,
        reason: CxlRejReason,
        text: str,
        at: datetime,
    ) -> CancelReject:
        return CancelReject(
            session=cmd.session,
            order_id=order.order_id if order is not None else NONE_ID,
            cl_ord_id=cmd.cl_ord_id,
            orig_cl_ord_id=cmd.orig_cl_ord_id,
            ord_status=order.status if order is not None else _ST_REJECTED,
            response_to=to,
            reason=reason,
            text=text,
            transact_time=at,
        )

    # --- views ---------------------------------------------------------------------------

    def symbols(self) -> list[str]:
        return [i.symbol for i in self.instruments]

    def book_view(self, symbol: str, depth: int | None = None) -> BookView | None:
        inst = self.instruments.get(symbol)
        if inst is None:
            return None
        book = self._books.get(symbol) or Book(symbol)

        def levels(side: BookSide) -> list[LevelView]:
            views = []
            for level in side.levels_best_first():
                views.append(LevelView(level.price, level.qty, level.count))
                if depth is not None and len(views) >= depth:
                    break
            return views

        return BookView(
            symbol=symbol,
            base_price=inst.base_price,
            lower_limit=inst.lower_limit,
            upper_limit=inst.upper_limit,
            last_price=book.last_price,
            bids=levels(book.bids),
            asks=levels(book.asks),
            market_buy_qty=sum(o.leaves_qty for o in book.bids.market if o.live),
            market_sell_qty=sum(o.leaves_qty for o in book.asks.market if o.live),
            at_open_count=len(book.at_open),
            at_close_count=len(book.at_close),
        )

    @staticmethod
    def _view(o: Order) -> OrderView:
        return OrderView(
            o.order_id,
            o.session,
            o.cl_ord_id,
            o.orig_cl_ord_id,
            o.symbol,
            o.side,
            o.ord_type,
            o.tif,
            o.price,
            o.qty,
            o.cum_qty,
            o.leaves_qty,
            o.avg_px,
            o.status,
        )

    def order_view(self, session: str, cl_ord_id: str) -> OrderView | None:
        """The order a ClOrdID (original or any replace/cancel id) of ``session`` names."""
        sess = self._sessions.get(session)
        o = sess.cl_ord_ids.get(cl_ord_id) if sess else None
        return self._view(o) if o is not None else None

    def order_by_id(self, order_id: str) -> OrderView | None:
        o = self._orders.get(order_id)
        return self._view(o) if o is not None else None

    def orders(self, session: str | None = None) -> list[OrderView]:
        return [
            self._view(o)
            for o in self._orders.values()
            if (session is None or o.session == session) and o.session[:1] != INTERNAL_PREFIX
        ]

    def open_orders(self, session: str) -> Iterable[OrderView]:
        return [self._view(o) for o in self._orders.values() if o.session == session and o.live]

    def reset(self) -> None:
        """Forget every order, book, ClOrdID and counter (session rules and kill switches stay;
        IDs keep counting, so no ExecID is ever reused)."""
        self._books.clear()
        self._orders.clear()
        for sess in self._sessions.values():
            sess.cl_ord_ids.clear()
            sess.window.clear()
            sess.window_sum = ZERO
            sess.reject_next = 0
        self.trades.clear()
        self.counters = _Counters()
