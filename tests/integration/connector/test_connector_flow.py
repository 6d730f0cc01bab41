"""The connector in this process, on a real Redis, against a real FIX acceptor over TCP."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from typing import Any

import pytest
from support.fix_venue import VenueHandle, connector_config
from support.gateway_orders import REFDATA, Clock, order
from support.procs import async_wait_until

from connector import mapping
from connector.service import Connector
from gateway import keys
from gateway.config import GatewayConfig
from gateway.ids import partition_of_order_id
from gateway.orders import OrderGateway

pytestmark = pytest.mark.integration


@pytest.fixture
async def gw(redis_client: Any) -> OrderGateway:
    g = OrderGateway(redis_client, GatewayConfig(partitions=16), REFDATA, Clock())
    await g.load_scripts()
    return g


async def submit(gw: OrderGateway, n: int, account: str = "A1", start: int = 0) -> list[str]:
    ids = []
    for i in range(start, start + n):
        out = await gw.submit(order(client_order_id=f"c-{i}", account=account), process="test")
        ids.append(out.order.order_id)
    return ids


@pytest.fixture
async def running(redis_client: Any, redis_server: Any, venue: VenueHandle) -> AsyncIterator[Any]:
    started: list[tuple[Connector, asyncio.Task[None]]] = []

    async def start(**kw: Any) -> Connector:
        c = Connector(connector_config(redis_server.url, venue.port, **kw), redis_client)
        started.append((c, asyncio.create_task(c.run())))
        return c

    yield start
    for c, _t in started:
        c.stop()
    await asyncio.wait_for(
        asyncio.gather(*(t for _, t in started), return_exceptions=True), 20
    )  # a clean stop is bounded (Logout timeout)


async def status(redis: Any, oid: str) -> str:
    v = await redis.hget(keys.order(partition_of_order_id(oid), oid), "status")
    return v.decode() if v else ""


async def trail_steps(redis: Any, oid: str) -> list[dict[str, Any]]:
    raw = await redis.lrange(keys.trail(partition_of_order_id(oid), oid), 0, -1)
    return [json.loads(x) for x in raw]


async def test_orders_accepted_before_the_connector_ran_are_sent_once_and_acknowledged(
    redis_client: Any, gw: OrderGateway, venue: VenueHandle, running: Any
) -> None:
    ids = await submit(gw, 5)
    await running()

    async def all_new() -> bool:
        return all([await status(redis_client, i) == "new" for i in ids])

    await async_wait_until(all_new, 10, "every order acknowledged")
    assert sorted(venue.venue.cl_ord_ids()) == sorted(ids)
    steps = [s["step"] for s in await trail_steps(redis_client, ids[0])]
    assert steps == ["received", "enqueued", "sent", "acknowledged"]
    sent = next(s for s in await trail_steps(redis_client, ids[0]) if s["step"] == "sent")
    assert sent["detail"]["seq"] >= 2 and sent["detail"]["cl_ord_id"] == ids[0]


async def test_pending_entries_already_recorded_as_sent_are_acked_without_sending(
    redis_client: Any, gw: OrderGateway, venue: VenueHandle, running: Any, redis_server: Any
) -> None:
    ids = await submit(gw, 2)
    cfg = connector_config(redis_server.url, venue.port)
    stream = keys.cmd_stream(partition_of_order_id(ids[0]), "TSE")
    # a previous leader read both entries, wrote the first ahead to the store, then died
    await redis_client.xgroup_create(stream, cfg.group, id="0", mkstream=True)
    await redis_client.xreadgroup(cfg.group, "dead-leader", {stream: ">"}, count=10)
    await redis_client.hset(keys.fix_sent(cfg.session_id), ids[0], 1)
    await running()

    async def drained() -> bool:
        info = await redis_client.xpending(stream, cfg.group)
        return info["pending"] == 0 and await status(redis_client, ids[1]) == "new"

    await async_wait_until(drained, 10, "pending entries drained")
    assert venue.venue.cl_ord_ids() == [ids[1]]  # the recorded one was not sent again
    sent0 = [s for s in await trail_steps(redis_client, ids[0]) if s["step"] == "sent"]
    assert sent0 and sent0[0]["detail"]["recovered"] is True


async def test_halted_venue_sends_no_new_orders_but_cancels_go(
    redis_client: Any, gw: OrderGateway, venue: VenueHandle, running: Any
) -> None:
    [working] = await submit(gw, 1)
    first = await running()
    await async_wait_until(lambda: _is(redis_client, working, "new"), 10, "first order working")
    first.stop()
    await async_wait_until(lambda: _async(first.role == "stopping"), 10, "connector stopped")
    # while no connector runs: a new order is accepted, the working one is asked to cancel,
    # then the kill switch is thrown for the venue
    [late] = await submit(gw, 1, start=100)
    await gw.cancel(working, accounts=None)
    await gw.halt("venue", "TSE", process="ops")
    await running()
    await async_wait_until(lambda: _is(redis_client, late, "rejected"), 10, "held order rejected")
    await async_wait_until(
        lambda: _async(len(venue.venue.cl_ord_ids(b"F")) == 1), 10, "the cancel sent"
    )
    assert late not in venue.venue.cl_ord_ids()
    reason = await redis_client.hget(keys.order(partition_of_order_id(late), late), "reason")
    assert reason.startswith(b"kill_switch")


async def _is(redis: Any, oid: str, st: str) -> bool:
    return await status(redis, oid) == st


async def _async(v: bool) -> bool:
    return v


async def test_venue_refusing_status_requests_switches_to_resend_reconciliation(
    redis_client: Any, gw: OrderGateway, venue: VenueHandle, running: Any
) -> None:
    venue.venue.answer = False
    venue.venue.refuse_status = True
    ids = await submit(gw, 1)
    conn = await running()
    await async_wait_until(lambda: _async(len(venue.venue.cl_ord_ids()) == 1), 10, "order sent")
    # line drops: after the next logon the in-flight order is asked about with H, refused by j
    venue.session.abort("test: line cut")
    await async_wait_until(
        lambda: _async(not conn.status_requests_supported), 15, "H refused, fallback chosen"
    )
    assert conn.stats.status_requests >= 1
    assert await status(redis_client, ids[0]) == "pending_new"  # never guessed


async def test_throttle_spaces_messages_at_the_configured_rate(
    redis_client: Any, gw: OrderGateway, venue: VenueHandle, running: Any
) -> None:
    ids = await submit(gw, 30)
    loop = asyncio.get_running_loop()
    conn = await running(throttle_rate=40.0, throttle_burst=5.0)
    await async_wait_until(lambda: _async(len(venue.venue.cl_ord_ids()) >= 1), 10, "first sent")
    t0 = loop.time()
    await async_wait_until(lambda: _async(len(venue.venue.cl_ord_ids()) == 30), 10, "all sent")
    took = loop.time() - t0
    assert took >= (30 - 5 - 1) / 40 * 0.9, took  # burst of 5, then 40/s
    assert conn.throttle.waited > 0
    assert mapping.cl_ord_id_kind(ids[0]) == "new"


@pytest.mark.parametrize(("ord_status", "expected"), [("0", "new"), ("4", "canceled")])
async def test_in_flight_order_is_settled_by_the_venues_status_answer_after_reconnect(
    redis_client: Any,
    gw: OrderGateway,
    venue: VenueHandle,
    running: Any,
    ord_status: str,
    expected: str,
) -> None:
    venue.venue.answer = False  # the order is sent, its acknowledgement never comes
    [oid] = await submit(gw, 1)
    conn = await running()
    await async_wait_until(lambda: _async(venue.venue.cl_ord_ids() == [oid]), 10, "order sent")
    assert await status(redis_client, oid) == "pending_new"
    venue.venue.status_answer = ord_status  # e.g. canceled by the venue on disconnect
    venue.session.abort("test: line cut")
    await async_wait_until(lambda: _is(redis_client, oid, expected), 15, f"order {expected}")
    assert conn.stats.status_requests >= 1
    step = (await trail_steps(redis_client, oid))[-1]
    assert step["detail"]["reconciled"] is True
    assert venue.venue.cl_ord_ids() == [oid]  # asked about, never sent again


async def test_in_flight_asks_the_sent_map_before_reading_any_queued_order(
    redis_client: Any, redis_server: Any, gw: OrderGateway, venue: VenueHandle
) -> None:
    """A backlog queued while the line was down is open but unsent: reconciliation at logon must
    not read its records one by one (that delayed a 20,000-order drain's first send by ~0.6 s)."""
    venue.venue.answer = False  # sent, never answered: in flight
    [sent] = await submit(gw, 1)
    first = Connector(connector_config(redis_server.url, venue.port), redis_client)
    task = asyncio.create_task(first.run())
    await async_wait_until(lambda: _async(venue.venue.cl_ord_ids() == [sent]), 10, "order sent")
    first.stop()
    await asyncio.wait_for(task, 20)
    queued = await submit(gw, 1500, start=1)  # the line is down: open, never sent
    standby = Connector(connector_config(redis_server.url, venue.port), redis_client)
    before = (await redis_client.info("commandstats"))["cmdstat_hmget"]["calls"]
    orders = await standby.in_flight()
    after = (await redis_client.info("commandstats"))["cmdstat_hmget"]["calls"]
    assert [d["order_id"] for d in orders] == [sent]
    assert all([await status(redis_client, q) == "pending_new" for q in queued[:5]])
    # two HMGETs of the sent map (1,000 ids each) and one of the sent order's record
    assert after - before == 3
