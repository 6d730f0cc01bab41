"""``ordergate simulator --reset-on-logon``: both sequence numbers go back to 1 at each Logon,
so a counterparty that starts a fresh session (MsgSeqNum 1, no ResetSeqNumFlag) is taken; without
the flag the same Logon is "MsgSeqNum too low". QuickFIX is the initiator, with ResetOnLogon=N and a
fresh store each time, so only the simulator's setting decides."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from support.procs import wait_until
from support.simulator_proc import SimulatorProcess, logged_on_peer, quickfix_initiator

pytestmark = [pytest.mark.interop, pytest.mark.e2e]

FRESH = {"reset_on_logon": False}


def _trade_once(sim: SimulatorProcess, workdir: Path, cl_ord_id: str) -> None:
    """A fresh QuickFIX session (seq 1) logs on, gets one order acknowledged, drops the line."""
    with logged_on_peer(sim, workdir, **FRESH) as peer:
        peer.new_order(cl_ord_id, "7203", "1", 100, "2800")
        peer.wait_app(lambda f: f.get("11") == cl_ord_id and f.get("150") == "0")


@pytest.fixture
def resetting_sim(tmp_path: Path) -> Iterator[SimulatorProcess]:
    proc = SimulatorProcess("--phase", "continuous", "--reset-on-logon", workdir=tmp_path).start()
    yield proc
    assert proc.stop() == 0, proc.log()


@pytest.fixture
def keeping_sim(tmp_path: Path) -> Iterator[SimulatorProcess]:
    proc = SimulatorProcess("--phase", "continuous", workdir=tmp_path).start()
    yield proc
    assert proc.stop() == 0, proc.log()


def test_reset_on_logon_takes_a_fresh_session_after_an_earlier_one(
    resetting_sim: SimulatorProcess, tmp_path: Path
) -> None:
    _trade_once(resetting_sim, tmp_path / "first", "r-1")
    _trade_once(resetting_sim, tmp_path / "second", "r-2")  # seq 1 again: accepted
    state = resetting_sim.session_state()
    # after the second session: its Logon (1) and order (2) in; Logon reply (1) and ack (2) out
    assert state["next_inbound_seq"] == 3 and state["next_outbound_seq"] == 3


def test_without_reset_on_logon_a_fresh_session_is_too_low(
    keeping_sim: SimulatorProcess, tmp_path: Path
) -> None:
    _trade_once(keeping_sim, tmp_path / "first", "k-1")
    peer = quickfix_initiator(keeping_sim, tmp_path / "second", **FRESH)
    try:
        logout = peer.wait_for(
            lambda e: e["ev"] in ("admin_in",) and e["msg_type"] == "5", 10, "Logout"
        )
        assert "too low" in str(logout.get("fields", {}).get("58", ""))
        assert peer.count("logon") == 0
    finally:
        peer.kill()
    wait_until(lambda: not keeping_sim.session_state()["logged_on"], 10, "the drop")
    assert keeping_sim.session_state()["next_inbound_seq"] == 3  # the first session's numbers
