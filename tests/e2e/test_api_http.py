"""HTTP/1.1 on the wire for ``POST /v1/orders`` (uvicorn + ``stateless_api/http.py``'s one-write
protocol): raw sockets against a real ``ordergate api`` process, so pipelining, split bodies and
``Connection: close`` are what the client actually sends, byte for byte."""

from __future__ import annotations

import asyncio
import json

import pytest
import redis.asyncio as aioredis
from support.api import ApiProcess, bearer, order_body

pytestmark = pytest.mark.e2e


def post_order(port: int, extra: bytes = b"", **over: object) -> tuple[bytes, bytes]:
    body = json.dumps(order_body(**over)).encode()
    head = (
        b"POST /v1/orders HTTP/1.1\r\nHost: 127.0.0.1:%d\r\nAuthorization: %s\r\n"
        b"Content-Type: application/json\r\nContent-Length: %d\r\n%s\r\n"
        % (port, bearer()["Authorization"].encode(), len(body), extra)
    )
    return head, body


async def read_response(reader: asyncio.StreamReader) -> tuple[int, dict[bytes, bytes], bytes]:
    head = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), 10)
    lines = head.split(b"\r\n")
    status = int(lines[0].split(b" ")[1])
    headers = {}
    for line in lines[1:]:
        if line:
            name, value = line.split(b":", 1)
            headers[name.strip().lower()] = value.strip()
    body = await asyncio.wait_for(reader.readexactly(int(headers[b"content-length"])), 10)
    return status, headers, body


async def test_pipelined_requests_are_answered_in_order_on_one_connection(
    api: ApiProcess, redis_client: aioredis.Redis
) -> None:
    reader, writer = await asyncio.open_connection("127.0.0.1", api.port)
    first = b"".join(post_order(api.port, client_order_id="pipe-1"))
    health = b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n"
    bad = b"".join(post_order(api.port, client_order_id="pipe-2", quantity=150))
    again = b"".join(post_order(api.port, client_order_id="pipe-1"))
    writer.write(first + health + bad + again)
    answers = [await read_response(reader) for _ in range(4)]
    writer.close()
    assert [a[0] for a in answers] == [202, 200, 422, 200]
    assert json.loads(answers[0][2])["client_order_id"] == "pipe-1"
    assert json.loads(answers[3][2])["order_id"] == json.loads(answers[0][2])["order_id"]


async def test_submit_whose_body_arrives_after_the_headers_is_accepted(
    api: ApiProcess, redis_client: aioredis.Redis
) -> None:
    reader, writer = await asyncio.open_connection("127.0.0.1", api.port)
    head, body = post_order(api.port, client_order_id="split-1")
    writer.write(head)
    await writer.drain()
    writer.write(body)
    status, _, answer = await read_response(reader)
    writer.close()
    assert status == 202
    assert json.loads(answer)["client_order_id"] == "split-1"


async def test_submit_with_connection_close_answers_then_closes_the_connection(
    api: ApiProcess, redis_client: aioredis.Redis
) -> None:
    reader, writer = await asyncio.open_connection("127.0.0.1", api.port)
    writer.write(b"".join(post_order(api.port, b"Connection: close\r\n", client_order_id="c-1")))
    status, headers, _ = await read_response(reader)
    assert (status, headers.get(b"connection")) == (202, b"close")
    assert await asyncio.wait_for(reader.read(), 10) == b""  # the server closed it
    writer.close()


async def test_submit_error_answer_carries_the_error_body_and_headers(
    api: ApiProcess, redis_client: aioredis.Redis
) -> None:
    reader, writer = await asyncio.open_connection("127.0.0.1", api.port)
    head, body = post_order(api.port, client_order_id="bad-1")
    writer.write(head.replace(b"Authorization: Bearer ", b"Authorization: Bearer x") + body)
    status, headers, answer = await read_response(reader)
    writer.close()
    assert status == 401
    assert headers[b"www-authenticate"] == b'Bearer realm="ordergate", error="invalid_token"'
    assert headers[b"content-type"] == b"application/json"
    assert json.loads(answer)["error"]["code"] == "invalid_token"
