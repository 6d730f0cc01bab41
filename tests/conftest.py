"""Fixtures shared by the whole suite: one private redis-server per test session."""

from __future__ import annotations

import sys
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest
import redis.asyncio as aioredis

sys.path.insert(0, str(Path(__file__).parent))

from support.cluster import RedisClusterProcs  # noqa: E402
from support.procs import RedisServer  # noqa: E402


@pytest.fixture(scope="session")
def redis_server() -> Iterator[RedisServer]:
    """A real redis-server on a free port for the whole test session."""
    server = RedisServer().start()
    yield server
    server.stop()


@pytest.fixture
async def redis_client(redis_server: RedisServer) -> AsyncIterator[aioredis.Redis]:
    """A client to the session's Redis, flushed before each test."""
    client = aioredis.Redis.from_url(redis_server.url)
    await client.flushall()
    yield client
    await client.aclose()


@pytest.fixture(scope="session")
def redis_cluster() -> Iterator[RedisClusterProcs]:
    """A real 3-master Redis Cluster (redis-server --cluster-enabled yes) for the session.

    Clients: ``redis.asyncio.RedisCluster.from_url(redis_cluster.url)``; flush between tests
    with ``support.cluster.flush_cluster``. Tests that use it are marked ``cluster``."""
    cluster = RedisClusterProcs().start()
    yield cluster
    cluster.stop()
