"""``bench/drain.py`` runs end to end with a handful of orders (so the bench cannot rot): both the
ordergate connector and the QuickFIX initiator drain every order (acknowledged and filled), and
the figures it reports are consistent with each other. Not a timing test."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

pytest.importorskip("quickfix")

pytestmark = [pytest.mark.e2e, pytest.mark.interop, pytest.mark.timeout(240)]
ROOT = Path(__file__).resolve().parents[2]
N = 200


@pytest.fixture(scope="module")
def result(tmp_path_factory: pytest.TempPathFactory) -> dict:
    out = tmp_path_factory.mktemp("drain") / "drain.json"
    argv = [sys.executable, "-m", "bench.drain", "--orders", str(N), "--runs", "1"]
    argv += ["--timeout", "90", "--json", str(out)]
    run = subprocess.run(argv, cwd=ROOT, capture_output=True, text=True, timeout=230)
    assert run.returncode == 0, run.stdout + run.stderr
    assert "ratio" in run.stdout  # the table was printed
    return json.loads(out.read_text())


def test_the_connector_drains_every_queued_order_into_a_fill_applied_once(result: dict) -> None:
    og = result["runs"][0]["ordergate"]["drained"]
    assert og["venue_orders_received"] == N and og["venue_reports_written"] == 2 * N
    assert og["order_statuses"] == {"filled": N} and og["all_filled"]
    c = og["connector"]
    assert c["sent"] == N and c["reports"] == c["applied"] == 2 * N
    assert c["duplicates"] == c["refused"] == c["ignored"] == 0 and c["logons"] == 1


def test_the_quickfix_initiator_sends_the_same_orders_and_reads_every_report(
    result: dict,
) -> None:
    qf = result["runs"][0]["quickfix"]["drained"]
    assert qf["venue_orders_received"] == qf["sent"] == N
    assert qf["venue_reports_written"] == qf["reports"] == 2 * N
    assert qf["acks"] == qf["fills"] == qf["distinct_filled"] == N and qf["all_filled"]
    assert qf["callback_errors"] == []


def test_the_figures_agree_with_each_other(result: dict) -> None:
    (run,) = result["runs"]
    assert result["orders"] == N
    procs = {"ordergate": {"connector", "redis", "venue"}, "quickfix": {"initiator", "venue"}}
    for side, names in procs.items():
        s = run[side]
        assert s["orders"] == N and s["wall_s"] > 0
        assert s["orders_per_s"] == pytest.approx(N / s["wall_s"], rel=0.01)
        assert set(s["cpu_us_per_order"]) == names
        assert all(v >= 0 for v in s["cpu_us_per_order"].values())
        total = sum(s["cpu_us_per_order"].values())
        assert s["cpu_us_per_order_total"] == pytest.approx(total, abs=0.2)
        # the first and the last order reached the venue inside the measured window
        d = s["drained"]
        first, last = d["venue_first_order_after_logon_s"], d["venue_last_order_after_logon_s"]
        assert 0 <= first <= last <= s["wall_s"]
    # each initiator worked in the window (a few ms of the venue's may round to nothing)
    assert run["ordergate"]["cpu_us_per_order"]["connector"] > 0
    assert run["quickfix"]["cpu_us_per_order"]["initiator"] > 0
    ratio = run["ordergate"]["orders_per_s"] / run["quickfix"]["orders_per_s"]
    assert run["ratio"] == pytest.approx(ratio, abs=0.01)
    summary = result["summary"]
    assert summary["ratio"] == run["ratio"] and summary["run_ratios"] == [run["ratio"]]
    assert summary["target_ratio"] == 1.5
    assert summary["met"] == (summary["ratio"] >= 1.5)
    # each writes to Redis per order: its write-ahead and one applied report at the least
    assert run["ordergate"]["redis_commands_per_order"] >= 2
    assert result["per_order_work"]["ordergate_only"] and result["per_order_work"]["quickfix_only"]
