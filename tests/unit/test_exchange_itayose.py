"""Itayose price determination, on synthetic books built from JPX's published conditions (Guide to
TSE Trading Methodology, Q12) and the tie-break conditions JPX publishes for its derivatives market
(applied to equities, see simulators/exchange/itayose.py): the price executes the most volume,
market orders first; ties go to the smaller surplus, then to the lowest (sell surplus everywhere)
or highest (buy surplus everywhere) price, then to the price nearest the reference. Published
worked books: test_exchange_itayose_published.py."""

from __future__ import annotations

from decimal import Decimal as D

from support.exchange import engine, order, reports, trades

from simulators.exchange.itayose import determine_price
from simulators.exchange.model import ExecType, OrdStatus, TimeInForce
from simulators.exchange.phases import Phase


def _p(rows):
    return [(D(p), q) for p, q in rows]


def test_price_executes_the_most_volume_then_the_smallest_surplus():
    # cum buy 1000/1000/500/300, cum sell 200/500/900/900 at 2849..2852: 500 at 2850 and 2851;
    # surplus 500 at 2850, 400 at 2851 -> 2851. There every buy above and sell below executes and
    # the whole buy quantity at 2851 does (JPX Q12 conditions 2 and 3).
    result = determine_price(
        bids=_p([("2852", 300), ("2851", 200), ("2850", 500)]),
        asks=_p([("2849", 200), ("2850", 300), ("2851", 400)]),
        market_buy=0,
        market_sell=0,
        reference=D("2850"),
    )
    assert (result.price, result.volume) == (D("2851"), 500)


def test_market_orders_are_executed_in_full_first():
    result = determine_price(
        bids=_p([("2849", 100)]),
        asks=_p([("2850", 200), ("2851", 200)]),
        market_buy=300,
        market_sell=0,
        reference=D("2850"),
    )
    assert (result.price, result.volume) == (D("2851"), 300)


def test_sell_surplus_at_every_tied_price_takes_the_lowest():
    result = determine_price(_p([("2860", 100)]), _p([("2856", 300)]), 0, 0, D("2850"))
    assert result.price == D("2856")


def test_buy_surplus_at_every_tied_price_takes_the_highest():
    result = determine_price(_p([("2860", 300)]), _p([("2856", 100)]), 0, 0, D("2850"))
    assert result.price == D("2860")


def test_balanced_tie_takes_the_price_nearest_the_reference():
    result = determine_price(_p([("2860", 100)]), _p([("2840", 100)]), 0, 0, D("2850"))
    assert (result.price, result.volume) == (D("2850"), 100)


def test_market_orders_on_both_sides_only_trade_at_the_reference_price():
    result = determine_price([], [], 200, 300, D("2850"))
    assert (result.price, result.volume) == (D("2850"), 200)


def test_no_crossing_interest_means_no_auction_trade():
    assert determine_price(_p([("2849", 100)]), _p([("2851", 100)]), 0, 0, D("2850")) is None


def test_opening_itayose_fills_everyone_at_one_price_and_leaves_the_book_uncrossed():
    e = engine(Phase.PRE_OPEN)
    for side, qty, price, cl in [
        ("buy", 300, "2852", "b1"),
        ("buy", 200, "2851", "b2"),
        ("buy", 500, "2850", "b3"),
        ("sell", 200, "2849", "s1"),
        ("sell", 300, "2850", "s2"),
        ("sell", 400, "2851", "s3"),
    ]:
        e.new_order(order(side, qty, price, cl=cl))
    before = e.book_view("7203")
    assert before.bids[0].price > before.asks[0].price  # crossed, and nothing traded in pre-open
    out = e.pin_phase(Phase.CONTINUOUS)
    fills = trades(out)
    assert {f.last_px for f in fills} == {D("2851")}
    assert sum(f.last_qty for f in fills if f.side == "1") == 500
    assert sum(f.last_qty for f in fills if f.side == "2") == 500
    view = e.book_view("7203")
    assert view.bids[0].price < view.asks[0].price
    assert e.order_view("A", "s3").cum_qty == 0  # the sell at the price waits: buy side ran out
    assert e.order_view("A", "b3").status is OrdStatus.NEW


def test_market_orders_have_priority_in_the_itayose_and_unfilled_ones_expire():
    e = engine(Phase.PRE_OPEN)
    e.new_order(order("sell", 200, "2850", cl="s"))
    e.new_order(order("buy", 100, "2850", cl="limit"))
    e.new_order(order("buy", 300, None, cl="mkt"))
    out = e.pin_phase(Phase.CONTINUOUS)
    assert e.order_view("A", "mkt").cum_qty == 200
    assert e.order_view("A", "limit").cum_qty == 0
    (expired,) = reports(out, ExecType.EXPIRED)
    assert (expired.cl_ord_id, expired.cum_qty) == ("mkt", 200)


def test_at_the_open_order_takes_part_in_the_opening_auction_only():
    e = engine(Phase.PRE_OPEN)
    e.new_order(order("buy", 300, "2851", cl="open", tif=TimeInForce.AT_THE_OPENING))
    e.new_order(order("sell", 100, "2851", cl="s"))
    out = e.pin_phase(Phase.CONTINUOUS)
    assert e.order_view("A", "open").cum_qty == 100
    (expired,) = reports(out, ExecType.EXPIRED)
    assert (expired.cl_ord_id, expired.leaves_qty) == ("open", 0)
    assert e.book_view("7203").bids == []


def test_at_the_close_order_does_not_trade_in_the_continuous_session():
    e = engine(Phase.CONTINUOUS)
    e.new_order(order("buy", 100, "2851", cl="close", tif=TimeInForce.AT_THE_CLOSE))
    assert not trades(e.new_order(order("sell", 100, "2851", cl="s")))
    assert e.book_view("7203").at_close_count == 1
    out = e.pin_phase(Phase.CLOSED)
    assert {(f.cl_ord_id, f.last_px) for f in trades(out)} == {
        ("close", D("2851")),
        ("s", D("2851")),
    }
