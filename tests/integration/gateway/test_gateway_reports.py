"""The apply-execution-report script the connector uses: dedupe by ExecID, overfill guard,
state machine enforced, event appended, trail step."""

from decimal import Decimal

import pytest
from support.gateway_orders import order

from gateway import keys
from gateway.codec import FIELD, decode_event
from gateway.model import OrderStatus
from gateway.reports import ExecReport, ReportApplier
from gateway.states import OrderEvent

pytestmark = pytest.mark.integration
E = OrderEvent


async def _new(gw, applier, qty=300):
    oid = (await gw.submit(order(quantity=qty), process="w1")).order.order_id
    assert (await applier.apply(ExecReport(oid, E.accepted, "ack"))).outcome == "applied"
    return oid


async def _events(redis, oid):
    p = keys.partition_of("A1", 16)
    return [
        e
        for e in (decode_event(f[FIELD.encode()]) for _, f in await redis.xrange(keys.events(p)))
        if e.order_id == oid
    ]


async def test_ack_makes_the_order_new(gw, applier):
    oid = await _new(gw, applier)
    assert (await gw.get(oid, accounts=None)).status is OrderStatus.new


async def test_partial_fills_accumulate_with_exact_average_price(gw, applier):
    oid = await _new(gw, applier)
    await applier.apply(ExecReport(oid, E.partial_fill, "f1", 100, Decimal("2500")))
    await applier.apply(ExecReport(oid, E.partial_fill, "f2", 100, Decimal("2500.5")))
    o = await gw.get(oid, accounts=None)
    assert (o.status, o.cum_qty, o.leaves_qty, o.avg_px) == (
        OrderStatus.partially_filled,
        200,
        100,
        Decimal("2500.25"),
    )
    assert [(f.exec_id, f.quantity, f.price) for f in o.fills] == [
        ("f1", 100, Decimal("2500")),
        ("f2", 100, Decimal("2500.5")),
    ]


async def test_fill_that_completes_the_order_makes_it_filled(gw, applier):
    oid = await _new(gw, applier, qty=100)
    r = await applier.apply(ExecReport(oid, E.partial_fill, "f1", 100, Decimal("2500")))
    assert r.status is OrderStatus.filled
    assert (await gw.get(oid, accounts=None)).leaves_qty == 0


async def test_replayed_exec_id_changes_nothing(gw, applier, redis):
    oid = await _new(gw, applier)
    await applier.apply(ExecReport(oid, E.partial_fill, "f1", 100, Decimal("2500")))
    before = await gw.get(oid, accounts=None)
    n_events = len(await _events(redis, oid))
    r = await applier.apply(ExecReport(oid, E.partial_fill, "f1", 100, Decimal("2500")))
    assert r.outcome == "duplicate"
    assert await gw.get(oid, accounts=None) == before
    assert len(await _events(redis, oid)) == n_events


async def test_overfill_is_refused_and_changes_nothing(gw, applier):
    oid = await _new(gw, applier, qty=100)
    r = await applier.apply(ExecReport(oid, E.fill, "f1", 200, Decimal("2500")))
    assert r.outcome == "overfill"
    o = await gw.get(oid, accounts=None)
    assert (o.status, o.cum_qty) == (OrderStatus.new, 0)
    assert (await gw.trail(oid, accounts=None))[-1].step == "overfill_refused"


async def test_transition_outside_the_state_machine_is_refused(gw, applier):
    oid = await _new(gw, applier)
    r = await applier.apply(ExecReport(oid, E.replaced, "x1"))
    assert (r.outcome, r.status) == ("invalid_transition", OrderStatus.new)


async def test_report_for_a_done_order_is_refused(gw, applier):
    oid = await _new(gw, applier, qty=100)
    await applier.apply(ExecReport(oid, E.fill, "f1", 100, Decimal("2500")))
    r = await applier.apply(ExecReport(oid, E.canceled, "c1"))
    assert (r.outcome, r.status) == ("invalid_transition", OrderStatus.filled)


async def test_unknown_order_is_reported_as_such(applier):
    from gateway.ids import new_order_id

    assert (
        await applier.apply(ExecReport(new_order_id(3), E.accepted, "a"))
    ).outcome == "unknown_order"


async def test_replaced_takes_the_pending_quantity_and_price(gw, applier):
    oid = await _new(gw, applier)
    await applier.apply(ExecReport(oid, E.partial_fill, "f1", 100, Decimal("2500")))
    await gw.replace(oid, 400, Decimal("2499"), accounts=None)
    await applier.apply(ExecReport(oid, E.replaced, "r1"))
    o = await gw.get(oid, accounts=None)
    assert (o.status, o.quantity, o.price, o.leaves_qty, o.pending_quantity) == (
        OrderStatus.replaced,
        400,
        Decimal("2499"),
        300,
        None,
    )


async def test_rejected_cancel_returns_to_partially_filled(gw, applier):
    oid = await _new(gw, applier)
    await applier.apply(ExecReport(oid, E.partial_fill, "f1", 100, Decimal("2500")))
    await gw.cancel(oid, accounts=None)
    await applier.apply(ExecReport(oid, E.cancel_rejected, reason="too late"))
    o = await gw.get(oid, accounts=None)
    assert (o.status, o.reason) == (OrderStatus.partially_filled, "too late")


async def test_every_applied_report_appends_an_event(gw, applier, redis):
    oid = await _new(gw, applier)
    await applier.apply(ExecReport(oid, E.canceled, "c1"))
    assert [(e.event, e.status) for e in await _events(redis, oid)] == [
        ("submitted", "pending_new"),
        ("accepted", "new"),
        ("canceled", "canceled"),
    ]


async def test_apply_many_applies_a_batch_in_order(gw, applier):
    oid = await _new(gw, applier)
    results = await applier.apply_many(
        [
            ExecReport(oid, E.partial_fill, "f1", 100, Decimal("2500")),
            ExecReport(oid, E.partial_fill, "f1", 100, Decimal("2500")),
            ExecReport(oid, E.fill, "f2", 200, Decimal("2501")),
        ]
    )
    assert [r.outcome for r in results] == ["applied", "duplicate", "applied"]
    assert results[-1].status is OrderStatus.filled


async def test_apply_many_reloads_scripts_after_a_flush(gw, applier, redis):
    oid = await _new(gw, applier)
    await redis.script_flush()
    (r,) = await applier.apply_many([ExecReport(oid, E.canceled, "c1")])
    assert r.outcome == "applied"


async def test_terminal_report_frees_the_open_order_slot(gw, applier):
    oid = await _new(gw, applier)
    await applier.apply(ExecReport(oid, E.expired, "x1"))
    assert await gw.list_orders("A1", "open", 10) == ([], None)


async def test_report_with_its_account_applies_without_a_lookup(gw, applier):
    oid = await _new(gw, applier)
    r = await applier.apply(ExecReport(oid, E.canceled, "c1", account="A1"))
    assert (r.outcome, r.status) == ("applied", OrderStatus.canceled)


async def test_report_naming_another_account_is_refused(gw, applier):
    oid = await _new(gw, applier)
    r = await applier.apply(ExecReport(oid, E.canceled, "c1", account="B2"))
    assert r.outcome == "wrong_account"
    assert (await gw.get(oid, accounts=None)).status is OrderStatus.new


async def test_replaced_records_the_new_clordid(gw, applier):
    oid = await _new(gw, applier)
    assert (await gw.get(oid, accounts=None)).cl_ord_id == oid
    await gw.replace(oid, 400, None, accounts=None)
    await applier.apply(ExecReport(oid, E.replaced, "r1", cl_ord_id=oid + "-R1"))
    assert (await gw.get(oid, accounts=None)).cl_ord_id == oid + "-R1"


async def test_apply_many_spans_partitions_and_keeps_each_orders_order(gw, applier, redis):
    a1 = (await gw.submit(order(quantity=200), process="w1")).order.order_id
    b2 = (await gw.submit(order(account="B2", quantity=200), process="w1")).order.order_id
    assert keys.partition_of("A1", 16) != keys.partition_of("B2", 16)
    results = await applier.apply_many(
        [
            ExecReport(a1, E.accepted, "a1-ack"),
            ExecReport(b2, E.accepted, "b2-ack"),
            ExecReport(a1, E.fill, "a1-f", 200, Decimal("2500")),
            ExecReport(b2, E.canceled, "b2-c"),
        ]
    )
    assert [(r.outcome, r.status) for r in results] == [
        ("applied", OrderStatus.new),
        ("applied", OrderStatus.new),
        ("applied", OrderStatus.filled),
        ("applied", OrderStatus.canceled),
    ]
    assert [e.event for e in await _events(redis, a1)][-2:] == ["accepted", "fill"]


async def test_apply_many_reports_unknown_orders_in_place_without_touching_the_others(gw, applier):
    oid = await _new(gw, applier)
    missing = oid[:-1] + ("0" if oid[-1] != "0" else "1")
    results = await applier.apply_many(
        [
            ExecReport(missing, E.canceled, "x", account="A1"),
            ExecReport(oid, E.canceled, "c1"),
        ]
    )
    assert [r.outcome for r in results] == ["unknown_order", "applied"]
    assert (await gw.get(oid, accounts=None)).status is OrderStatus.canceled


async def test_apply_many_splits_a_large_partition_batch_into_several_calls(gw, redis, clock):
    small = ReportApplier(redis, 16, process="conn-1", clock=clock, batch=2)
    await small.load_scripts()
    ids = [
        (await gw.submit(order(client_order_id=f"c-{i}"), process="w1")).order.order_id
        for i in range(5)
    ]
    results = await small.apply_many([ExecReport(o, E.accepted, f"ack-{o}") for o in ids])
    assert [r.outcome for r in results] == ["applied"] * 5
    again = await small.apply_many([ExecReport(o, E.accepted, f"ack-{o}") for o in ids])
    assert [r.outcome for r in again] == ["duplicate"] * 5


async def test_non_ascii_reason_is_stored_intact(gw, applier):
    oid = (await gw.submit(order(), process="w1")).order.order_id
    r = await applier.apply(ExecReport(oid, E.rejected, "rj", reason="値幅制限 price band"))
    assert (r.outcome, r.status) == ("applied", OrderStatus.rejected)
    assert (await gw.get(oid, accounts=None)).reason == "値幅制限 price band"
