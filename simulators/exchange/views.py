"""Read-only views of the engine's state for the control API, the console and tests: a book's
levels best first, and an order's fields. Plain frozen data, made on request; nothing here
changes the book."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from .book import Book, BookSide, Order
from .instruments import Instrument
from .model import OrdStatus, OrdType, Side, TimeInForce


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


def book_view(inst: Instrument, book: Book, depth: int | None = None) -> BookView:
    """``book`` with at most ``depth`` levels a side (all with None)."""

    def levels(side: BookSide) -> list[LevelView]:
        views = []
        for level in side.levels_best_first():
            views.append(LevelView(level.price, level.qty, level.count))
            if depth is not None and len(views) >= depth:
                break
        return views

    return BookView(
        symbol=book.symbol,
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


def order_view(o: Order) -> OrderView:
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
