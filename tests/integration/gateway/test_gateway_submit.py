"""Submit: one Lua script does idempotency, halt, risk, record, command, trail - all or nothing."""

import asyncio

import pytest
from support.gateway_orders import all_keys, commands, order

from gateway import keys
from gateway.errors import ErrorCode, OrderError
from gateway.model import OrderStatus

pytestmark = pytest.mark.integration


async def test_submit_creates_pending_new_order_and_one_command(gw, redis):
    out = await gw.submit(order(), process="w1")
    assert out.created and out.order.status is OrderStatus.pending_new
    cmds = await commands(redis)
    assert [(c.kind, c.order_id, c.price, c.quantity) for c in cmds] == [
        ("new", out.order.order_id, "2500.5", 100)
    ]


async def test_submitted_order_reads_back_identical(gw):
    out = await gw.submit(order(), process="w1")
    assert await gw.get(out.order.order_id, accounts={"A1"}) == out.order


async def test_same_client_order_id_and_body_returns_the_same_order_without_enqueuing(gw, redis):
    first = await gw.submit(order(), process="w1")
    again = await gw.submit(order(price="2500.50"), process="w2")
    assert not again.created and again.order == first.order
    assert len(await commands(redis)) == 1


async def test_same_client_order_id_with_different_body_is_a_conflict(gw, redis):
    await gw.submit(order(), process="w1")
    with pytest.raises(OrderError) as ei:
        await gw.submit(order(quantity=200), process="w1")
    assert ei.value.code is ErrorCode.duplicate_client_order_id
    assert len(await commands(redis)) == 1


@pytest.mark.parametrize("first,retry", [(None, "TSE"), ("TSE", None)])
async def test_retry_spelling_out_or_leaving_out_the_default_venue_is_the_same_order(
    gw, redis, first, retry
):
    original = await gw.submit(order(venue=first), process="w1")
    again = await gw.submit(order(venue=retry), process="w2")
    assert not again.created and again.order == original.order
    assert len(await commands(redis)) == 1


async def test_retry_naming_another_venue_than_the_first_is_a_conflict(gw, redis):
    await gw.submit(order(venue=None), process="w1")
    with pytest.raises(OrderError) as ei:
        await gw.submit(order(venue="JNX"), process="w1")
    assert ei.value.code is ErrorCode.duplicate_client_order_id


async def test_retry_with_the_default_venue_after_the_venue_closed_still_returns_the_order(
    gw, clock
):
    first = await gw.submit(order(venue=None, time_in_force="ioc"), process="w1")
    clock.at = clock.at.replace(hour=23, day=26)  # 08:00 JST pre-open: ioc not allowed now
    again = await gw.submit(order(venue="TSE", time_in_force="ioc"), process="w1")
    assert not again.created and again.order.order_id == first.order.order_id


async def test_same_client_order_id_on_another_account_is_another_order(gw):
    a = await gw.submit(order(), process="w1")
    b = await gw.submit(order(account="B2"), process="w1")
    assert b.created and a.order.order_id != b.order.order_id


async def test_concurrent_duplicates_create_exactly_one_order(gw, redis):
    outs = await asyncio.gather(*(gw.submit(order(), process=f"w{i}") for i in range(20)))
    assert sum(o.created for o in outs) == 1
    assert len({o.order.order_id for o in outs}) == 1
    assert len(await commands(redis)) == 1


async def test_invalid_order_writes_nothing(gw, redis):
    with pytest.raises(OrderError):
        await gw.submit(order(price="2500.3"), process="w1")
    assert await all_keys(redis) == []


async def test_retry_after_the_rules_changed_still_returns_the_accepted_order(gw, clock):
    first = await gw.submit(order(time_in_force="ioc"), process="w1")
    clock.at = clock.at.replace(hour=23, day=26)  # 08:00 JST pre-open: ioc not allowed now
    again = await gw.submit(order(time_in_force="ioc"), process="w1")
    assert not again.created and again.order.order_id == first.order.order_id


async def test_closed_venue_order_is_accepted_and_held(gw, clock, redis):
    clock.at = clock.at.replace(hour=9)  # 18:00 JST
    out = await gw.submit(order(), process="w1")
    assert out.order.status is OrderStatus.pending_new and len(await commands(redis)) == 1


# --- risk (inside the script) ----------------------------------------------------------


async def test_risk_max_quantity(gw_with, redis):
    gw = await gw_with(max_order_quantity=100)
    with pytest.raises(OrderError) as ei:
        await gw.submit(order(quantity=200), process="w1")
    assert ei.value.code is ErrorCode.risk_max_quantity
    assert await all_keys(redis) == []


async def test_risk_max_notional(gw_with):
    gw = await gw_with(max_order_notional=250_000)
    await gw.submit(order(price="2500", client_order_id="ok"), process="w1")  # exactly at the cap
    with pytest.raises(OrderError) as ei:
        await gw.submit(order(price="2500.5"), process="w1")
    assert ei.value.code is ErrorCode.risk_max_notional


async def test_market_order_notional_uses_the_upper_limit(gw_with):
    gw = await gw_with(max_order_notional=300_000)  # 100 x 3,350 = 335,000
    with pytest.raises(OrderError) as ei:
        await gw.submit(order(type="market", price=None), process="w1")
    assert ei.value.code is ErrorCode.risk_max_notional


async def test_risk_max_open_orders(gw_with):
    gw = await gw_with(max_open_orders=2)
    for i in range(2):
        await gw.submit(order(client_order_id=f"c{i}"), process="w1")
    with pytest.raises(OrderError) as ei:
        await gw.submit(order(client_order_id="c9"), process="w1")
    assert ei.value.code is ErrorCode.risk_max_open_orders


async def test_open_orders_free_up_when_an_order_ends(gw_with, applier):
    from gateway.reports import ExecReport
    from gateway.states import OrderEvent

    gw = await gw_with(max_open_orders=1)
    first = await gw.submit(order(client_order_id="c0"), process="w1")
    await applier.apply(ExecReport(first.order.order_id, OrderEvent.rejected, "X1", reason="test"))
    assert (await gw.submit(order(client_order_id="c1"), process="w1")).created


async def test_risk_daily_buy_notional(gw_with):
    gw = await gw_with(max_daily_buy_notional=500_000)
    await gw.submit(order(client_order_id="c0", price="2500"), process="w1")
    await gw.submit(order(client_order_id="c1", price="2500"), process="w1")
    with pytest.raises(OrderError) as ei:
        await gw.submit(order(client_order_id="c2", price="2500"), process="w1")
    assert ei.value.code is ErrorCode.risk_daily_buy_notional


async def test_sells_do_not_count_against_daily_buy_value(gw_with):
    gw = await gw_with(max_daily_buy_notional=300_000)
    for i in range(3):
        await gw.submit(order(client_order_id=f"s{i}", side="sell"), process="w1")


async def test_daily_buy_value_resets_on_the_next_trading_day(gw_with, clock):
    gw = await gw_with(max_daily_buy_notional=300_000)
    await gw.submit(order(client_order_id="c0", price="2500"), process="w1")
    clock.at = clock.at.replace(day=30)  # Monday
    assert (await gw.submit(order(client_order_id="c1", price="2500"), process="w1")).created


async def test_rate_limit_refuses_with_retry_after(gw_with, redis):
    gw = await gw_with(orders_per_second=0.5, burst=2)
    for i in range(2):
        await gw.submit(order(client_order_id=f"c{i}"), process="w1")
    with pytest.raises(OrderError) as ei:
        await gw.submit(order(client_order_id="c2"), process="w1")
    assert ei.value.code is ErrorCode.rate_limited
    assert 0 < ei.value.retry_after <= 2.0
    assert len(await commands(redis)) == 2


async def test_risk_limits_are_per_account(gw_with):
    gw = await gw_with(max_open_orders=1)
    await gw.submit(order(client_order_id="c0"), process="w1")
    assert (await gw.submit(order(account="B2", client_order_id="c0"), process="w1")).created


# --- kill switch -------------------------------------------------------------------------


async def test_halted_account_refuses_new_orders(gw, redis):
    await gw.halt("account", "A1")
    with pytest.raises(OrderError) as ei:
        await gw.submit(order(), process="w1")
    assert ei.value.code is ErrorCode.halted
    assert await commands(redis) == []


async def test_halt_of_one_account_leaves_others_trading(gw):
    await gw.halt("account", "A1")
    assert (await gw.submit(order(account="B2"), process="w1")).created


async def test_halted_venue_refuses_new_orders_for_it(gw):
    await gw.halt("venue", "TSE")
    with pytest.raises(OrderError):
        await gw.submit(order(), process="w1")
    assert (await gw.submit(order(venue="JNX"), process="w1")).created


async def test_halt_all_then_resume(gw):
    await gw.halt("all")
    with pytest.raises(OrderError):
        await gw.submit(order(account="Z9"), process="w1")
    await gw.resume("all")
    assert (await gw.submit(order(account="Z9"), process="w1")).created


async def test_halt_with_cancel_open_cancels_that_accounts_open_orders(gw, redis):
    a = await gw.submit(order(), process="w1")
    b = await gw.submit(order(account="B2"), process="w1")
    assert await gw.halt("account", "A1", cancel_open=True) == 1
    assert (await gw.get(a.order.order_id, accounts=None)).status is OrderStatus.pending_cancel
    assert (await gw.get(b.order.order_id, accounts=None)).status is OrderStatus.pending_new
    assert [c.kind for c in await commands(redis)] == ["new", "cancel"]


async def test_halts_are_listed(gw):
    await gw.halt("venue", "JNX", reason="drill")
    assert (await gw.halts())["venue:JNX"]["reason"] == "drill"


async def test_halt_needs_a_target(gw):
    with pytest.raises(OrderError) as ei:
        await gw.halt("account", None)
    assert ei.value.code is ErrorCode.invalid_request


async def test_keys_of_an_order_share_one_hash_tag(gw, redis):
    out = await gw.submit(order(), process="w1")
    tag = keys.tag(out.order.partition)
    assert all(k.startswith(tag + ":") for k in await all_keys(redis))


async def test_submit_after_the_script_cache_was_flushed_falls_back_to_eval(gw, redis):
    await redis.script_flush()  # what a restarted or failed-over Redis looks like
    assert (await gw.submit(order(), process="w1")).created
    assert (await gw.submit(order(client_order_id="c-2"), process="w1")).created


async def test_submits_pipelined_together_each_get_their_own_outcome(gw_with, redis):
    gw = await gw_with(max_open_orders=5)
    results = await asyncio.gather(
        *(gw.submit(order(client_order_id=f"p{i}"), process="w1") for i in range(10)),
        return_exceptions=True,
    )
    created = [r for r in results if not isinstance(r, Exception)]
    refused = [r for r in results if isinstance(r, OrderError)]
    assert len(created) == 5 and all(r.created for r in created)
    assert [r.code for r in refused] == [ErrorCode.risk_max_open_orders] * 5
    assert len(await commands(redis)) == 5


async def test_halt_all_with_cancel_open_cancels_every_open_order_once(gw, applier, redis):
    from gateway.reports import ExecReport
    from gateway.states import OrderEvent

    ids = [
        (await gw.submit(order(account=f"K{i % 10}", client_order_id=f"k{i}"), process="w1")).order
        for i in range(30)
    ]
    for o in ids[:5]:
        await applier.apply(ExecReport(o.order_id, OrderEvent.rejected, f"r{o.order_id}"))
    assert await gw.halt("all", cancel_open=True) == 25
    statuses = [(await gw.get(o.order_id, accounts=None)).status for o in ids]
    assert statuses == [OrderStatus.rejected] * 5 + [OrderStatus.pending_cancel] * 25
    assert await gw.halt("all", cancel_open=True) == 0  # already canceling: nothing new


async def test_halt_venue_with_cancel_open_leaves_other_venues(gw):
    tse = (await gw.submit(order(client_order_id="t"), process="w1")).order
    jnx = (await gw.submit(order(client_order_id="j", venue="JNX"), process="w1")).order
    assert await gw.halt("venue", "JNX", cancel_open=True) == 1
    assert (await gw.get(jnx.order_id, accounts=None)).status is OrderStatus.pending_cancel
    assert (await gw.get(tse.order_id, accounts=None)).status is OrderStatus.pending_new
