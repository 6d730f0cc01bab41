"""Rate limit (429 + Retry-After) and Redis outage (503, nothing half-written) end to end."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
import redis
from support.api import ApiProcess, bearer, order_body
from support.procs import RedisServer, wait_until

pytestmark = pytest.mark.e2e


def _loaded(port: int) -> bool:
    try:
        return redis.Redis(port=port).ping()
    except redis.BusyLoadingError:
        return False


@pytest.fixture
def own_redis() -> Iterator[RedisServer]:
    server = RedisServer(aof=True).start()
    yield server
    server.stop()


def test_order_rate_over_the_bucket_answers_429_with_retry_after(
    own_redis: RedisServer, tmp_path: Path
) -> None:
    config = tmp_path / "api.toml"
    config.write_text("[risk]\norders_per_second = 0.5\nburst = 2\n")
    api = ApiProcess(own_redis.url, config=str(config)).start()
    try:
        with httpx.Client(base_url=api.url, headers=bearer(), timeout=10) as c:
            statuses = [
                c.post("/v1/orders", json=order_body(client_order_id=f"r-{i}")) for i in range(4)
            ]
        codes = [r.status_code for r in statuses]
        assert codes[:2] == [202, 202]
        assert 429 in codes[2:]
        limited = next(r for r in statuses if r.status_code == 429)
        assert limited.json()["error"]["code"] == "rate_limited"
        assert int(limited.headers["Retry-After"]) >= 1
    finally:
        api.stop()


def test_redis_down_answers_503_and_nothing_is_half_written(own_redis: RedisServer) -> None:
    api = ApiProcess(own_redis.url).start()
    try:
        with httpx.Client(base_url=api.url, headers=bearer(), timeout=10) as c:
            own_redis.stop()
            r = c.post("/v1/orders", json=order_body())
            assert r.status_code == 503, r.text
            assert r.json()["error"]["code"] == "redis_unavailable"
            assert "Retry-After" in r.headers
            assert c.get("/readyz").status_code == 503
            own_redis.start()  # same port, same AOF directory
            wait_until(lambda: _loaded(own_redis.port), 15, "Redis loaded its AOF")
            assert redis.Redis(port=own_redis.port).dbsize() == 0
            wait_until(lambda: c.get("/readyz").status_code == 200, 15, "API ready again")
            assert c.post("/v1/orders", json=order_body()).status_code == 202
    finally:
        api.stop()


def test_redis_down_an_order_for_an_unknown_symbol_still_answers_422(
    own_redis: RedisServer,
) -> None:
    api = ApiProcess(own_redis.url).start()
    try:
        with httpx.Client(base_url=api.url, headers=bearer(), timeout=10) as c:
            own_redis.stop()
            r = c.post("/v1/orders", json=order_body(symbol="0000"))
            assert r.status_code == 422, r.text
            assert r.json()["error"]["code"] == "unknown_symbol"
    finally:
        api.stop()
