"""``ordergate loadtest`` against a whole real stack (``ordergate up``: Redis, exchange simulator,
FIX connector, API): the stages seen on the live stream in a plausible order for every order,
the HTML report rendered by headless Chromium, cancels and replaces timed to the venue's answer,
and the market-open rehearsal draining its backlog."""

from __future__ import annotations

import csv
import json
import math
import os
import re
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from support.stack import ROOT, UpProcess

pytestmark = [pytest.mark.e2e, pytest.mark.timeout(180)]
LOADTEST = [sys.executable, "-m", "gateway.cli", "loadtest"]
CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[UpProcess]:
    up = UpProcess(tmp_path_factory.mktemp("up"), "--api-port", "0").start()
    try:
        up.wait_ready()
        yield up
    finally:
        up.stop()


def _loadtest(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [*LOADTEST, *args], capture_output=True, text=True, timeout=120, cwd=str(ROOT)
    )


@pytest.fixture(scope="module")
def submit_run(stack: UpProcess, tmp_path_factory: pytest.TempPathFactory) -> Path:
    out_dir = tmp_path_factory.mktemp("report")
    proc = _loadtest(
        "--url", stack.value("API_URL"), "--rate", "100", "--duration", "2",
        "--account-prefix", "STG", "--report", str(out_dir), "--processes", "2",
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr + proc.stdout
    return out_dir


def _ms(text: str) -> float:
    return float(text) if text else math.nan


def test_every_order_is_accepted_then_acknowledged_then_filled_in_that_order(
    submit_run: Path,
) -> None:
    report: dict[str, Any] = json.loads((submit_run / "report.json").read_text())
    stages = report["stages"]
    assert stages["accept"]["count"] == stages["ack"]["count"] == 200
    assert report["unanswered"]["ack"] == {"count": 0, "orders": []}
    assert stages["fill"]["count"] > 0  # the seeded orders cross each other
    assert stages["fill"]["count"] + report["unanswered"]["fill"]["count"] == 200
    rows = list(csv.DictReader((submit_run / "orders.csv").open()))
    assert len(rows) == 200
    for row in rows:
        accept, ack, fill = (_ms(row[k]) for k in ("accept_ms", "ack_ms", "fill_ms"))
        assert 0 < accept <= ack, row
        assert math.isnan(fill) or ack <= fill, row
    assert sum(not math.isnan(_ms(r["fill_ms"])) for r in rows) == stages["fill"]["count"]


def test_the_html_report_renders_its_charts_in_chromium(submit_run: Path, tmp_path: Path) -> None:
    if CHROMIUM is None:
        if os.environ.get("CI"):
            pytest.fail("chromium is required in CI (.ci/run installs it)")
        pytest.skip("chromium is not installed (apt-get install -y chromium); CI runs this")
    dom = subprocess.run(
        [
            CHROMIUM, "--headless", "--no-sandbox", "--disable-gpu",
            "--disable-background-networking", "--disable-component-update", "--disable-sync",
            "--no-first-run", f"--user-data-dir={tmp_path / 'profile'}", "--dump-dom",
            (submit_run / "report.html").as_uri(),
        ],
        capture_output=True, text=True, timeout=90,
    ).stdout  # fmt: skip
    charts = re.findall(r'<svg class="chart" data-chart="(\w+)"', dom)
    assert charts == ["percentiles", "rate", "p99"], dom[:500]
    lines = {
        name: dict(re.findall(r'data-series="([^"]+)" data-points="(\d+)"', svg))
        for name, svg in zip(charts, dom.split('<svg class="chart"')[1:], strict=True)
    }
    assert int(lines["percentiles"]["accept"]) > 5 and int(lines["percentiles"]["ack"]) > 5
    assert int(lines["rate"]["offered"]) >= 2 and int(lines["rate"]["2xx"]) >= 2
    assert int(lines["p99"]["ack"]) >= 2
    assert "Stages (ms from when the request was due)" in dom


def test_cancels_and_replaces_are_done_when_the_venue_answers(
    stack: UpProcess, tmp_path: Path
) -> None:
    proc = _loadtest(
        "--url", stack.value("API_URL"), "--rate", "200", "--duration", "2",
        "--profile", "mixed", "--account-prefix", "MXD", "--json", str(tmp_path / "r.json"),
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    r = json.loads((tmp_path / "r.json").read_text())
    changes = sum(r["operations"][op]["statuses"].get("202", 0) for op in ("cancel", "replace"))
    assert changes > 0
    # every change the API accepted was answered by the venue (done, or refused by it), or
    # the order ended first (a fill that completed it while the change was on its way)
    answered = r["stages"]["done"]["count"] + r["changes_refused_by_venue"]
    assert answered + r["changes_overtaken_by_fill"] == changes
    assert r["unanswered"]["done"]["count"] == 0


def test_open_burst_queues_a_backlog_in_pre_open_and_drains_it_at_the_open(
    stack: UpProcess, tmp_path: Path
) -> None:
    sim = stack.simulator_url()
    proc = _loadtest(
        "--url", stack.value("API_URL"), "--rate", "200", "--duration", "2",
        "--profile", "open-burst", "--backlog", "300", "--simulator", sim,
        "--account-prefix", "OPN", "--report", str(tmp_path),
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    r = json.loads((tmp_path / "report.json").read_text())
    backlog, opened = r["phases"]
    assert backlog["phase"] == "backlog" and opened["phase"] == "open"
    assert backlog["orders_accepted"] == backlog["acked"] == 300
    assert 0 < backlog["reached_exchange_s"] <= r["market_opened_s"]
    assert opened["first_due_s"] >= r["market_opened_s"]
    assert backlog["stages"]["ack"]["count"] == 300
    assert opened["acked"] == opened["orders_accepted"] == r["stages"]["accept"]["count"] > 0
    assert r["unanswered"]["ack"]["count"] == 0
    assert "Market-open rehearsal" in (tmp_path / "report.html").read_text()
    state = httpx.get(f"{sim}/state", timeout=5).json()
    assert (state["phase"], state["phase_pinned"]) == ("continuous", True)  # as it was
