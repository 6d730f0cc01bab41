"""``bench/e2e.py`` runs end to end on a real stack (a small step, so the bench cannot rot): every
order is accepted, acknowledged and filled, and the figures it reports agree with each other (no
timing: whether a step is sustained is the bench's judgement, not the test's)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = [pytest.mark.e2e, pytest.mark.timeout(180)]
ROOT = Path(__file__).resolve().parents[2]


def test_a_small_step_is_sustained_with_every_order_acknowledged_and_filled(
    tmp_path: Path,
) -> None:
    out = tmp_path / "e2e.json"
    argv = [sys.executable, "-m", "bench.e2e", "--rates", "100", "--seconds", "1"]
    argv += ["--warmup", "0", "--accounts", "4", "--json", str(out)]
    run = subprocess.run(argv, cwd=ROOT, capture_output=True, text=True, timeout=170)
    assert run.returncode == 0, run.stdout + run.stderr
    (step,) = json.loads(out.read_text())["steps"]
    assert step["accepted"] == step["planned"] == 100
    assert step["open_after_drain"] == 0 and step["unanswered"] == 0
    # every order's 202, exchange ack and fill were seen (on the live stream), in that order
    assert step["accept_ms"]["count"] == step["ack_ms"]["count"] == step["fill_ms"]["count"] == 100
    assert 0 <= step["accept_ms"]["p50"] <= step["ack_ms"]["p50"] <= step["fill_ms"]["p50"]
    assert step["ack_ms"]["max"] <= step["fill_ms"]["max"]
    assert set(step["cpu_us_per_order"]) == {"redis", "simulator", "connector", "api-1"}
    assert all(v > 0 for v in step["cpu_us_per_order"].values())
    # a submit is at least one Lua call; each report applied is another
    assert step["redis_lua_calls_per_order"] >= 1
