"""What one client connection may hold of an API process (``stateless_api/limits.py``), on raw
sockets against a real ``ordergate api``, in both ``--http`` modes: the head size (431), a
request never completed (408 / closed), a connection that never sends, and the cap on open
connections (503 and a log line)."""

from __future__ import annotations

import asyncio
import json
import socket
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from support.api import ApiProcess
from support.procs import RedisServer, wait_until
from test_api_http import read_response  # one HTTP/1.1 answer off a raw socket

pytestmark = pytest.mark.e2e

HEALTH = b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n"
TIMEOUT = 1.0  # --request-timeout and --keep-alive of the process under test


@pytest.fixture(scope="module")
def strict_api(redis_server: RedisServer, http_mode: str) -> Iterator[ApiProcess]:
    limits = ["--request-timeout", str(TIMEOUT), "--keep-alive", str(TIMEOUT)]
    proc = ApiProcess(redis_server.url, extra=limits, http=http_mode).start()
    yield proc
    proc.stop()


def rss_kib(proc: ApiProcess) -> int:
    assert proc.proc is not None
    status = Path(f"/proc/{proc.proc.pid}/status").read_text()
    return int(next(line.split()[1] for line in status.splitlines() if line.startswith("VmRSS")))


def error_code(answer: tuple[int, dict[bytes, bytes], bytes]) -> str:
    return str(json.loads(answer[2])["error"]["code"])


async def closed_after(reader: asyncio.StreamReader, limit: float = 10) -> tuple[bytes, float]:
    """Everything the server sends until it closes, and how long that took."""
    loop = asyncio.get_running_loop()
    began = loop.time()
    data = await asyncio.wait_for(reader.read(), limit)
    return data, loop.time() - began


async def test_a_head_over_16_kib_is_answered_431_and_closed(strict_api: ApiProcess) -> None:
    reader, writer = await asyncio.open_connection("127.0.0.1", strict_api.port)
    try:
        writer.write(b"GET /healthz HTTP/1.1\r\nHost: x\r\nX-Big: %s\r\n\r\n" % (b"a" * 17_000))
        answer = await read_response(reader)
        rest, _ = await closed_after(reader)
    finally:
        writer.close()
    assert answer[0] == 431 and error_code(answer) == "headers_too_large"
    assert answer[1][b"connection"] == b"close" and rest == b""


async def test_heads_under_the_limit_are_served_even_many_in_one_read(
    strict_api: ApiProcess,
) -> None:
    # 15 KiB of header in one request, then 200 requests in one write (~8 KiB): the size
    # limit is per head, not per read
    big = b"GET /healthz HTTP/1.1\r\nHost: x\r\nX-Big: %s\r\n\r\n" % (b"a" * 15_000)
    reader, writer = await asyncio.open_connection("127.0.0.1", strict_api.port)
    try:
        writer.write(big + HEALTH * 200)
        got = [await read_response(reader) for _ in range(201)]
    finally:
        writer.close()
    assert [a[0] for a in got] == [200] * 201


def test_a_16_mb_header_is_refused_before_the_process_reads_it(strict_api: ApiProcess) -> None:
    before = rss_kib(strict_api)
    sent = 0
    with socket.create_connection(("127.0.0.1", strict_api.port)) as sock:
        sock.settimeout(10)
        sock.sendall(b"GET /healthz HTTP/1.1\r\nHost: x\r\nX-Big: ")
        try:
            while sent < 16 * 1024 * 1024:
                sock.sendall(b"a" * 65536)
                sent += 65536
        except OSError:  # the server answered and closed while we were still sending
            pass
        head = sock.recv(200)
    assert head.startswith(b"HTTP/1.1 431 "), head
    assert sent < 16 * 1024 * 1024
    assert rss_kib(strict_api) - before < 8 * 1024  # not grown by the header's size


async def test_an_incomplete_head_is_answered_408_after_the_request_timeout(
    strict_api: ApiProcess,
) -> None:
    reader, writer = await asyncio.open_connection("127.0.0.1", strict_api.port)
    try:
        writer.write(b"GET /healthz HTTP/1.1\r\nHost: x\r\n")  # never the blank line
        data, took = await closed_after(reader)
    finally:
        writer.close()
    assert data.startswith(b"HTTP/1.1 408 ") and b'"request_timeout"' in data
    assert 0.9 * TIMEOUT <= took < TIMEOUT * 1.5 + 2  # clocks and timer granularity


async def test_an_incomplete_body_is_closed_after_the_request_timeout(
    strict_api: ApiProcess,
) -> None:
    reader, writer = await asyncio.open_connection("127.0.0.1", strict_api.port)
    try:
        writer.write(b"PATCH /v1/orders/x HTTP/1.1\r\nHost: x\r\nContent-Length: 100\r\n\r\n{")
        _, took = await closed_after(reader)
    finally:
        writer.close()
    assert 0.9 * TIMEOUT <= took < TIMEOUT * 1.5 + 2  # clocks and timer granularity


async def test_slowloris_connections_are_all_closed(strict_api: ApiProcess) -> None:
    # 200 connections, each sending a header line every 0.3 s: none of them may stay
    opened = [await asyncio.open_connection("127.0.0.1", strict_api.port) for _ in range(200)]
    loop = asyncio.get_running_loop()
    began = loop.time()
    for _, writer in opened:
        writer.write(b"GET /healthz HTTP/1.1\r\n")

    async def drip(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> float:
        while not reader.at_eof():
            try:
                writer.write(b"X-a: b\r\n")
                await asyncio.wait_for(reader.read(65536), 0.3)
            except TimeoutError:
                continue
            except ConnectionError:
                break
        return loop.time() - began

    try:
        took = await asyncio.wait_for(asyncio.gather(*(drip(r, w) for r, w in opened)), 20)
    finally:
        for _, writer in opened:
            writer.close()
    assert max(took) < TIMEOUT * 1.5 + 3


async def test_a_connection_that_never_sends_is_closed_after_the_keep_alive_time(
    strict_api: ApiProcess,
) -> None:
    reader, writer = await asyncio.open_connection("127.0.0.1", strict_api.port)
    try:
        data, took = await closed_after(reader)
    finally:
        writer.close()
    # the server's clock starts at its accept, a little before ours (and timers fire on the
    # event loop's millisecond clock): "after the keep-alive time" within that
    assert data == b"" and 0.9 * TIMEOUT <= took < TIMEOUT * 1.5 + 2


async def test_an_idle_keep_alive_connection_is_closed_as_configured(
    strict_api: ApiProcess,
) -> None:
    reader, writer = await asyncio.open_connection("127.0.0.1", strict_api.port)
    try:
        writer.write(HEALTH)
        assert (await read_response(reader))[0] == 200
        data, took = await closed_after(reader)
    finally:
        writer.close()
    assert data == b"" and 0.9 * TIMEOUT <= took < TIMEOUT + 2


@pytest.fixture
def capped_api(redis_server: RedisServer, http_mode: str) -> Iterator[ApiProcess]:
    proc = ApiProcess(redis_server.url, extra=["--max-connections", "5"], http=http_mode).start()
    yield proc
    proc.stop()


def test_connections_beyond_the_cap_get_503_and_a_log_line(capped_api: ApiProcess) -> None:
    held = [socket.create_connection(("127.0.0.1", capped_api.port)) for _ in range(5)]
    try:
        for sock in held:  # each is served: the server knows all five
            sock.sendall(HEALTH)
            assert sock.recv(4096).startswith(b"HTTP/1.1 200 ")
        with socket.create_connection(("127.0.0.1", capped_api.port)) as extra:
            extra.settimeout(10)
            refused = extra.recv(4096)
            assert extra.recv(4096) == b""  # and closed
        assert refused.startswith(b"HTTP/1.1 503 ") and b'"too_many_connections"' in refused
        wait_until(lambda: "connection cap reached" in capped_api.log(), 10, "the log line")
    finally:
        for sock in held:
            sock.close()
    deadline = time.monotonic() + 10  # the five are gone: a new connection is served again
    while True:
        with socket.create_connection(("127.0.0.1", capped_api.port)) as again:
            again.settimeout(10)
            again.sendall(HEALTH)
            if again.recv(4096).startswith(b"HTTP/1.1 200 ") or time.monotonic() > deadline:
                break
    assert "cap 5" in capped_api.log()


def test_request_timeout_and_connection_cap_must_be_positive() -> None:
    import subprocess
    import sys

    for flag in ("--request-timeout", "--max-connections"):
        done = subprocess.run(
            [sys.executable, "-m", "gateway.cli", "api", flag, "0"],
            capture_output=True,
            text=True,
            timeout=60,
        )
        assert done.returncode == 2 and flag in done.stderr
