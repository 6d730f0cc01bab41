"""Orders submitted through the API while the connector is SIGKILLed and restarted: nothing is
lost, nothing reaches the venue twice, sequence numbers never go back or reset, final states
agree."""

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

pytestmark = [pytest.mark.chaos, pytest.mark.timeout(600)]


async def test_sigkilled_connector_restarts_lose_and_duplicate_nothing(tmp_path: Path) -> None:
    n, kills = size(), 5
    stack = Stack(tmp_path).start()
    fig = Figures(kills=kills)
    rng = random.Random(5)
    stats = SubmitStats()
    at = fault_points(n, kills, rng)  # each kill also waits for the previous restart's logon
    t0 = time.monotonic()
    try:
        await wait_leader_logged_on(stack, t0)
        async with SeqSampler(stack) as seqs:
            assert stack.api is not None
            submitting = asyncio.create_task(
                submit(stack.api.url, n, seed=11, stats=stats, rate=pace(n, kills * 5))
            )
            for point in at:
                await progress_reached(stats, point)
                stack.procs[-1].kill()
                killed_at = time.monotonic()
                fig.extra.setdefault("killed_at_accepted", []).append(stats.done)
                stack.procs.append(stack.new_connector())
                fig.recovery_s.append(await wait_leader_logged_on(stack, killed_at, timeout=30))
            ids = await submitting
            await finish(stack, ids, fig, "SIGKILL x5 + restart", t0, seqs, stats)
        assert max(fig.recovery_s) < 15, fig.recovery_s
    finally:
        stack.stop()
