"""The simulator as the acceptor (``ordergate simulator --reset-on-logon --heartbeat-check``)
answers every session-level test case of FIX 4.4 Vol. 2 as the spec and QuickFIX do, played as
raw FIX over real TCP; plus the venue's refusal of unreasonable orders."""

from __future__ import annotations

import socket
from collections.abc import Iterator

import pytest
from session_cases import CASES, VENUE_CASES
from support.fixconformance import Case, Peer, play
from support.procs import wait_until
from support.simulator_proc import SimulatorProcess

pytestmark = pytest.mark.e2e


@pytest.fixture(scope="module")
def sim(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SimulatorProcess]:
    proc = SimulatorProcess(
        "--reset-on-logon",
        "--heartbeat-check",
        "--phase",
        "continuous",
        workdir=tmp_path_factory.mktemp("sim"),
    ).start()
    yield proc
    assert proc.stop() == 0, proc.log()


@pytest.mark.parametrize(
    "case", [c for c in CASES + VENUE_CASES if "acceptor" in c.roles], ids=lambda c: c.id
)
def test_simulator_answers_the_session_case(sim: SimulatorProcess, case: Case) -> None:
    wait_until(
        lambda: sim.session_state()["status"] == "disconnected", 15, "the previous line to drop"
    )
    with socket.create_connection(("127.0.0.1", sim.port), timeout=5) as sock:
        play(Peer(sock, "ORDERGATE", "TSE", "acceptor"), case)
