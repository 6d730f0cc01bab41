"""Several sessions from a config file on one simulator: cancel-on-disconnect reported at the next
logon, Logon passwords, orders of two sessions trading with each other, per-session faults."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from support.procs import wait_until
from support.simulator_proc import SimulatorProcess, logged_on_peer, quickfix_initiator

pytestmark = [pytest.mark.interop, pytest.mark.e2e]

SYMBOL = "7203"
CONFIG = """
[simulator]
phase = "continuous"

[defaults]
HeartBtInt = 30

[[session]]
SenderCompID = "TSE"
TargetCompID = "COD"
cancel_on_disconnect = true

[[session]]
SenderCompID = "TSE"
TargetCompID = "KEEP"

[[session]]
SenderCompID = "TSE"
TargetCompID = "SECURE"
Password = "s3cret"

[[session]]
SenderCompID = "TSE"
TargetCompID = "LIMITED"
max_order_value = "1000000"
"""


@pytest.fixture(scope="module")
def sim(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SimulatorProcess]:
    proc = SimulatorProcess(config=CONFIG, workdir=tmp_path_factory.mktemp("sim")).start()
    yield proc
    assert proc.stop() == 0, proc.log()


@pytest.fixture(autouse=True)
def clean(sim: SimulatorProcess) -> None:
    sim.post("/reset", {})


def test_cancel_on_disconnect_cancels_and_reports_at_the_next_logon(
    sim: SimulatorProcess, tmp_path: Path
) -> None:
    with logged_on_peer(sim, tmp_path / "1", sender="COD") as peer:
        peer.new_order("a", SYMBOL, "1", 100, "2800")
        peer.wait_app(lambda f: f.get("11") == "a" and f.get("150") == "0")
    row = sim.order("a")
    assert row is not None and row["status"] == "canceled"
    assert sim.session_state("COD")["counters"]["pending_reports"] == 1
    with logged_on_peer(sim, tmp_path / "2", sender="COD") as again:
        canceled = again.wait_app(lambda f: f.get("11") == "a" and f.get("150") == "4")
        assert canceled["58"].startswith("cancel_on_disconnect")
    assert sim.session_state("COD")["counters"]["canceled_on_disconnect"] == 1


def test_without_cancel_on_disconnect_orders_rest_and_fills_wait_for_the_logon(
    sim: SimulatorProcess, tmp_path: Path
) -> None:
    with logged_on_peer(sim, tmp_path / "1", sender="KEEP") as peer:
        peer.new_order("rest", SYMBOL, "2", 100, "2850")
        peer.wait_app(lambda f: f.get("11") == "rest" and f.get("150") == "0")
    with logged_on_peer(sim, tmp_path / "2", sender="COD") as other:
        other.new_order("take", SYMBOL, "1", 100, "2850")
        other.wait_app(lambda f: f.get("11") == "take" and f.get("150") == "F")
    assert sim.session_state("KEEP")["counters"]["pending_reports"] == 1
    with logged_on_peer(sim, tmp_path / "3", sender="KEEP") as back:
        fill = back.wait_app(lambda f: f.get("11") == "rest" and f.get("150") == "F")
        assert (fill["31"], fill["39"]) == ("2850", "2")


def test_logon_with_the_wrong_password_is_refused(sim: SimulatorProcess, tmp_path: Path) -> None:
    peer = quickfix_initiator(sim, tmp_path, sender="SECURE", password="wrong")
    try:
        refusal = peer.wait_for(lambda e: e["ev"] == "admin_in" and e["msg_type"] == "5")
        assert "Password" in refusal["fields"]["58"]
        assert peer.count("logon") == 0
    finally:
        peer.kill()
    wait_until(lambda: sim.session_state("SECURE")["counters"]["logons_refused"] >= 1, 5, "counted")


def test_logon_with_the_right_password_is_accepted(sim: SimulatorProcess, tmp_path: Path) -> None:
    with logged_on_peer(sim, tmp_path, sender="SECURE", password="s3cret") as peer:
        assert peer.count("logon") == 1


def test_fault_without_a_session_is_refused_when_there_are_several(sim: SimulatorProcess) -> None:
    status, body = sim.call("POST", "/faults", {"fault": "disconnect"})
    assert status == 400 and body["code"] == "session_required"


def test_fault_for_an_unknown_session_is_refused(sim: SimulatorProcess) -> None:
    status, body = sim.call("POST", "/faults", {"fault": "disconnect", "session": "NOPE"})
    assert status == 400 and body["code"] == "unknown_session"


def test_fault_names_its_session_by_target_comp_id(sim: SimulatorProcess, tmp_path: Path) -> None:
    with logged_on_peer(sim, tmp_path, sender="KEEP") as peer:
        mark = peer.mark()
        record = sim.post("/faults", {"fault": "reject_next_orders", "session": "KEEP"})
        assert record["sessions"] == ["FIX.4.4:TSE->KEEP"]
        peer.new_order("a", SYMBOL, "1", 100, "2800")
        assert peer.wait_app(lambda f: f.get("11") == "a", start=mark)["150"] == "8"
    assert sim.session_state("COD")["faults"]["reject_next_orders"] == 0


def test_order_above_the_sessions_hard_limit_is_rejected(
    sim: SimulatorProcess, tmp_path: Path
) -> None:
    with logged_on_peer(sim, tmp_path, sender="LIMITED") as peer:
        peer.new_order("big", SYMBOL, "1", 400, "2800")  # 1,120,000 yen > 1,000,000
        peer.new_order("ok", SYMBOL, "1", 300, "2800")  # 840,000 yen
        big = peer.wait_app(lambda f: f.get("11") == "big")
        ok = peer.wait_app(lambda f: f.get("11") == "ok")
    assert (big["150"], big["103"], big["58"].split(":")[0]) == ("8", "3", "hard_limit_exceeded")
    assert ok["150"] == "0"


def test_hard_limits_of_one_session_do_not_apply_to_another(
    sim: SimulatorProcess, tmp_path: Path
) -> None:
    with logged_on_peer(sim, tmp_path, sender="KEEP") as peer:
        peer.new_order("big", SYMBOL, "1", 400, "2800")
        assert peer.wait_app(lambda f: f.get("11") == "big")["150"] == "0"
