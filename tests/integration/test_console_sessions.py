"""Without ``--session`` the console shows the ``ORDERGATE-><venue>`` sessions that have state in
Redis, and finds one that appears after it started (no restart needed)."""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest
import redis
from support.console import ConsoleProcess
from support.procs import RedisServer

from gateway import keys
from gateway.auth import mint_token

pytestmark = pytest.mark.integration


@pytest.fixture
def console(redis_server: RedisServer) -> Iterator[ConsoleProcess]:
    redis.Redis.from_url(redis_server.url).flushall()
    proc = ConsoleProcess(redis_server.url).start()
    try:
        yield proc
    finally:
        proc.stop()


def overview(console: ConsoleProcess) -> str:
    token = mint_token("ops", [], ["ops:read"])
    resp = httpx.get(console.url + "/", headers={"Authorization": f"Bearer {token}"})
    assert resp.status_code == 200
    return resp.text


def test_a_session_that_appears_later_is_shown_with_its_published_state(
    console: ConsoleProcess, redis_server: RedisServer
) -> None:
    assert "No FIX session has state in Redis yet" in overview(console)
    session = keys.session_id("ORDERGATE", "JNX")
    r = redis.Redis.from_url(redis_server.url)
    r.hset(keys.fix_status(session), mapping={"state": "logged_on", "role": "leader"})
    r.set(keys.fix_lease(session), "host:1|7")
    r.hset(keys.fix_state(session), mapping={"next_sender": 12, "next_target": 9})
    page = overview(console)
    assert f'data-session="{session.replace(">", "&gt;")}"' in page
    assert "logged_on" in page and "<dd>7</dd>" in page and "12 / 9" in page
