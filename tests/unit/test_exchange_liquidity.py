"""Liquidity modes: the seeded random walk keeps both sides of the book filled around a moving
mid, and a book file loads all or nothing."""

from __future__ import annotations

import json
from decimal import Decimal

import pytest
from support.exchange import engine, order, trades

from simulators.exchange.liquidity import BookFileError, RandomWalkLiquidity, load_book
from simulators.exchange.phases import Phase


def _levels(e, symbol="7203"):
    v = e.book_view(symbol)
    return [(lv.price, lv.quantity) for lv in v.bids], [(lv.price, lv.quantity) for lv in v.asks]


def test_same_seed_gives_the_same_book():
    books = []
    for _ in range(2):
        e = engine()
        liq = RandomWalkLiquidity(e, seed=42, symbols=["7203"])
        for _ in range(30):
            liq.step()
        books.append(_levels(e))
    assert books[0] == books[1]


def test_liquidity_rests_on_both_sides_of_the_mid_inside_the_limits():
    e = engine()
    liq = RandomWalkLiquidity(e, seed=3, levels=5, symbols=["7203"])
    for _ in range(20):
        liq.step()
    bids, asks = _levels(e)
    assert len(bids) == len(asks) == 5
    assert bids[0][0] < liq.mid("7203") < asks[0][0]
    view = e.book_view("7203")
    assert view.lower_limit <= bids[-1][0] and asks[-1][0] <= view.upper_limit


def test_the_walk_moves_the_mid():
    e = engine()
    liq = RandomWalkLiquidity(e, seed=5, symbols=["7203"])
    mids = set()
    for _ in range(30):
        liq.step()
        mids.add(liq.mid("7203"))
    assert len(mids) > 3


def test_a_fill_against_liquidity_is_reported_to_the_real_session_only():
    e = engine()
    RandomWalkLiquidity(e, seed=1, symbols=["7203"]).step()
    out = e.new_order(order("buy", 100, None, session="A"))
    assert {r.session for r in out} == {"A"}
    assert len(trades(out)) == 1


def test_traded_away_levels_are_refilled():
    e = engine()
    liq = RandomWalkLiquidity(e, seed=1, symbols=["7203"])
    liq.step()
    e.new_order(order("buy", 100_000, None, session="A"))
    assert _levels(e)[1] == []
    liq.step()
    assert len(_levels(e)[1]) == liq.levels


def test_no_liquidity_is_placed_while_closed():
    e = engine(Phase.CLOSED)
    RandomWalkLiquidity(e, seed=1, symbols=["7203"]).step()
    assert _levels(e) == ([], [])


def test_book_file_is_loaded(tmp_path):
    path = tmp_path / "book.json"
    path.write_text(
        json.dumps({"books": {"7203": {"bids": [["2849.5", 300]], "asks": [["2850.5", 200]]}}})
    )
    e = engine(Phase.PRE_OPEN)
    assert load_book(e, path) == []
    assert _levels(e) == ([(Decimal("2849.5"), 300)], [(Decimal("2850.5"), 200)])


@pytest.mark.parametrize(
    ("book", "message"),
    [
        ({"7203": {"bids": [["2849.5", 300], ["2849.3", 100]]}}, "not on the tick"),
        ({"7203": {"bids": [["2849.5", 300], [2849.5, 100]]}}, "decimal string"),
        ({"7203": {"asks": [["9999", 100]]}}, "outside the daily limit"),
        ({"7203": {"asks": [["2850", 150]]}}, "multiple of 100"),
        ({"0000": {"asks": [["2850", 100]]}}, "unknown symbol"),
        ({"7203": {"offers": []}}, "bids"),
    ],
)
def test_a_bad_book_file_loads_nothing(book, message):
    e = engine(Phase.PRE_OPEN)
    with pytest.raises(BookFileError, match=message):
        load_book(e, {"books": book})
    assert _levels(e) == ([], [])


def test_tick_steps_at_most_once_per_interval():
    now = [100.0]
    e = engine()
    liq = RandomWalkLiquidity(e, seed=9, symbols=["7203"], interval=0.5, monotonic=lambda: now[0])
    for _ in range(5):
        liq.tick()  # the same instant: one step only
    assert liq.steps == 1
    for _ in range(4):
        now[0] += 0.25
        liq.tick()
    assert liq.steps == 3
