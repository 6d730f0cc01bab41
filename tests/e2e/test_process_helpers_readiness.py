"""The test helpers that start simulators and API processes judge readiness by the process they
started, never by a port alone: a port someone else holds, or one the simulator binds before
failing its start-up, must not make ``start`` report a process that is not there."""

from __future__ import annotations

import http.server
import json
import socket
import threading
from pathlib import Path

import pytest
from support.api import ApiProcess
from support.procs import RedisServer, listens_on
from support.simulator_proc import SimulatorProcess

pytestmark = pytest.mark.e2e


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
        assert listens_on(sim.proc.pid, sim.port)
        assert listens_on(sim.proc.pid, sim.control_port)
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


class _AlwaysReady(http.server.BaseHTTPRequestHandler):
    def do_GET(self) -> None:
        self.send_response(200)
        self.send_header("Content-Length", "0")
        self.end_headers()

    def log_message(self, *args: object) -> None:
        return None


def test_an_api_port_answered_by_another_process_does_not_count_as_ready(
    redis_server: RedisServer,
) -> None:
    impostor = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _AlwaysReady)
    threading.Thread(target=impostor.serve_forever, daemon=True).start()
    api = ApiProcess(redis_server.url, port=impostor.server_address[1])
    try:
        with pytest.raises(RuntimeError, match="API exited"):
            api.start()
    finally:
        api.stop()
        impostor.shutdown()
        impostor.server_close()
