"""Scale-out: 4 API processes take the same 5,000 orders at once, with client retries.

Every order is sent by four clients racing, each starting on its own API process. The clients
use short timeouts so requests are abandoned mid-flight (the connection is closed under the
server) and retried, as a real trading app on a bad network would; and a third of the way
through one API process is killed (SIGKILL), so its requests in flight die with the connection
and its client carries on through the others. Afterwards exactly 5,000 orders and exactly 5,000
command entries exist: none lost, none twice.
"""

from __future__ import annotations

import asyncio
import random
import signal
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


class _Lane:
    """One client: its own API process first, the next one whenever a request fails."""

    def __init__(self, urls: list[str], first: int, seed: int) -> None:
        self.urls = urls
        self.current = first
        self.rng = random.Random(seed)
        self.stats = {"retries": 0, "202": 0, "200": 0}
        self.ids: dict[str, str] = {}

    async def send_until_answered(
        self, session: aiohttp.ClientSession, body: dict[str, Any]
    ) -> tuple[int, str]:
        attempt = 0
        while True:
            attempt += 1
            # ~10% of first attempts get a timeout short enough to abandon them in flight
            short = attempt == 1 and self.rng.random() < 0.1
            timeout = aiohttp.ClientTimeout(total=self.rng.choice([0.001, 0.003]) if short else 30)
            url = self.urls[self.current]
            try:
                async with session.post(f"{url}/v1/orders", json=body, timeout=timeout) as r:
                    status = r.status
                    answer = await r.json(content_type=None)
            except (TimeoutError, aiohttp.ClientError):
                self.stats["retries"] += 1
                if not short:  # a real failure (the process died): go to the next process
                    self.current = (self.current + 1) % len(self.urls)
                continue
            if status == 503:
                self.stats["retries"] += 1
                await asyncio.sleep(0.01)
                continue
            assert status in (200, 202), answer
            return status, answer["order_id"]

    async def run(self, orders: list[dict[str, Any]], progress: list[int]) -> None:
        todo = orders[:]
        self.rng.shuffle(todo)
        connector = aiohttp.TCPConnector(limit=CONCURRENCY_PER_CLIENT)
        headers = bearer(tuple(ACCOUNTS))
        async with aiohttp.ClientSession(headers=headers, connector=connector) as session:

            async def worker() -> None:
                while todo:
                    body = todo.pop()
                    status, order_id = await self.send_until_answered(session, body)
                    self.stats[str(status)] += 1
                    self.ids[body["client_order_id"]] = order_id
                    progress[0] += 1

            await asyncio.gather(*(worker() for _ in range(CONCURRENCY_PER_CLIENT)))


def _at_least(progress: list[int], n: int) -> Any:
    async def reached() -> bool:
        return progress[0] >= n

    return reached


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
        urls = [a.url for a in apis]
        lanes = [_Lane(urls, first=i, seed=i) for i in range(PROCESSES)]
        progress = [0]

        async def kill_one_a_third_of_the_way() -> None:
            await async_wait_until(
                _at_least(progress, PROCESSES * ORDERS // 3), 120, "a third of the answers"
            )
            killed = apis[-1].proc
            apis[-1].stop(signal.SIGKILL)
            assert killed is not None and killed.returncode == -signal.SIGKILL

        await asyncio.gather(
            kill_one_a_third_of_the_way(), *(lane.run(orders, progress) for lane in lanes)
        )
        results = [(lane.ids, lane.stats) for lane in lanes]
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


async def test_four_processes_one_killed_take_the_same_5000_orders_exactly_once(
    scale_redis: RedisServer,
) -> None:
    await _scale_run(scale_redis.url, cluster=False)


@pytest.mark.cluster
async def test_four_processes_one_killed_take_the_same_5000_orders_exactly_once_on_cluster(
    redis_cluster: RedisClusterProcs,
) -> None:
    client = aioredis.RedisCluster.from_url(redis_cluster.url)
    try:
        await flush_cluster(client)
    finally:
        await client.aclose()
    await _scale_run(redis_cluster.url, cluster=True)
