"""Live order updates over SSE (``/v1/stream``) and WebSocket (``/v1/ws``), and resuming them."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
import websockets
from support.api import ApiProcess, bearer, order_body

pytestmark = pytest.mark.e2e

DEADLINE = 10.0


async def sse_events(response: httpx.Response) -> AsyncIterator[dict[str, Any]]:
    """Parse ``text/event-stream``: yields ``{"id", "event", "data"}``; comments as ``{"comment"}``."""
    event: dict[str, Any] = {}
    async for line in response.aiter_lines():
        if line == "":
            if event:
                yield event
            event = {}
        elif line.startswith(":"):
            yield {"comment": line[1:].strip()}
        else:
            name, _, value = line.partition(":")
            event[name] = value[1:] if value.startswith(" ") else value


async def next_order_event(events: AsyncIterator[dict[str, Any]]) -> dict[str, Any]:
    async def read() -> dict[str, Any]:
        async for e in events:
            if e.get("event") == "order":
                return {"id": e["id"], **json.loads(e["data"])}
        raise AssertionError("stream ended")

    return await asyncio.wait_for(read(), DEADLINE)


async def submit_and_see(
    client: httpx.AsyncClient, see: Any, prefix: str
) -> tuple[dict[str, Any], set[str]]:
    """Submit one order after "subscribed" and return the next event: the subscription's start
    is fixed before the server says "subscribed", so that order's event is the first one."""
    r = await client.post("/v1/orders", json=order_body(client_order_id=f"{prefix}-0"))
    assert r.status_code == 202
    return await see(), {r.json()["order_id"]}


# --- SSE -------------------------------------------------------------------------------------


async def test_sse_streams_live_updates_of_the_callers_orders(client: httpx.AsyncClient) -> None:
    async with client.stream("GET", "/v1/stream") as resp:
        assert resp.status_code == 200
        assert resp.headers["content-type"].startswith("text/event-stream")
        events = sse_events(resp)
        assert (await anext(events)) == {"comment": "subscribed"}
        first, sent = await submit_and_see(client, lambda: next_order_event(events), "live")
        assert first["order_id"] in sent and first["account"] == "A1"
        assert first["status"] == "pending_new"
        # the next change arrives next: a cancel
        await client.delete(f"/v1/orders/{first['order_id']}")
        nxt = await next_order_event(events)
        assert (nxt["order_id"], nxt["status"]) == (first["order_id"], "pending_cancel")


async def test_sse_resumes_after_the_last_event_id(client: httpx.AsyncClient) -> None:
    async with client.stream("GET", "/v1/stream") as resp:
        events = sse_events(resp)
        assert (await anext(events)) == {"comment": "subscribed"}
        await submit_and_see(client, lambda: next_order_event(events), "r")
        later = (await client.post("/v1/orders", json=order_body(client_order_id="later"))).json()
        seen = await next_order_event(events)
        assert seen["order_id"] == later["order_id"]
    # disconnected; one more order happens while we are away
    away = (await client.post("/v1/orders", json=order_body(client_order_id="away"))).json()
    async with client.stream("GET", "/v1/stream", headers={"Last-Event-ID": seen["id"]}) as resp:
        resumed = await next_order_event(sse_events(resp))
    assert resumed["order_id"] == away["order_id"]
    assert resumed["id"] != seen["id"]


async def test_sse_shows_no_other_accounts_orders(client: httpx.AsyncClient) -> None:
    other = bearer(("B1",))
    async with (
        client.stream("GET", "/v1/stream", headers=other) as resp,
        httpx.AsyncClient(base_url=str(client.base_url), headers=other) as c2,
    ):
        events = sse_events(resp)
        assert (await anext(events)) == {"comment": "subscribed"}
        b1 = order_body(account="B1", client_order_id="b")
        await submit_and_see_as(c2, lambda: next_order_event(events), b1)
        # live now: A1's orders must not show up before B1's next one
        for i in range(3):
            await client.post("/v1/orders", json=order_body(client_order_id=f"a1-{i}"))
        last = (await c2.post("/v1/orders", json={**b1, "client_order_id": "b-last"})).json()
        seen = await next_order_event(events)
        assert (seen["order_id"], seen["account"]) == (last["order_id"], "B1")


async def submit_and_see_as(
    c: httpx.AsyncClient, see: Any, body: dict[str, Any]
) -> tuple[dict[str, Any], set[str]]:
    r = await c.post("/v1/orders", json={**body, "client_order_id": f"{body['client_order_id']}-0"})
    assert r.status_code == 202
    return await see(), {r.json()["order_id"]}


async def test_sse_for_an_account_not_in_the_token_answers_403(client: httpx.AsyncClient) -> None:
    r = await client.get("/v1/stream", params={"account": "B1"})
    assert r.status_code == 403


async def test_sse_without_a_token_answers_401(api: ApiProcess) -> None:
    async with httpx.AsyncClient(base_url=api.url) as c:
        assert (await c.get("/v1/stream")).status_code == 401


# --- WebSocket -------------------------------------------------------------------------------


def ws_url(api: ApiProcess, **params: str) -> str:
    query = "&".join(f"{k}={v}" for k, v in params.items())
    return f"ws://127.0.0.1:{api.port}/v1/ws" + (f"?{query}" if query else "")


async def ws_next_order(ws: Any) -> dict[str, Any]:
    async def read() -> dict[str, Any]:
        while True:
            msg = json.loads(await ws.recv())
            if msg["type"] == "order":
                return {"id": msg["id"], **msg["event"]}

    return await asyncio.wait_for(read(), DEADLINE)


async def test_websocket_streams_live_updates_and_resumes(
    api: ApiProcess, client: httpx.AsyncClient
) -> None:
    headers = bearer()
    async with websockets.connect(ws_url(api), additional_headers=headers) as ws:
        hello = json.loads(await asyncio.wait_for(ws.recv(), DEADLINE))
        assert hello == {"type": "subscribed", "accounts": ["A1"]}
        first, sent = await submit_and_see(client, lambda: ws_next_order(ws), "ws")
        assert first["order_id"] in sent
    away = (await client.post("/v1/orders", json=order_body(client_order_id="ws-away"))).json()
    token = headers["Authorization"].split()[1]
    async with websockets.connect(ws_url(api, access_token=token, last_event_id=first["id"])) as ws:
        seen = await ws_next_order(ws)
        ids = {seen["order_id"]}
        while away["order_id"] not in ids:
            ids.add((await ws_next_order(ws))["order_id"])
    assert first["order_id"] not in ids  # resumed strictly after it


async def test_websocket_without_a_token_is_refused_with_401(api: ApiProcess) -> None:
    with pytest.raises(websockets.exceptions.InvalidStatus) as info:
        async with websockets.connect(ws_url(api)):
            pass
    assert info.value.response.status_code == 401


async def test_sse_with_a_bad_last_event_id_ends_with_an_error_event(
    client: httpx.AsyncClient,
) -> None:
    async with client.stream("GET", "/v1/stream", headers={"Last-Event-ID": "garbage"}) as resp:
        assert resp.status_code == 200
        events = [e async for e in sse_events(resp) if "event" in e]
    assert [e["event"] for e in events] == ["error"]
    assert json.loads(events[0]["data"])["code"] == "invalid_request"
