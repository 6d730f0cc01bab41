"""The matching engine's vocabulary: FIX 4.4 enumerations, the commands it takes and the events it
returns. Plain data only, so the engine stays pure and a later layer turns events into FIX.

Enum values are the FIX 4.4 wire values, so ``ExecType.TRADE.value == "F"`` can be written straight
into tag 150. Events are ``slots`` dataclasses (not frozen, for speed on the hot path): treat them as
immutable.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from enum import StrEnum
from typing import NamedTuple


class Side(StrEnum):
    """Side(54)."""

    BUY = "1"
    SELL = "2"


class OrdType(StrEnum):
    """OrdType(40)."""

    MARKET = "1"
    LIMIT = "2"


class TimeInForce(StrEnum):
    """TimeInForce(59) and the TSE execution condition each value stands for.

    The TSE execution conditions travel in TimeInForce, not ExecInst: at-the-open (寄付) is
    AtTheOpening (2), at-the-close (引け) is AtTheClose (7), FaK is IOC (3), FoK is FOK (4), and a
    plain day order is Day (0). GTC (1) and GTD (6) are refused: multi-day validity is a broker
    feature at the TSE, not an exchange one.
    """

    DAY = "0"
    AT_THE_OPENING = "2"
    IOC = "3"
    FOK = "4"
    AT_THE_CLOSE = "7"


class ExecType(StrEnum):
    """ExecType(150)."""

    NEW = "0"
    CANCELED = "4"
    REPLACED = "5"
    REJECTED = "8"
    EXPIRED = "C"
    TRADE = "F"
    ORDER_STATUS = "I"


class OrdStatus(StrEnum):
    """OrdStatus(39)."""

    NEW = "0"
    PARTIALLY_FILLED = "1"
    FILLED = "2"
    CANCELED = "4"
    REJECTED = "8"
    EXPIRED = "C"


DONE_STATUSES = frozenset(
    {OrdStatus.FILLED, OrdStatus.CANCELED, OrdStatus.REJECTED, OrdStatus.EXPIRED}
)


class OrdRejReason(StrEnum):
    """OrdRejReason(103) values the engine uses; the Text(58) names the precise rule."""

    BROKER_OPTION = "0"  # an injected reject (fault) or a kill switch
    UNKNOWN_SYMBOL = "1"
    EXCHANGE_CLOSED = "2"
    ORDER_EXCEEDS_LIMIT = "3"  # per-session hard limit
    UNKNOWN_ORDER = "5"  # order status request for an order we do not know
    DUPLICATE_ORDER = "6"  # ClOrdID already used in this session
    UNSUPPORTED_ORDER_CHARACTERISTIC = "11"  # time in force, order type
    INCORRECT_QUANTITY = "13"  # not a positive multiple of the trading unit
    OTHER = "99"  # price off the tick, outside the daily limit


class CxlRejReason(StrEnum):
    """CxlRejReason(102)."""

    TOO_LATE_TO_CANCEL = "0"  # the order is already done (filled, canceled, expired)
    UNKNOWN_ORDER = "1"
    DUPLICATE_CLORDID = "6"
    OTHER = "99"  # the replace itself is invalid (price off tick, quantity, ...)


class CxlRejResponseTo(StrEnum):
    """CxlRejResponseTo(434)."""

    CANCEL = "1"
    REPLACE = "2"


class RejectRule(StrEnum):
    """The rule a reject names: the first word of Text(58). Same spelling as ``gateway.errors``."""

    UNKNOWN_SYMBOL = "unknown_symbol"
    PRICE_OFF_TICK = "price_off_tick"
    PRICE_OUTSIDE_DAILY_LIMIT = "price_outside_daily_limit"
    QUANTITY_NOT_MULTIPLE_OF_UNIT = "quantity_not_multiple_of_unit"
    MARKET_CLOSED = "market_closed"
    DUPLICATE_CLIENT_ORDER_ID = "duplicate_client_order_id"
    HARD_LIMIT_EXCEEDED = "hard_limit_exceeded"
    PRICE_REQUIRED = "price_required"
    PRICE_NOT_ALLOWED = "price_not_allowed"
    TIME_IN_FORCE_NOT_ALLOWED = "time_in_force_not_allowed"
    ORDER_TYPE_NOT_ALLOWED = "order_type_not_allowed"
    KILL_SWITCH = "kill_switch"
    INJECTED = "injected_reject"
    ORDER_NOT_FOUND = "order_not_found"
    ORDER_NOT_OPEN = "order_not_open"
    REPLACE_NOT_ALLOWED = "replace_not_allowed"


# --- commands ----------------------------------------------------------------------------


@dataclass(slots=True)
class NewOrder:
    """A NewOrderSingle (D) as the engine sees it. ``session`` is the FIX session it came on
    (ClOrdIDs are unique per session); ``price`` is None for a market order."""

    session: str
    cl_ord_id: str
    symbol: str
    side: Side
    ord_type: OrdType
    quantity: int
    price: Decimal | None = None
    time_in_force: TimeInForce = TimeInForce.DAY
    poss_dup: bool = False
    account: str | None = None


@dataclass(slots=True)
class CancelOrder:
    """An OrderCancelRequest (F): ``orig_cl_ord_id`` (or ``order_id``) names the order."""

    session: str
    cl_ord_id: str
    orig_cl_ord_id: str
    order_id: str | None = None
    symbol: str | None = None
    side: Side | None = None
    poss_dup: bool = False


@dataclass(slots=True)
class ReplaceOrder:
    """An OrderCancelReplaceRequest (G): new quantity (total, FIX OrderQty) and price."""

    session: str
    cl_ord_id: str
    orig_cl_ord_id: str
    quantity: int
    price: Decimal | None
    order_id: str | None = None
    ord_type: OrdType = OrdType.LIMIT
    symbol: str | None = None
    side: Side | None = None
    poss_dup: bool = False


@dataclass(slots=True)
class StatusRequest:
    """An OrderStatusRequest (H); ``symbol``/``side`` are echoed when the order is unknown."""

    session: str
    cl_ord_id: str
    order_id: str | None = None
    symbol: str = ""
    side: Side = Side.BUY


# --- events ------------------------------------------------------------------------------


@dataclass(slots=True)
class ExecutionReport:
    """The facts of one ExecutionReport (8), addressed to ``session``.

    ``order_id`` is "NONE" for a reject of an order the engine never booked. ``avg_px`` is exact
    to 6 decimal places (half-even). ``last_qty``/``last_px`` are set on trades only;
    ``match_id`` (TrdMatchID 880) is shared by the two reports of one trade.
    """

    session: str
    order_id: str
    cl_ord_id: str
    orig_cl_ord_id: str | None
    exec_id: str
    exec_type: ExecType
    ord_status: OrdStatus
    symbol: str
    side: Side
    ord_type: OrdType
    time_in_force: TimeInForce
    order_qty: int
    price: Decimal | None
    cum_qty: int
    leaves_qty: int
    avg_px: Decimal
    transact_time: datetime
    last_qty: int = 0
    last_px: Decimal | None = None
    match_id: str | None = None
    ord_rej_reason: OrdRejReason | None = None
    text: str | None = None
    account: str | None = None


@dataclass(slots=True)
class CancelReject:
    """The facts of one OrderCancelReject (9), addressed to ``session``."""

    session: str
    order_id: str  # "NONE" when the order is unknown
    cl_ord_id: str
    orig_cl_ord_id: str
    ord_status: OrdStatus
    response_to: CxlRejResponseTo
    reason: CxlRejReason
    text: str
    transact_time: datetime


Event = ExecutionReport | CancelReject


class Trade(NamedTuple):
    """One match, for the book's last price and the control API (not sent over FIX). A
    NamedTuple: built once per fill on the hot path, 10x cheaper than a frozen dataclass."""

    match_id: str
    symbol: str
    price: Decimal
    quantity: int
    buy_order_id: str
    sell_order_id: str
    at: datetime
