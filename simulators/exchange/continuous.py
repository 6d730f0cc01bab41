"""Continuous matching (zaraba): an incoming order trades at once against the contra side in
price-time priority, at the resting order's price; what is left rests (Day), expires (IOC, FOK,
market orders: a market order never rests) or is canceled (self-trade prevention stopped it). A
FOK order trades only if it can be filled in full at once, else it expires untouched.
"""

from __future__ import annotations

from datetime import datetime

from .book import Book, Order
from .executions import Executions
from .model import Event, OrdStatus, OrdType, Side, TimeInForce

# enum members as module constants: an Enum attribute lookup costs ~10x a global one
_TIF_IOC = TimeInForce.IOC
_TIF_FOK = TimeInForce.FOK
_OT_MARKET = OrdType.MARKET
_SIDE_BUY = Side.BUY
_ST_CANCELED = OrdStatus.CANCELED
_ST_EXPIRED = OrdStatus.EXPIRED

STP_TEXT = "self_trade_prevention: would trade with an order of the same session"


def match(
    book: Book, order: Order, stp: bool, now: datetime, out: list[Event], ex: Executions
) -> None:
    """Match ``order`` as the aggressor, then rest, expire or cancel what is left. ``stp``:
    the order's session has self-trade prevention on."""
    if order.tif is _TIF_FOK and not fok_fillable(book, order, stp):
        ex.finish(order, _ST_EXPIRED, now, "FOK: not fully fillable at once", out)
        return
    stopped = sweep(book, order, stp, now, out, ex)
    if not order.leaves_qty:
        return
    if stopped:
        ex.finish(order, _ST_CANCELED, now, STP_TEXT, out)
    elif order.ord_type is _OT_MARKET:
        ex.finish(
            order, _ST_EXPIRED, now, "market order: no more liquidity within the daily limit", out
        )
    elif order.tif is _TIF_IOC or order.tif is _TIF_FOK:
        ex.finish(order, _ST_EXPIRED, now, "IOC: remainder expired", out)
    else:
        book.side(order.side).add(order)


def sweep(
    book: Book, order: Order, stp: bool, now: datetime, out: list[Event], ex: Executions
) -> bool:
    """Trade ``order`` against the contra side; True if self-trade prevention stopped it."""
    contra = book.contra(order.side)
    prices = contra.prices
    levels = contra.levels
    limit = order.price
    buy = order.side is _SIDE_BUY
    own = order.session if stp else None
    fill = ex.fill
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
            qty = order.leaves_qty if order.leaves_qty < resting.leaves_qty else resting.leaves_qty
            fill(book, contra, order, resting, qty, best, now, out)
    return False


def fok_fillable(book: Book, order: Order, stp: bool) -> bool:
    """The contra side holds enough within ``order``'s limit to fill it in full at once (with
    self-trade prevention: before the first resting order of the same session)."""
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
