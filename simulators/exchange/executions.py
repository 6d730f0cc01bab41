"""What happens to a booked order and the reports that say so: trades (both sides at one price,
one TrdMatchID), end states (canceled, expired), rejects, and the ExecutionReport of each, with
the engine's IDs. Shared by continuous matching, the auctions and the engine's commands.

IDs (OrderID, ExecID, TrdMatchID) carry ``prefix``, unique per engine run, and one counter, so a
restarted simulator never repeats an ExecID the gateway has already applied. Orders of an
internal session (``Order.quiet``) trade normally but produce no reports.
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass
from datetime import datetime
from decimal import ROUND_HALF_EVEN, Decimal

from .book import Book, BookSide, Order
from .checks import ZERO, Rejected
from .model import (
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

# enum members as module constants: an Enum attribute lookup costs ~10x a global one
_SIDE_BUY = Side.BUY
_ST_PARTIALLY_FILLED = OrdStatus.PARTIALLY_FILLED
_ST_FILLED = OrdStatus.FILLED
_ST_REJECTED = OrdStatus.REJECTED
_ST_EXPIRED = OrdStatus.EXPIRED
_ET_CANCELED = ExecType.CANCELED
_ET_REJECTED = ExecType.REJECTED
_ET_EXPIRED = ExecType.EXPIRED
_ET_TRADE = ExecType.TRADE
_ET_ORDER_STATUS = ExecType.ORDER_STATUS

_AVG_QUANTUM = Decimal("0.000001")
NONE_ID = "NONE"  # OrderID of a reject for an order never booked (FIX convention)


def average(notional: Decimal, qty: int) -> Decimal:
    """Average price: exact when it has at most 6 decimals, else rounded half-even to 6."""
    avg = notional / qty
    exponent = avg.as_tuple().exponent
    if isinstance(exponent, int) and exponent >= -6:
        return avg  # exact (e.g. 2851 or 2851.5)
    return avg.quantize(_AVG_QUANTUM, ROUND_HALF_EVEN)


@dataclass
class Counters:
    orders: int = 0
    rejects: int = 0
    trades: int = 0
    volume: int = 0


class Executions:
    """The engine's IDs, counters and trade log, and every report an order's life produces.
    ``trade_log`` > 0 keeps the last that many :class:`Trade` records in ``trades``."""

    def __init__(self, prefix: str, trade_log: int = 0) -> None:
        self.prefix = prefix
        self.ids = 0  # the last ID given (OrderIDs, ExecIDs and TrdMatchIDs count together)
        self.counters = Counters()
        self.trades: deque[Trade] = deque(maxlen=trade_log)
        self._log_trades = trade_log > 0

    def reset(self) -> None:
        """Counters and the trade log start again; IDs keep counting (never reused)."""
        self.trades.clear()
        self.counters = Counters()

    def fill(
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
        self.ids += 1
        match_id = f"{self.prefix}-M{self.ids}"
        value = price * qty
        # the resting order (unrolled: this is the hot path)
        o = resting
        o.cum_qty += qty
        o.leaves_qty -= qty
        o.notional += value
        if o.cum_qty == qty:
            o.avg_px = price  # first fill
        elif price != o.avg_px:
            o.avg_px = average(o.notional, o.cum_qty)
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
            a.avg_px = average(a.notional, a.cum_qty)
        if a.live:
            side = book.side(a.side)
            side.reduce(a, qty)
            if not a.leaves_qty:
                side.remove(a)
        a.status = _ST_PARTIALLY_FILLED if a.leaves_qty else _ST_FILLED
        self.report(a, _ET_TRADE, now, out, qty, price, match_id)
        self.report(o, _ET_TRADE, now, out, qty, price, match_id)
        book.last_price = price
        counters = self.counters
        counters.trades += 1
        counters.volume += qty
        if self._log_trades:
            buy, sell = (a, o) if a.side is _SIDE_BUY else (o, a)
            self.trades.append(
                Trade(match_id, book.symbol, price, qty, buy.order_id, sell.order_id, now)
            )

    def expire(self, book: Book, o: Order, at: datetime, text: str, out: list[Event]) -> None:
        book.take_off(o)
        self.finish(o, _ST_EXPIRED, at, text, out)

    def finish(
        self, o: Order, status: OrdStatus, at: datetime, text: str, out: list[Event]
    ) -> None:
        o.status = status
        o.leaves_qty = 0
        kind = _ET_EXPIRED if status is _ST_EXPIRED else _ET_CANCELED
        self.report(o, kind, at, out, text=text)

    def report(
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
        self.ids += 1
        out.append(
            ExecutionReport(
                o.session,
                o.order_id,
                o.cl_ord_id,
                o.orig_cl_ord_id,
                f"{self.prefix}-X{self.ids}",
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

    def reject_new(self, cmd: NewOrder, rej: Rejected, at: datetime) -> ExecutionReport:
        self.counters.rejects += 1
        self.ids += 1
        return ExecutionReport(
            session=cmd.session,
            order_id=NONE_ID,
            cl_ord_id=cmd.cl_ord_id,
            orig_cl_ord_id=None,
            exec_id=f"{self.prefix}-X{self.ids}",
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

    def cxl_reject(
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

    def unknown_status(self, cmd: StatusRequest, at: datetime) -> ExecutionReport:
        """The answer to an OrderStatusRequest for an order the session does not have:
        OrdStatus Rejected with OrdRejReason 5 (unknown order)."""
        self.ids += 1
        return ExecutionReport(
            session=cmd.session,
            order_id=cmd.order_id or NONE_ID,
            cl_ord_id=cmd.cl_ord_id,
            orig_cl_ord_id=None,
            exec_id=f"{self.prefix}-X{self.ids}",
            exec_type=_ET_ORDER_STATUS,
            ord_status=_ST_REJECTED,
            symbol=cmd.symbol,
            side=cmd.side,
            ord_type=OrdType.LIMIT,
            time_in_force=TimeInForce.DAY,
            order_qty=0,
            price=None,
            cum_qty=0,
            leaves_qty=0,
            avg_px=ZERO,
            transact_time=at,
            ord_rej_reason=OrdRejReason.UNKNOWN_ORDER,
            text=f"{RejectRule.ORDER_NOT_FOUND.value}: no order {cmd.cl_ord_id} in this session",
        )
