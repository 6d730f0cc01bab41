"""End-to-end fixtures: a real ``ordergate api`` process against the session's private Redis."""

from __future__ import annotations

import sys
from collections.abc import AsyncIterator, Callable, Iterator
from pathlib import Path

import httpx
import pytest

sys.path.insert(0, str(Path(__file__).parents[1]))

from support.api import ApiProcess, bearer  # noqa: E402
from support.procs import RedisServer  # noqa: E402
from support.runtime_venv import build_runtime_venv  # noqa: E402

#: ``ordergate api --http``: every API test runs against both, but those marked fast_path_only
HTTP_MODES = ("fast", "standard")


@pytest.fixture(scope="session", params=HTTP_MODES)
def http_mode(request: pytest.FixtureRequest) -> str:
    """The ``--http`` mode of the API processes a test talks to."""
    return str(request.param)


@pytest.fixture(scope="session")
def api_of_mode(redis_server: RedisServer) -> Iterator[Callable[[str], ApiProcess]]:
    """The session's API process for a mode, started when first asked for."""
    started: dict[str, ApiProcess] = {}

    def get(mode: str) -> ApiProcess:
        if mode not in started:
            started[mode] = ApiProcess(redis_server.url, http=mode).start()
        return started[mode]

    yield get
    for proc in started.values():
        proc.stop()


@pytest.fixture(scope="session")
def api(http_mode: str, api_of_mode: Callable[[str], ApiProcess]) -> ApiProcess:
    """One API process per mode for the whole session (tests flush Redis through
    ``redis_client``)."""
    return api_of_mode(http_mode)


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Tests of the fast path itself (marked ``fast_path_only``) run in the fast mode only."""
    keep, drop = [], []
    for item in items:
        params = getattr(item, "callspec", None)
        mode = params.params.get("http_mode") if params is not None else None
        only_fast = item.get_closest_marker("fast_path_only") is not None
        (drop if only_fast and mode not in (None, "fast") else keep).append(item)
    if drop:
        config.hook.pytest_deselected(items=drop)
        items[:] = keep


@pytest.fixture(scope="session")
def runtime_venv(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The python of a fresh virtualenv holding the wheel of this tree with its runtime
    dependencies and the embedded server (``support.runtime_venv``), built once per session."""
    return build_runtime_venv(tmp_path_factory.mktemp("runtime"))


@pytest.fixture
async def client(api: ApiProcess, redis_client: object) -> AsyncIterator[httpx.AsyncClient]:
    """An HTTP client to the session's API, after Redis was flushed."""
    async with httpx.AsyncClient(base_url=api.url, timeout=10.0, headers=bearer()) as c:
        yield c
