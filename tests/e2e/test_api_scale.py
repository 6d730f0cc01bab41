"""Scale-out: 4 API processes take the same 5,000 orders at once, with client retries.

Every order is sent through each of the four processes (four clients racing), and the clients
use short timeouts so requests are abandoned mid-flight (the connection is closed under the
server) and retried, as a real trading app on a bad network would. Afterwards exactly 5,000
orders and exactly 5,000 command entries exist: none lost, none twice.
"""

from __future__ import annotations

import asyncio
import random
from collections.abc import Iterator
from typing import Any

import aiohttp
import httpx
import pytest
import redis.asyncio as aioredis
from support.api import ApiProcess, bearer, order_body
from support.cluster import RedisClusterProcs, flush_cluster
from support.procs import RedisServer, async_wait_until

from gateway import keys, venues
from gateway.config import GatewayConfig

pytestmark = [pytest.mark.e2e]

ORDERS = 5_000
ACCOUNTS = [f"S{i:02d}" for i in range(50)]
PROCESSES = 4
CONCURRENCY_PER_CLIENT = 24


def _orders() -> list[dict[str, Any]]:
    return [
        order_body(account=ACCOUNTS[i % len(ACCOUNTS)], client_order_id=f"scale-{i}")
        for i in range(ORDERS)
    ]


async def _send_until_answered(
    session: aiohttp.ClientSession,
    body: dict[str, Any],
    rng: random.Random,
    stats: dict[str, int],
) -> tuple[int, str]:
    """POST until the API gives an answer; abandon some first attempts mid-flight."""
    attempt = 0
    while True:
        attempt += 1
        # ~10% of first attempts get a timeout short enough to abandon the request in flight
        short = attempt == 1 and rng.random() < 0.1
        timeout = aiohttp.ClientTimeout(total=rng.choice([0.001, 0.003]) if short else 30)
        try:
            async with session.post("/v1/orders", json=body, timeout=timeout) as r:
                status = r.status
                answer = await r.json(content_type=None)
        except (TimeoutError, aiohttp.ClientError):
            stats["retries"] += 1
            continue
        if status == 503:
            stats["retries"] += 1
            await asyncio.sleep(0.01)
            continue
        assert status in (200, 202), answer
        return status, answer["order_id"]


async def _client_run(
    url: str, orders: list[dict[str, Any]], seed: int
) -> tuple[dict[str, str], dict[str, int]]:
    rng = random.Random(seed)
    todo = orders[:]
    rng.shuffle(todo)
    stats = {"retries": 0, "202": 0, "200": 0}
    ids: dict[str, str] = {}
    connector = aiohttp.TCPConnector(limit=CONCURRENCY_PER_CLIENT)
    async with aiohttp.ClientSession(
        url, headers=bearer(tuple(ACCOUNTS)), connector=connector
    ) as session:

        async def worker() -> None:
            while todo:
                body = todo.pop()
                status, order_id = await _send_until_answered(session, body, rng, stats)
                stats[str(status)] += 1
                ids[body["client_order_id"]] = order_id

        await asyncio.gather(*(worker() for _ in range(CONCURRENCY_PER_CLIENT)))
    return ids, stats


async def _count(redis: Any, partitions: int) -> tuple[int, int]:
    """(order records, command entries) over every partition and venue."""
    orders = 0
    entries = 0
    for p in range(partitions):
        pattern = keys.order(p, "*")
        if isinstance(redis, aioredis.RedisCluster):
            node = redis.get_node_from_key(pattern)
            found = [k async for k in redis.scan_iter(match=pattern, count=1000, target_nodes=node)]
        else:
            found = [k async for k in redis.scan_iter(match=pattern, count=1000)]
        orders += len(found)
        for venue in venues.venue_codes():
            entries += int(await redis.xlen(keys.cmd_stream(p, venue)))
    return orders, entries


async def _scale_run(redis_url: str, cluster: bool) -> None:
    extra = ["--redis-cluster"] if cluster else []
    apis = [ApiProcess(redis_url, extra=extra) for _ in range(PROCESSES)]
    for a in apis:
        a.start(wait_ready=False)
    try:

        async def all_ready() -> bool:
            async with httpx.AsyncClient() as c:
                for a in apis:
                    try:
                        if (await c.get(f"{a.url}/readyz", timeout=1)).status_code != 200:
                            return False
                    except httpx.HTTPError:
                        return False
            return True

        await async_wait_until(all_ready, 30, "4 API processes ready")
        orders = _orders()
        results = await asyncio.gather(
            *(_client_run(a.url, orders, seed) for seed, a in enumerate(apis))
        )
        # every client saw the same order id for every client_order_id
        first = results[0][0]
        assert len(first) == ORDERS
        for ids, _ in results[1:]:
            assert ids == first
        assert len(set(first.values())) == ORDERS
        created = sum(stats["202"] for _, stats in results)
        assert 1 <= created <= ORDERS
        assert sum(stats["retries"] for _, stats in results) > 0  # the retries really happened

        partitions = GatewayConfig().partitions
        if cluster:
            redis = aioredis.RedisCluster.from_url(redis_url)
            await redis.initialize()
        else:
            redis = aioredis.Redis.from_url(redis_url)
        try:
            assert await _count(redis, partitions) == (ORDERS, ORDERS)
        finally:
            await redis.aclose()
    finally:
        for a in apis:
            a.stop()


@pytest.fixture
def scale_redis() -> Iterator[RedisServer]:
    server = RedisServer().start()
    yield server
    server.stop()


async def test_four_processes_take_the_same_5000_orders_exactly_once(
    scale_redis: RedisServer,
) -> None:
    await _scale_run(scale_redis.url, cluster=False)


@pytest.mark.cluster
async def test_four_processes_take_the_same_5000_orders_exactly_once_on_redis_cluster(
    redis_cluster: RedisClusterProcs,
) -> None:
    client = aioredis.RedisCluster.from_url(redis_cluster.url)
    try:
        await flush_cluster(client)
    finally:
        await client.aclose()
    await _scale_run(redis_cluster.url, cluster=True)
