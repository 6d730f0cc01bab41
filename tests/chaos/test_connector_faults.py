"""More chaos: a hot standby taking over, the line cut by a fault-injecting proxy, a venue that
drops outbound messages and repeats ExecutionReports, Redis restarted mid-run (AOF, fsync always).
Each ends with the same checks as the SIGKILL test; sizes from ``OG_CHAOS_ORDERS``."""

from __future__ import annotations

import asyncio
import random
import time
from pathlib import Path

import pytest
from harness import (
    Figures,
    Stack,
    assert_exactly_once,
    check_exactly_once,
    converged,
    diagnose,
    session_seqs,
    size,
    submit,
    wait_leader_logged_on,
)
from support.fixproxy import TO_ACCEPTOR, TO_INITIATOR, FaultProxy, msg_type
from support.procs import async_wait_until

from gateway import keys

pytestmark = [pytest.mark.chaos, pytest.mark.timeout(400)]
SID = keys.session_id("ORDERGATE", "TSE")


async def finish(stack: Stack, ids: list[str], fig: Figures, name: str, t0: float) -> None:
    ours, venue = await converged(stack, ids, timeout=120)
    fig.elapsed_s = time.monotonic() - t0
    check_exactly_once(ids, ours, venue, fig)
    fig.show(name)
    if fig.lost or fig.mismatched:
        print(await diagnose(stack, ids, venue))
        print(stack.logs())
    assert_exactly_once(fig)


async def test_hot_standby_takes_over_within_two_lease_ttls(tmp_path: Path) -> None:
    n, kills, ttl = size(3000), 3, 3.0
    stack = Stack(tmp_path, connectors=2).start()
    fig = Figures(kills=kills)
    client = stack.client()
    t0 = time.monotonic()
    try:
        await wait_leader_logged_on(stack, t0)
        submitting = asyncio.create_task(submit(stack.api.url, n, seed=21))  # type: ignore[union-attr]
        tokens = []
        for _ in range(kills):
            await asyncio.sleep(random.uniform(0.3, 1.0))
            holder = (await client.get(keys.fix_lease(SID))).decode()
            tokens.append(int(holder.rpartition("|")[2]))
            pid = int(holder.split(":")[1])
            leader = next(p for p in stack.procs if p.alive() and p.pid == pid)
            leader.kill()
            killed_at = time.monotonic()
            fig.recovery_s.append(await wait_leader_logged_on(stack, killed_at, timeout=30))
            stack.procs.append(stack.new_connector())  # a new standby
        ids = await submitting
        await finish(stack, ids, fig, "standby takeover x3", t0)
        final = int((await client.get(keys.fix_fence(SID))).decode())
        assert tokens == sorted(set(tokens)) and final > tokens[-1], "fencing tokens must grow"
        assert max(fig.recovery_s) < 2 * ttl + 2, fig.recovery_s  # 2x TTL (+ logon) of slack
        assert (await session_seqs(client))[0] > n
    finally:
        await client.aclose()
        stack.stop()


async def test_line_cut_and_lossy_proxy_lose_and_duplicate_nothing(tmp_path: Path) -> None:
    n, cuts = size(3000), 4
    stack = Stack(tmp_path).start(connectors=False)
    assert stack.sim is not None and stack.api is not None
    proxy = FaultProxy(upstream_port=stack.sim.port).start()
    stack.fix_port = proxy.port
    fig = Figures(kills=0)
    t0 = time.monotonic()
    try:
        stack.start_connectors()
        await wait_leader_logged_on(stack, t0)
        submitting = asyncio.create_task(submit(stack.api.url, n, seed=31))
        # orders and reports vanish on the wire (each side must ask for a resend) ...
        proxy.drop_where(TO_ACCEPTOR, lambda raw: msg_type(raw) == b"D", count=5)
        proxy.drop_where(TO_INITIATOR, lambda raw: msg_type(raw) == b"8", count=5)
        for _ in range(cuts):  # ... and the line is cut
            await asyncio.sleep(random.uniform(0.3, 1.0))
            proxy.disconnect()
            cut_at = time.monotonic()
            await async_wait_until(
                lambda: asyncio.to_thread(lambda: proxy.connections > 0), 5, "reconnect"
            )
            fig.recovery_s.append(await wait_leader_logged_on(stack, cut_at, timeout=30))
        ids = await submitting
        fig.extra["cuts"] = cuts
        fig.extra["dropped_on_wire"] = len(proxy.dropped)
        await finish(stack, ids, fig, "line cut x4 + lossy proxy", t0)
        assert len(proxy.dropped) == 10
    finally:
        proxy.stop()
        stack.stop()


async def test_venue_dropping_outbound_and_repeating_reports_changes_nothing_twice(
    tmp_path: Path,
) -> None:
    n = size(3000)
    stack = Stack(tmp_path).start()
    fig = Figures(kills=0)
    t0 = time.monotonic()
    try:
        await wait_leader_logged_on(stack, t0)
        submitting = asyncio.create_task(submit(stack.api.url, n, seed=41))  # type: ignore[union-attr]
        sim = stack.sim
        assert sim is not None
        dups = 0
        for _ in range(10):
            await asyncio.sleep(0.2)
            await asyncio.to_thread(sim.post, "/faults", {"fault": "drop_outbound", "count": 3})
            for _ in range(5):
                # 409 while the session is between connections or has no report yet: next round
                code, _ = await asyncio.to_thread(
                    sim.call, "POST", "/faults", {"fault": "duplicate_exec_report"}
                )
                assert code in (200, 409), code
                dups += code == 200
        ids = await submitting
        fig.extra["duplicate_reports_injected"] = dups
        await finish(stack, ids, fig, "venue drops + duplicate reports", t0)
        counters = sim.session_state("ORDERGATE")["counters"]
        print(
            f"[chaos] venue duplicates sent={counters['duplicates_sent']} "
            f"resend requests received={counters['resend_requests_received']}"
        )
        assert dups > 0 and counters["duplicates_sent"] > 0
        assert counters["resend_requests_received"] > 0  # the drops were noticed and recovered
    finally:
        stack.stop()


async def redis_loaded(stack: Stack) -> bool:
    client = stack.client()
    try:
        return int((await client.info("persistence"))["loading"]) == 0
    except Exception:
        return False
    finally:
        await client.aclose()


async def test_redis_restarted_mid_run_loses_nothing(tmp_path: Path) -> None:
    n, restarts = size(3000), 2
    stack = Stack(tmp_path).start()
    fig = Figures(kills=0)
    t0 = time.monotonic()
    try:
        await wait_leader_logged_on(stack, t0)
        submitting = asyncio.create_task(submit(stack.api.url, n, seed=51))  # type: ignore[union-attr]
        for _ in range(restarts):
            await asyncio.sleep(random.uniform(0.5, 1.5))
            down_at = time.monotonic()
            stack.redis.restart()  # SIGTERM (AOF fsync always), start on the same port and dir
            await async_wait_until(lambda: redis_loaded(stack), 30, "Redis to load its AOF")
            fig.recovery_s.append(time.monotonic() - down_at)
        ids = await submitting
        fig.extra["redis_restarts"] = restarts
        await finish(stack, ids, fig, "Redis restarted x2", t0)
        client = stack.client()
        assert (await session_seqs(client))[0] > n
        await client.aclose()
    finally:
        stack.stop()
