"""Per-session safety (kill switch, hard limits, injected rejects) and the arrivals record."""

from __future__ import annotations

from decimal import Decimal

from simulators.exchange.model import OrdRejReason, RejectRule
from simulators.exchange.safety import Arrivals, SessionGuard, arrival_json


def test_no_limits_configured_lets_any_value_through() -> None:
    guard = SessionGuard()
    assert all(guard.check(Decimal(10**12), float(i)) is None for i in range(100))


def test_order_above_max_order_value_is_refused_as_hard_limit() -> None:
    refusal = SessionGuard(max_order_value=Decimal(1_000_000)).check(Decimal(1_000_001), 0.0)
    assert refusal is not None
    assert refusal.reason is OrdRejReason.ORDER_EXCEEDS_LIMIT
    assert refusal.rule is RejectRule.HARD_LIMIT_EXCEEDED
    assert refusal.text.startswith("hard_limit_exceeded: ")


def test_order_at_exactly_max_order_value_passes() -> None:
    assert SessionGuard(max_order_value=Decimal(1_000_000)).check(Decimal(1_000_000), 0.0) is None


def test_value_per_second_counts_a_rolling_second() -> None:
    guard = SessionGuard(max_value_per_second=Decimal(300))
    assert guard.check(Decimal(200), 10.0) is None
    assert guard.check(Decimal(100), 10.5) is None
    assert guard.check(Decimal(1), 10.9) is not None  # 301 within one second
    assert guard.check(Decimal(200), 11.0) is None  # the first 200 left the window


def test_refused_order_does_not_use_up_the_per_second_budget() -> None:
    guard = SessionGuard(max_value_per_second=Decimal(300))
    assert guard.check(Decimal(400), 0.0) is not None
    assert guard.check(Decimal(300), 0.1) is None


def test_kill_switch_refuses_every_order() -> None:
    guard = SessionGuard(kill_switch=True)
    refusal = guard.check(Decimal(1), 0.0)
    assert refusal is not None and refusal.rule is RejectRule.KILL_SWITCH


def test_reject_next_refuses_exactly_that_many_orders() -> None:
    guard = SessionGuard(reject_next=2)
    results = [guard.check(Decimal(1), float(i)) for i in range(3)]
    assert [r is not None for r in results] == [True, True, False]
    assert results[0] is not None and results[0].rule is RejectRule.INJECTED
    assert guard.refused == 2


def test_reset_lifts_kill_switch_and_injected_rejects() -> None:
    guard = SessionGuard(kill_switch=True, reject_next=3)
    guard.reset()
    assert guard.check(Decimal(1), 0.0) is None


def test_arrivals_count_every_copy_and_the_possdup_ones() -> None:
    arrivals = Arrivals()
    arrivals.record("S", "c1", "D", False, 100.0)
    arrivals.record("S", "c1", "D", True, 101.0)
    arrivals.record("S", "c1", "D", True, 102.0)
    a = arrivals.get("S", "c1")
    assert a is not None and (a.received, a.poss_dup_received, a.first_seen) == (3, 2, 100.0)


def test_same_cl_ord_id_on_two_sessions_is_two_orders() -> None:
    arrivals = Arrivals()
    arrivals.record("S1", "c1", "D", False, 0.0)
    arrivals.record("S2", "c1", "D", False, 0.0)
    assert len(arrivals) == 2


def test_arrival_row_carries_engine_status_when_known() -> None:
    arrivals = Arrivals()
    a = arrivals.record("S", "c1", "D", False, 0.0)
    row = arrival_json(a, {"status": "filled", "cum_qty": 100})
    assert row["status"] == "filled" and row["cum_qty"] == 100
    assert row["first_seen"] == "1970-01-01T00:00:00.000+00:00"
