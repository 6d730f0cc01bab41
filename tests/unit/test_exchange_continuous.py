"""Continuous matching alone (``simulators.exchange.continuous``) on a bare book, and the fills
and reports it produces (``executions``): no engine, clock or checks. Through the engine's
commands: test_exchange_matching.py."""

from __future__ import annotations

from decimal import Decimal

from support.exchange import SYMBOL, at, booked

from simulators.exchange.book import Book, Order
from simulators.exchange.continuous import fok_fillable, match
from simulators.exchange.executions import Executions, average
from simulators.exchange.model import (
    Event,
    ExecType,
    ExecutionReport,
    OrdStatus,
    TimeInForce,
)

NOW = at("10:00")


def _rest(book: Book, *orders: Order) -> None:
    for o in orders:
        book.side(o.side).add(o)


def _run(book: Book, o: Order, stp: bool = False) -> tuple[list[ExecutionReport], Executions]:
    ex = Executions("T")
    out: list[Event] = []
    match(book, o, stp, NOW, out, ex)
    return [e for e in out if isinstance(e, ExecutionReport)], ex


def test_an_aggressor_trades_best_price_first_then_oldest_at_the_resting_price() -> None:
    book = Book(SYMBOL)
    first, second = booked("sell", 100, "2851"), booked("sell", 100, "2851")
    better = booked("sell", 100, "2850")
    _rest(book, first, second, better)
    buy = booked("buy", 300, "2851")
    out, ex = _run(book, buy)
    fills = [(r.order_id, r.last_px) for r in out if r.order_id != buy.order_id]
    assert fills == [(better.order_id, Decimal("2850")), (first.order_id, Decimal("2851")),
                     (second.order_id, Decimal("2851"))]  # fmt: skip
    assert buy.status is OrdStatus.FILLED and buy.avg_px == Decimal("2850.666667")
    assert not book.asks.prices and (ex.counters.trades, ex.counters.volume) == (3, 300)


def test_both_reports_of_a_trade_share_one_match_id_and_every_exec_id_is_new() -> None:
    book = Book(SYMBOL)
    _rest(book, booked("sell", 100, "2850"))
    out, _ = _run(book, booked("buy", 100, "2850"))
    assert len({r.match_id for r in out}) == 1 and out[0].match_id is not None
    assert len({r.exec_id for r in out}) == 2


def test_a_remainder_rests_at_its_limit_and_the_level_total_follows() -> None:
    book = Book(SYMBOL)
    _rest(book, booked("sell", 100, "2850"))
    buy = booked("buy", 300, "2850")
    _run(book, buy)
    level = book.bids.levels[Decimal("2850")]
    assert (buy.live, buy.leaves_qty, level.qty, level.count) == (True, 200, 200, 1)


def test_a_market_order_never_rests_its_remainder_expires() -> None:
    book = Book(SYMBOL)
    _rest(book, booked("sell", 100, "2850"))
    buy = booked("buy", 300, None)
    out, _ = _run(book, buy)
    assert out[-1].exec_type is ExecType.EXPIRED and not buy.live and not book.bids.market


def test_fok_that_cannot_fill_in_full_leaves_the_book_untouched() -> None:
    book = Book(SYMBOL)
    resting = booked("sell", 100, "2850")
    _rest(book, resting)
    fok = booked("buy", 200, "2850", tif=TimeInForce.FOK)
    assert not fok_fillable(book, fok, stp=False)
    out, ex = _run(book, fok)
    assert [r.exec_type for r in out] == [ExecType.EXPIRED]
    assert resting.leaves_qty == 100 and ex.counters.trades == 0


def test_fok_with_self_trade_prevention_counts_only_what_is_ahead_of_its_own_orders() -> None:
    book = Book(SYMBOL)
    _rest(book, booked("sell", 100, "2850", session="B"), booked("sell", 100, "2850", session="A"))
    fok = booked("buy", 200, "2850", session="A", tif=TimeInForce.FOK)
    assert fok_fillable(book, fok, stp=False)
    assert not fok_fillable(book, fok, stp=True)


def test_self_trade_prevention_stops_at_its_own_order_and_cancels_the_remainder() -> None:
    book = Book(SYMBOL)
    other, own = booked("sell", 100, "2850", session="B"), booked("sell", 100, "2850", session="A")
    _rest(book, other, own)
    buy = booked("buy", 200, "2850", session="A")
    out, _ = _run(book, buy, stp=True)
    assert other.status is OrdStatus.FILLED and own.leaves_qty == 100 and own.live
    assert out[-1].exec_type is ExecType.CANCELED and "self_trade_prevention" in (
        out[-1].text or ""
    )


def test_an_internal_sessions_order_trades_without_reports() -> None:
    book = Book(SYMBOL)
    _rest(book, booked("sell", 100, "2850", session="#liquidity"))
    out, ex = _run(book, booked("buy", 100, "2850"))
    assert [r.session for r in out] == ["A"] and ex.counters.trades == 1


def test_average_price_is_exact_up_to_six_places_then_rounded_half_even() -> None:
    assert average(Decimal("570100"), 200) == Decimal("2850.5")
    assert average(Decimal("855001"), 300) == Decimal("2850.003333")
