"""The ``ordergate simulator`` process and its control API, driven over real HTTP (and through
``ordergate simulator-ctl``): answers, precise 400s, phases, reset; two venues side by side."""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from support.simulator_proc import ROOT, SimulatorProcess, logged_on_peer

pytestmark = pytest.mark.e2e


@pytest.fixture(scope="module")
def sim(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SimulatorProcess]:
    proc = SimulatorProcess(
        "--phase",
        "continuous",
        "--clock",
        "2026-11-30T10:00:00+09:00",
        workdir=tmp_path_factory.mktemp("sim"),
    ).start()
    yield proc
    assert proc.stop() == 0, proc.log()


def ctl(sim: SimulatorProcess, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [
            sys.executable,
            "-m",
            "gateway.cli",
            "simulator-ctl",
            "--port",
            str(sim.control_port),
            *args,
        ],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=30,
    )


def test_state_shows_venue_phase_clock_and_the_session(sim: SimulatorProcess) -> None:
    state = sim.get("/state")
    assert (state["venue"], state["phase"], state["phase_pinned"]) == ("TSE", "continuous", True)
    assert state["clock"].startswith("2026-11-30T10:00:00")
    (session,) = state["sessions"]
    assert session["session"] == "FIX.4.4:TSE->ORDERGATE"
    assert {"next_inbound_seq", "next_outbound_seq", "status", "counters"} <= set(session)


def test_book_of_a_known_symbol_has_base_price_and_empty_sides(sim: SimulatorProcess) -> None:
    sim.post("/reset", {})
    book = sim.get("/books/7203")
    assert (book["base_price"], book["bids"], book["asks"]) == ("2850", [], [])


def test_book_of_an_unknown_symbol_is_404(sim: SimulatorProcess) -> None:
    status, body = sim.call("GET", "/books/0000")
    assert status == 404 and body["code"] == "unknown_symbol"


def test_book_levels_show_price_quantity_and_count(sim: SimulatorProcess, tmp_path: Path) -> None:
    sim.post("/reset", {})
    with logged_on_peer(sim, tmp_path) as peer:
        for cl in ("a", "b"):
            peer.new_order(cl, "7203", "1", 100, "2800")
        peer.new_order("c", "7203", "2", 200, "2900")
        peer.wait_app(lambda f: f.get("11") == "c")
        book = sim.get("/books/7203")
    assert book["bids"] == [{"price": "2800", "quantity": 200, "count": 2}]
    assert book["asks"] == [{"price": "2900", "quantity": 200, "count": 1}]


@pytest.mark.parametrize(
    ("body", "code"),
    [
        ({"fault": "explode"}, "bad_fault"),
        ({"fault": "drop_outbound", "cnt": 1}, "bad_fault"),
        ({"fault": "drop_outbound", "count": "two"}, "bad_fault"),
        ({"fault": "refuse_logons"}, "bad_fault"),
        ([1, 2], "bad_json"),
    ],
)
def test_bad_fault_request_answers_400_and_changes_nothing(
    sim: SimulatorProcess, body: object, code: str
) -> None:
    before = sim.get("/state")["faults"]
    status, answer = sim.call("POST", "/faults", body)
    assert status == 400 and answer["code"] == code and answer["message"]
    assert sim.get("/state")["faults"] == before


def test_body_that_is_not_json_answers_400(sim: SimulatorProcess) -> None:
    import urllib.error
    import urllib.request

    req = urllib.request.Request(
        f"http://127.0.0.1:{sim.control_port}/phase", data=b"{nope", method="POST"
    )
    with pytest.raises(urllib.error.HTTPError) as info:
        urllib.request.urlopen(req, timeout=5)
    assert info.value.code == 400
    assert json.loads(info.value.read())["code"] == "bad_json"


def test_unknown_phase_answers_400(sim: SimulatorProcess) -> None:
    status, body = sim.call("POST", "/phase", {"phase": "siesta"})
    assert status == 400 and body["code"] == "unknown_phase"


def test_unknown_path_answers_404_json(sim: SimulatorProcess) -> None:
    status, body = sim.call("GET", "/nope")
    assert status == 404 and body["code"] == "not_found"


def test_pinning_closed_then_orders_are_rejected_as_market_closed(
    sim: SimulatorProcess, tmp_path: Path
) -> None:
    sim.post("/reset", {})
    assert sim.post("/phase", {"phase": "closed"})["phase"] == "closed"
    try:
        with logged_on_peer(sim, tmp_path) as peer:
            peer.new_order("a", "7203", "1", 100, "2800")
            rejected = peer.wait_app(lambda f: f.get("11") == "a")
            assert (rejected["150"], rejected["58"].split(":")[0]) == ("8", "market_closed")
    finally:
        sim.post("/phase", {"phase": "continuous"})


def test_orders_lists_every_order_message_with_its_status(
    sim: SimulatorProcess, tmp_path: Path
) -> None:
    sim.post("/reset", {})
    with logged_on_peer(sim, tmp_path) as peer:
        peer.new_order("a", "7203", "1", 100, "2800")
        peer.cancel("a-c", "a", "7203", "1", 100)
        peer.wait_app(lambda f: f.get("11") == "a-c")
    rows = {r["cl_ord_id"]: r for r in sim.get("/orders")["orders"]}
    assert set(rows) == {"a", "a-c"}
    assert (rows["a"]["msg_type"], rows["a"]["received"], rows["a"]["status"]) == (
        "D",
        1,
        "canceled",
    )
    assert rows["a-c"]["msg_type"] == "F"


def test_reset_forgets_orders(sim: SimulatorProcess, tmp_path: Path) -> None:
    with logged_on_peer(sim, tmp_path) as peer:
        peer.new_order("r", "7203", "1", 100, "2800")
        peer.wait_app(lambda f: f.get("11") == "r")
    sim.post("/reset", {})
    assert sim.get("/orders")["orders"] == []
    assert sim.get("/books/7203")["bids"] == []


def test_ctl_prints_the_state_as_json(sim: SimulatorProcess) -> None:
    done = ctl(sim, "state")
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)["venue"] == "TSE"


def test_ctl_injects_a_fault_visible_in_the_state(sim: SimulatorProcess) -> None:
    done = ctl(sim, "fault", "delay_outbound", "ms=0")
    assert done.returncode == 0, done.stderr
    assert sim.get("/state")["faults"][-1]["fault"] == "delay_outbound"


def test_ctl_refused_fault_exits_1_with_the_reason(sim: SimulatorProcess) -> None:
    done = ctl(sim, "fault", "explode")
    assert done.returncode == 1 and "unknown fault 'explode'" in done.stderr


def test_two_venues_run_side_by_side(tmp_path: Path) -> None:
    tse = SimulatorProcess("--venue", "TSE", "--phase", "continuous", workdir=tmp_path)
    pts = SimulatorProcess(
        "--venue", "JNX", "--sender-comp-id", "JNX", "--phase", "continuous", workdir=tmp_path
    )
    tse.start()
    try:
        pts.start()
        try:
            assert tse.get("/state")["venue"] == "TSE" and pts.get("/state")["venue"] == "JNX"
            with (
                logged_on_peer(tse, tmp_path / "t") as a,
                logged_on_peer(pts, tmp_path / "p", target="JNX") as b,
            ):
                a.new_order("x", "7203", "1", 100, "2800")
                b.new_order("x", "7203", "1", 100, "2800")
                assert a.wait_app(lambda f: f.get("11") == "x")["150"] == "0"
                assert b.wait_app(lambda f: f.get("11") == "x")["150"] == "0"
                b.new_order("y", "3656", "1", 100, "500")  # listed on the TSE only
                refused = b.wait_app(lambda f: f.get("11") == "y")
                assert refused["58"].startswith("unknown_symbol")
        finally:
            assert pts.stop() == 0, pts.log()
    finally:
        assert tse.stop() == 0, tse.log()


def test_bad_config_file_exits_2_naming_the_key(tmp_path: Path) -> None:
    path = tmp_path / "bad.toml"
    path.write_text('[[session]]\nSenderCompID = "TSE"\nTargetCompID = "X"\nHeartBtInt = "soon"\n')
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "gateway.cli",
            "simulator",
            "--config",
            str(path),
            "--port",
            "0",
            "--control-port",
            "0",
        ],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert done.returncode == 2 and "HeartBtInt" in done.stderr


def test_orders_shows_a_rejected_order_as_rejected(sim: SimulatorProcess, tmp_path: Path) -> None:
    sim.post("/reset", {})
    with logged_on_peer(sim, tmp_path) as peer:
        peer.new_order("bad", "0000", "1", 100, "100")
        peer.cancel("c", "nope", "7203", "1", 100)
        peer.wait_app(lambda f: f.get("11") == "c")
    rows = {r["cl_ord_id"]: r for r in sim.get("/orders")["orders"]}
    assert rows["bad"]["status"] == rows["c"]["status"] == "rejected"
