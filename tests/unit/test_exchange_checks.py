"""Pre-trade checks alone (``simulators.exchange.checks``): pure functions over an order, an
instrument and a session's state, no engine. Through the engine: test_exchange_rejects.py."""

from __future__ import annotations

from datetime import datetime, timedelta
from decimal import Decimal

import pytest
from support.exchange import SYMBOL, at, instruments, order

from simulators.exchange.book import Order
from simulators.exchange.checks import (
    Rejected,
    SessionRules,
    SessionState,
    amend_problem,
    check_limits,
    check_new,
    check_price,
    check_quantity,
)
from simulators.exchange.model import (
    CancelOrder,
    CxlRejReason,
    OrdRejReason,
    OrdStatus,
    OrdType,
    RejectRule,
    Side,
    TimeInForce,
)
from simulators.exchange.phases import Phase

NOW = at("10:00")
LIMIT_ONLY = (OrdType.LIMIT,)
BOTH = (OrdType.MARKET, OrdType.LIMIT)
DAY = (TimeInForce.DAY,)


def _check(sess: SessionState, phase: Phase = Phase.CONTINUOUS, now: datetime = NOW) -> None:
    check_new(order("buy", 100, "2850"), sess, instruments(), "TSE", phase, BOTH, DAY, now)


def _rule(exc: pytest.ExceptionInfo[Rejected]) -> RejectRule:
    return exc.value.rule


def test_an_injected_reject_comes_first_and_is_used_up() -> None:
    sess = SessionState(SessionRules())
    sess.reject_next = 1
    sess.killed = True
    with pytest.raises(Rejected) as exc:
        _check(sess, Phase.CLOSED)
    assert _rule(exc) is RejectRule.INJECTED and sess.reject_next == 0
    with pytest.raises(Rejected) as exc:
        _check(sess, Phase.CLOSED)
    assert _rule(exc) is RejectRule.KILL_SWITCH  # then the kill switch, before "closed"


def test_a_session_limited_to_some_symbols_may_not_trade_others() -> None:
    sess = SessionState(SessionRules(symbols=frozenset({"6758"})))
    with pytest.raises(Rejected) as exc:
        _check(sess)
    assert _rule(exc) is RejectRule.UNKNOWN_SYMBOL
    assert exc.value.text.endswith("by this session")


def test_an_order_type_the_venue_does_not_take_is_refused() -> None:
    new = order("buy", 100, None)
    with pytest.raises(Rejected) as exc:
        check_new(new, SessionState(SessionRules()), instruments(), "PTS", Phase.CONTINUOUS,
                  LIMIT_ONLY, DAY, NOW)  # fmt: skip
    assert exc.value.reason is OrdRejReason.UNSUPPORTED_ORDER_CHARACTERISTIC


def test_quantity_must_be_a_positive_multiple_of_the_unit() -> None:
    inst = instruments().get(SYMBOL)
    assert inst is not None
    check_quantity(200, inst)
    for bad in (0, -100, 150):
        with pytest.raises(Rejected):
            check_quantity(bad, inst)


def test_price_is_on_the_tick_inside_the_daily_limit_and_absent_for_market() -> None:
    inst = instruments().get(SYMBOL)
    assert inst is not None
    assert check_price(OrdType.LIMIT, Decimal("2850.5"), inst) == Decimal("2850.5")
    assert check_price(OrdType.MARKET, None, inst) is None
    for ord_type, price, rule in [
        (OrdType.LIMIT, Decimal("2850.3"), RejectRule.PRICE_OFF_TICK),
        (OrdType.LIMIT, inst.upper_limit + 1, RejectRule.PRICE_OUTSIDE_DAILY_LIMIT),
        (OrdType.LIMIT, None, RejectRule.PRICE_REQUIRED),
        (OrdType.MARKET, Decimal("2850"), RejectRule.PRICE_NOT_ALLOWED),
    ]:
        with pytest.raises(Rejected) as exc:
            check_price(ord_type, price, inst)
        assert _rule(exc) is rule


def test_the_value_window_is_one_rolling_second_of_accepted_orders() -> None:
    inst = instruments().get(SYMBOL)
    assert inst is not None
    sess = SessionState(SessionRules(max_value_per_second=Decimal("300000")))
    price = Decimal("2850")  # 285,000 yen for 100 shares
    check_limits(sess, 100, price, inst, NOW, count=True)
    with pytest.raises(Rejected):
        check_limits(sess, 100, price, inst, NOW + timedelta(milliseconds=999), count=True)
    check_limits(sess, 100, price, inst, NOW + timedelta(seconds=1), count=True)
    assert sess.window_sum == Decimal("285000")  # the first left the window, the refused never came


def test_a_replace_is_checked_against_the_per_order_limit_but_not_counted_in_the_window() -> None:
    inst = instruments().get(SYMBOL)
    assert inst is not None
    sess = SessionState(SessionRules(max_value_per_second=Decimal("300000")))
    check_limits(sess, 100, Decimal("2850"), inst, NOW, count=False)
    assert sess.window_sum == 0 and not sess.window


def test_new_day_forgets_clordids_and_the_value_window_but_not_the_rules() -> None:
    rules = SessionRules(self_trade_prevention=True)
    sess = SessionState(rules)
    sess.cl_ord_ids["c1"] = None
    sess.window.append((NOW, Decimal(1)))
    sess.window_sum = Decimal(1)
    sess.new_day()
    assert (sess.cl_ord_ids, list(sess.window), sess.window_sum) == ({}, [], 0)
    assert sess.rules is rules


def _booked(status: OrdStatus = OrdStatus.NEW) -> Order:
    o = Order("T-1", "A", "c1", SYMBOL, Side.BUY, OrdType.LIMIT, Decimal("2850"), 100,
              TimeInForce.DAY, 1, None)  # fmt: skip
    o.status = status
    return o


def _cancel(symbol: str = SYMBOL, side: Side | None = Side.BUY) -> CancelOrder:
    return CancelOrder(session="A", cl_ord_id="c2", orig_cl_ord_id="c1", symbol=symbol, side=side)


def test_an_amend_names_an_open_order_with_its_symbol_and_side() -> None:
    assert amend_problem(_cancel(), _booked()) is None
    unknown = amend_problem(_cancel(), None)
    assert unknown is not None and unknown[0] is CxlRejReason.UNKNOWN_ORDER
    too_late = amend_problem(_cancel(), _booked(OrdStatus.FILLED))
    assert too_late is not None and too_late[0] is CxlRejReason.TOO_LATE_TO_CANCEL
    assert "already filled" in too_late[1]
    other = amend_problem(_cancel(side=Side.SELL), _booked())
    assert other is not None and other[0] is CxlRejReason.OTHER
