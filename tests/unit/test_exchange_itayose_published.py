"""Itayose against published examples and the published rule text.

Sources (each test names the one it reproduces):

- [JPX-RULES] JPX, 売買のルール(応用編) / Rules of trading (advanced), "板寄せ方式":
  https://www.jpx.co.jp/learning/basics/equities/04.html ; the same three conditions in
  Rakuten Securities, 「板寄せ」: https://rakuten-sec.co.jp/smartphone/domestic/stock/rule/agreed/itayose.html
  and TSE, "What is the 'itayose' method?" (2010): http://www.tse.or.jp/english/faq/list/stockprice/p_b.html
  Rule text (Rakuten's wording of JPX's conditions):
    【条件1】成行の売り注文と買い注文すべてについて約定すること
             (all market sell and buy orders are executed)
    【条件2】約定値段より高い買い注文と、約定値段より低い売り注文がすべて約定すること
             (every buy above and every sell below the price is executed)
    【条件3】約定値段において、売り注文または買い注文のいずれか一方すべてについて約定すること
             (at the price, the whole of either the sells or the buys is executed)
- [S3-BLOG] success3.jp (securities sales representative exam course), 始値(売買立会始値決定):
  https://success3.jp/blog/4 — worked book, opening price 499 yen.
- [S3-QUIZ] success3.jp, 取引所定款・諸規則−8, 問1: https://success3.jp/try15/quest.cgi?no=8 —
  worked book, opening price 800 yen.
- [SBI-FAQ] SBI Neotrade Securities FAQ, 「寄指(または引指)」... 約定がつきませんでした:
  https://faq.sbineotrade.jp/answer/608752eba86ee343fd137447 — a limit order priced exactly at
  the opening price may go unfilled (condition 3: only one side is filled in full at the price).

The two numeric examples are from an exam-preparation site, not from JPX itself: JPX's own worked
books (the learning page's 第1図 and the TSE FAQ's 500/501-yen book) are figures whose numbers are
not in the stored text that could be searched. The tie-break rules used when several prices
qualify are not covered by any example here (see the README).
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal as D

from hypothesis import example, given, settings
from hypothesis import strategies as st
from support.exchange import at, order, reports, trades

from gateway import market_rules
from simulators.exchange.engine import MatchingEngine
from simulators.exchange.instruments import Instrument, Instruments, uniform_tick
from simulators.exchange.itayose import determine_price
from simulators.exchange.model import ExecType, OrdStatus
from simulators.exchange.phases import Phase, SimClock

# --- the published books ----------------------------------------------------------------

# [S3-BLOG]: 成行の売呼値 1,000株, 成行の買呼値 2,000株;
#   売呼値 | 値段 | 買呼値:  5,000 | 500 |  ;  2,000 | 499 | 1,000 ;    | 498 | 5,000
BLOG_MARKET_SELL, BLOG_MARKET_BUY = 1_000, 2_000
BLOG_ASKS = [("500", 5_000), ("499", 2_000)]
BLOG_BIDS = [("499", 1_000), ("498", 5_000)]

# [S3-QUIZ]: 成行売呼値 1,000株, 成行買呼値 35,000株;
#   802: sell 24,000 | 801: sell 29,000, buy 29,000 | 800: sell 19,000, buy 1,000
#   799: sell 24,000, buy 7,000 | 798: sell 21,000, buy 14,000
QUIZ_MARKET_SELL, QUIZ_MARKET_BUY = 1_000, 35_000
QUIZ_ASKS = [("802", 24_000), ("801", 29_000), ("800", 19_000), ("799", 24_000), ("798", 21_000)]
QUIZ_BIDS = [("801", 29_000), ("800", 1_000), ("799", 7_000), ("798", 14_000)]

DAY = date(2026, 11, 30)


def _p(rows):
    return [(D(p), q) for p, q in rows]


def _engine_for(symbol: str, base: str) -> MatchingEngine:
    """An engine in pre-open with one non-TOPIX500 symbol (1-yen tick below 3,000 yen) whose
    daily limits come from the real limit table."""
    lower, upper = market_rules.daily_limits(D(base), DAY)
    inst = Instrument(symbol, D(base), lower, upper, uniform_tick(D("1")))
    return MatchingEngine(
        Instruments([inst]),
        clock=SimClock.fixed(at("08:30")),
        venue="TSE",
        phase=Phase.PRE_OPEN,
        id_prefix="P",
    )


def _load(e: MatchingEngine, symbol: str, msell: int, mbuy: int, asks, bids) -> None:
    """Enter the published book in pre-open; ClOrdIDs name side and price (``s499``, ``bM``)."""
    e.new_order(order("sell", msell, None, cl="sM", symbol=symbol))
    e.new_order(order("buy", mbuy, None, cl="bM", symbol=symbol))
    for price, qty in asks:
        e.new_order(order("sell", qty, price, cl=f"s{price}", symbol=symbol))
    for price, qty in bids:
        e.new_order(order("buy", qty, price, cl=f"b{price}", symbol=symbol))


# --- [S3-BLOG]: opening price 499 yen ---------------------------------------------------


def test_published_book_opens_at_499_yen_for_3000_shares_s3_blog():
    # "以上の計算から、始値は、499円となります。" (market 1,000 vs 2,000, then 499 sell 2,000,
    # then 499 buy 1,000: both sides exhausted at 499)
    result = determine_price(
        _p(BLOG_BIDS), _p(BLOG_ASKS), BLOG_MARKET_BUY, BLOG_MARKET_SELL, reference=D("500")
    )
    assert (result.price, result.volume) == (D("499"), 3_000)
    assert (result.buy_qty, result.sell_qty) == (3_000, 3_000)


def test_published_book_opening_leaves_500_sell_and_498_buy_untouched_s3_blog():
    # "この場合は498円と500円は関係ありませんでした。"
    e = _engine_for("EX499", base="500")
    _load(e, "EX499", BLOG_MARKET_SELL, BLOG_MARKET_BUY, BLOG_ASKS, BLOG_BIDS)
    out = e.pin_phase(Phase.CONTINUOUS)
    fills = trades(out)
    assert {f.last_px for f in fills} == {D("499")}
    assert sum(f.last_qty for f in fills if f.side == "1") == 3_000
    assert sum(f.last_qty for f in fills if f.side == "2") == 3_000
    for cl in ("sM", "bM", "s499", "b499"):
        assert e.order_view("A", cl).status is OrdStatus.FILLED, cl
    for cl in ("s500", "b498"):
        assert e.order_view("A", cl).cum_qty == 0, cl
    view = e.book_view("EX499")
    assert [(lv.price, lv.quantity) for lv in view.asks] == [(D("500"), 5_000)]
    assert [(lv.price, lv.quantity) for lv in view.bids] == [(D("498"), 5_000)]
    assert not reports(out, ExecType.EXPIRED)


# --- [S3-QUIZ]: opening price 800 yen ---------------------------------------------------


def test_published_book_opens_at_800_yen_for_65000_shares_s3_quiz():
    # "6.買いの2番目に高い800円の1,000株と、売りの1,000株でちょうど、売り買いともに残なし、
    # となる。よって、始値は800円となる。"
    result = determine_price(
        _p(QUIZ_BIDS), _p(QUIZ_ASKS), QUIZ_MARKET_BUY, QUIZ_MARKET_SELL, reference=D("800")
    )
    assert (result.price, result.volume) == (D("800"), 65_000)
    assert (result.buy_qty, result.sell_qty) == (65_000, 65_000)


def test_published_book_opening_fills_and_leaves_what_the_worked_steps_say_s3_quiz():
    # Steps 1-6: market 1,000 vs 35,000; 798 sell 21,000; 799 sell 24,000; 801 buy 29,000;
    # 800 sell 19,000; 800 buy 1,000. Left: 801/802 sells, 799/798 buys.
    e = _engine_for("EX800", base="800")
    _load(e, "EX800", QUIZ_MARKET_SELL, QUIZ_MARKET_BUY, QUIZ_ASKS, QUIZ_BIDS)
    out = e.pin_phase(Phase.CONTINUOUS)
    fills = trades(out)
    assert {f.last_px for f in fills} == {D("800")}
    assert sum(f.last_qty for f in fills if f.side == "1") == 65_000
    for cl in ("sM", "bM", "s798", "s799", "s800", "b801", "b800"):
        assert e.order_view("A", cl).status is OrdStatus.FILLED, cl
    for cl in ("s801", "s802", "b799", "b798"):
        assert e.order_view("A", cl).cum_qty == 0, cl
    view = e.book_view("EX800")
    assert [(lv.price, lv.quantity) for lv in view.asks] == [(D("801"), 29_000), (D("802"), 24_000)]
    assert [(lv.price, lv.quantity) for lv in view.bids] == [(D("799"), 7_000), (D("798"), 14_000)]


# --- [JPX-RULES]: each condition, on the published books --------------------------------


def _conditions(bids, asks, mbuy, msell, price, volume):
    """The three published conditions at ``price`` with ``volume`` executed: market orders
    first, then price priority (Itayose: no time priority)."""
    above = sum(q for p, q in bids if p > price)
    below = sum(q for p, q in asks if p < price)
    at_buy = sum(q for p, q in bids if p == price)
    at_sell = sum(q for p, q in asks if p == price)
    cond1 = volume >= mbuy and volume >= msell
    cond2 = volume >= mbuy + above and volume >= msell + below
    cond3 = volume == mbuy + above + at_buy or volume == msell + below + at_sell
    return cond1, cond2, cond3


def test_condition_1_every_market_order_is_executed_on_the_published_books():
    # 【条件1】成行の売り注文と買い注文すべてについて約定すること
    for bids, asks, mb, ms in [
        (BLOG_BIDS, BLOG_ASKS, BLOG_MARKET_BUY, BLOG_MARKET_SELL),
        (QUIZ_BIDS, QUIZ_ASKS, QUIZ_MARKET_BUY, QUIZ_MARKET_SELL),
    ]:
        r = determine_price(_p(bids), _p(asks), mb, ms, None)
        assert _conditions(_p(bids), _p(asks), mb, ms, r.price, r.volume)[0]


def test_condition_2_every_better_priced_limit_is_executed_on_the_published_books():
    # 【条件2】約定値段より高い買い注文と、約定値段より低い売り注文がすべて約定すること
    for bids, asks, mb, ms in [
        (BLOG_BIDS, BLOG_ASKS, BLOG_MARKET_BUY, BLOG_MARKET_SELL),
        (QUIZ_BIDS, QUIZ_ASKS, QUIZ_MARKET_BUY, QUIZ_MARKET_SELL),
    ]:
        r = determine_price(_p(bids), _p(asks), mb, ms, None)
        assert _conditions(_p(bids), _p(asks), mb, ms, r.price, r.volume)[1]


def test_condition_3_at_the_price_one_side_is_filled_in_full_the_other_may_not_be():
    # 【条件3】約定値段において、売り注文または買い注文のいずれか一方すべてについて約定すること;
    # [SBI-FAQ]: a limit at exactly the opening price can stay unfilled. The two published books
    # happen to clear both sides at the price, so this book (cumulative 600 buys vs 300 sells at
    # 500) shows the one-side case: the sells at 500 fill, the buys at 500 only in part.
    e = _engine_for("EX500", base="500")
    e.new_order(order("sell", 300, "500", cl="s500", symbol="EX500"))
    e.new_order(order("buy", 200, "501", cl="b501", symbol="EX500"))
    e.new_order(order("buy", 400, "500", cl="b500", symbol="EX500"))
    e.pin_phase(Phase.CONTINUOUS)
    assert e.order_view("A", "s500").status is OrdStatus.FILLED
    assert e.order_view("A", "b501").status is OrdStatus.FILLED
    assert e.order_view("A", "b500").cum_qty == 100  # the larger side at the price: in part


_price = st.integers(min_value=495, max_value=505)
_qty = st.integers(min_value=1, max_value=20).map(lambda n: n * 100)
_side = st.lists(st.tuples(_price, _qty), max_size=8)


@settings(max_examples=400, deadline=None)
@given(
    bids=_side,
    asks=_side,
    mbuy=st.sampled_from([0, 100, 500]),
    msell=st.sampled_from([0, 100, 500]),
    ref=_price,
)
# found by this property in CI (2026-11-28): all three prices execute 100, and the reference
# price 495 is nearest, but at 495 the buys above it (200) are not all executed
@example(bids=[(496, 100), (497, 100)], asks=[(495, 100), (497, 100)], mbuy=0, msell=0, ref=495)
def test_every_itayose_price_meets_the_three_published_conditions_when_they_can_be_met(
    bids, asks, mbuy, msell, ref
):
    bids = [(D(p), q) for p, q in bids]
    asks = [(D(p), q) for p, q in asks]
    prices = sorted({p for p, _ in bids} | {p for p, _ in asks} | {D(ref)})
    feasible = [
        p
        for p in prices
        if all(_conditions(bids, asks, mbuy, msell, p, _volume(bids, asks, mbuy, msell, p)))
        and _volume(bids, asks, mbuy, msell, p) > 0
    ]
    result = determine_price(bids, asks, mbuy, msell, D(ref))
    if not feasible:
        return  # TSE would show a special quote; not modelled (README)
    assert result is not None
    assert all(_conditions(bids, asks, mbuy, msell, result.price, result.volume)), (
        result,
        feasible,
    )


def test_a_price_that_breaks_condition_2_is_not_chosen_even_when_nearest_the_reference():
    bids, asks = _p([("496", 100), ("497", 100)]), _p([("495", 100), ("497", 100)])
    r = determine_price(bids, asks, 0, 0, D("495"))
    assert r is not None and r.volume == 100
    assert r.price == D("496")  # 495 leaves a buy above it unexecuted; 496 is nearest of the rest
    assert all(_conditions(bids, asks, 0, 0, r.price, r.volume))


def _volume(bids, asks, mbuy, msell, price):
    return min(
        mbuy + sum(q for p, q in bids if p >= price), msell + sum(q for p, q in asks if p <= price)
    )
