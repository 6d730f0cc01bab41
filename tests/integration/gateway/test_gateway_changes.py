"""Cancel and replace requests, reads, listing with cursor paging, trail, live events."""

import asyncio
from decimal import Decimal

import pytest
from support.gateway_orders import commands, order

from gateway.errors import ErrorCode, OrderError
from gateway.keys import partition_of
from gateway.model import OrderStatus
from gateway.reports import ExecReport
from gateway.states import OrderEvent

pytestmark = pytest.mark.integration


async def _acked(gw, applier, **change):
    out = await gw.submit(order(**change), process="w1")
    await applier.apply(
        ExecReport(out.order.order_id, OrderEvent.accepted, f"ack-{out.order.order_id}")
    )
    return out.order.order_id


async def test_cancel_sets_pending_cancel_and_enqueues_a_cancel(gw, redis):
    oid = (await gw.submit(order(), process="w1")).order.order_id
    o = await gw.cancel(oid, accounts={"A1"})
    assert o.status is OrderStatus.pending_cancel
    assert [(c.kind, c.order_id) for c in await commands(redis)] == [("new", oid), ("cancel", oid)]


async def test_second_cancel_changes_nothing(gw, redis):
    oid = (await gw.submit(order(), process="w1")).order.order_id
    await gw.cancel(oid, accounts={"A1"})
    assert (await gw.cancel(oid, accounts={"A1"})).status is OrderStatus.pending_cancel
    assert len(await commands(redis)) == 2


async def test_cancel_of_a_done_order_is_not_open(gw, applier):
    oid = (await gw.submit(order(), process="w1")).order.order_id
    await applier.apply(ExecReport(oid, OrderEvent.rejected, "r1"))
    with pytest.raises(OrderError) as ei:
        await gw.cancel(oid, accounts={"A1"})
    assert ei.value.code is ErrorCode.order_not_open


async def test_cancel_of_another_accounts_order_is_not_found(gw, redis):
    oid = (await gw.submit(order(), process="w1")).order.order_id
    with pytest.raises(OrderError) as ei:
        await gw.cancel(oid, accounts={"B2"})
    assert ei.value.code is ErrorCode.order_not_found
    assert len(await commands(redis)) == 1


async def test_replace_sets_pending_replace_and_enqueues_new_values(gw, applier, redis):
    oid = await _acked(gw, applier)
    o = await gw.replace(oid, 200, Decimal("2501"), accounts={"A1"})
    assert o.status is OrderStatus.pending_replace
    assert (o.pending_quantity, o.pending_price) == (200, Decimal("2501"))
    last = (await commands(redis))[-1]
    assert (last.kind, last.quantity, last.price) == ("replace", 200, "2501")


async def test_replace_while_a_cancel_is_pending_is_in_flight(gw, applier):
    oid = await _acked(gw, applier)
    await gw.cancel(oid, accounts={"A1"})
    with pytest.raises(OrderError) as ei:
        await gw.replace(oid, 200, None, accounts={"A1"})
    assert ei.value.code is ErrorCode.order_in_flight


async def test_replace_of_unacknowledged_order_is_pending_replace_and_enqueued(gw, redis):
    oid = (await gw.submit(order(), process="w1")).order.order_id
    o = await gw.replace(oid, 200, None, accounts={"A1"})
    assert o.status is OrderStatus.pending_replace and o.pending_quantity == 200
    assert [c.kind for c in await commands(redis)] == ["new", "replace"]


async def test_ack_after_replace_of_unacknowledged_order_keeps_it_pending_replace(gw, applier):
    oid = (await gw.submit(order(), process="w1")).order.order_id
    await gw.replace(oid, 200, Decimal("2501"), accounts={"A1"})
    assert (await applier.apply(ExecReport(oid, OrderEvent.accepted, "a1"))).outcome == "applied"
    o = await gw.get(oid, accounts=None)
    assert o.status is OrderStatus.pending_replace and o.quantity == 100
    await applier.apply(ExecReport(oid, OrderEvent.replaced, "r1"))
    o = await gw.get(oid, accounts=None)
    assert (o.status, o.quantity, o.price) == (OrderStatus.replaced, 200, Decimal("2501"))


async def test_reject_of_the_original_order_while_replace_pending_rejects_it(gw, applier):
    oid = (await gw.submit(order(), process="w1")).order.order_id
    await gw.replace(oid, 200, None, accounts={"A1"})
    await applier.apply(ExecReport(oid, OrderEvent.rejected, "x1"))
    o = await gw.get(oid, accounts=None)
    assert o.status is OrderStatus.rejected and o.leaves_qty == 0


async def test_replace_checks_risk_of_the_new_values(gw_with, applier):
    gw = await gw_with(max_order_quantity=100)
    oid = await _acked(gw, applier)
    with pytest.raises(OrderError) as ei:
        await gw.replace(oid, 200, None, accounts={"A1"})
    assert ei.value.code is ErrorCode.risk_max_quantity


async def test_replace_with_an_invalid_price_changes_nothing(gw, applier, redis):
    oid = await _acked(gw, applier)
    with pytest.raises(OrderError):
        await gw.replace(oid, None, Decimal("2500.3"), accounts={"A1"})
    assert (await gw.get(oid, accounts=None)).status is OrderStatus.new
    assert len(await commands(redis)) == 1


# --- reads -------------------------------------------------------------------------------


async def test_get_of_another_accounts_order_is_not_found(gw):
    oid = (await gw.submit(order(), process="w1")).order.order_id
    with pytest.raises(OrderError) as ei:
        await gw.get(oid, accounts={"B2"})
    assert ei.value.code is ErrorCode.order_not_found


@pytest.mark.parametrize("oid", ["nope", "0" * 20, "ZZZZZZZZZZZZZZZZZZZZ"])
async def test_get_of_unknown_or_garbage_id_is_not_found(gw, oid):
    with pytest.raises(OrderError) as ei:
        await gw.get(oid, accounts=None)
    assert ei.value.code is ErrorCode.order_not_found


async def test_trail_has_received_then_enqueued_with_the_entry_id(gw):
    oid = (await gw.submit(order(), process="w1")).order.order_id
    steps = await gw.trail(oid, accounts={"A1"})
    assert [(s.step, s.component, s.process) for s in steps] == [
        ("received", "api", "w1"),
        ("enqueued", "api", "w1"),
    ]
    assert "-" in steps[1].detail["entry_id"]


async def test_trail_follows_the_order_through_the_connector(gw, applier):
    oid = await _acked(gw, applier)
    await applier.trail_step(oid, "sent", {"seq": 7})
    await applier.apply(ExecReport(oid, OrderEvent.fill, "f1", 100, Decimal("2500")))
    steps = [s.step for s in await gw.trail(oid, accounts=None)]
    assert steps == ["received", "enqueued", "acknowledged", "sent", "filled"]


async def test_list_pages_newest_first_with_a_cursor(gw):
    ids = [
        (await gw.submit(order(client_order_id=f"c{i}"), process="w1")).order.order_id
        for i in range(7)
    ]
    seen, cursor = [], None
    while True:
        page, cursor = await gw.list_orders("A1", "all", 3, cursor)
        seen += [o.order_id for o in page]
        if cursor is None:
            break
    assert seen == list(reversed(ids))


async def test_list_filters_open_and_done(gw, applier):
    a = (await gw.submit(order(client_order_id="a"), process="w1")).order.order_id
    b = (await gw.submit(order(client_order_id="b"), process="w1")).order.order_id
    await applier.apply(ExecReport(a, OrderEvent.rejected, "r"))
    assert [o.order_id for o in (await gw.list_orders("A1", "open", 10))[0]] == [b]
    assert [o.order_id for o in (await gw.list_orders("A1", "done", 10))[0]] == [a]


async def test_list_of_an_account_without_orders_is_empty(gw):
    assert await gw.list_orders("nobody", "all", 10) == ([], None)


@pytest.mark.parametrize(
    "kw", [{"limit": 0}, {"limit": 1001}, {"status": "weird"}, {"cursor": "bad"}]
)
async def test_list_refuses_bad_arguments(gw, kw):
    with pytest.raises(OrderError) as ei:
        await gw.list_orders("A1", **{"status": "all", "limit": 10, **kw})
    assert ei.value.code is ErrorCode.invalid_request


# --- live events ---------------------------------------------------------------------------


FROM_START = f"{partition_of('A1', 16)}:0-0"


async def _take(agen, n):
    out = []
    async for item in agen:
        out.append(item)
        if len(out) == n:
            break
    return out


async def test_events_deliver_updates_for_the_callers_accounts_only(gw, applier):
    task = asyncio.create_task(_take(gw.events({"A1"}, FROM_START, block_ms=200), 2))
    oid = (await gw.submit(order(), process="w1")).order.order_id
    await gw.submit(order(account="B2"), process="w1")
    await applier.apply(ExecReport(oid, OrderEvent.accepted, "a1"))
    got = await asyncio.wait_for(task, 10)
    assert [(e["order_id"], e["status"]) for _, e in got] == [
        (oid, "pending_new"),
        (oid, "new"),
    ]


async def test_events_resume_after_the_last_event_id(gw, applier):
    oid = (await gw.submit(order(), process="w1")).order.order_id
    first = await asyncio.wait_for(_take(gw.events({"A1"}, FROM_START, block_ms=100), 1), 10)
    await applier.apply(ExecReport(oid, OrderEvent.fill, "f1", 100, Decimal("2500")))
    resumed = await asyncio.wait_for(_take(gw.events({"A1"}, first[0][0], block_ms=100), 1), 10)
    ev = resumed[0][1]
    assert (ev["status"], ev["cum_qty"], ev["avg_px"], ev["last_px"]) == (
        "filled",
        100,
        "2500",
        "2500",
    )


async def test_events_across_partitions_arrive_and_resume(gw, applier):
    # A1 and B2 live in different partitions (1 and 8 of 16)
    start = f"{partition_of('A1', 16)}:0-0,{partition_of('B2', 16)}:0-0"
    a = (await gw.submit(order(), process="w1")).order.order_id
    b = (await gw.submit(order(account="B2"), process="w1")).order.order_id
    got = await asyncio.wait_for(_take(gw.events({"A1", "B2"}, start, block_ms=100), 2), 10)
    assert sorted(e["order_id"] for _, e in got) == sorted([a, b])
    await applier.apply(ExecReport(b, OrderEvent.accepted, "ack-b"))
    resumed = await asyncio.wait_for(
        _take(gw.events({"A1", "B2"}, got[-1][0], block_ms=100), 1), 10
    )
    assert [(e["order_id"], e["status"]) for _, e in resumed] == [(b, "new")]


async def test_subscribe_without_a_last_id_misses_nothing_after_it_returns(gw):
    before = (await gw.submit(order(client_order_id="before"), process="w1")).order.order_id
    source = await gw.subscribe({"A1"}, block_ms=100)
    # appended after subscribe returned, before anything reads the subscription
    after = (await gw.submit(order(client_order_id="after"), process="w1")).order.order_id
    got = await asyncio.wait_for(_take(source, 1), 10)
    assert [e["order_id"] for _, e in got] == [after]
    assert before != after


async def test_subscribe_refuses_a_bad_last_event_id_before_any_read(gw):
    with pytest.raises(OrderError) as info:
        await gw.subscribe({"A1"}, "garbage")
    assert info.value.code is ErrorCode.invalid_request
