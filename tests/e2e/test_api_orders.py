"""The order routes end to end: a real ``ordergate api`` process, real Redis, httpx over TCP."""

from __future__ import annotations

import json
from decimal import Decimal

import httpx
import pytest
import redis.asyncio as aioredis
from support.api import bearer, order_body

from gateway import keys
from gateway.config import GatewayConfig
from gateway.reports import ExecReport, ReportApplier
from gateway.states import OrderEvent

pytestmark = pytest.mark.e2e

PARTITIONS = GatewayConfig().partitions


async def command_entries(redis: aioredis.Redis, account: str = "A1", venue: str = "TSE") -> int:
    return int(await redis.xlen(keys.cmd_stream(keys.partition_of(account, PARTITIONS), venue)))


async def submit(client: httpx.AsyncClient, **over: object) -> httpx.Response:
    return await client.post("/v1/orders", json=order_body(**over))


# --- submit and idempotency ------------------------------------------------------------------


async def test_submit_answers_202_with_the_pending_new_order(
    client: httpx.AsyncClient, redis_client: aioredis.Redis
) -> None:
    r = await submit(client)
    assert r.status_code == 202, r.text
    order = r.json()
    assert order["status"] == "pending_new"
    assert order["order_id"] and order["venue"] == "TSE"
    assert (order["account"], order["symbol"], order["quantity"]) == ("A1", "7203", 100)
    assert order["price"] == "2500.5" and order["cum_qty"] == 0 and order["leaves_qty"] == 100
    assert await command_entries(redis_client) == 1


async def test_same_client_order_id_and_body_answers_200_with_the_same_order_and_enqueues_nothing(
    client: httpx.AsyncClient, redis_client: aioredis.Redis
) -> None:
    first = await submit(client)
    again = await submit(client)
    assert (first.status_code, again.status_code) == (202, 200)
    assert again.json()["order_id"] == first.json()["order_id"]
    assert await command_entries(redis_client) == 1


async def test_retry_spelling_out_the_default_venue_answers_200_with_the_same_order(
    client: httpx.AsyncClient, redis_client: aioredis.Redis
) -> None:
    first = await submit(client, venue=...)  # no venue: the routing table's (TSE)
    again = await submit(client, venue="TSE")
    assert (first.status_code, again.status_code) == (202, 200), again.text
    assert again.json()["order_id"] == first.json()["order_id"]
    assert await command_entries(redis_client) == 1


async def test_same_client_order_id_with_another_body_answers_409(
    client: httpx.AsyncClient, redis_client: aioredis.Redis
) -> None:
    assert (await submit(client)).status_code == 202
    r = await submit(client, quantity=200)
    assert r.status_code == 409
    assert r.json()["error"]["code"] == "duplicate_client_order_id"
    assert await command_entries(redis_client) == 1


async def test_submit_for_an_account_not_in_the_token_answers_403(
    client: httpx.AsyncClient, redis_client: aioredis.Redis
) -> None:
    r = await submit(client, account="B9")
    assert r.status_code == 403
    assert r.json()["error"] == {
        "code": "account_not_permitted",
        "message": r.json()["error"]["message"],
        "field": "account",
    }
    assert await command_entries(redis_client, "B9") == 0


# --- validation -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("over", "code", "field"),
    [
        ({"symbol": "0000"}, "unknown_symbol", "symbol"),
        ({"quantity": 150}, "quantity_not_multiple_of_unit", "quantity"),
        ({"price": "2500.3"}, "price_off_tick", "price"),
        ({"price": "3400"}, "price_outside_daily_limit", "price"),
        ({"price": ...}, "price_required", "price"),
        ({"type": "market"}, "price_not_allowed", "price"),
        ({"venue": "NYSE"}, "venue_not_allowed", "venue"),
        ({"side": "short"}, "invalid_request", "side"),
        ({"quantity": "100"}, "invalid_request", "quantity"),
        ({"price": 2500.5}, "invalid_request", "price"),
        ({"colour": "red"}, "invalid_request", "colour"),
    ],
)
async def test_rule_violation_answers_422_with_its_code_and_writes_nothing(
    client: httpx.AsyncClient,
    redis_client: aioredis.Redis,
    over: dict[str, object],
    code: str,
    field: str,
) -> None:
    r = await submit(client, **over)
    assert r.status_code == 422, r.text
    assert r.json()["error"]["code"] == code
    assert r.json()["error"]["field"] == field
    assert r.json()["error"]["message"]
    assert await redis_client.dbsize() == 0


async def test_body_that_is_not_json_answers_422(client: httpx.AsyncClient) -> None:
    r = await client.post(
        "/v1/orders", content=b"{not json", headers={"Content-Type": "application/json"}
    )
    assert r.status_code == 422
    assert r.json()["error"]["code"] == "invalid_request"


async def test_body_over_the_limit_answers_413(client: httpx.AsyncClient) -> None:
    r = await client.post("/v1/orders", json=order_body(client_order_id="x" * 40, pad="y" * 20_000))
    assert r.status_code == 413
    assert r.json()["error"]["code"] == "body_too_large"


async def test_chunked_body_over_the_limit_answers_413(client: httpx.AsyncClient) -> None:
    async def chunks():  # type: ignore[no-untyped-def]
        for _ in range(40):
            yield b" " * 1024

    r = await client.post(
        "/v1/orders", content=chunks(), headers={"Content-Type": "application/json"}
    )
    assert r.status_code == 413


async def test_chunked_body_within_the_limit_is_accepted(client: httpx.AsyncClient) -> None:
    raw = json.dumps(order_body()).encode()

    async def chunks():  # type: ignore[no-untyped-def]
        yield raw[:20]
        yield raw[20:]

    r = await client.post(
        "/v1/orders", content=chunks(), headers={"Content-Type": "application/json"}
    )
    assert r.status_code == 202, r.text


async def test_body_not_sent_as_json_answers_415(client: httpx.AsyncClient) -> None:
    r = await client.post(
        "/v1/orders",
        content=b"account=A1",
        headers={"Content-Type": "application/x-www-form-urlencoded"},
    )
    assert r.status_code == 415
    assert r.json()["error"]["code"] == "unsupported_media_type"


# --- read, cancel, replace, list, trail ---------------------------------------------------------


async def test_get_order_shows_status_filled_and_leaves_quantity_average_price_and_fills(
    client: httpx.AsyncClient,
) -> None:
    order_id = (await submit(client)).json()["order_id"]
    r = await client.get(f"/v1/orders/{order_id}")
    assert r.status_code == 200
    body = r.json()
    assert body["order_id"] == order_id and body["status"] == "pending_new"
    assert (body["cum_qty"], body["leaves_qty"], body["avg_px"], body["fills"]) == (0, 100, "0", [])


@pytest.mark.parametrize(
    ("method", "suffix"), [("GET", ""), ("DELETE", ""), ("PATCH", ""), ("GET", "/trail")]
)
async def test_another_accounts_order_answers_404(
    client: httpx.AsyncClient, method: str, suffix: str
) -> None:
    order_id = (await submit(client)).json()["order_id"]
    other = bearer(("B1",))
    r = await client.request(
        method,
        f"/v1/orders/{order_id}{suffix}",
        headers=other,
        json={"quantity": 200} if method == "PATCH" else None,
    )
    assert r.status_code == 404
    assert r.json()["error"]["code"] == "order_not_found"


async def test_unknown_order_id_answers_404(client: httpx.AsyncClient) -> None:
    for order_id in ("00000000000000000000", "not-an-id"):
        r = await client.get(f"/v1/orders/{order_id}")
        assert r.status_code == 404
        assert r.json()["error"]["code"] == "order_not_found"


async def test_cancel_answers_202_pending_cancel_and_enqueues_a_cancel(
    client: httpx.AsyncClient, redis_client: aioredis.Redis
) -> None:
    order_id = (await submit(client)).json()["order_id"]
    r = await client.delete(f"/v1/orders/{order_id}")
    assert r.status_code == 202, r.text
    assert r.json()["status"] == "pending_cancel"
    assert await command_entries(redis_client) == 2


async def test_repeated_cancel_is_idempotent_and_enqueues_one_cancel(
    client: httpx.AsyncClient, redis_client: aioredis.Redis
) -> None:
    order_id = (await submit(client)).json()["order_id"]
    assert (await client.delete(f"/v1/orders/{order_id}")).status_code == 202
    r = await client.delete(f"/v1/orders/{order_id}")
    assert r.status_code == 202 and r.json()["status"] == "pending_cancel"
    assert await command_entries(redis_client) == 2


async def test_replace_while_a_cancel_is_pending_answers_409(client: httpx.AsyncClient) -> None:
    order_id = (await submit(client)).json()["order_id"]
    assert (await client.delete(f"/v1/orders/{order_id}")).status_code == 202
    r = await client.patch(f"/v1/orders/{order_id}", json={"quantity": 200})
    assert r.status_code == 409
    assert r.json()["error"]["code"] in ("order_in_flight", "order_not_open")


async def venue(redis: aioredis.Redis, order_id: str, event: OrderEvent, **kw: object) -> None:
    """What the connector does when the venue answers (the real apply_report script)."""
    result = await ReportApplier(redis, PARTITIONS).apply(ExecReport(order_id, event, **kw))  # type: ignore[arg-type]
    assert result.outcome == "applied", result


async def test_replace_of_an_acknowledged_order_answers_202_pending_replace(
    client: httpx.AsyncClient, redis_client: aioredis.Redis
) -> None:
    order_id = (await submit(client)).json()["order_id"]
    await venue(redis_client, order_id, OrderEvent.accepted, exec_id="e-ack")
    r = await client.patch(f"/v1/orders/{order_id}", json={"quantity": 200, "price": "2501"})
    assert r.status_code == 202, r.text
    assert r.json()["status"] == "pending_replace"
    assert await command_entries(redis_client) == 2


async def test_replace_before_the_venue_acknowledged_answers_202_pending_replace(
    client: httpx.AsyncClient, redis_client: aioredis.Redis
) -> None:
    order_id = (await submit(client)).json()["order_id"]
    r = await client.patch(f"/v1/orders/{order_id}", json={"quantity": 200})
    assert r.status_code == 202, r.text
    assert r.json()["status"] == "pending_replace"
    assert await command_entries(redis_client) == 2


async def test_replace_while_a_replace_is_pending_answers_409_in_flight(
    client: httpx.AsyncClient,
) -> None:
    order_id = (await submit(client)).json()["order_id"]
    assert (await client.patch(f"/v1/orders/{order_id}", json={"quantity": 200})).status_code == 202
    r = await client.patch(f"/v1/orders/{order_id}", json={"quantity": 300})
    assert r.status_code == 409 and r.json()["error"]["code"] == "order_in_flight"


async def test_cancel_of_a_filled_order_answers_409(
    client: httpx.AsyncClient, redis_client: aioredis.Redis
) -> None:
    order_id = (await submit(client)).json()["order_id"]
    await venue(redis_client, order_id, OrderEvent.accepted, exec_id="e-ack")
    await venue(
        redis_client,
        order_id,
        OrderEvent.fill,
        exec_id="e-f",
        last_qty=100,
        last_px=Decimal("2500.5"),
    )
    r = await client.delete(f"/v1/orders/{order_id}")
    assert r.status_code == 409 and r.json()["error"]["code"] == "order_not_open"


async def test_get_order_shows_fills_and_average_price_after_partial_fills(
    client: httpx.AsyncClient, redis_client: aioredis.Redis
) -> None:
    order_id = (await submit(client, quantity=300)).json()["order_id"]
    await venue(redis_client, order_id, OrderEvent.accepted, exec_id="e-ack")
    await venue(
        redis_client,
        order_id,
        OrderEvent.partial_fill,
        exec_id="e-1",
        last_qty=100,
        last_px=Decimal("2500"),
    )
    await venue(
        redis_client,
        order_id,
        OrderEvent.partial_fill,
        exec_id="e-2",
        last_qty=100,
        last_px=Decimal("2501"),
    )
    body = (await client.get(f"/v1/orders/{order_id}")).json()
    assert body["status"] == "partially_filled"
    assert (body["cum_qty"], body["leaves_qty"], body["avg_px"]) == (200, 100, "2500.5")
    assert [(f["exec_id"], f["quantity"], f["price"]) for f in body["fills"]] == [
        ("e-1", 100, "2500"),
        ("e-2", 100, "2501"),
    ]


async def test_replace_off_tick_answers_422(
    client: httpx.AsyncClient, redis_client: aioredis.Redis
) -> None:
    order_id = (await submit(client)).json()["order_id"]
    await venue(redis_client, order_id, OrderEvent.accepted, exec_id="e-ack")
    r = await client.patch(f"/v1/orders/{order_id}", json={"price": "2501.3"})
    assert r.status_code == 422
    assert r.json()["error"]["code"] == "price_off_tick"


async def test_list_pages_through_every_order_with_the_cursor(client: httpx.AsyncClient) -> None:
    submitted = {
        (await submit(client, client_order_id=f"c-{i}")).json()["order_id"] for i in range(5)
    }
    seen: list[str] = []
    cursor: str | None = None
    pages = 0
    while True:
        params = {"account": "A1", "limit": "2", **({"cursor": cursor} if cursor else {})}
        r = await client.get("/v1/orders", params=params)
        assert r.status_code == 200, r.text
        page = r.json()
        assert len(page["orders"]) <= 2
        seen += [o["order_id"] for o in page["orders"]]
        pages += 1
        cursor = page["next_cursor"]
        if cursor is None:
            break
        assert pages < 10
    assert sorted(seen) == sorted(submitted) and len(seen) == 5


async def test_list_of_an_account_not_in_the_token_answers_403(client: httpx.AsyncClient) -> None:
    r = await client.get("/v1/orders", params={"account": "B1"})
    assert r.status_code == 403


async def test_list_done_leaves_out_open_orders(client: httpx.AsyncClient) -> None:
    await submit(client)
    r = await client.get("/v1/orders", params={"account": "A1", "status": "done"})
    assert r.status_code == 200 and r.json()["orders"] == []
    r = await client.get("/v1/orders", params={"account": "A1", "status": "open"})
    assert len(r.json()["orders"]) == 1


async def test_trail_has_received_then_enqueued_with_the_stream_entry_id(
    client: httpx.AsyncClient,
) -> None:
    order_id = (await submit(client)).json()["order_id"]
    r = await client.get(f"/v1/orders/{order_id}/trail")
    assert r.status_code == 200
    body = r.json()
    assert body["order_id"] == order_id
    steps = body["steps"]
    assert [s["step"] for s in steps[:2]] == ["received", "enqueued"]
    assert all(s["process"] and s["component"] and s["at"] for s in steps)
    assert "-" in str(steps[1]["detail"].get("entry_id", steps[1]["detail"]))


# --- reference data ---------------------------------------------------------------------------


async def test_symbols_list_has_limits_unit_and_todays_tick_bands(
    client: httpx.AsyncClient,
) -> None:
    r = await client.get("/v1/symbols")
    assert r.status_code == 200
    by_code = {s["symbol"]: s for s in r.json()["symbols"]}
    toyota = by_code["7203"]
    assert toyota["trading_unit"] == 100 and "TSE" in toyota["venues"]
    assert (toyota["base_price"], toyota["lower_limit"], toyota["upper_limit"]) == (
        "2850",
        "2350",
        "3350",
    )
    assert toyota["tick_sizes"][0] == {"up_to": "1000", "tick": "0.1"}
    assert toyota["tick_sizes"][-1]["up_to"] is None


async def test_one_symbol_and_an_unknown_symbol(client: httpx.AsyncClient) -> None:
    assert (await client.get("/v1/symbols/7203")).json()["name"]
    r = await client.get("/v1/symbols/0000")
    assert r.status_code == 404 and r.json()["error"]["code"] == "unknown_symbol"


# --- health, metrics, docs, unknown routes ---------------------------------------------------


async def test_healthz_reports_the_environment_without_a_token(api: object) -> None:
    async with httpx.AsyncClient(base_url=api.url) as c:  # type: ignore[attr-defined]
        r = await c.get("/healthz")
    assert r.status_code == 200 and r.json()["environment"] == "development"


async def test_readyz_is_ready_with_redis_and_scripts(client: httpx.AsyncClient) -> None:
    r = await client.get("/readyz")
    assert r.status_code == 200 and r.json() == {
        "ready": True,
        "redis": True,
        "scripts_loaded": True,
    }


async def test_metrics_count_requests_and_orders_in_prometheus_text(
    client: httpx.AsyncClient,
) -> None:
    await submit(client)
    r = await client.get("/metrics", headers=bearer(scopes=("ops",)))
    assert r.status_code == 200 and r.headers["content-type"].startswith("text/plain")
    assert 'ordergate_api_orders_total{outcome="created"}' in r.text
    assert 'route="submit",status="202"' in r.text


async def test_openapi_document_and_docs_page_are_served(client: httpx.AsyncClient) -> None:
    doc = (await client.get("/openapi.json")).json()
    assert doc["openapi"].startswith("3.") and "/v1/orders" in doc["paths"]
    assert "/openapi.json" in (await client.get("/docs")).text


async def test_unknown_route_answers_404_json(client: httpx.AsyncClient) -> None:
    r = await client.get("/v1/nothing")
    assert r.status_code == 404 and r.json()["error"]["code"] == "not_found"


async def test_unsupported_method_answers_405_json_with_allow(client: httpx.AsyncClient) -> None:
    r = await client.put("/v1/orders", json={})
    assert r.status_code == 405 and r.json()["error"]["code"] == "method_not_allowed"
    assert {"GET", "POST"} <= {m.strip() for m in r.headers["allow"].split(",")}
