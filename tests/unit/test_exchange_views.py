"""Read-only views (``simulators.exchange.views``): a book's levels best first, cut at a depth,
with the waiting market and auction-pool orders counted; an order's fields."""

from __future__ import annotations

from decimal import Decimal

from support.exchange import SYMBOL, booked, instruments

from simulators.exchange.book import Book
from simulators.exchange.model import OrdStatus, Side
from simulators.exchange.views import LevelView, book_view, order_view


def test_levels_come_best_first_cut_at_the_depth_with_market_and_pools_counted() -> None:
    book = Book(SYMBOL)
    sides_prices = [("buy", "2849"), ("buy", "2850"), ("buy", "2850"), ("buy", "2848"),
                    ("sell", "2852"), ("sell", "2851"), ("buy", None)]  # fmt: skip
    for side, price in sides_prices:
        o = booked(side, 100, price)
        book.side(o.side).add(o)
    pooled = booked("sell", 100, "2850")
    book.at_close[pooled.order_id] = pooled
    inst = instruments().get(SYMBOL)
    assert inst is not None
    view = book_view(inst, book, depth=2)
    assert view.bids == [LevelView(Decimal("2850"), 200, 2), LevelView(Decimal("2849"), 100, 1)]
    assert [lv.price for lv in view.asks] == [Decimal("2851"), Decimal("2852")]
    assert (view.market_buy_qty, view.market_sell_qty) == (100, 0)
    assert (view.at_open_count, view.at_close_count) == (0, 1)
    assert len(book_view(inst, book).bids) == 3  # no depth: every level


def test_an_order_view_copies_the_order_as_it_is_now() -> None:
    o = booked("sell", 300, "2851")
    o.cum_qty, o.leaves_qty, o.status = 100, 200, OrdStatus.PARTIALLY_FILLED
    v = order_view(o)
    assert v.order_id == o.order_id and v.session == o.session
    assert (v.side, v.price, v.order_qty, v.cum_qty, v.leaves_qty, v.status) == (
        Side.SELL, Decimal("2851"), 300, 100, 200, OrdStatus.PARTIALLY_FILLED,
    )  # fmt: skip
    o.leaves_qty = 0
    assert v.leaves_qty == 200  # a view does not follow the order
