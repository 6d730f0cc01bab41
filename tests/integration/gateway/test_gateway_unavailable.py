"""Redis down: redis_unavailable and nothing half-written. WAIT for a replica (durability)."""

import dataclasses

import pytest
import redis.asyncio as aioredis
from redis.exceptions import BusyLoadingError, ConnectionError
from support.gateway_orders import REFDATA, Clock, commands, order
from support.procs import RedisServer, async_wait_until

from gateway.config import GatewayConfig
from gateway.errors import ErrorCode, OrderError
from gateway.orders import OrderGateway

pytestmark = pytest.mark.integration


@pytest.fixture
def own_redis():
    server = RedisServer(aof=True).start()
    yield server
    server.stop()


async def _loaded(client: aioredis.Redis) -> bool:
    try:
        return bool(await client.ping())
    except (BusyLoadingError, ConnectionError):
        return False


def _client(url: str) -> aioredis.Redis:
    return aioredis.Redis.from_url(url, socket_connect_timeout=0.5, socket_timeout=1.0)


async def test_submit_with_redis_down_is_redis_unavailable_and_writes_nothing(own_redis):
    client = _client(own_redis.url)
    gw = OrderGateway(client, GatewayConfig(), REFDATA, Clock())
    await gw.load_scripts()
    await gw.submit(order(client_order_id="before"), process="w1")
    own_redis.stop()
    with pytest.raises(OrderError) as ei:
        await gw.submit(order(client_order_id="during"), process="w1")
    assert ei.value.code is ErrorCode.redis_unavailable
    own_redis.start()  # same port and directory: the AOF brings back what was acknowledged
    client2 = _client(own_redis.url)
    await async_wait_until(lambda: _loaded(client2), 10, "Redis loaded its AOF")
    cmds = await commands(client2)
    assert [c.client_order_id for c in cmds] == ["before"]
    await client.aclose()
    await client2.aclose()


async def test_ping_and_reads_with_redis_down_are_redis_unavailable():
    from support.procs import free_port

    client = _client(f"redis://127.0.0.1:{free_port()}/0")
    gw = OrderGateway(client, GatewayConfig(), REFDATA, Clock())
    for call in (gw.ping(), gw.get("0MWZJ6I1P01VK2C01A6H", accounts=None), gw.list_orders("A1")):
        with pytest.raises(OrderError) as ei:
            await call
        assert ei.value.code is ErrorCode.redis_unavailable
    await client.aclose()


async def test_wait_without_a_replica_reports_redis_unavailable(redis_client, redis_server):
    cfg = dataclasses.replace(GatewayConfig(), wait_replicas=1, wait_timeout_ms=50)
    gw = OrderGateway(redis_client, cfg, REFDATA, Clock())
    with pytest.raises(OrderError) as ei:
        await gw.submit(order(), process="w1")
    assert ei.value.code is ErrorCode.redis_unavailable
    # the order was written; the client's retry returns it
    again = await OrderGateway(redis_client, GatewayConfig(), REFDATA, Clock()).submit(
        order(), process="w1"
    )
    assert not again.created


async def test_wait_with_a_replica_accepts(own_redis):
    replica = RedisServer(extra=["--replicaof", "127.0.0.1", str(own_redis.port)]).start()
    try:
        client = _client(own_redis.url)

        async def linked() -> bool:
            info = await client.info("replication")
            return int(info.get("connected_slaves", 0)) == 1 and "online" in str(
                info.get("slave0", "")
            )

        await async_wait_until(linked, 15, "replica online")
        cfg = dataclasses.replace(GatewayConfig(), wait_replicas=1, wait_timeout_ms=2000)
        gw = OrderGateway(client, cfg, REFDATA, Clock())
        assert (await gw.submit(order(), process="w1")).created
        await client.aclose()
    finally:
        replica.stop()


async def test_pipeline_returns_error_replies_in_place(redis_client):
    from gateway.scripts import pipeline

    await redis_client.set("s", "x")
    replies = await pipeline(redis_client, [["INCR", "n"], ["HGET", "s", "f"], ["INCR", "n"]])
    assert replies[0] == 1 and replies[2] == 2
    assert "WRONGTYPE" in str(replies[1])
    assert await redis_client.ping()  # the connection is still usable afterwards


@pytest.mark.parametrize(
    "change,code",
    [
        ({"symbol": "0000"}, ErrorCode.unknown_symbol),
        ({"type": "market"}, ErrorCode.price_not_allowed),
        ({"venue": "NOWHERE"}, ErrorCode.venue_not_allowed),
    ],
)
async def test_body_only_validation_failure_answers_without_redis(change, code):
    from support.procs import free_port

    client = _client(f"redis://127.0.0.1:{free_port()}/0")  # nothing listens there
    gw = OrderGateway(client, GatewayConfig(), REFDATA, Clock())
    with pytest.raises(OrderError) as ei:
        await gw.submit(order(**change), process="w1")
    assert ei.value.code is code
    await client.aclose()


async def test_failure_of_a_rule_of_the_moment_asks_redis_for_an_earlier_accept():
    """Off the day's price band: the same body may have been accepted on another day, and only
    Redis knows, so with Redis down the answer is redis_unavailable (retry), not the 422."""
    from support.procs import free_port

    client = _client(f"redis://127.0.0.1:{free_port()}/0")
    gw = OrderGateway(client, GatewayConfig(), REFDATA, Clock())
    with pytest.raises(OrderError) as ei:
        await gw.submit(order(price="9000"), process="w1")
    assert ei.value.code is ErrorCode.redis_unavailable
    await client.aclose()
