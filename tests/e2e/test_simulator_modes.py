"""Simulator modes that change what a peer sees: resting liquidity, a book loaded from a file,
the heartbeat check (a raw socket plays the silent peer, since QuickFIX never goes silent)."""

from __future__ import annotations

import json
import socket
import time
from decimal import Decimal
from pathlib import Path

import pytest
from support.procs import wait_until
from support.simulator_proc import SimulatorProcess, logged_on_peer, quickfix_initiator

from fixengine import sending_time
from fixengine.codec import frame

pytestmark = pytest.mark.e2e


def test_liquidity_mode_keeps_both_sides_of_each_book_filled(tmp_path: Path) -> None:
    sim = SimulatorProcess("--phase", "continuous", "--liquidity", "--seed", "7", workdir=tmp_path)
    sim.start()
    try:
        book = sim.get("/books/7203")
        assert book["bids"] and book["asks"]
        assert Decimal(book["bids"][0]["price"]) < Decimal(book["asks"][0]["price"])
        with logged_on_peer(sim, tmp_path / "peer") as peer:
            peer.new_order("m", "7203", "1", 100)  # in an empty book it would expire unfilled
            fill = peer.wait_app(lambda f: f.get("11") == "m" and f.get("150") == "F")
        assert fill["39"] == "2"
        assert Decimal(book["lower_limit"]) <= Decimal(fill["31"]) <= Decimal(book["upper_limit"])
    finally:
        assert sim.stop() == 0, sim.log()


def test_book_file_is_loaded_at_start_and_again_after_a_reset(tmp_path: Path) -> None:
    path = tmp_path / "book.json"
    path.write_text(json.dumps({"books": {"7203": {"bids": [["2849.5", 300]], "asks": []}}}))
    sim = SimulatorProcess("--phase", "continuous", "--book", str(path), workdir=tmp_path)
    sim.start()
    try:
        expected = [{"price": "2849.5", "quantity": 300, "count": 1}]
        assert sim.get("/books/7203")["bids"] == expected
        with logged_on_peer(sim, tmp_path / "peer") as peer:
            peer.new_order("s", "7203", "2", 100, "2849.5")
            peer.wait_app(lambda f: f.get("11") == "s" and f.get("150") == "F")
        assert sim.get("/books/7203")["bids"][0]["quantity"] == 200
        sim.post("/reset", {})
        assert sim.get("/books/7203")["bids"] == expected
    finally:
        assert sim.stop() == 0, sim.log()


def test_bad_book_file_stops_the_simulator_with_exit_2(tmp_path: Path) -> None:
    path = tmp_path / "book.json"
    path.write_text(json.dumps({"books": {"7203": {"bids": [["2849.3", 300]]}}}))
    sim = SimulatorProcess("--phase", "continuous", "--book", str(path), workdir=tmp_path)
    with pytest.raises(RuntimeError, match="not on the tick"):
        sim.start()
    assert sim.stop() == 2


def silent_logon(port: int) -> socket.socket:
    """Log on with HeartBtInt=1, then say nothing more."""
    sock = socket.create_connection(("127.0.0.1", port))
    body = b"35=A\x0149=ORDERGATE\x0156=TSE\x0134=1\x0152=%b\x0198=0\x01108=1\x01141=Y\x01" % (
        sending_time(time.time())
    )
    sock.sendall(frame(body))
    return sock


def read_until_closed(sock: socket.socket, seconds: float) -> tuple[bytes, bool]:
    """Everything the simulator sends within ``seconds``, and whether it closed the line."""
    sock.settimeout(0.2)
    data = b""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        try:
            chunk = sock.recv(65536)
        except TimeoutError:
            continue
        if not chunk:
            return data, True
        data += chunk
    return data, False


def test_heartbeat_check_tests_a_silent_peer_and_drops_it(tmp_path: Path) -> None:
    sim = SimulatorProcess("--heartbeat-check", workdir=tmp_path).start()
    try:
        sock = silent_logon(sim.port)
        data, closed = read_until_closed(sock, 8)
        assert b"\x0135=1\x01" in data  # TestRequest
        assert closed
        wait_until(lambda: not sim.session_state()["logged_on"], 5, "session down")
        assert "TestRequest" in sim.session_state()["last_disconnect_reason"]
    finally:
        assert sim.stop() == 0, sim.log()


def test_without_heartbeat_check_a_silent_peer_stays_connected(tmp_path: Path) -> None:
    sim = SimulatorProcess(workdir=tmp_path).start()
    try:
        sock = silent_logon(sim.port)
        data, closed = read_until_closed(sock, 3)
        assert b"\x0135=0\x01" in data  # the simulator's own heartbeats go on
        assert b"\x0135=1\x01" not in data and not closed
        assert sim.session_state()["logged_on"]
        sock.close()
    finally:
        assert sim.stop() == 0, sim.log()


def test_day_order_expires_at_the_close_on_a_compressed_clock(tmp_path: Path) -> None:
    # Monday 2026-11-30, 15:29:50 Tokyo, twice real speed: the close (15:30) is 5 s away
    sim = SimulatorProcess("--clock", "2026-11-30T15:29:50+09:00x2", workdir=tmp_path).start()
    try:
        assert sim.get("/state")["phase"] == "closing_auction"
        with logged_on_peer(sim, tmp_path / "peer") as peer:
            peer.new_order("day", "7203", "1", 100, "2800")
            assert peer.wait_app(lambda f: f.get("11") == "day")["150"] == "0"
            expired = peer.wait_app(
                lambda f: f.get("11") == "day" and f.get("150") == "C", timeout=20
            )
            assert (expired["39"], expired["151"]) == ("C", "0")
        assert sim.get("/state")["phase"] == "closed"
    finally:
        assert sim.stop() == 0, sim.log()


def test_sigterm_logs_every_session_out_and_exits_0(tmp_path: Path) -> None:
    sim = SimulatorProcess(workdir=tmp_path).start()
    peer = quickfix_initiator(sim, tmp_path / "peer")
    try:
        peer.wait_logon()
        mark = peer.mark()
        assert sim.stop() == 0, sim.log()
        logout = peer.wait_for(
            lambda e: e["ev"] == "admin_in" and e["msg_type"] == "5", start=mark, what="Logout"
        )
        assert logout["fields"]["56"] == "ORDERGATE"
    finally:
        peer.kill()
        sim.stop()


def test_message_log_has_every_message_in_and_out(tmp_path: Path) -> None:
    logs = tmp_path / "fixlogs"
    sim = SimulatorProcess("--phase", "continuous", "--message-log", str(logs), workdir=tmp_path)
    sim.start()
    try:
        with logged_on_peer(sim, tmp_path / "peer") as peer:
            peer.new_order("logged", "7203", "1", 100, "2800")
            peer.wait_app(lambda f: f.get("11") == "logged")
    finally:
        assert sim.stop() == 0, sim.log()
    (log,) = logs.glob("*.messages.log")
    lines = log.read_bytes().splitlines()
    assert any(b" IN " in x and b"\x0135=D\x01" in x and b"11=logged" in x for x in lines)
    assert any(b" OUT " in x and b"\x0135=8\x01" in x and b"11=logged" in x for x in lines)
