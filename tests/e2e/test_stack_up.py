"""``ordergate up`` as a real process: it starts Redis, the simulator, the connector and API
workers; an order sent to the address it prints, with the token it prints, fills against a
crossing order; SIGTERM leaves no child behind; ``--demo`` completes and exits 0."""

from __future__ import annotations

import os
import re
import signal
import subprocess
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from support.api import order_body
from support.procs import free_port, wait_until
from support.stack import ROOT, UP, UpProcess

from operations.stack.redis_server import find_redis_server

pytestmark = [pytest.mark.e2e, pytest.mark.timeout(120)]


def children_of(pid: int) -> set[int]:
    """Every live descendant of ``pid`` (from /proc)."""
    parents: dict[int, int] = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            stat = Path(f"/proc/{entry}/stat").read_text()
        except OSError:
            continue
        fields = stat.rsplit(")", 1)[1].split()
        if fields[0] != "Z":
            parents[int(entry)] = int(fields[1])
    out: set[int] = set()
    frontier = {pid}
    while frontier:
        frontier = {p for p, pp in parents.items() if pp in frontier} - out
        out |= frontier
    return out


def alive(pid: int) -> bool:
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return False
    return stat.rsplit(")", 1)[1].split()[0] != "Z"


@pytest.fixture
def up(tmp_path: Path) -> Iterator[UpProcess]:
    proc = UpProcess(tmp_path, "--api-port", "0", "--api-workers", "2").start()
    try:
        proc.wait_ready()
        yield proc
    finally:
        proc.stop()


def test_order_through_the_printed_address_and_token_fills_against_a_crossing_order(
    up: UpProcess,
) -> None:
    url, token = up.value("API_URL"), up.value("TOKEN")
    headers = {"Authorization": f"Bearer {token}"}
    with httpx.Client(base_url=url, headers=headers, timeout=10) as http:
        ids = []
        for account, side in (("DEMO-SELL", "sell"), ("DEMO-BUY", "buy")):
            body = order_body(account=account, client_order_id=f"t-{side}", side=side, price="2851")
            r = http.post("/v1/orders", json=body)
            assert r.status_code == 202, r.text
            ids.append(r.json()["order_id"])
        seen: dict[str, str] = {}

        def both_filled() -> bool:
            for oid in ids:
                seen[oid] = http.get(f"/v1/orders/{oid}").json()["status"]
            return all(s == "filled" for s in seen.values())

        wait_until(both_filled, 20, f"both orders filled (seen {seen})")
        for oid in ids:
            assert http.get(f"/v1/orders/{oid}").json()["cum_qty"] == 100


def test_every_printed_api_worker_answers(up: UpProcess) -> None:
    ports = re.findall(r"^  api-\d+\s+http://127\.0\.0\.1:(\d+)", up.text(), re.M)
    assert len(ports) == 2 and len(set(ports)) == 2
    for port in ports:
        assert httpx.get(f"http://127.0.0.1:{port}/readyz", timeout=5).status_code == 200


def test_sigterm_stops_every_child_and_exits_0(tmp_path: Path) -> None:
    up = UpProcess(tmp_path, "--api-port", "0").start()
    try:
        up.wait_ready()
        assert up.proc is not None
        kids = children_of(up.proc.pid)
        names = " ".join(Path(f"/proc/{p}/cmdline").read_text() for p in kids)
        server = Path(find_redis_server().path).name  # redis-server, or the embedded valkey-server
        for part in (server, "simulator", "connector", "api"):
            assert part in names, f"{part} not among the children: {names!r}"
        up.proc.send_signal(signal.SIGTERM)
        assert up.proc.wait(30) == 0, up.text()
        left = [p for p in kids if alive(p)]
        assert left == [], f"children left running: {left}"
    finally:
        up.stop()


def test_ctrl_c_at_a_terminal_stops_in_order_the_connector_logs_out_first(tmp_path: Path) -> None:
    """A terminal sends SIGINT to the job's process group; the children are not in it, so
    ``up`` stops them itself: API and connector (which logs out) before the simulator."""
    up = UpProcess(tmp_path, "--api-port", "0").start(own_group=True)
    try:
        up.wait_ready()
        assert up.proc is not None
        kids = children_of(up.proc.pid)
        os.killpg(up.proc.pid, signal.SIGINT)
        assert up.proc.wait(30) == 0, up.text()
        assert not any(alive(p) for p in kids)
        logs = up.data / "logs"
        assert "logged_on -> logout_sent" in (logs / "connector.log").read_text()
        assert "disconnect logout" in (logs / "simulator.log").read_text()
    finally:
        up.stop()


def test_sigkill_of_up_still_stops_the_children(tmp_path: Path) -> None:
    up = UpProcess(tmp_path, "--api-port", "0").start()
    try:
        up.wait_ready()
        assert up.proc is not None
        kids = children_of(up.proc.pid)
        assert len(kids) >= 4
        up.proc.kill()
        up.proc.wait(10)
        wait_until(lambda: not any(alive(p) for p in kids), 20, "children to stop (PDEATHSIG)")
    finally:
        up.stop()


def test_a_child_that_dies_stops_the_stack_naming_it(tmp_path: Path) -> None:
    up = UpProcess(tmp_path, "--api-port", "0").start()
    try:
        up.wait_ready()
        pid = int(re.search(r"^  connector .* pid (\d+)$", up.text(), re.M).group(1))  # type: ignore[union-attr]
        os.kill(pid, signal.SIGKILL)
        assert up.proc is not None
        assert up.proc.wait(30) == 1
        assert re.search(rf"connector \(pid {pid}\) exited with status -9", up.text()), up.text()
    finally:
        up.stop()


def test_demo_completes_and_exits_0_even_when_port_8000_is_taken(tmp_path: Path) -> None:
    """``make demo``'s command line (no --api-port): with 8000 taken, free ports are used."""
    import socket

    with socket.socket() as s:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # past a TIME_WAIT
        try:
            s.bind(("127.0.0.1", 8000))
            s.listen()
        except OSError:
            pass  # taken by someone else: the same situation
        out = subprocess.run(
            [*UP, "--demo", "--data-dir", str(tmp_path / "d")],
            cwd=ROOT,
            capture_output=True,
            text=True,
            timeout=90,
        )
    assert out.returncode == 0, out.stdout + out.stderr
    assert "port 8000 or the next is taken" in out.stdout
    assert "demo: every order ended as expected" in out.stdout
    for status in ("filled", "canceled", "replaced", "price_off_tick"):
        assert status in out.stdout
    # make demo shows the operations console: its address, and the buy's page in it
    assert re.search(r"^  console    http://127\.0\.0\.1:\d+", out.stdout, re.M)
    assert re.search(
        r"operations console: http://127\.0\.0\.1:\d+/orders/[0-9A-Z]{20}$", out.stdout, re.M
    )


def test_api_port_in_use_is_refused_before_anything_starts(tmp_path: Path) -> None:
    import socket

    port = free_port()
    with socket.socket() as s:
        s.bind(("127.0.0.1", port))
        s.listen()
        out = subprocess.run(
            [*UP, "--api-port", str(port), "--data-dir", str(tmp_path / "d")],
            cwd=ROOT,
            capture_output=True,
            text=True,
            timeout=60,
        )
    assert out.returncode == 2
    assert f"port {port} is in use" in out.stderr
    assert not (tmp_path / "d" / "logs" / "redis.log").exists()
