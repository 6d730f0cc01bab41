"""The generator's view of the exchange: the API's live update stream (``GET /v1/stream``,
server-sent events), one subscription per account group, opened (and confirmed subscribed)
before the load starts, each event handed to the stage tracker with the time it was read.

Events are not JSON-decoded: the order id and the event name are cut out of the ``data:`` line
(the API writes compact JSON, ``"order_id":"..."`` and ``"event":"..."``), which keeps the
generator's CPU per event small at thousands of events a second.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable

from .driver import Target

_DATA = b"\ndata: "
_ORDER_ID = b'"order_id":"'
_EVENT = b'"event":"'
SUBSCRIBED = b": subscribed"

OnEvent = Callable[[str, str, float], None]


def _field(chunk: bytes, marker: bytes) -> str | None:
    i = chunk.find(marker)
    if i < 0:
        return None
    i += len(marker)
    j = chunk.find(b'"', i)
    return chunk[i:j].decode() if j >= 0 else None


def parse_events(buf: bytearray, on_event: OnEvent, now: float) -> int:
    """Hand every complete ``event: order`` message in ``buf`` to ``on_event(order_id, event,
    now)`` and cut them off; return how many bytes were consumed."""
    pos = 0
    while True:
        end = buf.find(b"\n\n", pos)
        if end < 0:
            return pos
        chunk = bytes(buf[pos:end])
        pos = end + 2
        if b"event: order" not in chunk:
            continue
        d = chunk.find(_DATA)
        if d < 0:
            continue
        data = chunk[d:]
        order_id = _field(data, _ORDER_ID)
        event = _field(data, _EVENT)
        if order_id is not None and event is not None:
            on_event(order_id, event, now)


class _Dechunk:
    """``Transfer-Encoding: chunked`` undone incrementally (the SSE body comes chunked)."""

    def __init__(self) -> None:
        self.raw = bytearray()

    def feed(self, data: bytes) -> bytes:
        self.raw += data
        out = bytearray()
        raw = self.raw
        while True:
            eol = raw.find(b"\r\n")
            if eol < 0:
                break
            size = int(bytes(raw[:eol]).split(b";")[0] or b"0", 16)
            if len(raw) < eol + 2 + size + 2:
                break
            out += raw[eol + 2 : eol + 2 + size]
            del raw[: eol + 2 + size + 2]
        return bytes(out)


class StreamClient(asyncio.Protocol):
    """One SSE subscription. ``subscribed`` is set once the API says the start position is
    fixed: every event after it is delivered. ``closed`` is set when the connection ends."""

    def __init__(self, on_event: OnEvent) -> None:
        self.on_event = on_event
        self.head = bytearray()
        self.status = 0
        self.chunked = False
        self.dechunk = _Dechunk()
        self.body = bytearray()
        self.subscribed = asyncio.Event()
        self.closed = asyncio.Event()
        self.error = ""
        self.transport: asyncio.Transport | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]

    def connection_lost(self, exc: Exception | None) -> None:
        self.closed.set()

    def data_received(self, data: bytes) -> None:
        now = time.perf_counter()
        if not self.status:
            self.head += data
            end = self.head.find(b"\r\n\r\n")
            if end < 0:
                return
            head = bytes(self.head[:end]).lower()
            self.status = int(head[9:12])
            self.chunked = b"transfer-encoding: chunked" in head
            data = bytes(self.head[end + 4 :])
            self.head.clear()
            if self.status != 200:
                self.error = f"{self.status}: {data[:200].decode(errors='replace')}"
                self.close()
                return
        self.body += self.dechunk.feed(data) if self.chunked else data
        if not self.subscribed.is_set() and SUBSCRIBED in self.body:
            self.subscribed.set()
        used = parse_events(self.body, self.on_event, now)
        if used:
            del self.body[:used]

    def close(self) -> None:
        if self.transport is not None:
            self.transport.close()


async def subscribe(
    target: Target, token: str, on_event: OnEvent, account: str | None = None, timeout: float = 10
) -> StreamClient:
    """Open one subscription (the token's accounts, or ``account``) and wait until it is
    subscribed; ``ConnectionError`` says why it could not be."""
    loop = asyncio.get_running_loop()
    client = StreamClient(on_event)
    await loop.create_connection(lambda: client, target.host, target.port, ssl=target.ssl_context())
    query = f"?account={account}" if account else ""
    assert client.transport is not None
    client.transport.write(
        f"GET {target.prefix}/v1/stream{query} HTTP/1.1\r\nHost: {target.host_header}\r\n"
        f"Authorization: Bearer {token}\r\nAccept: text/event-stream\r\n\r\n".encode()
    )
    waiter = asyncio.ensure_future(client.subscribed.wait())
    ended = asyncio.ensure_future(client.closed.wait())
    done, _ = await asyncio.wait({waiter, ended}, timeout=timeout, return_when="FIRST_COMPLETED")
    waiter.cancel()
    ended.cancel()
    if not client.subscribed.is_set():
        client.close()
        why = client.error or ("closed" if client.closed.is_set() else f"no answer in {timeout} s")
        raise ConnectionError(f"live update stream {target.base}/v1/stream{query}: {why}")
    return client
