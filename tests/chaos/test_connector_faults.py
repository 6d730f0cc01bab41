"""More chaos: a hot standby taking over, the line cut and delayed by a fault-injecting proxy, a
venue that drops outbound messages and repeats ExecutionReports, Redis SIGKILLed mid-run (AOF,
fsync always) while orders keep coming. Each ends with the same checks as the SIGKILL test
(``harness.finish``); the size is ``OG_CHAOS_ORDERS`` for every test."""

from __future__ import annotations

import asyncio
import random
import time
from pathlib import Path

import pytest
from harness import (
    Figures,
    SeqSampler,
    Stack,
    SubmitStats,
    fault_points,
    finish,
    pace,
    progress_reached,
    size,
    submit,
    wait_leader_logged_on,
)
from support.fixproxy import TO_ACCEPTOR, TO_INITIATOR, FaultProxy, msg_type
from support.procs import async_wait_until

from gateway import keys

pytestmark = [pytest.mark.chaos, pytest.mark.timeout(400)]
SID = keys.session_id("ORDERGATE", "TSE")


async def test_hot_standby_takes_over_within_two_lease_ttls(tmp_path: Path) -> None:
    n, kills, ttl = size(), 3, 3.0
    stack = Stack(tmp_path, connectors=2).start()
    fig = Figures(kills=kills)
    stats = SubmitStats()
    client = stack.client()
    t0 = time.monotonic()
    try:
        await wait_leader_logged_on(stack, t0)
        async with SeqSampler(stack) as seqs:
            assert stack.api is not None
            submitting = asyncio.create_task(
                submit(stack.api.url, n, seed=21, stats=stats, rate=pace(n, kills * 4.5))
            )
            tokens = []
            for point in fault_points(n, kills, random.Random(21)):
                await progress_reached(stats, point)
                holder = (await client.get(keys.fix_lease(SID))).decode()
                tokens.append(int(holder.rpartition("|")[2]))
                pid = int(holder.split(":")[1])
                leader = next(p for p in stack.procs if p.alive() and p.pid == pid)
                leader.kill()
                killed_at = time.monotonic()
                fig.extra.setdefault("killed_at_accepted", []).append(stats.done)
                fig.recovery_s.append(await wait_leader_logged_on(stack, killed_at, timeout=30))
                stack.procs.append(stack.new_connector())  # a new standby
            ids = await submitting
            await finish(stack, ids, fig, "standby takeover x3", t0, seqs, stats)
        final = int((await client.get(keys.fix_fence(SID))).decode())
        assert tokens == sorted(set(tokens)) and final > tokens[-1], "fencing tokens must grow"
        assert max(fig.recovery_s) < 2 * ttl + 2, fig.recovery_s  # 2x TTL (+ logon) of slack
    finally:
        await client.aclose()
        stack.stop()


async def test_line_cut_delayed_and_lossy_proxy_lose_and_duplicate_nothing(tmp_path: Path) -> None:
    n, cuts = size(), 4
    stack = Stack(tmp_path).start(connectors=False)
    assert stack.sim is not None and stack.api is not None
    proxy = FaultProxy(upstream_port=stack.sim.port).start()
    stack.fix_port = proxy.port
    fig = Figures(kills=0)
    stats = SubmitStats()
    rng = random.Random(31)
    # one-way latencies per cut (s): the cut then loses what the proxy still holds
    delays = [(0.3, 0.0), (0.0, 0.4), (0.2, 0.5), (0.0, 0.0)]
    t0 = time.monotonic()
    try:
        stack.start_connectors()
        await wait_leader_logged_on(stack, t0)
        async with SeqSampler(stack) as seqs:
            submitting = asyncio.create_task(
                submit(stack.api.url, n, seed=31, stats=stats, rate=pace(n, cuts * 3))
            )
            # orders and reports vanish on the wire (each side must ask for a resend) ...
            proxy.drop_where(TO_ACCEPTOR, lambda raw: msg_type(raw) == b"D", count=5)
            proxy.drop_where(TO_INITIATOR, lambda raw: msg_type(raw) == b"8", count=5)
            for point, (out_s, in_s) in zip(fault_points(n, cuts, rng), delays, strict=True):
                # ... the line slows down (per direction) while orders flow ...
                proxy.set_delay(TO_ACCEPTOR, out_s)
                proxy.set_delay(TO_INITIATOR, in_s)
                await progress_reached(stats, point)
                proxy.disconnect()  # ... and is cut
                cut_at = time.monotonic()
                fig.recovery_s.append(await wait_leader_logged_on(stack, cut_at, timeout=30))
            proxy.set_delay(TO_ACCEPTOR, 0.25)  # the rest of the run on a slow line
            proxy.set_delay(TO_INITIATOR, 0.25)
            ids = await submitting
            fig.extra["cuts"] = cuts
            fig.extra["dropped_on_wire"] = len(proxy.dropped)
            fig.extra["delayed_msgs"] = dict(proxy.delayed)
            fig.extra["connections"] = proxy.connections
            await finish(stack, ids, fig, "line cut x4 + delayed + lossy proxy", t0, seqs, stats)
        assert len(proxy.dropped) == 10
        assert proxy.delayed[TO_ACCEPTOR] > 0 and proxy.delayed[TO_INITIATOR] > 0
        assert proxy.connections >= cuts + 1
    finally:
        proxy.stop()
        stack.stop()


async def test_venue_dropping_outbound_and_repeating_reports_changes_nothing_twice(
    tmp_path: Path,
) -> None:
    n, rounds = size(), 10
    stack = Stack(tmp_path).start()
    fig = Figures(kills=0)
    stats = SubmitStats()
    t0 = time.monotonic()
    try:
        await wait_leader_logged_on(stack, t0)
        sim = stack.sim
        assert sim is not None and stack.api is not None
        async with SeqSampler(stack) as seqs:
            submitting = asyncio.create_task(
                submit(stack.api.url, n, seed=41, stats=stats, rate=pace(n, 8))
            )
            dups = 0
            for point in fault_points(n, rounds, random.Random(41)):
                await progress_reached(stats, point)
                await asyncio.to_thread(sim.post, "/faults", {"fault": "drop_outbound", "count": 3})
                for _ in range(5):
                    # 409 while the session is between connections or has no report yet
                    code, _ = await asyncio.to_thread(
                        sim.call, "POST", "/faults", {"fault": "duplicate_exec_report"}
                    )
                    assert code in (200, 409), code
                    dups += code == 200
            ids = await submitting
            fig.extra["duplicate_reports_injected"] = dups
            await finish(stack, ids, fig, "venue drops + duplicate reports", t0, seqs, stats)
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


async def test_redis_sigkilled_mid_run_loses_no_accepted_order(tmp_path: Path) -> None:
    """SIGKILL (no AOF flush on the way down: only ``appendfsync always`` keeps a 202 durable),
    held down while the API answers 503 to submissions that keep coming, then started on the
    same port and AOF directory. Every order answered 202 exists once, every order answered
    503 and retried with the same client_order_id exists once."""
    n, kills = size(), 2
    stack = Stack(tmp_path).start()
    fig = Figures(kills=kills)
    stats = SubmitStats()
    t0 = time.monotonic()
    try:
        await wait_leader_logged_on(stack, t0)
        assert stack.api is not None
        async with SeqSampler(stack) as seqs:
            submitting = asyncio.create_task(
                submit(stack.api.url, n, seed=51, stats=stats, rate=pace(n, kills * 5))
            )
            for point in fault_points(n, kills, random.Random(51)):
                await progress_reached(stats, point)
                before = stats.codes["503"]
                down_at = time.monotonic()
                await asyncio.to_thread(stack.redis.kill)  # the submitter keeps going meanwhile

                async def refused(before: int = before) -> bool:
                    return stats.codes["503"] >= before + 20

                await async_wait_until(refused, 30, "the API to answer 503 while Redis is down")
                fig.extra.setdefault("down_s", []).append(round(time.monotonic() - down_at, 2))
                await asyncio.to_thread(stack.redis.start)  # same port, same AOF directory
                await async_wait_until(lambda: redis_loaded(stack), 30, "Redis to load its AOF")
                fig.extra.setdefault("aof_loaded_s", []).append(
                    round(time.monotonic() - down_at, 2)
                )
                # recovered = the connector writes ahead (sends) again: its number moves on
                sending_from = seqs.last("redis_out") or 0

                async def sending(sending_from: int = sending_from) -> bool:
                    return (seqs.last("redis_out") or 0) > sending_from

                await async_wait_until(sending, 30, "the connector to send again")
                fig.recovery_s.append(time.monotonic() - down_at)
            ids = await submitting
            retried = sum(1 for a in stats.answers if "503" in a and a[-1] in ("200", "202"))
            fig.extra["orders_503_then_accepted"] = retried
            # 200 = "already accepted": an earlier attempt was written but its answer lost
            fig.extra["answered_200"] = [a for a in stats.answers if a[-1] == "200"][:5]
            await finish(stack, ids, fig, "Redis SIGKILLed x2", t0, seqs, stats)
        assert stats.codes["503"] >= 20 * kills
        assert retried > 0, "no order went through the 503 + retry path"
    finally:
        stack.stop()
