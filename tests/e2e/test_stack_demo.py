"""The demo flow's failure path against a real API with no connector behind it: the venue never
answers, so the demo must report what it waited for and return 1 (``make demo`` fails)."""

from __future__ import annotations

import time
from collections.abc import Iterator

import pytest
from support.api import ApiProcess
from support.procs import RedisServer

from gateway.auth import mint_token
from operations.stack.demo import Demo
from operations.stack.plan import DEV_ACCOUNTS

pytestmark = [pytest.mark.e2e, pytest.mark.timeout(60)]


@pytest.fixture(scope="module")
def api_without_venue() -> Iterator[ApiProcess]:
    redis = RedisServer().start()
    api = ApiProcess(redis.url).start()
    try:
        yield api
    finally:
        api.stop()
        redis.stop()


def token() -> str:
    return mint_token("test", list(DEV_ACCOUNTS), ["trade", "read"])


def test_demo_returns_1_naming_the_order_when_the_venue_never_answers(
    api_without_venue: ApiProcess,
) -> None:
    out: list[str] = []
    code = Demo(api_without_venue.url, token(), "TSE", out.append, timeout=1.0).run()
    assert code == 1
    assert out[-1].startswith("demo FAILED: resting (")
    assert "did not become new" in out[-1] and "last seen: pending_new" in out[-1]


def test_demo_gives_up_at_once_when_aborted(api_without_venue: ApiProcess) -> None:
    out: list[str] = []
    began = time.monotonic()
    demo = Demo(
        api_without_venue.url, token(), "TSE", out.append, timeout=30.0, abort=lambda: "signal 15"
    )
    assert demo.run() == 1
    assert time.monotonic() - began < 10
    assert out[-1] == "demo FAILED: waiting for resting to become new: signal 15"


def test_demo_refuses_a_token_without_the_demo_accounts(api_without_venue: ApiProcess) -> None:
    out: list[str] = []
    other = mint_token("test", ["SOMEONE"], ["trade", "read"])
    assert Demo(api_without_venue.url, other, "TSE", out.append, timeout=1.0).run() == 1
    assert "submit sell: expected 202, got 403" in out[-1]
