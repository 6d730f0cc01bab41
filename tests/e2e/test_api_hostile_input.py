"""Bodies and query strings a hostile or clumsy client sends, on the wire to a real ``ordergate
api``: duplicated JSON keys and integers too long for ``int()``, on the submit fast path and on
the ASGI routes alike (raw sockets, so the server sees exactly these bytes)."""

from __future__ import annotations

import asyncio
import json

import httpx
import pytest
import redis.asyncio as aioredis
from support.api import ApiProcess, bearer, order_body
from test_api_fastpath import code, orders_of, submit
from test_api_http import read_response

pytestmark = pytest.mark.e2e

MAX_Q = "quantity must be an integer between 1 and 1000000000000"
# a valid body up to its closing brace, so that a key can be repeated at its end
BODY = json.dumps(order_body(client_order_id="dup-1"), separators=(",", ":")).encode()[:-1]


async def _exchange(port: int, request: bytes, interim: bool = False) -> tuple[int, bytes]:
    """Send one request; its answer (after a 100 Continue when ``interim``)."""
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    try:
        if interim:  # Expect: 100-continue sends the submit down the ASGI handler
            head, body = request.split(b"\r\n\r\n", 1)
            writer.write(head + b"\r\n\r\n")
            await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), 10)
            writer.write(body)
        else:
            writer.write(request)
        status, _, answer = await read_response(reader)
        return status, answer
    finally:
        writer.close()


@pytest.mark.parametrize("asgi", [False, True], ids=["fast-path", "asgi"])
@pytest.mark.parametrize(
    ("tail", "key"),
    [(b',"account":"ACCA"}', "account"), (b',"quantity":9900}', "quantity")],
)
async def test_submit_with_a_key_given_twice_answers_422_duplicate_key(
    api: ApiProcess, redis_client: aioredis.Redis, asgi: bool, tail: bytes, key: str
) -> None:
    extra = b"Expect: 100-continue\r\n" if asgi else b""
    status, answer = await _exchange(api.port, submit("", body=BODY + tail, extra=extra), asgi)
    assert status == 422, answer
    error = json.loads(answer)["error"]
    assert (error["code"], error["field"]) == ("duplicate_key", key)
    assert await orders_of(redis_client) == 0


@pytest.mark.parametrize("asgi", [False, True], ids=["fast-path", "asgi"])
async def test_submit_with_a_5000_digit_quantity_names_the_project_rule(
    api: ApiProcess, redis_client: aioredis.Redis, asgi: bool
) -> None:
    without = json.dumps(order_body(quantity=...), separators=(",", ":")).encode()
    body = without[:-1] + b',"quantity":' + b"9" * 5000 + b"}"
    extra = b"Expect: 100-continue\r\n" if asgi else b""
    status, answer = await _exchange(api.port, submit("", body=body, extra=extra), asgi)
    assert status == 422, answer
    error = json.loads(answer)["error"]
    assert (error["field"], error["message"]) == ("quantity", MAX_Q)
    assert await orders_of(redis_client) == 0


async def _replace_raw(client: httpx.AsyncClient, body: bytes) -> tuple[str, httpx.Response]:
    """Submit an order, then PATCH it with exactly ``body``: (order id, answer)."""
    order_id = (await client.post("/v1/orders", json=order_body())).json()["order_id"]
    r = await client.patch(
        f"/v1/orders/{order_id}", content=body, headers={"Content-Type": "application/json"}
    )
    return order_id, r


async def test_replace_with_a_key_given_twice_answers_422_and_changes_nothing(
    client: httpx.AsyncClient,
) -> None:
    order_id, r = await _replace_raw(client, b'{"quantity":200,"quantity":9900}')
    assert r.status_code == 422 and r.json()["error"]["code"] == "duplicate_key"
    assert (await client.get(f"/v1/orders/{order_id}")).json()["status"] == "pending_new"


async def test_replace_with_a_5000_digit_quantity_names_the_project_rule(
    client: httpx.AsyncClient,
) -> None:
    _, r = await _replace_raw(client, b'{"quantity":%s}' % (b"9" * 5000))
    assert r.status_code == 422 and r.json()["error"]["message"] == MAX_Q


async def test_halt_with_a_key_given_twice_answers_422(client: httpx.AsyncClient) -> None:
    r = await client.post(
        "/v1/admin/halt",
        content=b'{"scope":"account","target":"A2","scope":"all"}',
        headers={**bearer(scopes=("ops",)), "Content-Type": "application/json"},
    )
    assert r.status_code == 422 and r.json()["error"]["field"] == "scope"
    assert (await client.post("/v1/orders", json=order_body())).status_code == 202


@pytest.mark.parametrize("limit", ["9" * 5000, "%C2%B2"], ids=["5000-digits", "superscript-2"])
async def test_list_limit_of_any_shape_answers_422_naming_it(
    client: httpx.AsyncClient, limit: str
) -> None:
    r = await client.get(f"/v1/orders?account=A1&limit={limit}")
    assert r.status_code == 422, r.text
    assert r.json()["error"]["message"] == "limit must be an integer between 1 and 500"


async def test_refusals_on_the_fast_path_keep_the_connection_serving(
    api: ApiProcess, redis_client: aioredis.Redis
) -> None:
    reader, writer = await asyncio.open_connection("127.0.0.1", api.port)
    try:
        writer.write(submit("", body=BODY + b',"account":"ACCA"}') + submit("after-dup"))
        first, second = await read_response(reader), await read_response(reader)
    finally:
        writer.close()
    assert (first[0], code(first)) == (422, "duplicate_key")
    assert second[0] == 202
