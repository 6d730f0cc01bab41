"""The itayose's allocation alone (``simulators.exchange.auction``) on a bare book: pool orders
join, everything trades at one price, market orders first, leftovers of the pool and market
orders expire. The price rules: test_exchange_itayose*.py; through the engine's phases:
test_exchange_phases.py."""

from __future__ import annotations

from decimal import Decimal

from support.exchange import SYMBOL, at, booked

from simulators.exchange import auction
from simulators.exchange.book import Book
from simulators.exchange.executions import Executions
from simulators.exchange.model import Event, ExecType, ExecutionReport, OrdStatus
from simulators.exchange.model import TimeInForce as TIF
from simulators.exchange.phases import Auction

NOW = at("09:00")
BASE = Decimal("2850")


def _run(
    book: Book, kind: Auction = Auction.OPEN, stp: tuple[str, ...] = ()
) -> list[ExecutionReport]:
    out: list[Event] = []
    auction.run(book, kind, NOW, out, Executions("T"), stp, BASE)
    return [e for e in out if isinstance(e, ExecutionReport)]


def test_every_fill_is_at_one_price_and_market_orders_are_filled_first() -> None:
    book = Book(SYMBOL)
    market, limit = booked("buy", 100, None), booked("buy", 100, "2852")
    sell = booked("sell", 100, "2849")
    for o in (limit, market, sell):
        book.side(o.side).add(o)
    trades = [r for r in _run(book) if r.exec_type is ExecType.TRADE]
    # at 2849 the buys above the price (200) would not all execute: 2852 meets the conditions
    assert {r.last_px for r in trades} == {Decimal("2852")}
    assert market.status is OrdStatus.FILLED and limit.cum_qty == 0


def test_at_the_open_orders_join_and_what_is_left_of_the_pool_expires() -> None:
    book = Book(SYMBOL)
    pooled_buy = booked("buy", 200, "2850", tif=TIF.AT_THE_OPENING)
    pooled_buy.live = True
    book.at_open[pooled_buy.order_id] = pooled_buy
    sell = booked("sell", 100, "2850")
    book.side(sell.side).add(sell)
    out = _run(book)
    assert not book.at_open and sell.status is OrdStatus.FILLED
    assert pooled_buy.cum_qty == 100 and pooled_buy.status is OrdStatus.EXPIRED
    assert out[-1].exec_type is ExecType.EXPIRED and "at-the-open" in (out[-1].text or "")


def test_the_closing_auction_takes_the_close_pool_and_leaves_the_open_pool() -> None:
    book = Book(SYMBOL)
    at_open = booked("buy", 100, "2850", tif=TIF.AT_THE_OPENING)
    at_close = booked("buy", 100, "2850", tif=TIF.AT_THE_CLOSE)
    for pool, o in ((book.at_open, at_open), (book.at_close, at_close)):
        o.live = True
        pool[o.order_id] = o
    sell = booked("sell", 100, "2850")
    book.side(sell.side).add(sell)
    _run(book, Auction.CLOSE)
    assert at_close.status is OrdStatus.FILLED and at_open.order_id in book.at_open


def test_a_market_orders_unexecuted_rest_expires_and_resting_limits_stay() -> None:
    book = Book(SYMBOL)
    market, bid = booked("sell", 200, None), booked("buy", 100, "2800")
    ask = booked("sell", 100, "2900")
    for o in (market, bid, ask):
        book.side(o.side).add(o)
    out = _run(book)
    assert bid.status is OrdStatus.FILLED
    assert (market.cum_qty, market.status, market.live) == (100, OrdStatus.EXPIRED, False)
    assert "market order: not executed" in (out[-1].text or "")
    assert ask.live and ask.status is OrdStatus.NEW


def test_self_trade_prevention_cancels_the_newer_of_a_sessions_crossing_pair() -> None:
    book = Book(SYMBOL)
    older, newer = booked("sell", 100, None, session="B"), booked("buy", 100, "2850", session="B")
    other = booked("buy", 100, "2850", session="A")
    for o in (older, newer, other):
        book.side(o.side).add(o)
    out = _run(book, stp=("B",))
    assert newer.status is OrdStatus.CANCELED and not newer.live
    assert older.status is OrdStatus.FILLED and other.status is OrdStatus.FILLED
    assert [r.exec_type for r in out][0] is ExecType.CANCELED
