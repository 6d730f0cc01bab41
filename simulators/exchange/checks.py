"""Pre-trade checks: what the exchange refuses before an order reaches the book, as pure
functions over the order, the instrument and the session's state. A failed check raises
:class:`Rejected` (OrdRejReason and a Text naming the rule); the engine turns it into the
reject report, so it never escapes the engine.

Order of the checks for a new order: injected fault, kill switch, market closed, symbol, order
type, TimeInForce in this phase, quantity (trading unit), price (tick, daily limit), the
session's hard limits (per order, per rolling second). A cancel or replace must name an order of
the session that is still open, with the same symbol and side (``amend_problem``); a replace is
checked again for quantity, price and the per-order limit (``check_replace``).
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal

from .book import Order
from .instruments import Instrument, Instruments
from .model import (
    DONE_STATUSES,
    CancelOrder,
    CxlRejReason,
    NewOrder,
    OrdRejReason,
    OrdType,
    RejectRule,
    ReplaceOrder,
    TimeInForce,
)
from .phases import Phase

ZERO = Decimal(0)
_ONE_SECOND = timedelta(seconds=1)
_OT_MARKET = OrdType.MARKET
_PH_CLOSED = Phase.CLOSED


@dataclass(slots=True)
class SessionRules:
    """Per-session exchange-side behaviour; everything off by default, so a load test is never
    refused by a limit nobody configured."""

    self_trade_prevention: bool = False  # on: an order never trades with its own session
    max_order_value: Decimal | None = None  # yen, price x quantity (market: the upper limit)
    max_value_per_second: Decimal | None = None  # yen accepted in any rolling second
    symbols: frozenset[str] | None = None  # symbols the session may trade (None: all)


class SessionState:
    """One FIX session's state at the exchange: its rules, every ClOrdID it used today, its
    kill switch, injected rejects and the rolling second of accepted order value."""

    __slots__ = ("rules", "cl_ord_ids", "killed", "reject_next", "window", "window_sum")

    def __init__(self, rules: SessionRules):
        self.rules = rules
        self.cl_ord_ids: dict[str, Order | None] = {}  # every ClOrdID seen (None: rejected)
        self.killed = False
        self.reject_next = 0
        self.window: deque[tuple[datetime, Decimal]] = deque()
        self.window_sum = ZERO

    def new_day(self) -> None:
        """ClOrdIDs and the value window are per trading day."""
        self.cl_ord_ids.clear()
        self.window.clear()
        self.window_sum = ZERO


class Rejected(Exception):
    """A pre-trade check failed."""

    def __init__(self, reason: OrdRejReason, rule: RejectRule, detail: str):
        self.reason = reason
        self.rule = rule
        self.text = f"{rule.value}: {detail}"


def check_new(
    cmd: NewOrder,
    sess: SessionState,
    instruments: Instruments,
    venue: str,
    phase: Phase,
    order_types: tuple[OrdType, ...],
    tif_now: tuple[TimeInForce, ...],
    now: datetime,
) -> Instrument:
    """Every check of a new order (an injected reject is used up here); ``order_types`` are the
    venue's, ``tif_now`` the TimeInForce values accepted in ``phase``."""
    if sess.reject_next > 0:
        sess.reject_next -= 1
        raise Rejected(OrdRejReason.BROKER_OPTION, RejectRule.INJECTED, "fault reject_next_orders")
    if sess.killed:
        raise Rejected(
            OrdRejReason.BROKER_OPTION,
            RejectRule.KILL_SWITCH,
            "the kill switch of this session is on",
        )
    if phase is _PH_CLOSED:
        raise Rejected(OrdRejReason.EXCHANGE_CLOSED, RejectRule.MARKET_CLOSED, f"{venue} is closed")
    inst = instruments.get(cmd.symbol)
    allowed = sess.rules.symbols
    if inst is None or (allowed is not None and cmd.symbol not in allowed):
        raise Rejected(
            OrdRejReason.UNKNOWN_SYMBOL,
            RejectRule.UNKNOWN_SYMBOL,
            f"{cmd.symbol!r} is not traded on {venue}"
            + (" by this session" if inst is not None else ""),
        )
    if cmd.ord_type not in order_types:
        raise Rejected(
            OrdRejReason.UNSUPPORTED_ORDER_CHARACTERISTIC,
            RejectRule.ORDER_TYPE_NOT_ALLOWED,
            f"OrdType {cmd.ord_type.value} is not accepted on {venue}",
        )
    if cmd.time_in_force not in tif_now:
        raise Rejected(
            OrdRejReason.UNSUPPORTED_ORDER_CHARACTERISTIC,
            RejectRule.TIME_IN_FORCE_NOT_ALLOWED,
            f"TimeInForce {cmd.time_in_force.value} ({cmd.time_in_force.name}) is not "
            f"accepted during {phase.value}",
        )
    check_quantity(cmd.quantity, inst)
    price = check_price(cmd.ord_type, cmd.price, inst)
    check_limits(sess, cmd.quantity, price, inst, now, count=True)
    return inst


def check_quantity(quantity: int, inst: Instrument) -> None:
    if quantity <= 0 or quantity % inst.unit:
        raise Rejected(
            OrdRejReason.INCORRECT_QUANTITY,
            RejectRule.QUANTITY_NOT_MULTIPLE_OF_UNIT,
            f"quantity {quantity} is not a positive multiple of the trading unit {inst.unit}",
        )


def check_price(ord_type: OrdType, price: Decimal | None, inst: Instrument) -> Decimal | None:
    if ord_type is _OT_MARKET:
        if price is not None:
            raise Rejected(
                OrdRejReason.OTHER,
                RejectRule.PRICE_NOT_ALLOWED,
                "a market order carries no price",
            )
        return None
    if price is None:
        raise Rejected(OrdRejReason.OTHER, RejectRule.PRICE_REQUIRED, "a limit order needs a price")
    if not price.is_finite() or price <= 0 or not inst.on_tick(price):
        tick = inst.tick_of(price) if price.is_finite() and price > 0 else "?"
        raise Rejected(
            OrdRejReason.OTHER,
            RejectRule.PRICE_OFF_TICK,
            f"price {price} is not on the tick ({tick} yen at that price)",
        )
    if not inst.lower_limit <= price <= inst.upper_limit:
        raise Rejected(
            OrdRejReason.OTHER,
            RejectRule.PRICE_OUTSIDE_DAILY_LIMIT,
            f"price {price} is outside the daily limit {inst.lower_limit}-{inst.upper_limit}"
            f" (base price {inst.base_price})",
        )
    return price


def check_limits(
    sess: SessionState,
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
        raise Rejected(
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
        raise Rejected(
            OrdRejReason.ORDER_EXCEEDS_LIMIT,
            RejectRule.HARD_LIMIT_EXCEEDED,
            f"order value {value} yen would take the session above its limit of {cap} yen "
            "per second",
        )
    window.append((now, value))
    sess.window_sum += value


def check_replace(
    cmd: ReplaceOrder, order: Order, sess: SessionState, instruments: Instruments, now: datetime
) -> None:
    """A replace: kill switch, same order type, quantity above what was executed, price, and
    the per-order limit (the per-second window counts new orders only)."""
    inst = instruments.get(order.symbol)
    assert inst is not None
    if sess.killed:
        raise Rejected(
            OrdRejReason.BROKER_OPTION,
            RejectRule.KILL_SWITCH,
            "the kill switch of this session is on",
        )
    if cmd.ord_type is not order.ord_type:
        raise Rejected(
            OrdRejReason.OTHER,
            RejectRule.REPLACE_NOT_ALLOWED,
            "a replace cannot change the order type",
        )
    check_quantity(cmd.quantity, inst)
    if cmd.quantity <= order.cum_qty:
        raise Rejected(
            OrdRejReason.OTHER,
            RejectRule.REPLACE_NOT_ALLOWED,
            f"new quantity {cmd.quantity} is not above the executed quantity {order.cum_qty}",
        )
    price = check_price(order.ord_type, cmd.price, inst)
    check_limits(sess, cmd.quantity, price, inst, now, count=False)


def amend_problem(
    cmd: CancelOrder | ReplaceOrder, order: Order | None
) -> tuple[CxlRejReason, str] | None:
    """Why a cancel or replace cannot change ``order`` (the one it names, None if no order of
    the session has that ClOrdID or OrderID): unknown, no longer open, or another symbol or
    side. None when it can."""
    if order is None:
        return (
            CxlRejReason.UNKNOWN_ORDER,
            f"{RejectRule.ORDER_NOT_FOUND.value}: no order {cmd.orig_cl_ord_id} in this session",
        )
    if order.status in DONE_STATUSES:
        return (
            CxlRejReason.TOO_LATE_TO_CANCEL,
            f"{RejectRule.ORDER_NOT_OPEN.value}: order {order.order_id} is already "
            f"{order.status.name.lower()}",
        )
    if (cmd.symbol and cmd.symbol != order.symbol) or (cmd.side and cmd.side != order.side):
        return (
            CxlRejReason.OTHER,
            f"{RejectRule.REPLACE_NOT_ALLOWED.value}: symbol or side does not match order "
            f"{order.order_id}",
        )
    return None
