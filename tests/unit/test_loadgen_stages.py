"""Stage matching from the live update stream (``simulators.loadgen.stages``, ``.stream``):
which event times which stage of which order, from when its request was due; events read
before the 202 that names their order; other runs' orders; what never came is listed."""

from __future__ import annotations

import math

import pytest

from simulators.loadgen.stages import LISTED, Dispatcher, StageTracker
from simulators.loadgen.stream import _Dechunk, parse_events


def _tracker() -> StageTracker:
    return StageTracker(t0=100.0, keep_orders=True)


def test_accept_ack_and_fill_are_timed_from_the_submits_due_time() -> None:
    t = _tracker()
    t.accepted("O1", due=100.0, now=100.002)
    t.event("O1", "accepted", 100.010)
    t.event("O1", "partial_fill", 100.050)
    t.event("O1", "fill", 100.090)  # the second fill times nothing
    times = t.orders["O1"]
    assert (times.accept, times.ack, times.fill) == pytest.approx((0.002, 0.010, 0.050))
    assert math.isnan(times.done)
    assert [t.hist[s].get_total_count() for s in ("accept", "ack", "fill", "done")] == [1, 1, 1, 0]
    assert t.pending == 0 and not t.awaiting_fill


def test_a_venue_that_skips_the_new_is_acknowledged_by_its_first_fill() -> None:
    t = _tracker()
    t.accepted("O1", 100.0, 100.001)
    t.event("O1", "fill", 100.020)
    assert t.orders["O1"].ack == t.orders["O1"].fill == pytest.approx(0.020)


def test_a_reject_is_the_ack_and_the_order_never_waits_for_a_fill() -> None:
    t = _tracker()
    t.accepted("O1", 100.0, 100.001)
    t.event("O1", "rejected", 100.005)
    assert t.orders["O1"].ack == pytest.approx(0.005)
    assert t.unanswered()["fill"]["count"] == 0


def test_the_gateways_own_events_are_not_exchange_answers() -> None:
    t = _tracker()
    t.accepted("O1", 100.0, 100.001)
    for event in ("submitted", "cancel_requested", "replace_requested"):
        t.event("O1", event, 100.002)
    assert t.awaiting_ack == {"O1": 100.0}


def test_an_event_read_before_its_202_counts_from_when_the_202_named_its_order() -> None:
    t = _tracker()
    t.event("O1", "accepted", 100.004)  # the stream beat the HTTP answer
    assert t.hist["ack"].get_total_count() == 0 and t.early_count == 1
    t.accepted("O1", 100.0, 100.006)
    # only the 202 tells the generator the event is about its order: accept <= ack holds
    assert t.orders["O1"].ack == t.orders["O1"].accept == pytest.approx(0.006)
    assert t.early == {} and t.early_count == 0 and t.matched_late == 1


def test_events_of_orders_this_generator_did_not_send_time_nothing() -> None:
    t = _tracker()
    t.accepted("MINE", 100.0, 100.001)
    t.event("OTHER", "accepted", 100.002)
    t.event("OTHER", "fill", 100.003)
    assert t.hist["ack"].get_total_count() == 0 and t.hist["fill"].get_total_count() == 0
    assert t.awaiting_ack == {"MINE": 100.0}


def test_a_cancel_is_done_when_the_venue_confirms_it() -> None:
    t = _tracker()
    t.accepted("O1", 100.0, 100.001)
    t.event("O1", "accepted", 100.003)
    t.change_sent("O1", due=100.5)
    t.change_answered("O1", True, 100.510)
    t.event("O1", "canceled", 100.540)
    assert t.orders["O1"].done == pytest.approx(0.040)
    assert t.hist["done"].get_total_count() == 1 and t.pending == 0
    assert t.unanswered()["fill"]["count"] == 0  # canceled: it will never fill


def test_a_change_the_api_or_venue_refused_is_not_waited_for() -> None:
    t = _tracker()
    for oid in ("A", "B"):
        t.accepted(oid, 100.0, 100.001)
        t.event(oid, "accepted", 100.002)
        t.change_sent(oid, 100.1)
    t.change_answered("A", False, 100.11)  # e.g. 409 order_not_open
    t.change_answered("B", True, 100.11)
    t.event("B", "cancel_rejected", 100.2)
    assert t.pending == 0 and t.change_refused == 1
    assert t.hist["done"].get_total_count() == 0


def test_a_change_overtaken_by_the_last_fill_is_not_waited_for() -> None:
    t = _tracker()
    t.accepted("O1", 100.0, 100.001)
    t.event("O1", "accepted", 100.002)
    t.change_sent("O1", 100.1)
    t.change_answered("O1", True, 100.102)
    t.event("O1", "fill", 100.105)  # filled before the venue saw the replace
    assert t.pending == 0 and t.change_overtaken == 1
    assert t.hist["done"].get_total_count() == 0


def test_a_fill_read_before_the_apis_refusal_of_the_change_counts_nothing() -> None:
    """The order filled, so the API answered the cancel 409: the fill, read first, must not
    count as overtaking a change that was never accepted."""
    t = _tracker()
    t.accepted("O1", 100.0, 100.001)
    t.event("O1", "accepted", 100.002)
    t.change_sent("O1", 100.1)
    t.event("O1", "fill", 100.101)
    t.change_answered("O1", False, 100.103)
    assert t.pending == 0 and t.change_overtaken == 0 and t.change_refused == 0


def test_a_venue_answer_read_before_the_changes_202_counts_from_the_202() -> None:
    t = _tracker()
    t.accepted("O1", 100.0, 100.001)
    t.event("O1", "accepted", 100.002)
    t.change_sent("O1", 100.1)
    t.event("O1", "canceled", 100.120)
    assert t.hist["done"].get_total_count() == 0
    t.change_answered("O1", True, 100.130)
    assert t.orders["O1"].done == pytest.approx(0.030) and t.pending == 0


def test_what_never_came_is_counted_and_listed_by_stage() -> None:
    t = _tracker()
    for i in range(LISTED + 5):
        t.accepted(f"O{i}", 100.0, 100.001)
    t.event("O0", "accepted", 100.01)
    t.change_sent("O0", 100.02)
    un = t.unanswered()
    assert un["ack"]["count"] == LISTED + 4 and len(un["ack"]["orders"]) == LISTED
    assert "O0" not in un["ack"]["orders"]
    assert un["done"] == {"count": 1, "orders": ["O0"]}
    assert un["fill"]["count"] == LISTED + 5


def test_stage_latencies_also_land_in_the_second_they_were_seen() -> None:
    t = _tracker()
    t.accepted("O1", 100.0, 100.5)
    t.event("O1", "accepted", 101.2)
    assert t.per_second[0]["accept"].get_total_count() == 1
    assert t.per_second[1]["ack"].get_total_count() == 1
    assert t.per_second[0]["ack"].get_total_count() == 0


def test_without_the_stream_only_accept_is_timed_and_nothing_is_awaited() -> None:
    t = StageTracker(watch=False)
    t.accepted("", 0.0, 0.003)
    t.change_sent("O1", 0.01)
    assert t.hist["accept"].get_total_count() == 1 and t.pending == 0


def test_the_dispatcher_gives_each_phase_its_own_orders() -> None:
    backlog, load = StageTracker(), StageTracker()
    d = Dispatcher(backlog, load)
    backlog.accepted("B1", 0.0, 0.001)
    d.event("L1", "accepted", 0.002)  # not known yet: waits in the current phase
    load.accepted("L1", 0.0, 0.003)
    d.event("B1", "fill", 0.5)
    assert backlog.hist["fill"].get_total_count() == 1
    assert load.hist["fill"].get_total_count() == 0
    assert load.hist["ack"].get_total_count() == 1 and backlog.early == {}


SSE = (
    b"retry: 1000\n: subscribed\n\n"
    b'id: 3:1-0\nevent: order\ndata: {"order_id":"O1","account":"A","status":"new",'
    b'"event":"accepted","quantity":100}\n\n'
    b": keep-alive\n\n"
    b'id: 3:2-0\nevent: order\ndata: {"order_id":"O1","status":"filled","event":"fill"}\n\n'
    b'event: error\ndata: {"code":"x"}\n\n'
)


def test_stream_events_are_cut_out_whatever_the_read_boundaries() -> None:
    for step in (1, 7, 50, len(SSE)):
        seen: list[tuple[str, str]] = []

        def on_event(order_id: str, event: str, now: float, into: list = seen) -> None:
            into.append((order_id, event))

        buf = bytearray()
        for i in range(0, len(SSE), step):
            buf += SSE[i : i + step]
            used = parse_events(buf, on_event, 0.0)
            del buf[:used]
        assert seen == [("O1", "accepted"), ("O1", "fill")], step
        assert buf == b""


def test_a_chunked_body_is_undone_across_reads() -> None:
    body = b"5\r\nhello\r\n7\r\n, world\r\n0\r\n\r\n"
    d = _Dechunk()
    out = b"".join(d.feed(body[i : i + 3]) for i in range(0, len(body), 3))
    assert out == b"hello, world"
