"""End-to-end fixtures: a real ``ordergate api`` process against the session's private Redis."""

from __future__ import annotations

import sys
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import httpx
import pytest

sys.path.insert(0, str(Path(__file__).parents[1]))

from support.api import ApiProcess, bearer  # noqa: E402
from support.procs import RedisServer  # noqa: E402


@pytest.fixture(scope="session")
def api(redis_server: RedisServer) -> Iterator[ApiProcess]:
    """One API process for the whole session (tests flush Redis through ``redis_client``)."""
    proc = ApiProcess(redis_server.url).start()
    yield proc
    proc.stop()


@pytest.fixture
async def client(api: ApiProcess, redis_client: object) -> AsyncIterator[httpx.AsyncClient]:
    """An HTTP client to the session's API, after Redis was flushed."""
    async with httpx.AsyncClient(base_url=api.url, timeout=10.0, headers=bearer()) as c:
        yield c
