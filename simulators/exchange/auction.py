"""Auctions (itayose): at the open and the close of each session the book is matched at one
price. The orders held for the auction (at-the-open / at-the-close) join the book, the price and
volume are determined (:mod:`.itayose`, pure), fills are allocated market orders first, then by
price, then by time, all at that price; pool orders and market orders left over expire.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from decimal import Decimal

from .book import Book
from .continuous import STP_TEXT
from .executions import Executions
from .itayose import determine_price
from .model import Event, OrdStatus
from .phases import Auction


def run(
    book: Book,
    kind: Auction,
    at: datetime,
    out: list[Event],
    ex: Executions,
    stp_sessions: Iterable[str],
    base_price: Decimal | None,
) -> None:
    """Itayose on ``book``. ``stp_sessions``: the sessions with self-trade prevention on;
    ``base_price``: the reference when the symbol has not traded today."""
    pool = book.at_open if kind is Auction.OPEN else book.at_close
    joined = list(pool.values())
    pool.clear()
    for o in joined:
        o.live = False
        book.side(o.side).add(o)
    for name in stp_sessions:
        cancel_self_trades(book, name, at, out, ex)
    bids = [(lv.price, lv.qty) for lv in book.bids.levels.values()]
    asks = [(lv.price, lv.qty) for lv in book.asks.levels.values()]
    market_buy = sum(o.leaves_qty for o in book.bids.market if o.live)
    market_sell = sum(o.leaves_qty for o in book.asks.market if o.live)
    reference = book.last_price or base_price
    result = determine_price(bids, asks, market_buy, market_sell, reference)
    if result is not None:
        price = result.price
        buys = [o for o in book.bids.orders_in_priority() if o.price is None or o.price >= price]
        sells = [o for o in book.asks.orders_in_priority() if o.price is None or o.price <= price]
        remaining = result.volume
        i = j = 0
        while remaining and i < len(buys) and j < len(sells):
            b, s = buys[i], sells[j]
            qty = min(b.leaves_qty, s.leaves_qty, remaining)
            ex.fill(book, book.asks, b, s, qty, price, at, out)
            remaining -= qty
            if not b.leaves_qty:
                i += 1
            if not s.leaves_qty:
                j += 1
    label = "at-the-open" if kind is Auction.OPEN else "at-the-close"
    for o in joined:
        if o.live:
            ex.expire(book, o, at, f"{label}: not executed in the itayose", out)
    for o in [*book.bids.market, *book.asks.market]:
        if o.live:
            ex.expire(book, o, at, "market order: not executed in the itayose", out)


def cancel_self_trades(
    book: Book, session: str, at: datetime, out: list[Event], ex: Executions
) -> None:
    """Self-trade prevention before an itayose: while the session's best buy would trade with
    its own best sell (a market order trades with anything), cancel the newer of the two. Then
    no price can pair two of its orders, and the auction runs as usual."""
    buys = [o for o in book.bids.orders_in_priority() if o.session == session]
    sells = [o for o in book.asks.orders_in_priority() if o.session == session]
    i = j = 0
    while i < len(buys) and j < len(sells):
        b, s = buys[i], sells[j]
        if b.price is not None and s.price is not None and b.price < s.price:
            return
        newer = b if b.seq > s.seq else s
        book.take_off(newer)
        ex.finish(newer, OrdStatus.CANCELED, at, STP_TEXT, out)
        if newer is b:
            i += 1
        else:
            j += 1
