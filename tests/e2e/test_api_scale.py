"""Scale-out: 4 API processes take the same 5,000 orders at once, with client retries.

Every order is sent by four clients racing, each starting on its own API process. About a tenth
of first attempts are abandoned in flight: the whole request is written, then the connection is
closed before the answer (the server may well have created the order; the client cannot know),
and the client retries, as a real trading app on a bad network would; and a third of the way
through one API process is killed (SIGKILL), so its requests in flight die with the connection
and its client carries on through the others. Afterwards exactly 5,000 orders and exactly 5,000
command entries exist: none lost, none twice; no client_order_id was answered 202 (created) more
than once; and every order nobody was told was created came from a request whose answer was lost.
"""

from __future__ import annotations

import asyncio
import json
import random
import signal
from collections import Counter
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


class _Tally:
    """Per client_order_id, over all clients: answers 202 (created), requests abandoned after
    being written whole, requests that died with their connection (no answer)."""

    def __init__(self) -> None:
        self.created: Counter[str] = Counter()
        self.abandoned: Counter[str] = Counter()
        self.lost: Counter[str] = Counter()


async def _abandon(url: str, body: dict[str, Any], headers: dict[str, str]) -> None:
    """Write the whole request, then close the connection before any answer (a FIN, not a
    reset, so the bytes are not thrown away): whether the order was created is unknown."""
    host, port = url.removeprefix("http://").split(":")
    payload = json.dumps(body).encode()
    head = "".join(
        f"{k}: {v}\r\n"
        for k, v in {
            "Host": f"{host}:{port}",
            "Content-Type": "application/json",
            "Content-Length": str(len(payload)),
            **headers,
        }.items()
    )
    reader, writer = await asyncio.open_connection(host, int(port))
    writer.write(f"POST /v1/orders HTTP/1.1\r\n{head}\r\n".encode() + payload)
    await writer.drain()
    writer.close()
    await writer.wait_closed()


class _Lane:
    """One client: its own API process first, the next one whenever a request fails."""

    def __init__(self, urls: list[str], first: int, seed: int, tally: _Tally) -> None:
        self.urls = urls
        self.current = first
        self.rng = random.Random(seed)
        self.stats = {"retries": 0, "202": 0, "200": 0, "abandoned": 0}
        self.ids: dict[str, str] = {}
        self.tally = tally
        self.headers = bearer(tuple(ACCOUNTS))

    async def send_until_answered(
        self, session: aiohttp.ClientSession, body: dict[str, Any]
    ) -> tuple[int, str]:
        cid = body["client_order_id"]
        attempt = 0
        while True:
            attempt += 1
            url = self.urls[self.current]
            if attempt == 1 and self.rng.random() < 0.1:
                try:
                    await _abandon(url, body, self.headers)
                    self.tally.abandoned[cid] += 1
                except OSError:  # the process is gone: the request never went out
                    self.current = (self.current + 1) % len(self.urls)
                self.stats["retries"] += 1
                continue
            try:
                async with session.post(
                    f"{url}/v1/orders", json=body, timeout=aiohttp.ClientTimeout(total=30)
                ) as r:
                    status = r.status
                    answer = await r.json(content_type=None)
            except (TimeoutError, aiohttp.ClientError):
                self.tally.lost[cid] += 1  # the process died under it: go to the next one
                self.stats["retries"] += 1
                self.current = (self.current + 1) % len(self.urls)
                continue
            if status == 503:
                self.stats["retries"] += 1
                await asyncio.sleep(0.01)
                continue
            assert status in (200, 202), answer
            if status == 202:
                self.tally.created[cid] += 1
            return status, answer["order_id"]

    async def run(self, orders: list[dict[str, Any]], progress: list[int]) -> None:
        todo = orders[:]
        self.rng.shuffle(todo)
        connector = aiohttp.TCPConnector(limit=CONCURRENCY_PER_CLIENT)
        async with aiohttp.ClientSession(headers=self.headers, connector=connector) as session:

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
        tally = _Tally()
        lanes = [_Lane(urls, first=i, seed=i, tally=tally) for i in range(PROCESSES)]
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
        twice = [cid for cid, k in tally.created.items() if k > 1]
        assert not twice, f"answered 202 (created) more than once: {twice[:5]}"
        unseen = [o["client_order_id"] for o in orders if not tally.created[o["client_order_id"]]]
        unexplained = [c for c in unseen if not (tally.abandoned[c] or tally.lost[c])]
        assert not unexplained, f"created, yet no request for it lost its answer: {unexplained[:5]}"
        abandoned = sum(tally.abandoned.values())
        print(
            f"\n[scale] orders={ORDERS} created_202={sum(tally.created.values())} "
            f"abandoned={abandoned} lost_with_killed_process={sum(tally.lost.values())} "
            f"created_by_an_abandoned_or_lost_request={len(unseen)}"
        )
        assert abandoned > 0
        # the abandoned requests really reached the server: some orders exist only through them
        assert any(tally.abandoned[c] and not tally.lost[c] for c in unseen), (
            "no abandoned request was processed"
        )

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
