"""The submit fast path (``stateless_api/fastpath.py``) on the wire: raw sockets against a real
``ordergate api`` process and a real Redis, so pipelining, split and chunked bodies, closing
and disconnecting clients are exactly what the server receives."""

from __future__ import annotations

import asyncio
import json
import subprocess
import sys
from collections.abc import Iterator

import pytest
import redis.asyncio as aioredis
from support.api import ApiProcess, bearer, order_body
from support.procs import RedisServer
from test_api_http import read_response  # one HTTP/1.1 answer off a raw socket

from gateway import keys

pytestmark = pytest.mark.e2e

TOKEN = bearer()["Authorization"].encode()


def submit(
    client_order_id: str,
    *,
    token: bytes = TOKEN,
    version: bytes = b"1.1",
    extra: bytes = b"",
    content_type: bytes = b"application/json",
    body: bytes | None = None,
    target: bytes = b"/v1/orders",
) -> bytes:
    """One complete ``POST /v1/orders`` request as bytes."""
    if body is None:
        body = json.dumps(order_body(client_order_id=client_order_id)).encode()
    return (
        b"POST %s HTTP/%s\r\nHost: x\r\nAuthorization: %s\r\nContent-Type: %s\r\n"
        b"Content-Length: %d\r\n%s\r\n%s"
        % (target, version, token, content_type, len(body), extra, body)
    )


def chunked(client_order_id: str, pieces: list[bytes] | None = None) -> bytes:
    """``POST /v1/orders`` with a chunked body (the order's JSON cut into ``pieces``)."""
    if pieces is None:
        body = json.dumps(order_body(client_order_id=client_order_id)).encode()
        pieces = [body[:20], body[20:]]
    chunks = b"".join(b"%x\r\n%s\r\n" % (len(p), p) for p in pieces)
    return (
        b"POST /v1/orders HTTP/1.1\r\nHost: x\r\nAuthorization: %s\r\n"
        b"Content-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n%s0\r\n\r\n"
        % (TOKEN, chunks)
    )


async def answers(port: int, data: bytes, n: int) -> list[tuple[int, dict[bytes, bytes], bytes]]:
    """Send ``data`` in one write on a new connection and read ``n`` answers."""
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    try:
        writer.write(data)
        return [await read_response(reader) for _ in range(n)]
    finally:
        writer.close()


def code(answer: tuple[int, dict[bytes, bytes], bytes]) -> str:
    return str(json.loads(answer[2])["error"]["code"])


async def orders_of(redis_client: aioredis.Redis, account: str = "A1") -> int:
    return int(await redis_client.zcard(keys.account_orders(keys.partition_of(account), account)))


async def test_many_pipelined_submits_are_answered_in_request_order(
    api: ApiProcess, redis_client: aioredis.Redis
) -> None:
    ids = [f"pl-{i}" for i in range(40)]
    got = await answers(api.port, b"".join(submit(c) for c in ids), len(ids))
    assert [a[0] for a in got] == [202] * len(ids)
    assert [json.loads(a[2])["client_order_id"] for a in got] == ids
    assert len({json.loads(a[2])["order_id"] for a in got}) == len(ids)
    assert await orders_of(redis_client) == len(ids)


async def test_fast_and_uvicorn_requests_interleaved_on_one_connection_keep_their_order(
    api: ApiProcess, redis_client: aioredis.Redis
) -> None:
    data = b"".join(
        [
            submit("mix-1"),
            b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n",
            submit("mix-2"),
            submit("mix-3", target=b"/v1/orders?via=asgi"),  # the ASGI handler, with a body
            submit("mix-1"),  # the same order again: 200 with the first answer's order
            b"GET /v1/symbols/7203 HTTP/1.1\r\nHost: x\r\nAuthorization: %s\r\n\r\n" % TOKEN,
            submit("mix-4", content_type=b"text/plain"),
            submit("mix-5"),
        ]
    )
    got = await answers(api.port, data, 8)
    assert [a[0] for a in got] == [202, 200, 202, 202, 200, 200, 415, 202]
    bodies = [json.loads(a[2]) for a in got]
    assert [bodies[i]["client_order_id"] for i in (0, 2, 3, 4, 7)] == [
        "mix-1",
        "mix-2",
        "mix-3",
        "mix-1",
        "mix-5",
    ]
    assert bodies[4]["order_id"] == bodies[0]["order_id"]
    assert bodies[5]["symbol"] == "7203"
    assert bodies[6]["error"]["code"] == "unsupported_media_type"


async def test_body_split_across_many_writes_is_accepted(
    api: ApiProcess, redis_client: aioredis.Redis
) -> None:
    request = submit("split-many")
    reader, writer = await asyncio.open_connection("127.0.0.1", api.port)
    try:
        for i in range(0, len(request), 7):  # mid-header and mid-body cuts
            writer.write(request[i : i + 7])
            await writer.drain()
        status, _, body = await read_response(reader)
    finally:
        writer.close()
    assert status == 202
    assert json.loads(body)["client_order_id"] == "split-many"


async def test_chunked_body_is_accepted(api: ApiProcess, redis_client: aioredis.Redis) -> None:
    got = await answers(api.port, chunked("chunk-1") + submit("chunk-2"), 2)
    assert [a[0] for a in got] == [202, 202]
    assert [json.loads(a[2])["client_order_id"] for a in got] == ["chunk-1", "chunk-2"]


async def test_streamed_body_over_the_limit_answers_413_and_the_connection_serves_on(
    api: ApiProcess, redis_client: aioredis.Redis
) -> None:
    big = chunked("", [b" " * 8192] * 3)  # 24 KiB of chunks, no length declared
    declared = submit("", body=b"{" + b" " * 20_000 + b"}")
    got = await answers(api.port, big + declared + submit("after-413"), 3)
    assert [a[0] for a in got] == [413, 413, 202]
    assert code(got[0]) == code(got[1]) == "body_too_large"
    assert json.loads(got[2][2])["client_order_id"] == "after-413"
    assert await orders_of(redis_client) == 1


async def test_connection_close_answers_that_request_and_runs_nothing_after_it(
    api: ApiProcess, redis_client: aioredis.Redis
) -> None:
    reader, writer = await asyncio.open_connection("127.0.0.1", api.port)
    try:
        writer.write(
            submit("close-1")
            + submit("close-2", extra=b"Connection: close\r\n")
            + submit("close-3")
        )
        first = await read_response(reader)
        second = await read_response(reader)
        rest = await asyncio.wait_for(reader.read(), 10)  # the server closes: EOF
    finally:
        writer.close()
    assert (first[0], second[0], second[1].get(b"connection")) == (202, 202, b"close")
    assert rest == b""
    assert await orders_of(redis_client) == 2  # close-3 came after the closing request


async def test_http_1_0_submit_is_answered_and_the_connection_closed(
    api: ApiProcess, redis_client: aioredis.Redis
) -> None:
    reader, writer = await asyncio.open_connection("127.0.0.1", api.port)
    try:
        writer.write(submit("old-1", version=b"1.0"))
        status, headers, body = await read_response(reader)
        rest = await asyncio.wait_for(reader.read(), 10)
    finally:
        writer.close()
    assert (status, headers.get(b"connection"), rest) == (202, b"close", b"")
    assert json.loads(body)["client_order_id"] == "old-1"


async def test_expect_100_continue_gets_the_interim_answer_then_the_order(
    api: ApiProcess, redis_client: aioredis.Redis
) -> None:
    request = submit("cont-1", extra=b"Expect: 100-continue\r\n")
    head, body = request.split(b"\r\n\r\n", 1)
    reader, writer = await asyncio.open_connection("127.0.0.1", api.port)
    try:
        writer.write(head + b"\r\n\r\n")
        interim = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), 10)
        writer.write(body)
        status, _, answer = await read_response(reader)
    finally:
        writer.close()
    assert interim.startswith(b"HTTP/1.1 100 ")
    assert status == 202
    assert json.loads(answer)["client_order_id"] == "cont-1"


@pytest.mark.fast_path_only  # pipelined submits run together only on the fast path; uvicorn runs one at a time and drops the rest
async def test_client_leaving_with_answers_pending_loses_no_order_and_a_retry_answers_200(
    api: ApiProcess, redis_client: aioredis.Redis
) -> None:
    ids = [f"gone-{i}" for i in range(60)]
    data = b"".join(submit(c) for c in ids)
    _, writer = await asyncio.open_connection("127.0.0.1", api.port)
    writer.write(data)
    await writer.drain()
    writer.close()  # without reading a single answer
    await writer.wait_closed()
    for _ in range(200):  # the orders are written whether or not anyone reads the answers
        if await orders_of(redis_client) == len(ids):
            break
        await asyncio.sleep(0.05)
    assert await orders_of(redis_client) == len(ids)
    got = await answers(api.port, data, len(ids))  # the client retries everything
    assert [a[0] for a in got] == [200] * len(ids)
    assert [json.loads(a[2])["client_order_id"] for a in got] == ids


async def test_refusals_on_the_fast_path_carry_the_documented_error_bodies(
    api: ApiProcess, redis_client: aioredis.Redis
) -> None:
    other = bearer(accounts=("Z9",))["Authorization"].encode()
    read_only = bearer(scopes=("read",))["Authorization"].encode()
    data = b"".join(
        [
            submit("e-1", body=b'{"account": "A1",'),  # not JSON
            submit("e-2", body=json.dumps(order_body(quantity=150)).encode()),  # off the unit
            submit("e-3", token=b"Bearer not-a-token"),
            submit("e-4", token=b""),
            submit("e-5", token=other),  # A1 is not this token's account
            submit("e-6", token=read_only),
            submit("e-7", content_type=b"text/plain"),
            submit("e-8"),
        ]
    )
    got = await answers(api.port, data, 8)
    assert [a[0] for a in got] == [422, 422, 401, 401, 403, 403, 415, 202]
    assert [code(a) for a in got[:7]] == [
        "invalid_request",
        "quantity_not_multiple_of_unit",
        "invalid_token",
        "unauthorized",
        "account_not_permitted",
        "insufficient_scope",
        "unsupported_media_type",
    ]
    assert got[2][1][b"www-authenticate"] == b'Bearer realm="ordergate", error="invalid_token"'
    assert got[3][1][b"www-authenticate"] == b'Bearer realm="ordergate"'
    for answer in got[:7]:
        assert answer[1][b"content-type"] == b"application/json"
        assert set(json.loads(answer[2])["error"]) == {"code", "message", "field"}
    assert await orders_of(redis_client) == 1


@pytest.fixture
def lonely_api(http_mode: str) -> Iterator[tuple[ApiProcess, RedisServer]]:
    """An API with a Redis of its own, to take away."""
    server = RedisServer().start()
    api = ApiProcess(server.url, http=http_mode).start()
    yield api, server
    api.stop()
    server.stop()


async def test_redis_down_answers_503_to_every_pipelined_submit_in_order(
    lonely_api: tuple[ApiProcess, RedisServer],
) -> None:
    api, server = lonely_api
    server.stop()
    got = await answers(api.port, submit("down-1") + submit("down-2", content_type=b"x/y"), 2)
    assert [a[0] for a in got] == [503, 415]
    assert code(got[0]) == "redis_unavailable"
    assert got[0][1][b"retry-after"] == b"1"


@pytest.mark.fast_path_only  # uvicorn answers a bad request at once and closes, cutting off the answers still owed
async def test_unparsable_request_is_answered_400_after_the_answers_before_it(
    api: ApiProcess, redis_client: aioredis.Redis
) -> None:
    reader, writer = await asyncio.open_connection("127.0.0.1", api.port)
    try:
        writer.write(submit("before-400") + b"NOT HTTP AT ALL\r\n\r\n" + submit("after-400"))
        first = await read_response(reader)
        second = await read_response(reader)
        rest = await asyncio.wait_for(reader.read(), 10)  # then the server closes
    finally:
        writer.close()
    assert (first[0], second[0], second[1].get(b"connection")) == (202, 400, b"close")
    assert rest == b""
    assert await orders_of(redis_client) == 1  # nothing after the bad request runs


async def test_a_deep_pipeline_pauses_reading_and_still_answers_everything_in_order(
    api: ApiProcess, redis_client: aioredis.Redis
) -> None:
    # 1,000 submits in flight on one connection: more than the 256 pending answers after
    # which the server stops reading that connection until answers are written
    ids = [f"deep-{i}" for i in range(1000)]
    reader, writer = await asyncio.open_connection("127.0.0.1", api.port)
    try:
        writer.write(b"".join(submit(c) for c in ids))
        sending = asyncio.ensure_future(writer.drain())
        got = [await read_response(reader) for _ in ids]
        await sending
    finally:
        writer.close()
    assert [a[0] for a in got] == [202] * len(ids)
    assert [json.loads(a[2])["client_order_id"] for a in got] == ids
    assert await orders_of(redis_client) == len(ids)


@pytest.fixture(scope="module")
def brief_api(redis_server: RedisServer, http_mode: str) -> Iterator[ApiProcess]:
    """An API that closes connections idle for one second (``--keep-alive 1``)."""
    proc = ApiProcess(redis_server.url, extra=["--keep-alive", "1"], http=http_mode).start()
    yield proc
    proc.stop()


async def test_an_idle_keep_alive_connection_is_closed_after_the_timeout(
    brief_api: ApiProcess,
) -> None:
    loop = asyncio.get_running_loop()
    reader, writer = await asyncio.open_connection("127.0.0.1", brief_api.port)
    try:
        writer.write(submit("idle-1"))
        assert (await read_response(reader))[0] == 202
        answered = loop.time()
        assert await asyncio.wait_for(reader.read(), 10) == b""  # the server closed it
        idle = loop.time() - answered
    finally:
        writer.close()
    assert 0.9 <= idle < 5, idle


async def test_a_connection_busy_past_the_timeout_is_not_closed_while_in_use(
    brief_api: ApiProcess,
) -> None:
    # requests every 0.3 s for 2.4 s: never idle for the 1 s timeout, though the first idle
    # period's timer fires in the middle of the run
    loop = asyncio.get_running_loop()
    reader, writer = await asyncio.open_connection("127.0.0.1", brief_api.port)
    try:
        for i in range(8):
            writer.write(submit(f"busy-{i}"))
            assert (await read_response(reader))[0] == 202, i
            await asyncio.sleep(0.3)  # the client's pace, not a wait for a condition
        answered = loop.time()
        assert await asyncio.wait_for(reader.read(), 10) == b""
        idle = loop.time() - answered
    finally:
        writer.close()
    assert 0.6 <= idle < 5, idle  # about 1 s after the last answer (0.3 s of it slept)


def test_keep_alive_must_be_positive() -> None:
    done = subprocess.run(
        [sys.executable, "-m", "gateway.cli", "api", "--keep-alive", "0"],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 2
    assert "--keep-alive must be a positive number of seconds" in done.stderr
