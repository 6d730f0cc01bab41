"""The load generator against a real local HTTP sink (``support.http_sink``, real sockets):
the schedule stays open loop when the server is slow; several generator processes add up to
the one schedule; ``--slo`` exits 3 and the report says which objective was missed; a
production target is refused; the progress line's rules; the report directory."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from support.http_sink import Sink
from support.procs import free_port, wait_until

from gateway.auth import mint_token
from simulators.loadgen import slo
from simulators.loadgen.driver import FILL_QUIET_S, Driver, drained, parse_url
from simulators.loadgen.latency import summary
from simulators.loadgen.profiles import RateSchedule, make_requests
from simulators.loadgen.progress import line, wanted
from simulators.loadgen.runner import Tick

ROOT = Path(__file__).resolve().parents[2]
LOADTEST = [sys.executable, "-m", "gateway.cli", "loadtest"]


async def test_the_schedule_stays_open_loop_against_a_slow_server() -> None:
    """Every answer is held 300 ms: a closed-loop client would send ~connections per 300 ms;
    this one sends each request when due, and the wait is charged to the server."""
    sink = await Sink(delay=0.3).start()
    try:
        driver = Driver(parse_url(f"http://127.0.0.1:{sink.port}"), "t", connections=4)
        await driver.connect()
        requests = make_requests("submit", ["LT00", "LT01"], "ol", 1, 1)
        schedule = RateSchedule(400, 1.5)
        start = time.perf_counter() + 0.05
        driver.set_zero(start)
        await driver.run(requests, schedule, start)
        d = driver.data
        # everything went out when due, not when answered: a closed-loop client with 4
        # connections and a 300 ms hold sends at most ~14 requests a second (~45 s for 600).
        # The bounds are generous, so a descheduled generator on a busy machine still passes.
        assert d.sent == schedule.total == 600
        assert d.send_seconds < 1.5 + 2.0
        assert d.due_per_s[:1] == [400] and d.sent_per_s[0] >= 200
        assert summary(d.lateness)["p99"] < 1000  # ms
        await driver.drain(5.0)
        driver.close()
    finally:
        await sink.close()
    assert d.answered == 600 and d.timeouts == 0
    due = summary(d.from_due["submit"])
    assert due["p50"] >= 300 and due["max"] < 5000  # the server's hold, charged from due


def test_progress_is_written_to_a_terminal_or_when_asked_and_never_when_quiet() -> None:
    class Out:
        def __init__(self, tty: bool) -> None:
            self.tty = tty

        def isatty(self) -> bool:
            return self.tty

    assert wanted(False, False, Out(True))  # type: ignore[arg-type]
    assert not wanted(False, False, Out(False))  # type: ignore[arg-type]
    assert wanted(False, True, Out(False))  # type: ignore[arg-type]
    assert not wanted(True, True, Out(True))  # type: ignore[arg-type]


def test_the_progress_line_adds_up_every_generator() -> None:
    ticks = [
        Tick(0, 1, due=150, sent=300, answered=290, ok=140, errors=2, in_flight=10, awaiting=7),
        Tick(1, 1, due=150, sent=299, answered=295, ok=145, errors=0, in_flight=4, awaiting=3),
    ]
    text = line(1, 10, ticks)
    assert text.startswith("[   2/10 s] offered 300/s achieved 285/s  errors 2  in flight 14")
    assert "awaiting exchange 10" in text and "p99 ms: accept -, ack -" in text


def test_slo_objectives_parse_and_name_what_they_missed() -> None:
    objectives = slo.parse("ack_p99_ms=10, accept_p999_ms=5,errors=0")
    report: dict[str, Any] = {
        "errors": {"rate_limited": 3},
        "stages": {
            "accept": {"p999": 4.0},
            "ack": {"p99": 12.5},
        },
    }
    results = slo.check(report, objectives)
    assert [r["met"] for r in results] == [False, True, False]
    assert slo.missed(results) == ["ack_p99_ms 12.5 > 10", "errors 3 > 0"]
    report["stages"]["ack"]["p99"] = None
    assert slo.missed(slo.check(report, objectives[:1])) == [
        "ack_p99_ms: nothing measured (limit 10)"
    ]
    for bad in ("ack_p98_ms=1", "fill_p99=3", "errors", "errors=-1", "ack_p99_ms=x", ""):
        with pytest.raises(ValueError, match="--slo"):
            slo.parse(bad)


# --- the command, against a sink process --------------------------------------------------


def _sink(delay: float = 0.0, environment: str = "development") -> Iterator[str]:
    port = free_port()
    proc = subprocess.Popen(
        [sys.executable, "-m", "support.http_sink", str(port), str(delay), environment],
        cwd=ROOT / "tests",
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert proc.stdout is not None
        assert proc.stdout.readline().startswith("sink on"), "the sink did not start"
        yield f"http://127.0.0.1:{port}"
    finally:
        proc.terminate()
        proc.wait(10)


@pytest.fixture(scope="module")
def sink_url() -> Iterator[str]:
    yield from _sink()


def _loadtest(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [*LOADTEST, *args], capture_output=True, text=True, timeout=60, cwd=str(ROOT)
    )


def test_a_missed_slo_exits_3_and_the_report_says_which(sink_url: str, tmp_path: Path) -> None:
    out = _loadtest(
        "--url", sink_url, "--rate", "200", "--duration", "1", "--no-stream",
        "--slo", "accept_p99_ms=0.001,errors=0", "--report", str(tmp_path),
    )  # fmt: skip
    assert out.returncode == 3, out.stderr
    assert "thresholds missed: accept_p99_ms " in out.stderr and "> 0.001" in out.stderr
    report = json.loads((tmp_path / "report.json").read_text())
    assert [(r["objective"], r["met"]) for r in report["slo"]] == [
        ("accept_p99_ms", False),
        ("errors", True),
    ]
    assert "SLO: 1 missed: accept_p99_ms" in (tmp_path / "report.html").read_text()


def test_a_met_slo_exits_0(sink_url: str) -> None:
    out = _loadtest(
        "--url", sink_url, "--rate", "200", "--duration", "1", "--no-stream",
        "--slo", "accept_p99_ms=5000,errors=0",
    )  # fmt: skip
    assert out.returncode == 0, out.stderr


def test_a_bad_slo_exits_2(sink_url: str) -> None:
    out = _loadtest("--url", sink_url, "--slo", "ack_p42_ms=1")
    assert out.returncode == 2 and "--slo 'ack_p42_ms'" in out.stderr


def test_generator_processes_share_the_schedule_and_add_up(sink_url: str, tmp_path: Path) -> None:
    out = _loadtest(
        "--url", sink_url, "--rate", "300", "--duration", "2", "--no-stream",
        "--processes", "3", "--accounts", "6", "--json", str(tmp_path / "r.json"),
    )  # fmt: skip
    assert out.returncode == 0, out.stderr
    r = json.loads((tmp_path / "r.json").read_text())
    assert r["generator"]["processes"] == 3
    assert r["planned"] == r["sent"] == r["answered"] == 600
    assert r["stages"]["accept"]["count"] == 600
    assert [s["due"] for s in r["timeline"][:2]] == [300, 300]
    assert out.stderr == ""  # no progress: stderr is not a terminal and --progress not given


def test_progress_lines_when_asked(sink_url: str) -> None:
    out = _loadtest(
        "--url", sink_url, "--rate", "100", "--duration", "2", "--no-stream", "--progress"
    )
    assert out.returncode == 0, out.stderr
    lines = [x for x in out.stderr.splitlines() if x.startswith("[")]
    assert lines[0].startswith("[   1/2 s] offered 100/s")
    assert "p99 ms: accept " in lines[0]


def test_a_production_target_is_refused_unless_acknowledged() -> None:
    for url in _sink(environment="production"):
        out = _loadtest("--url", url, "--rate", "10", "--duration", "1", "--no-stream")
        assert out.returncode == 2
        assert "says environment production: refusing" in out.stderr
        out = _loadtest(
            "--url", url, "--rate", "10", "--duration", "1", "--no-stream",
            "--i-know-this-is-production",
        )  # fmt: skip
        assert out.returncode == 2 and "pass --token" in out.stderr
        token = mint_token(
            "ops", ["LT00", "LT01"], secret="a-production-secret-long-enough-for-hs256"
        )
        out = _loadtest(
            "--url", url, "--rate", "10", "--duration", "1", "--no-stream", "--accounts", "2",
            "--i-know-this-is-production", "--token", token,
        )  # fmt: skip
        assert out.returncode == 0, out.stderr


def test_the_report_directory_holds_json_html_and_every_order(
    sink_url: str, tmp_path: Path
) -> None:
    out = _loadtest(
        "--url", sink_url, "--rate", "100", "--duration", "1", "--no-stream",
        "--report", str(tmp_path / "rep"),
    )  # fmt: skip
    assert out.returncode == 0, out.stderr
    r = json.loads((tmp_path / "rep" / "report.json").read_text())
    for key in ("target_rate", "achieved_rate", "duration_s", "errors", "stages", "timeline"):
        assert key in r
    assert set(r["stages"]["accept"]) == {"count", "p50", "p90", "p99", "p999", "max"}
    html = (tmp_path / "rep" / "report.html").read_text()
    assert html.count("<svg") == 3  # self-contained: nothing fetched
    assert "<script" not in html and "<link" not in html and "src=" not in html
    assert 'data-series="accept"' in html


def test_ctrl_c_stops_every_generator_and_exits_130(sink_url: str) -> None:
    proc = subprocess.Popen(
        [*LOADTEST, "--url", sink_url, "--rate", "200", "--duration", "30", "--no-stream",
         "--processes", "2", "--accounts", "4", "--progress"],
        cwd=str(ROOT), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        start_new_session=True,  # its own group, as a terminal runs a job
    )  # fmt: skip
    try:
        assert proc.stderr is not None
        assert proc.stderr.readline().startswith("[   1/30 s]")  # the load is running
        os.killpg(proc.pid, signal.SIGINT)  # what Ctrl-C sends to the foreground group
        _, err = proc.communicate(timeout=30)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == 130
    assert "interrupted: no report" in err and "Traceback" not in err
    wait_until(lambda: not _group_alive(proc.pid), 10, "every generator process gone")


def _group_alive(pgid: int) -> bool:
    try:
        os.killpg(pgid, 0)
    except ProcessLookupError:
        return False
    return True


def test_drain_waits_for_answers_and_acks_first() -> None:
    assert not drained(in_flight=1, pending=0, resting=0, quiet_for=9.0)
    assert not drained(in_flight=0, pending=1, resting=0, quiet_for=9.0)
    assert drained(in_flight=0, pending=0, resting=0, quiet_for=0.0)


def test_drain_waits_for_fills_that_follow_the_last_ack_until_they_stop_coming() -> None:
    # the last ack is in but two orders still have no fill: a crossing order's fills arrive
    # right behind it, so stopping now would report filled orders as resting
    assert not drained(in_flight=0, pending=0, resting=2, quiet_for=0.0)
    assert not drained(in_flight=0, pending=0, resting=2, quiet_for=FILL_QUIET_S / 2)
    # nothing changed for the quiet period: those orders really rest
    assert drained(in_flight=0, pending=0, resting=2, quiet_for=FILL_QUIET_S)
