"""Every fault of the control API injected into a real simulator process while a real QuickFIX
initiator is logged on; QuickFIX recovers each time (resend, gap fill, reconnect) and no
session-level Reject is exchanged. Each fault is visible in GET /state afterwards.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from support.procs import wait_until
from support.qfix_peer import QuickFixPeer
from support.simulator_proc import SimulatorProcess, logged_on_peer

pytestmark = [pytest.mark.interop, pytest.mark.e2e]

SYMBOL = "7203"


@pytest.fixture(scope="module")
def sim(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SimulatorProcess]:
    proc = SimulatorProcess("--phase", "continuous", workdir=tmp_path_factory.mktemp("sim"))
    proc.start()
    yield proc
    assert proc.stop() == 0, proc.log()


@pytest.fixture
def peer(sim: SimulatorProcess, tmp_path: Path) -> Iterator[QuickFixPeer]:
    # HeartBtInt 30: no Heartbeat can slip in between a fault and the message it is meant for
    sim.post("/reset", {})
    with logged_on_peer(sim, tmp_path, heartbeat=30) as p:
        yield p


def new_report(peer: QuickFixPeer, cl_ord_id: str, start: int = 0) -> dict[str, str]:
    return peer.wait_app(
        lambda f: f.get("11") == cl_ord_id and f.get("150") == "0",
        what=f"New report for {cl_ord_id}",
        start=start,
    )


def inject(sim: SimulatorProcess, body: dict[str, object]) -> dict[str, object]:
    record = sim.post("/faults", body)
    assert sim.get("/state")["faults"][-1] == record  # logged and visible in the state
    return record


def test_dropped_reports_are_recovered_by_resend_request(
    sim: SimulatorProcess, peer: QuickFixPeer
) -> None:
    inject(sim, {"fault": "drop_outbound", "count": 2})
    mark = peer.mark()
    for cl in ("a", "b", "c"):
        peer.new_order(cl, SYMBOL, "1", 100, "2800")
    resent = [new_report(peer, cl, mark) for cl in ("a", "b")]
    new_report(peer, "c", mark)
    assert all(r.get("43") == "Y" and "122" in r for r in resent)
    assert peer.count("admin_out", "2") >= 1  # QuickFIX asked for the resend
    assert sim.session_state()["counters"]["resend_requests_received"] >= 1


def test_skipped_sequence_numbers_are_gap_filled(sim: SimulatorProcess, peer: QuickFixPeer) -> None:
    inject(sim, {"fault": "skip_seq", "count": 3})
    mark = peer.mark()
    peer.new_order("a", SYMBOL, "1", 100, "2800")
    new_report(peer, "a", mark)
    gap_fill = peer.wait_for(
        lambda e: e["ev"] == "admin_in" and e["msg_type"] == "4", what="SequenceReset-GapFill"
    )
    assert gap_fill["fields"]["123"] == "Y"
    peer.new_order("b", SYMBOL, "1", 100, "2800")
    new_report(peer, "b", mark)


def test_garbled_report_is_dropped_by_quickfix_and_resent(
    sim: SimulatorProcess, peer: QuickFixPeer
) -> None:
    inject(sim, {"fault": "garble_next"})
    mark = peer.mark()
    peer.new_order("a", SYMBOL, "1", 100, "2800")
    peer.new_order("b", SYMBOL, "1", 100, "2800")
    first = new_report(peer, "a", mark)
    new_report(peer, "b", mark)
    assert first.get("43") == "Y"  # it only arrived through the resend


def test_delayed_reports_arrive_no_sooner_than_the_delay(
    sim: SimulatorProcess, peer: QuickFixPeer
) -> None:
    inject(sim, {"fault": "delay_outbound", "ms": 300})
    mark = peer.mark()
    peer.new_order("a", SYMBOL, "1", 100, "2800")
    sent = peer.wait_for(
        lambda e: e["ev"] == "app_out" and e["fields"].get("11") == "a", start=mark
    )
    got = peer.wait_for(lambda e: e["ev"] == "app_in" and e["fields"].get("11") == "a", start=mark)
    assert got["t"] - sent["t"] >= 0.3
    assert sim.session_state()["faults"]["delay_outbound_ms"] == 300
    inject(sim, {"fault": "delay_outbound", "ms": 0})
    assert sim.session_state()["faults"]["delay_outbound_ms"] == 0


def test_duplicate_report_carries_possdup_and_the_same_exec_id(
    sim: SimulatorProcess, peer: QuickFixPeer
) -> None:
    peer.new_order("a", SYMBOL, "1", 100, "2800")
    original = new_report(peer, "a")
    mark = peer.mark()
    inject(sim, {"fault": "duplicate_exec_report"})
    copy = peer.wait_app(lambda f: f.get("17") == original["17"], start=mark)
    assert copy["43"] == "Y" and copy["122"] and int(copy["34"]) > int(original["34"])


def test_injected_rejects_refuse_exactly_the_next_n_orders(
    sim: SimulatorProcess, peer: QuickFixPeer
) -> None:
    inject(sim, {"fault": "reject_next_orders", "count": 2})
    for cl in ("a", "b", "c"):
        peer.new_order(cl, SYMBOL, "1", 100, "2800")
    new_report(peer, "c")
    rejects = [m for m in peer.app_messages("8") if m["150"] == "8"]
    assert [(m["11"], m["103"]) for m in rejects] == [("a", "0"), ("b", "0")]
    assert all(m["58"].startswith("injected_reject") for m in rejects)


def test_disconnect_drops_the_line_and_quickfix_logs_on_again(
    sim: SimulatorProcess, peer: QuickFixPeer
) -> None:
    mark = peer.mark()
    inject(sim, {"fault": "disconnect"})
    peer.wait_for(lambda e: e["ev"] == "logout", start=mark, what="line drop")
    peer.wait_logon(start=mark)
    peer.new_order("a", SYMBOL, "1", 100, "2800")
    new_report(peer, "a", mark)


def test_refused_logons_are_answered_with_logout_until_the_time_passes(
    sim: SimulatorProcess, peer: QuickFixPeer
) -> None:
    mark = peer.mark()
    inject(sim, {"fault": "refuse_logons", "seconds": 3})
    inject(sim, {"fault": "disconnect"})
    refusal = peer.wait_for(
        lambda e: e["ev"] == "admin_in" and e["msg_type"] == "5", start=mark, what="refusal"
    )
    assert "refuse" in refusal["fields"].get("58", "")
    peer.wait_logon(start=mark, timeout=15)
    assert sim.session_state()["logged_on"]


def test_stopped_heartbeats_make_quickfix_test_the_line_and_it_stays_up(
    sim: SimulatorProcess, tmp_path: Path
) -> None:
    sim.post("/reset", {})
    with logged_on_peer(sim, tmp_path, heartbeat=1) as peer:
        heartbeats_stop_and_resume(sim, peer)


def heartbeats_stop_and_resume(sim: SimulatorProcess, peer: QuickFixPeer) -> None:
    inject(sim, {"fault": "stop_heartbeats"})
    mark = peer.mark()
    peer.wait_for(
        lambda e: e["ev"] == "admin_out" and e["msg_type"] == "1", start=mark, what="TestRequest"
    )
    assert sim.session_state()["faults"]["heartbeats_stopped"]
    inject(sim, {"fault": "clear"})
    mark = peer.mark()
    peer.wait_for(
        lambda e: e["ev"] == "admin_in" and e["msg_type"] == "0" and "112" not in e["fields"],
        start=mark,
        what="a regular Heartbeat again",
    )
    assert peer.count("logout") == 0


def test_kill_switch_cancels_open_orders_and_refuses_new_ones(
    sim: SimulatorProcess, peer: QuickFixPeer
) -> None:
    peer.new_order("a", SYMBOL, "1", 100, "2800")
    new_report(peer, "a")
    answer = sim.post("/kill-switch", {"active": True})
    assert answer["canceled"] == 1
    canceled = peer.wait_app(lambda f: f.get("11") == "a" and f.get("150") == "4")
    assert canceled["58"].startswith("kill_switch")
    peer.new_order("b", SYMBOL, "1", 100, "2800")
    refused = peer.wait_app(lambda f: f.get("11") == "b")
    assert (refused["150"], refused["58"].split(":")[0]) == ("8", "kill_switch")
    sim.post("/kill-switch", {"active": False})
    peer.new_order("c", SYMBOL, "1", 100, "2800")
    new_report(peer, "c")
    wait_until(lambda: not sim.session_state()["kill_switch"], 5, "kill switch off in state")
