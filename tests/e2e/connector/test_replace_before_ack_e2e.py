"""A replace asked before the venue acknowledged the order (here: both held in the stream while
no connector runs) reaches the real simulator after the order, and the order ends replaced."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from support.api import ApiProcess, bearer, order_body
from support.connector_proc import ConnectorProcess
from support.procs import RedisServer, wait_until
from support.simulator_proc import SimulatorProcess

pytestmark = [pytest.mark.e2e, pytest.mark.timeout(120)]


@pytest.fixture(scope="module")
def stack() -> Iterator[dict[str, Any]]:
    """Redis, the simulator and the API; no connector yet (each test starts its own)."""
    redis = RedisServer(aof=True).start()
    sim = SimulatorProcess("--phase", "continuous").start()
    api = ApiProcess(redis.url).start()
    try:
        yield {"redis": redis, "sim": sim, "api": api}
    finally:
        api.stop()
        sim.stop()
        redis.stop()


def _wait_status(http: httpx.Client, oid: str, status: str) -> dict[str, Any]:
    seen: dict[str, Any] = {}

    def ok() -> bool:
        seen.update(http.get(f"/v1/orders/{oid}").json())
        return seen.get("status") == status

    wait_until(ok, 30, f"order {oid} {status} (last: {seen.get('status')})")
    return seen


def test_replace_of_an_unacknowledged_order_ends_replaced_at_the_venue(
    stack: dict[str, Any],
) -> None:
    sim = stack["sim"]
    with httpx.Client(base_url=stack["api"].url, headers=bearer(["B1"]), timeout=10) as http:
        r = http.post(
            "/v1/orders",
            json=order_body(account="B1", client_order_id="rb-1", price="2800"),
        )
        assert r.status_code == 202 and r.json()["status"] == "pending_new"
        oid = r.json()["order_id"]
        p = http.patch(f"/v1/orders/{oid}", json={"quantity": 300, "price": "2801.5"})
        assert p.status_code == 202, p.text
        assert p.json()["status"] == "pending_replace"
        assert sim.order(oid) is None  # nothing reached the venue yet: both are in the stream

        conn = ConnectorProcess(stack["redis"].url, sim.port).start()
        try:
            o = _wait_status(http, oid, "replaced")
            assert (o["quantity"], o["price"]) == (300, "2801.5")
            trail = http.get(f"/v1/orders/{oid}/trail").json()["steps"]
            sent = [s["detail"]["msg_type"] for s in trail if s["step"] == "sent"]
            assert sent == ["D", "G"]
            assert {"acknowledged", "replaced"} <= {s["step"] for s in trail}
            venue: dict[str, Any] = {}

            def venue_replaced() -> bool:
                venue.update(sim.order(oid) or {})
                return venue.get("order_qty") == 300

            wait_until(venue_replaced, 10, f"the venue to hold the new quantity ({venue})")
            assert (venue["price"], venue["status"], venue["msg_type"]) == ("2801.5", "new", "D")
            assert venue["current_cl_ord_id"] != oid  # the venue knows it by the G's ClOrdID
            book = sim.get("/books/7203")
            assert {"price": "2801.5", "quantity": 300, "count": 1} in book["bids"]
        finally:
            conn.stop()


def test_replace_sent_right_after_the_submit_to_a_live_session_ends_replaced(
    stack: dict[str, Any],
) -> None:
    """The PATCH races the venue's ack (either may come first): the order still ends replaced."""
    sim = stack["sim"]
    conn = ConnectorProcess(stack["redis"].url, sim.port).start()
    try:
        wait_until(lambda: sim.session_state("ORDERGATE")["logged_on"], 20, "connector logon")
        with httpx.Client(base_url=stack["api"].url, headers=bearer(["B1"]), timeout=10) as http:
            r = http.post(
                "/v1/orders",
                json=order_body(account="B1", client_order_id="rb-2", price="2790"),
            )
            assert r.status_code == 202
            oid = r.json()["order_id"]
            p = http.patch(f"/v1/orders/{oid}", json={"price": "2789.5"})
            assert p.status_code == 202, p.text
            o = _wait_status(http, oid, "replaced")
            assert (o["quantity"], o["price"]) == (100, "2789.5")
            trail = http.get(f"/v1/orders/{oid}/trail").json()["steps"]
            assert [s["detail"]["msg_type"] for s in trail if s["step"] == "sent"] == ["D", "G"]
        venue: dict[str, Any] = {}

        def venue_replaced() -> bool:
            venue.update(sim.order(oid) or {})
            return venue.get("price") == "2789.5"

        wait_until(venue_replaced, 10, f"the venue to hold the new price ({venue})")
        assert (venue["order_qty"], venue["status"]) == (100, "new")
    finally:
        conn.stop()
