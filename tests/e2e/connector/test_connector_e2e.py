"""End to end with real processes: redis-server, ``ordergate simulator``, ``ordergate api``,
``ordergate connector``; orders go in through the API and come back filled in Redis."""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from support.api import ApiProcess, bearer, order_body
from support.connector_proc import ConnectorProcess
from support.procs import RedisServer, wait_until
from support.simulator_proc import SimulatorProcess

pytestmark = [pytest.mark.e2e, pytest.mark.timeout(120)]
ROOT = Path(__file__).resolve().parents[3]


@pytest.fixture(scope="module")
def stack() -> Iterator[dict[str, Any]]:
    redis = RedisServer(aof=True).start()
    sim = SimulatorProcess("--phase", "continuous").start()
    api = ApiProcess(redis.url).start()
    conn = ConnectorProcess(redis.url, sim.port).start()
    try:
        wait_until(lambda: sim.session_state("ORDERGATE")["logged_on"], 20, "connector logon")
        yield {"redis": redis, "sim": sim, "api": api, "conn": conn}
    finally:
        conn.stop()
        api.stop()
        sim.stop()
        redis.stop()


@pytest.fixture
def http(stack: dict[str, Any]) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=stack["api"].url, headers=bearer(["B1", "S1"]), timeout=10) as c:
        yield c


def wait_status(http: httpx.Client, oid: str, status: str) -> dict[str, Any]:
    seen: dict[str, Any] = {}

    def ok() -> bool:
        seen.update(http.get(f"/v1/orders/{oid}").json())
        return seen.get("status") == status

    wait_until(ok, 20, f"order {oid} {status} (last: {seen.get('status')})")
    return seen


def steps(http: httpx.Client, oid: str) -> list[str]:
    return [s["step"] for s in http.get(f"/v1/orders/{oid}/trail").json()["steps"]]


def test_crossing_orders_through_the_api_end_filled_with_a_complete_trail(
    http: httpx.Client,
) -> None:
    sell = http.post(
        "/v1/orders",
        json=order_body(account="S1", client_order_id="e2e-s", side="sell", price="2851"),
    )
    buy = http.post(
        "/v1/orders",
        json=order_body(account="B1", client_order_id="e2e-b", side="buy", price="2851"),
    )
    assert sell.status_code == buy.status_code == 202
    for oid in (sell.json()["order_id"], buy.json()["order_id"]):
        o = wait_status(http, oid, "filled")
        assert o["filled_quantity"] == 100 if "filled_quantity" in o else o["cum_qty"] == 100
        assert steps(http, oid) == ["received", "enqueued", "sent", "acknowledged", "filled"]
        sent = http.get(f"/v1/orders/{oid}/trail").json()["steps"][2]
        assert sent["component"] == "connector" and sent["detail"]["seq"] > 1


def test_replace_then_cancel_reach_the_venue_and_come_back(
    http: httpx.Client, stack: dict[str, Any]
) -> None:
    r = http.post(
        "/v1/orders", json=order_body(account="B1", client_order_id="e2e-r", price="2800")
    )
    oid = r.json()["order_id"]
    wait_status(http, oid, "new")
    assert http.patch(f"/v1/orders/{oid}", json={"quantity": 300}).status_code == 202
    o = wait_status(http, oid, "replaced")
    assert o["quantity"] == 300
    assert http.delete(f"/v1/orders/{oid}").status_code == 202
    wait_status(http, oid, "canceled")
    assert steps(http, oid) == [
        "received", "enqueued", "sent", "acknowledged",
        "replace_requested", "sent", "replaced",
        "cancel_requested", "sent", "canceled",
    ]  # fmt: skip
    trail = http.get(f"/v1/orders/{oid}/trail").json()["steps"]
    kinds = [s["detail"]["msg_type"] for s in trail if s["step"] == "sent"]
    assert kinds == ["D", "G", "F"]
    venue = stack["sim"].order(oid)
    assert venue is not None and venue["status"] == "canceled" and venue["order_qty"] == 300


def test_status_command_shows_leader_sequence_numbers_and_no_lag(
    stack: dict[str, Any], http: httpx.Client
) -> None:
    info: dict[str, Any] = {}

    def settled() -> bool:
        out = subprocess.run(
            [
                sys.executable,
                "-m",
                "gateway.cli",
                "status",
                "--redis",
                stack["redis"].url,
                "--json",
            ],
            capture_output=True,
            text=True,
            cwd=ROOT,
            timeout=30,
            check=True,
        )
        info.update(json.loads(out.stdout))
        return info["state"] == "logged_on" and info["total_pending"] == 0

    wait_until(settled, 20, "status to show the session logged on with nothing pending")
    assert info["leader"] and info["fencing_token"] >= 1
    assert info["next_out_seq"] > 1 and info["next_in_seq"] > 1
    assert info["in_flight_orders"] == 0 and info["total_lag"] == 0


def test_connector_starts_from_flags_alone_and_refuses_bad_ones() -> None:
    bad = subprocess.run(
        [
            sys.executable,
            "-m",
            "gateway.cli",
            "connector",
            "--connect",
            "nowhere",
            "--hours",
            "always",
        ],
        capture_output=True,
        text=True,
        cwd=ROOT,
        timeout=30,
    )
    assert bad.returncode == 2 and "HOST:PORT" in bad.stderr


def test_connector_process_is_the_one_leading(stack: dict[str, Any]) -> None:
    assert isinstance(stack["conn"], ConnectorProcess) and stack["conn"].alive()


def test_cancel_on_disconnect_by_the_venue_reaches_the_order_after_restart() -> None:
    redis = RedisServer(aof=True).start()
    sim = SimulatorProcess("--phase", "continuous", "--cancel-on-disconnect").start()
    api = ApiProcess(redis.url).start()
    conn = ConnectorProcess(redis.url, sim.port).start()
    try:
        wait_until(lambda: sim.session_state("ORDERGATE")["logged_on"], 20, "connector logon")
        with httpx.Client(base_url=api.url, headers=bearer(["B1"]), timeout=10) as http:
            r = http.post(
                "/v1/orders", json=order_body(account="B1", client_order_id="cod", price="2800")
            )
            oid = r.json()["order_id"]
            wait_status(http, oid, "new")
            conn.kill()  # SIGKILL: the venue sees the line drop and cancels the resting order
            wait_until(lambda: not sim.session_state("ORDERGATE")["logged_on"], 10, "drop seen")
            conn = ConnectorProcess(redis.url, sim.port).start()
            o = wait_status(http, oid, "canceled")
            assert o["status"] == "canceled"
            assert steps(http, oid)[-1] == "canceled"
    finally:
        conn.stop()
        api.stop()
        sim.stop()
        redis.stop()


def _status_cli(redis_url: str, *flags: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "gateway.cli", "status", "--redis", redis_url, *flags],
        capture_output=True,
        text=True,
        cwd=ROOT,
        timeout=30,
    )


def test_resend_range_reapplies_a_venue_report_idempotently(
    stack: dict[str, Any], http: httpx.Client
) -> None:
    import redis as sync_redis

    from gateway import keys

    sid = keys.session_id("ORDERGATE", "TSE")
    r = http.post(
        "/v1/orders", json=order_body(account="B1", client_order_id="e2e-rr", price="2700")
    )
    oid = r.json()["order_id"]
    wait_status(http, oid, "new")
    trail = http.get(f"/v1/orders/{oid}/trail").json()["steps"]
    (ack,) = [s for s in trail if s["step"] == "acknowledged"]
    seq = ack["detail"]["in_seq"]
    order = http.get(f"/v1/orders/{oid}").json()
    client = sync_redis.Redis.from_url(stack["redis"].url)
    try:

        def duplicates() -> int:
            return int(client.hget(keys.fix_status(sid), "duplicates") or 0)

        before = duplicates()
        assert _status_cli(stack["redis"].url, "--resend", f"{seq}-x").returncode == 2
        done = _status_cli(stack["redis"].url, "--resend", f"{seq}-{seq}", "--by", "e2e")
        assert done.returncode == 0, done.stderr
        wait_until(lambda: duplicates() > before, 20, "the resent report applied as a duplicate")
        audit = [json.loads(x)["step"] for x in client.lrange(keys.fix_audit(sid), 0, -1)]
        assert audit[-2:] == ["admin_resend_requested", "admin_resend_range"]
    finally:
        client.close()
    assert http.get(f"/v1/orders/{oid}").json() == order  # nothing changed
    assert http.get(f"/v1/orders/{oid}/trail").json()["steps"] == trail
