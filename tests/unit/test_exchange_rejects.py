"""Validation (OrdRejReason 103 and a Text naming the rule) and the per-session exchange safety
features: hard limits, self-trade prevention, kill switch, cancel-on-disconnect, injected rejects."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import pytest
from support.exchange import engine, order, reports, trades

from simulators.exchange.engine import SessionRules
from simulators.exchange.model import (
    ExecType,
    NewOrder,
    OrdRejReason,
    OrdStatus,
    OrdType,
    Side,
    TimeInForce,
)
from simulators.exchange.phases import Phase


def _reject(events):
    (rej,) = events
    assert (rej.exec_type, rej.ord_status, rej.order_id) == (
        ExecType.REJECTED,
        OrdStatus.REJECTED,
        "NONE",
    )
    return rej


@pytest.mark.parametrize(
    ("new", "reason", "rule"),
    [
        (order("buy", 100, "2850", symbol="0000"), OrdRejReason.UNKNOWN_SYMBOL, "unknown_symbol"),
        (order("buy", 100, "2850.3"), OrdRejReason.OTHER, "price_off_tick"),
        (order("buy", 100, "3001.5"), OrdRejReason.OTHER, "price_off_tick"),  # tick 1 above 3000
        (order("buy", 100, "3351"), OrdRejReason.OTHER, "price_outside_daily_limit"),
        (order("sell", 100, "2349.5"), OrdRejReason.OTHER, "price_outside_daily_limit"),
        (
            order("buy", 150, "2850"),
            OrdRejReason.INCORRECT_QUANTITY,
            "quantity_not_multiple_of_unit",
        ),
        (order("buy", 0, "2850"), OrdRejReason.INCORRECT_QUANTITY, "quantity_not_multiple_of_unit"),
        (order("buy", 100, "0"), OrdRejReason.OTHER, "price_off_tick"),
        (order("buy", 100, "NaN"), OrdRejReason.OTHER, "price_off_tick"),
        (order("buy", 100, "1E+100"), OrdRejReason.OTHER, "price_off_tick"),
        (order("buy", 100, "-2850"), OrdRejReason.OTHER, "price_off_tick"),
    ],
    ids=[
        "unknown-symbol",
        "off-tick",
        "off-tick-upper-band",
        "above-limit",
        "below-limit",
        "odd-lot",
        "zero-qty",
        "zero-price",
        "nan-price",
        "huge-price",
        "negative-price",
    ],
)
def test_invalid_order_is_rejected_with_the_rule_named(new, reason, rule):
    rej = _reject(engine().new_order(new))
    assert rej.ord_rej_reason is reason
    assert rej.text.startswith(rule + ":")


def test_limit_order_without_price_is_rejected():
    new = NewOrder("A", "c", "7203", Side.BUY, OrdType.LIMIT, 100, None)
    assert _reject(engine().new_order(new)).text.startswith("price_required")


def test_market_order_with_price_is_rejected():
    new = NewOrder("A", "c", "7203", Side.BUY, OrdType.MARKET, 100, Decimal("2850"))
    assert _reject(engine().new_order(new)).text.startswith("price_not_allowed")


def test_orders_are_rejected_while_the_market_is_closed():
    rej = _reject(engine(Phase.CLOSED).new_order(order("buy", 100, "2850")))
    assert rej.ord_rej_reason is OrdRejReason.EXCHANGE_CLOSED
    assert rej.text.startswith("market_closed")


def test_ioc_is_refused_outside_the_continuous_session():
    rej = _reject(engine(Phase.PRE_OPEN).new_order(order("buy", 100, "2850", tif=TimeInForce.IOC)))
    assert rej.ord_rej_reason is OrdRejReason.UNSUPPORTED_ORDER_CHARACTERISTIC
    assert rej.text.startswith("time_in_force_not_allowed")


def test_market_orders_are_refused_on_a_limit_only_pts():
    rej = _reject(engine(venue="JNX").new_order(order("buy", 100, None)))
    assert rej.text.startswith("order_type_not_allowed")


def test_a_rejected_order_changes_nothing():
    e = engine()
    e.new_order(order("buy", 100, "3351"))
    assert e.book_view("7203").bids == [] and e.orders() == []


def test_order_value_above_the_per_order_hard_limit_is_rejected():
    e = engine()
    e.configure_session("A", SessionRules(max_order_value=Decimal("285000")))
    assert reports(e.new_order(order("buy", 100, "2850")))[0].exec_type is ExecType.NEW
    rej = _reject(e.new_order(order("buy", 200, "2850")))
    assert rej.ord_rej_reason is OrdRejReason.ORDER_EXCEEDS_LIMIT
    assert rej.text.startswith("hard_limit_exceeded")


def test_market_order_is_valued_at_the_upper_daily_limit():
    e = engine()
    e.configure_session("A", SessionRules(max_order_value=Decimal("300000")))
    assert _reject(e.new_order(order("buy", 100, None))).text.startswith("hard_limit_exceeded")


def test_value_per_second_limit_counts_a_rolling_second():
    e = engine()
    e.configure_session("A", SessionRules(max_value_per_second=Decimal("570000")))
    e.new_order(order("buy", 100, "2850"))
    e.new_order(order("buy", 100, "2850"))
    _reject(e.new_order(order("buy", 100, "2850")))
    e.clock.advance(1.0)
    assert reports(e.new_order(order("buy", 100, "2850")))[0].exec_type is ExecType.NEW


def test_hard_limits_are_off_by_default():
    e = engine()
    (ack,) = e.new_order(order("buy", 100_000_000, "3350"))
    assert ack.exec_type is ExecType.NEW


def test_self_trade_prevention_cancels_the_incoming_remainder():
    e = engine()
    e.configure_session("A", SessionRules(self_trade_prevention=True))
    e.new_order(order("sell", 100, "2851", session="A", cl="own"))
    out = e.new_order(order("buy", 100, "2851", session="A"))
    assert not trades(out)
    (canceled,) = reports(out, ExecType.CANCELED)
    assert canceled.text.startswith("self_trade_prevention")
    assert e.order_view("A", "own").status is OrdStatus.NEW


def test_self_trade_prevention_still_trades_with_other_sessions_first():
    e = engine()
    e.configure_session("A", SessionRules(self_trade_prevention=True))
    e.new_order(order("sell", 100, "2851", session="B"))
    e.new_order(order("sell", 100, "2851", session="A"))
    out = e.new_order(order("buy", 200, "2851", session="A"))
    assert [f.session for f in trades(out)] == ["A", "B"]
    assert reports(out, ExecType.CANCELED)[0].cum_qty == 100


def test_kill_switch_cancels_open_orders_and_refuses_new_ones():
    e = engine()
    e.new_order(order("buy", 100, "2850", session="A"))
    e.new_order(order("buy", 100, "2850", session="B"))
    out = e.set_kill_switch("A", True)
    assert [(r.session, r.exec_type) for r in out] == [("A", ExecType.CANCELED)]
    rej = _reject(e.new_order(order("buy", 100, "2850", session="A")))
    assert rej.text.startswith("kill_switch")
    assert e.book_view("7203").bids[0].quantity == 100  # B's order untouched
    e.set_kill_switch("A", False)
    assert e.new_order(order("buy", 100, "2850", session="A"))[0].exec_type is ExecType.NEW


def test_cancel_session_orders_cancels_only_that_sessions_open_orders():
    e = engine()
    e.new_order(order("buy", 100, "2850", session="A"))
    e.new_order(order("sell", 100, "2855", session="A", tif=TimeInForce.AT_THE_CLOSE))
    e.new_order(order("buy", 100, "2850", session="B"))
    out = e.cancel_session_orders("A")
    assert sorted(r.session for r in out) == ["A", "A"]
    assert all(r.exec_type is ExecType.CANCELED and r.text == "cancel_on_disconnect" for r in out)
    assert e.book_view("7203").at_close_count == 0


def test_injected_rejects_refuse_the_next_n_orders():
    e = engine()
    e.inject_rejects("A", 2)
    assert (
        _reject(e.new_order(order("buy", 100, "2850"))).ord_rej_reason is OrdRejReason.BROKER_OPTION
    )
    _reject(e.new_order(order("buy", 100, "2850")))
    assert e.new_order(order("buy", 100, "2850"))[0].exec_type is ExecType.NEW


def test_internal_sessions_trade_but_produce_no_reports():
    e = engine()
    e.new_order(order("sell", 100, "2851", session="#liquidity"))
    out = e.new_order(order("buy", 100, "2851", session="A"))
    assert [r.session for r in out] == ["A", "A"]


def test_timedelta_window_drops_old_values():
    # the rolling second is relative to the engine clock, so a compressed clock compresses it
    e = engine()
    e.configure_session("A", SessionRules(max_value_per_second=Decimal("285000")))
    e.new_order(order("buy", 100, "2850"))
    e.clock.set(e.clock.now() + timedelta(milliseconds=999))
    _reject(e.new_order(order("buy", 100, "2850")))


def test_self_trade_prevention_applies_in_the_itayose_too():
    e = engine(Phase.PRE_OPEN)
    e.configure_session("B", SessionRules(self_trade_prevention=True))
    e.new_order(order("sell", 100, None, session="B", cl="older"))
    e.new_order(order("buy", 100, "2848", session="B", cl="newer"))
    e.new_order(order("buy", 100, "2848", session="A", cl="other"))
    out = e.pin_phase(Phase.CONTINUOUS)
    (canceled,) = reports(out, ExecType.CANCELED)
    assert canceled.cl_ord_id == "newer"
    assert {(f.session, f.cl_ord_id) for f in trades(out)} == {("B", "older"), ("A", "other")}
