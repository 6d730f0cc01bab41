"""Worked examples of the matching engine in the continuous session: price-time priority, order
types and TimeInForce, cancel / replace, status, duplicates, and the FIX 4.4 report facts."""

from __future__ import annotations

from decimal import Decimal

from support.exchange import engine, order, reports, trades

from simulators.exchange.model import (
    CancelOrder,
    CancelReject,
    CxlRejReason,
    CxlRejResponseTo,
    ExecType,
    OrdStatus,
    ReplaceOrder,
    StatusRequest,
    TimeInForce,
)
from simulators.exchange.phases import Phase


def test_orders_that_do_not_cross_rest_and_are_acknowledged_new():
    e = engine()
    out = e.new_order(order("buy", 100, "2850"))
    (ack,) = out
    assert (ack.exec_type, ack.ord_status) == (ExecType.NEW, OrdStatus.NEW)
    assert (ack.cum_qty, ack.leaves_qty, ack.avg_px) == (0, 100, Decimal(0))
    e.new_order(order("sell", 100, "2851"))
    view = e.book_view("7203")
    assert [(lv.price, lv.quantity) for lv in view.bids] == [(Decimal("2850"), 100)]
    assert [(lv.price, lv.quantity) for lv in view.asks] == [(Decimal("2851"), 100)]


def test_crossing_order_trades_at_the_resting_price():
    e = engine()
    e.new_order(order("sell", 100, "2850", session="S"))
    fills = trades(e.new_order(order("buy", 100, "2860", session="B")))
    assert [(f.session, f.last_px, f.last_qty) for f in fills] == [
        ("B", Decimal("2850"), 100),
        ("S", Decimal("2850"), 100),
    ]
    assert all(f.ord_status is OrdStatus.FILLED and f.leaves_qty == 0 for f in fills)


def test_both_reports_of_a_trade_share_price_quantity_and_match_id():
    e = engine()
    e.new_order(order("sell", 300, "2850", session="S"))
    buy, sell = trades(e.new_order(order("buy", 200, "2850", session="B")))
    assert buy.match_id == sell.match_id and buy.match_id is not None
    assert (buy.last_px, buy.last_qty) == (sell.last_px, sell.last_qty)
    assert buy.exec_id != sell.exec_id


def test_better_price_is_filled_first():
    e = engine()
    e.new_order(order("sell", 100, "2852", cl="worse"))
    e.new_order(order("sell", 100, "2851", cl="better"))
    (fill, _) = trades(e.new_order(order("buy", 100, "2852", session="B")))
    assert fill.last_px == Decimal("2851")
    assert e.order_view("A", "better").status is OrdStatus.FILLED
    assert e.order_view("A", "worse").status is OrdStatus.NEW


def test_same_price_is_filled_oldest_first():
    e = engine()
    e.new_order(order("sell", 100, "2851", cl="first"))
    e.new_order(order("sell", 100, "2851", cl="second"))
    e.new_order(order("buy", 100, "2851", session="B"))
    assert e.order_view("A", "first").status is OrdStatus.FILLED
    assert e.order_view("A", "second").status is OrdStatus.NEW


def test_partial_fill_reports_cum_leaves_and_keeps_the_rest_resting():
    e = engine()
    e.new_order(order("sell", 100, "2851", session="S"))
    out = e.new_order(order("buy", 300, "2851", cl="big"))
    fill = trades(out)[0]
    assert (fill.ord_status, fill.cum_qty, fill.leaves_qty) == (
        OrdStatus.PARTIALLY_FILLED,
        100,
        200,
    )
    assert [(lv.price, lv.quantity) for lv in e.book_view("7203").bids] == [(Decimal("2851"), 200)]


def test_avg_px_is_the_quantity_weighted_price_of_all_fills():
    e = engine()
    e.new_order(order("sell", 100, "2851", session="S"))
    e.new_order(order("sell", 200, "2852.5", session="S"))
    last = trades(e.new_order(order("buy", 300, "2853", cl="b")))[-2]
    assert last.session == "A" and last.cum_qty == 300
    assert last.avg_px == (Decimal("2851") * 100 + Decimal("2852.5") * 200) / 300


def test_avg_px_that_does_not_divide_evenly_is_rounded_to_six_places():
    e = engine()
    for p in ("2851", "2851", "2852"):
        e.new_order(order("sell", 100, p, session="S"))
    last = [f for f in trades(e.new_order(order("buy", 300, "2852"))) if f.session == "A"][-1]
    assert last.avg_px == Decimal("2851.333333")


def test_market_order_sweeps_levels_and_its_remainder_expires():
    e = engine()
    e.new_order(order("sell", 100, "2851", session="S"))
    e.new_order(order("sell", 100, "2853", session="S"))
    out = e.new_order(order("buy", 300, None))
    assert [f.last_px for f in trades(out) if f.session == "A"] == [
        Decimal("2851"),
        Decimal("2853"),
    ]
    (expired,) = reports(out, ExecType.EXPIRED)
    assert (expired.ord_status, expired.cum_qty, expired.leaves_qty) == (OrdStatus.EXPIRED, 200, 0)
    assert not e.book_view("7203").bids


def test_ioc_trades_what_it_can_and_the_rest_expires():
    e = engine()
    e.new_order(order("sell", 100, "2851", session="S"))
    out = e.new_order(order("buy", 300, "2851", tif=TimeInForce.IOC))
    assert trades(out)[0].last_qty == 100
    (expired,) = reports(out, ExecType.EXPIRED)
    assert (expired.cum_qty, expired.leaves_qty) == (100, 0)
    assert not e.book_view("7203").bids


def test_fok_that_cannot_fill_completely_expires_without_trading():
    e = engine()
    e.new_order(order("sell", 100, "2851", session="S"))
    out = e.new_order(order("buy", 200, "2851", tif=TimeInForce.FOK))
    assert not trades(out)
    assert reports(out, ExecType.EXPIRED)[0].cum_qty == 0
    assert e.book_view("7203").asks[0].quantity == 100


def test_fok_that_can_fill_completely_fills_across_levels():
    e = engine()
    e.new_order(order("sell", 100, "2851", session="S"))
    e.new_order(order("sell", 100, "2852", session="S"))
    out = e.new_order(order("buy", 200, "2852", tif=TimeInForce.FOK))
    assert reports(out)[-1].ord_status is OrdStatus.FILLED


def test_cancel_takes_the_order_off_the_book():
    e = engine()
    e.new_order(order("buy", 100, "2850", cl="o1"))
    (rep,) = e.cancel(CancelOrder("A", "x1", "o1"))
    assert (rep.exec_type, rep.ord_status) == (ExecType.CANCELED, OrdStatus.CANCELED)
    assert (rep.cl_ord_id, rep.orig_cl_ord_id, rep.leaves_qty) == ("x1", "o1", 0)
    assert not e.book_view("7203").bids


def test_cancel_of_an_unknown_order_is_rejected_as_unknown():
    e = engine()
    (rej,) = e.cancel(CancelOrder("A", "x1", "nope"))
    assert isinstance(rej, CancelReject)
    assert (rej.reason, rej.order_id, rej.response_to) == (
        CxlRejReason.UNKNOWN_ORDER,
        "NONE",
        CxlRejResponseTo.CANCEL,
    )


def test_cancel_of_a_filled_order_is_rejected_as_too_late():
    e = engine()
    e.new_order(order("buy", 100, "2851", cl="o1"))
    e.new_order(order("sell", 100, "2851", session="S"))
    (rej,) = e.cancel(CancelOrder("A", "x1", "o1"))
    assert (rej.reason, rej.ord_status) == (CxlRejReason.TOO_LATE_TO_CANCEL, OrdStatus.FILLED)


def test_cancel_of_another_sessions_order_is_unknown():
    e = engine()
    e.new_order(order("buy", 100, "2850", cl="o1", session="A"))
    (rej,) = e.cancel(CancelOrder("B", "x1", "o1"))
    assert rej.reason is CxlRejReason.UNKNOWN_ORDER


def test_quantity_decrease_keeps_time_priority():
    e = engine()
    e.new_order(order("sell", 300, "2851", cl="first"))
    e.new_order(order("sell", 100, "2851", cl="second"))
    (rep,) = e.replace(ReplaceOrder("A", "first-r", "first", 200, Decimal("2851")))
    assert (rep.exec_type, rep.order_qty, rep.leaves_qty) == (ExecType.REPLACED, 200, 200)
    e.new_order(order("buy", 100, "2851", session="B"))
    assert e.order_view("A", "first-r").cum_qty == 100
    assert e.order_view("A", "second").cum_qty == 0


def test_quantity_increase_loses_time_priority():
    e = engine()
    e.new_order(order("sell", 100, "2851", cl="first"))
    e.new_order(order("sell", 100, "2851", cl="second"))
    e.replace(ReplaceOrder("A", "first-r", "first", 200, Decimal("2851")))
    e.new_order(order("buy", 100, "2851", session="B"))
    assert e.order_view("A", "second").cum_qty == 100
    assert e.order_view("A", "first-r").cum_qty == 0


def test_price_change_loses_time_priority():
    e = engine()
    e.new_order(order("sell", 100, "2852", cl="first"))
    e.new_order(order("sell", 100, "2851", cl="second"))
    e.replace(ReplaceOrder("A", "first-r", "first", 100, Decimal("2851")))
    e.new_order(order("buy", 100, "2851", session="B"))
    assert e.order_view("A", "second").cum_qty == 100
    assert e.order_view("A", "first-r").cum_qty == 0


def test_replace_to_a_crossing_price_trades_at_once():
    e = engine()
    e.new_order(order("sell", 100, "2851", session="S"))
    e.new_order(order("buy", 100, "2850", cl="b"))
    out = e.replace(ReplaceOrder("A", "b-r", "b", 100, Decimal("2851")))
    assert [r.exec_type for r in out if r.session == "A"] == [ExecType.REPLACED, ExecType.TRADE]
    assert not e.book_view("7203").asks


def test_replace_to_not_above_the_executed_quantity_is_rejected():
    e = engine()
    e.new_order(order("buy", 300, "2851", cl="b"))
    e.new_order(order("sell", 200, "2851", session="S"))
    (rej,) = e.replace(ReplaceOrder("A", "b-r", "b", 200, Decimal("2851")))
    assert isinstance(rej, CancelReject)
    assert (rej.response_to, rej.reason) == (CxlRejResponseTo.REPLACE, CxlRejReason.OTHER)
    assert e.order_view("A", "b").leaves_qty == 100


def test_replace_with_a_price_off_the_tick_is_rejected_and_changes_nothing():
    e = engine()
    e.new_order(order("buy", 100, "2850", cl="b"))
    (rej,) = e.replace(ReplaceOrder("A", "b-r", "b", 100, Decimal("2850.3")))
    assert rej.text.startswith("price_off_tick")
    assert e.order_view("A", "b").price == Decimal("2850")


def test_replace_reports_new_and_original_clordid():
    e = engine()
    e.new_order(order("buy", 100, "2850", cl="b"))
    (rep,) = e.replace(ReplaceOrder("A", "b-r", "b", 200, Decimal("2850")))
    assert (rep.cl_ord_id, rep.orig_cl_ord_id, rep.ord_status) == ("b-r", "b", OrdStatus.NEW)


def test_status_request_reports_the_current_state_with_exectype_i():
    e = engine()
    e.new_order(order("buy", 300, "2851", cl="b"))
    e.new_order(order("sell", 100, "2851", session="S"))
    (rep,) = e.status(StatusRequest("A", "b"))
    assert (rep.exec_type, rep.ord_status) == (ExecType.ORDER_STATUS, OrdStatus.PARTIALLY_FILLED)
    assert (rep.cum_qty, rep.leaves_qty, rep.avg_px) == (100, 200, Decimal("2851"))


def test_status_request_for_an_unknown_order_is_rejected_with_reason_5():
    e = engine()
    (rep,) = e.status(StatusRequest("A", "nope", symbol="7203"))
    assert (rep.exec_type, rep.ord_status, rep.ord_rej_reason) == ("I", "8", "5")
    assert rep.order_id == "NONE"


def test_possdup_resend_of_a_known_clordid_is_ignored():
    e = engine()
    e.new_order(order("buy", 100, "2850", cl="b"))
    assert e.new_order(order("buy", 100, "2850", cl="b", poss_dup=True)) == []
    assert e.book_view("7203").bids[0].quantity == 100


def test_possdup_resend_of_a_new_clordid_is_processed():
    e = engine()
    (ack,) = e.new_order(order("buy", 100, "2850", cl="b", poss_dup=True))
    assert ack.exec_type is ExecType.NEW


def test_unflagged_repeat_of_a_known_clordid_is_rejected_as_duplicate():
    e = engine()
    e.new_order(order("buy", 100, "2850", cl="b"))
    (rej,) = e.new_order(order("buy", 100, "2850", cl="b"))
    assert (rej.exec_type, rej.ord_rej_reason) == (ExecType.REJECTED, "6")
    assert rej.text.startswith("duplicate_client_order_id")
    assert e.book_view("7203").bids[0].quantity == 100


def test_clordids_are_per_session():
    e = engine()
    e.new_order(order("buy", 100, "2850", cl="same", session="A"))
    (ack,) = e.new_order(order("buy", 100, "2850", cl="same", session="B"))
    assert ack.exec_type is ExecType.NEW


def test_exec_ids_are_unique():
    e = engine()
    out = []
    for i in range(20):
        out += e.new_order(order("buy" if i % 2 else "sell", 100, "2851", session=f"s{i % 3}"))
    ids = [r.exec_id for r in reports(out)]
    assert len(ids) == len(set(ids))


def test_a_session_trades_with_itself_by_default():
    e = engine()
    e.new_order(order("sell", 100, "2851"))
    assert len(trades(e.new_order(order("buy", 100, "2851")))) == 2


def test_possdup_resend_of_a_cancel_already_seen_is_ignored():
    e = engine()
    e.new_order(order("buy", 100, "2850", cl="o1"))
    e.cancel(CancelOrder("A", "x1", "o1"))
    assert e.cancel(CancelOrder("A", "x1", "o1", poss_dup=True)) == []


def test_unflagged_repeat_of_a_cancel_clordid_is_rejected_as_duplicate():
    e = engine()
    e.new_order(order("buy", 100, "2850", cl="o1"))
    e.new_order(order("buy", 100, "2850", cl="o2"))
    e.cancel(CancelOrder("A", "x1", "o1"))
    (rej,) = e.cancel(CancelOrder("A", "x1", "o2"))
    assert rej.reason is CxlRejReason.DUPLICATE_CLORDID
    assert e.order_view("A", "o2").status is OrdStatus.NEW


def test_cancel_by_an_earlier_clordid_of_a_replaced_order_finds_it():
    e = engine()
    e.new_order(order("buy", 100, "2850", cl="o1"))
    e.replace(ReplaceOrder("A", "o1-r", "o1", 200, Decimal("2850")))
    (rep,) = e.cancel(CancelOrder("A", "x1", "o1"))
    assert (rep.exec_type, rep.orig_cl_ord_id) == (ExecType.CANCELED, "o1-r")


def test_status_request_by_order_id():
    e = engine()
    (ack,) = e.new_order(order("buy", 100, "2850", cl="o1"))
    (rep,) = e.status(StatusRequest("A", "unknown-cl", order_id=ack.order_id))
    assert (rep.order_id, rep.cl_ord_id, rep.ord_status) == (ack.order_id, "o1", OrdStatus.NEW)


def test_replace_cannot_change_the_order_type():
    e = engine(Phase.PRE_OPEN)
    e.new_order(order("buy", 100, None, cl="m"))
    (rej,) = e.replace(ReplaceOrder("A", "m-r", "m", 100, Decimal("2850")))
    assert isinstance(rej, CancelReject) and rej.text.startswith("replace_not_allowed")


def test_market_order_waiting_for_the_itayose_can_be_canceled():
    e = engine(Phase.PRE_OPEN)
    e.new_order(order("buy", 300, None, cl="m"))
    assert e.book_view("7203").market_buy_qty == 300
    (rep,) = e.cancel(CancelOrder("A", "x", "m"))
    assert rep.exec_type is ExecType.CANCELED
    assert e.book_view("7203").market_buy_qty == 0


def test_at_the_close_order_can_be_replaced_while_it_waits():
    e = engine()
    e.new_order(order("buy", 100, "2850", cl="c", tif=TimeInForce.AT_THE_CLOSE))
    (rep,) = e.replace(ReplaceOrder("A", "c-r", "c", 300, Decimal("2851")))
    assert (rep.exec_type, rep.order_qty, rep.price) == (ExecType.REPLACED, 300, Decimal("2851"))
    assert e.book_view("7203").at_close_count == 1 and e.book_view("7203").bids == []


def test_trade_log_keeps_the_last_trades_when_asked_for():
    from simulators.exchange.engine import MatchingEngine

    base = engine()
    e = MatchingEngine(base.instruments, clock=base.clock, phase=Phase.CONTINUOUS, trade_log=2)
    for i in range(3):
        e.new_order(order("sell", 100, "2851", session="S"))
        e.new_order(order("buy", 100, "2851", session=f"B{i}"))
    assert len(e.trades) == 2
    assert all(t.price == Decimal("2851") and t.quantity == 100 for t in e.trades)
    assert base.trades.maxlen == 0


def test_reset_forgets_orders_and_books_but_never_reuses_an_exec_id():
    e = engine()
    (first,) = e.new_order(order("buy", 100, "2850", cl="o1"))
    e.reset()
    assert e.book_view("7203").bids == [] and e.orders() == [] and e.counters.orders == 0
    (again,) = e.new_order(order("buy", 100, "2850", cl="o1"))
    assert again.exec_type is ExecType.NEW and again.exec_id != first.exec_id
