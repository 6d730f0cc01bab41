"""Orders submitted through the API while the connector is SIGKILLed and restarted: nothing is
lost, nothing reaches the venue twice, sequence numbers never reset, final states agree."""

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

pytestmark = [pytest.mark.chaos, pytest.mark.timeout(600)]


async def test_sigkilled_connector_restarts_lose_and_duplicate_nothing(tmp_path: Path) -> None:
    n, kills = size(20_000), 5
    stack = Stack(tmp_path).start()
    fig = Figures(kills=kills)
    rng = random.Random(5)
    client = stack.client()
    t0 = time.monotonic()
    try:
        await wait_leader_logged_on(stack, t0)
        submitting = asyncio.create_task(submit(stack.api.url, n, seed=11))  # type: ignore[union-attr]
        seqs = [await session_seqs(client)]
        for _ in range(kills):
            # let it send for a random while, then kill it mid-stream
            await asyncio.sleep(rng.uniform(0.3, 1.5))
            stack.procs[-1].kill()
            killed_at = time.monotonic()
            seqs.append(await session_seqs(client))
            stack.procs.append(stack.new_connector())
            fig.recovery_s.append(await wait_leader_logged_on(stack, killed_at, timeout=30))
        ids = await submitting
        ours, venue = await converged(stack, ids, timeout=120)
        seqs.append(await session_seqs(client))
        fig.elapsed_s = time.monotonic() - t0
        fig.extra["next_out_seq"] = seqs[-1][0]
        check_exactly_once(ids, ours, venue, fig)
        fig.show("SIGKILL x5 + restart")
        if fig.lost:
            print(await diagnose(stack, ids, venue))
            print(stack.logs())
        assert_exactly_once(fig)
        assert [s[0] for s in seqs] == sorted(s[0] for s in seqs), f"outbound seq went back: {seqs}"
        assert seqs[-1][0] > n, "outbound sequence numbers were reset"
        assert max(fig.recovery_s) < 15, fig.recovery_s
    finally:
        await client.aclose()
        logs = stack.logs()
        stack.stop()
    assert logs is not None
