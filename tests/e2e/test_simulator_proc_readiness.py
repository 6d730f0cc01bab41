"""The test helper that starts simulators judges readiness by the process it started, never by a
port: a port someone else holds, or one the simulator binds before failing its start-up, must not
make ``SimulatorProcess.start`` report a simulator that is not there."""

from __future__ import annotations

import json
import socket
from pathlib import Path

import pytest
from support.simulator_proc import SimulatorProcess

pytestmark = pytest.mark.e2e


def listening_inodes_of(pid: int) -> set[str]:
    """The socket inodes the process holds open (from /proc/PID/fd)."""
    inodes = set()
    for fd in Path(f"/proc/{pid}/fd").iterdir():
        try:
            target = fd.readlink()
        except OSError:
            continue
        if str(target).startswith("socket:["):
            inodes.add(str(target)[8:-1])
    return inodes


def listener_inode(port: int) -> str | None:
    """The inode of the socket listening on 127.0.0.1:``port`` (state 0A in /proc/net/tcp)."""
    for line in Path("/proc/net/tcp").read_text().splitlines()[1:]:
        fields = line.split()
        local, state, inode = fields[1], fields[3], fields[9]
        if state == "0A" and int(local.split(":")[1], 16) == port:
            return inode
    return None


def test_ports_held_by_another_process_do_not_count_as_ready(tmp_path: Path) -> None:
    with socket.socket() as fix, socket.socket() as control:
        for s in (fix, control):
            s.bind(("127.0.0.1", 0))
            s.listen()
        sim = SimulatorProcess("--phase", "continuous", workdir=tmp_path)
        sim.port, sim.control_port = fix.getsockname()[1], control.getsockname()[1]
        try:
            with pytest.raises(RuntimeError, match="exited 2"):
                sim.start()
        finally:
            sim.stop()


def test_a_ready_simulator_owns_the_ports_it_reports(tmp_path: Path) -> None:
    sim = SimulatorProcess("--phase", "continuous", workdir=tmp_path).start()
    try:
        assert sim.proc is not None
        own = listening_inodes_of(sim.proc.pid)
        assert listener_inode(sim.port) in own
        assert listener_inode(sim.control_port) in own
    finally:
        assert sim.stop() == 0, sim.log()


def test_a_simulator_failing_after_binding_is_never_reported_ready(tmp_path: Path) -> None:
    # it binds both ports, then loads the book and exits 2: five starts, five refusals
    path = tmp_path / "book.json"
    path.write_text(json.dumps({"books": {"7203": {"bids": [["2849.3", 300]]}}}))
    for _ in range(5):
        sim = SimulatorProcess("--phase", "continuous", "--book", str(path), workdir=tmp_path)
        with pytest.raises(RuntimeError, match="not on the tick"):
            sim.start()
        assert sim.stop() == 2
