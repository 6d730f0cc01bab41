"""The arrivals record behind GET /orders."""

from __future__ import annotations

from simulators.exchange.arrivals import Arrivals, arrival_json


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


def test_arrival_without_an_order_shows_rejected_when_it_was() -> None:
    arrivals = Arrivals()
    a = arrivals.record("S", "c1", "D", False, 0.0)
    assert arrival_json(a, None)["status"] is None
    a.rejected = True
    assert arrival_json(a, None)["status"] == "rejected"
