"""``ordergate loadtest`` end to end: a real ``ordergate api`` on a real redis-server, the load
test run as the command a user types, its JSON report checked against what Redis holds."""

from __future__ import annotations

import json
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import httpx
import jwt
import redis.asyncio as aioredis
from support.api import ROOT, ApiProcess
from support.procs import RedisServer, free_port

from gateway import keys
from gateway.auth import mint_token
from simulators.loadgen.profiles import account_names

ORDERGATE = [sys.executable, "-m", "gateway.cli", "loadtest"]


def _loadtest(*args: str, timeout: float = 60) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [*ORDERGATE, *args], capture_output=True, text=True, timeout=timeout, cwd=str(ROOT)
    )


def _run(api: ApiProcess, tmp_path: Path, profile: str, prefix: str) -> dict[str, Any]:
    out = tmp_path / "out.json"
    proc = _loadtest(
        "--url", api.url, "--rate", "300", "--duration", "2", "--profile", profile,
        "--accounts", "20", "--account-prefix", prefix, "--json", str(out), "--no-stream",
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr + proc.stdout
    assert "Traceback" not in proc.stderr
    report: dict[str, Any] = json.loads(out.read_text())
    assert f"ordergate loadtest: {profile} at 300/s" in proc.stdout  # the table, too
    return report


async def _orders_in_redis(r: aioredis.Redis, prefix: str) -> dict[str, int]:
    """Orders of the run's accounts by status (from the accounts' order sets)."""
    by_status: dict[str, int] = {}
    for account in account_names(20, prefix):
        p = keys.partition_of(account)
        for order_id in await r.zrange(keys.account_orders(p, account), 0, -1):
            status = (await r.hget(keys.order(p, order_id.decode()), "status") or b"").decode()
            by_status[status] = by_status.get(status, 0) + 1
    return by_status


def _sane(latency: dict[str, Any]) -> None:
    assert latency["count"] > 0
    assert 0 < latency["p50"] <= latency["p99"] <= latency["max"] < 5000


async def test_submit_profile_every_order_accepted_and_stored(
    api: ApiProcess, redis_client: aioredis.Redis, tmp_path: Path
) -> None:
    report = _run(api, tmp_path, "submit", "LTS")
    assert report["planned"] == report["sent"] == 600
    assert report["statuses"] == {"202": 600} and report["accepted"] == 600
    assert report["errors"] == {}
    assert report["token"].startswith("development token")
    submit = report["operations"]["submit"]
    _sane(submit["latency_from_due_ms"])
    _sane(submit["latency_from_write_ms"])
    assert sum(s["due"] for s in report["timeline"]) == 600
    assert report["stages"]["accept"]["count"] == 600
    assert report["generator"]["send_lateness_ms"]["count"] == 600
    assert await _orders_in_redis(redis_client, "LTS") == {"pending_new": 600}


async def test_mixed_profile_cancels_replaces_and_reads_its_own_orders(
    api: ApiProcess, redis_client: aioredis.Redis, tmp_path: Path
) -> None:
    report = _run(api, tmp_path, "mixed", "LTM")
    assert report["sent"] == report["answered"]
    assert (
        report["sent"] + sum(op["skipped_no_order_id"] for op in report["operations"].values())
        == 600
    )
    assert not [s for s in report["statuses"] if int(s) >= 500]
    assert not {"connection", "timeout"} & set(report["errors"])
    ops = report["operations"]
    assert ops["cancel"]["statuses"].get("202", 0) > 0
    assert ops["replace"]["statuses"].get("202", 0) > 0
    assert ops["get"]["statuses"].get("200", 0) > 0
    for op in ("submit", "cancel", "replace", "get"):
        _sane(ops[op]["latency_from_due_ms"])
    stored = await _orders_in_redis(redis_client, "LTM")
    assert sum(stored.values()) == ops["submit"]["statuses"]["202"]
    assert stored.get("pending_cancel", 0) == ops["cancel"]["statuses"]["202"]
    assert stored.get("pending_replace", 0) == ops["replace"]["statuses"]["202"]


def test_bad_arguments_exit_2_with_a_precise_message() -> None:
    proc = _loadtest("--url", "ftp://127.0.0.1:8080", "--rate", "10", "--duration", "1")
    assert proc.returncode == 2
    assert "--url 'ftp://127.0.0.1:8080': the scheme must be http or https" in proc.stderr
    proc = _loadtest("--url", "http://127.0.0.1:8080", "--rate", "0")
    assert proc.returncode == 2 and "argument --rate: must be > 0, got '0'" in proc.stderr
    proc = _loadtest("--url", "http://127.0.0.1:8080", "--profile", "burst")
    assert proc.returncode == 2 and "invalid choice: 'burst'" in proc.stderr


def test_unreachable_api_exits_1_without_a_traceback() -> None:
    url = f"http://127.0.0.1:{free_port()}"
    proc = _loadtest("--url", url, "--rate", "10", "--duration", "1", timeout=20)
    assert proc.returncode == 1
    assert f"ordergate loadtest: cannot reach {url}:" in proc.stderr
    assert "Traceback" not in proc.stderr and proc.stdout == ""


def test_a_production_api_is_refused_and_refuses_development_tokens(
    redis_server: RedisServer,
) -> None:
    """A load test never reaches production by mistake: loadtest stops at /healthz's
    environment, and even when told to go on, the API refuses a token minted for development
    (``og_dev`` claim), though signed with its own production secret."""
    secret = "production-secret-of-at-least-32-bytes!"
    env = {"OG_ENVIRONMENT": "production", "OG_JWT_SECRET": secret}
    proc = ApiProcess(redis_server.url, env=env).start()
    try:
        out = _loadtest("--url", proc.url, "--rate", "10", "--duration", "1", "--no-stream")
        assert out.returncode == 2, out.stderr
        assert "says environment production: refusing" in out.stderr
        minted = mint_token("dev", ["LTP00", "LTP01"], secret=secret)
        out = _loadtest(
            "--url", proc.url, "--rate", "10", "--duration", "1", "--no-stream",
            "--accounts", "2", "--account-prefix", "LTP", "--token", minted,
            "--i-know-this-is-production",
        )  # fmt: skip
        assert out.returncode == 1
        assert "the API refused the token for account LTP00 (401" in out.stderr
        # a token without the development claim, from the production issuer, is served
        claims = {"sub": "ops", "accounts": ["LTP00"], "scope": "read", "exp": time.time() + 60}
        issued = jwt.encode(claims, secret, algorithm="HS256")
        r = httpx.get(
            f"{proc.url}/v1/orders?account=LTP00", headers={"Authorization": f"Bearer {issued}"}
        )
        assert r.status_code == 200
    finally:
        proc.stop()
