"""Gateway integration fixtures: the same tests run on one Redis and on a 3-master Cluster."""

from __future__ import annotations

import sys
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
import redis.asyncio as aioredis

sys.path.insert(0, str(Path(__file__).parents[2]))

from support.cluster import flush_cluster  # noqa: E402
from support.gateway_orders import REFDATA, Clock  # noqa: E402

from gateway.config import GatewayConfig, RiskLimits  # noqa: E402
from gateway.orders import OrderGateway  # noqa: E402
from gateway.reports import ReportApplier  # noqa: E402


@pytest.fixture(params=["single", pytest.param("cluster", marks=pytest.mark.cluster)])
def backend(request: pytest.FixtureRequest) -> tuple[str, str]:
    """("single" | "cluster", url): the session's Redis or the session's 3-master Cluster."""
    if request.param == "single":
        return "single", request.getfixturevalue("redis_server").url
    return "cluster", request.getfixturevalue("redis_cluster").url


@pytest.fixture
async def redis(backend: tuple[str, str]) -> AsyncIterator[Any]:
    """A flushed asyncio client to the chosen backend."""
    kind, url = backend
    client: Any
    if kind == "single":
        client = aioredis.Redis.from_url(url)
        await client.flushall()
    else:
        client = aioredis.RedisCluster.from_url(url)
        await flush_cluster(client)
    yield client
    await client.aclose()


@pytest.fixture
def clock() -> Clock:
    return Clock()


def make_config(**risk: Any) -> GatewayConfig:
    return GatewayConfig(partitions=16, risk=RiskLimits(**risk))


@pytest.fixture
async def gw(redis: Any, clock: Clock) -> OrderGateway:
    g = OrderGateway(redis, make_config(), REFDATA, clock)
    await g.load_scripts()
    return g


@pytest.fixture
def gw_with(redis: Any, clock: Clock):  # type: ignore[no-untyped-def]
    """Factory: a gateway with particular risk limits (``gw_with(max_open_orders=2)``)."""

    async def make(**risk: Any) -> OrderGateway:
        g = OrderGateway(redis, make_config(**risk), REFDATA, clock)
        await g.load_scripts()
        return g

    return make


@pytest.fixture
async def applier(redis: Any, clock: Clock) -> ReportApplier:
    a = ReportApplier(redis, 16, process="conn-1", clock=clock)
    await a.load_scripts()
    return a
