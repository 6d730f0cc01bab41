"""Operator commands through ``ordergate status``: audited in the session's trail."""

from __future__ import annotations

import argparse
import asyncio
import json
from typing import Any

import pytest
from support.fix_venue import VenueHandle, connector_config
from support.procs import async_wait_until

from connector import status_cli
from connector.service import Connector
from gateway import keys

pytestmark = pytest.mark.integration
SID = keys.session_id("ORDERGATE", "TSE")


def cli(redis_url: str, *flags: str) -> int:
    parser = argparse.ArgumentParser()
    status_cli.add_arguments(parser)
    return status_cli.run(parser.parse_args(["--redis", redis_url, *flags]))


async def audit(redis: Any) -> list[str]:
    return [json.loads(x)["step"] for x in await redis.lrange(keys.fix_audit(SID), 0, -1)]


@pytest.fixture
async def leader(redis_client: Any, redis_server: Any, venue: VenueHandle) -> Any:
    conn = Connector(connector_config(redis_server.url, venue.port), redis_client)
    task = asyncio.create_task(conn.run())
    await async_wait_until(lambda: _true(venue.session.logged_on), 10, "logon")
    await async_wait_until(lambda: _true(conn.role == "leader"), 10, "leader")
    yield conn
    conn.stop()
    await asyncio.wait_for(task, 20)  # a clean stop is bounded (Logout timeout)


async def _true(v: bool) -> bool:
    return v


async def test_sequence_reset_needs_yes_and_is_audited(
    redis_client: Any, redis_server: Any, venue: VenueHandle, leader: Connector
) -> None:
    assert await asyncio.to_thread(cli, redis_server.url, "--reset-seq") == 2
    assert await audit(redis_client) == []
    before = venue.session.next_target_seq
    assert before > 1
    assert (
        await asyncio.to_thread(cli, redis_server.url, "--reset-seq", "--yes", "--by", "op-1") == 0
    )
    await async_wait_until(
        lambda: _true(
            venue.venue.logons >= 2
            and venue.session.logged_on
            and venue.session.next_target_seq <= 2
        ),
        15,
        "the venue to see a Logon with ResetSeqNumFlag",
    )
    steps = await audit(redis_client)
    assert steps == ["admin_reset_requested", "admin_reset_sequence"]


async def test_logout_command_logs_out_stops_and_is_audited(
    redis_client: Any, redis_server: Any, venue: VenueHandle, leader: Connector
) -> None:
    assert await asyncio.to_thread(cli, redis_server.url, "--logout") == 0
    await async_wait_until(lambda: _true(leader.role == "stopping"), 10, "the leader to stop")
    assert await audit(redis_client) == ["admin_logout_requested", "admin_logout"]
    await async_wait_until(lambda: _true(not venue.session.logged_on), 10, "logged out")


async def test_status_reports_the_leader_and_sequence_numbers(
    redis_client: Any, leader: Connector
) -> None:
    info = await status_cli.collect(redis_client, "TSE", SID, 16)
    assert info["leader"] == leader.lease.holder and info["fencing_token"] == leader.lease.token
    assert info["next_out_seq"] >= 2 and info["total_pending"] == 0


async def test_resend_range_past_the_last_received_is_refused_and_audited(
    redis_client: Any, redis_server: Any, venue: VenueHandle, leader: Connector
) -> None:
    assert leader.session is not None
    last = leader.session.next_target_seq - 1
    assert await asyncio.to_thread(cli, redis_server.url, "--resend", f"1-{last + 5}") == 0

    async def audited() -> bool:
        return len(await audit(redis_client)) == 2

    await async_wait_until(audited, 10, "the refusal audited")
    rows = [json.loads(x) for x in await redis_client.lrange(keys.fix_audit(SID), 0, -1)]
    assert [r["step"] for r in rows] == ["admin_resend_requested", "admin_refused"]
    assert "reaches past" in rows[-1]["detail"]["result"]
    assert leader.session.core.replay_window is None
