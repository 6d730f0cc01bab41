"""The fault proxy's delay is real latency in one direction only, keeps message order, and a
line cut ends both sides (the chaos tests rely on all three)."""

from __future__ import annotations

import asyncio
import time

import pytest
import simplefix
from support.fixproxy import TO_ACCEPTOR, TO_INITIATOR, FaultProxy, msg_seq, split_messages

pytestmark = [pytest.mark.chaos, pytest.mark.timeout(30)]


def fix(seq: int) -> bytes:
    m = simplefix.FixMessage()
    m.append_pair(8, "FIX.4.4")
    m.append_pair(35, "0")
    m.append_pair(34, seq)
    return bytes(m.encode())


async def read_messages(reader: asyncio.StreamReader, n: int) -> list[tuple[float, bytes]]:
    """The next ``n`` whole FIX messages with the time each was complete."""
    buf, got = bytearray(), []
    while len(got) < n:
        data = await asyncio.wait_for(reader.read(65536), 10)
        assert data, "connection closed early"
        buf += data
        got += [(time.monotonic(), raw) for raw in split_messages(buf)]
    return got


async def test_delay_holds_one_direction_only_and_keeps_order() -> None:
    accepted: asyncio.Queue[tuple[asyncio.StreamReader, asyncio.StreamWriter]] = asyncio.Queue()

    async def on_conn(r: asyncio.StreamReader, w: asyncio.StreamWriter) -> None:
        await accepted.put((r, w))

    server = await asyncio.start_server(on_conn, "127.0.0.1", 0)
    proxy = FaultProxy(upstream_port=server.sockets[0].getsockname()[1]).start()
    try:
        proxy.set_delay(TO_ACCEPTOR, 0.4)
        c_reader, c_writer = await asyncio.open_connection("127.0.0.1", proxy.port)
        a_reader, a_writer = await asyncio.wait_for(accepted.get(), 10)
        sent_at = time.monotonic()
        for seq in range(1, 6):
            c_writer.write(fix(seq))
            await c_writer.drain()
        a_writer.write(fix(100))
        await a_writer.drain()
        back = await read_messages(c_reader, 1)
        there = await read_messages(a_reader, 5)
        assert back[0][0] - sent_at < 0.3, "the undelayed direction was held"
        assert min(t for t, _ in there) - sent_at >= 0.4, "the delayed direction arrived early"
        assert [msg_seq(raw) for _, raw in there] == [1, 2, 3, 4, 5]
        assert proxy.delayed[TO_ACCEPTOR] == 5 and proxy.delayed[TO_INITIATOR] == 0

        proxy.disconnect()
        assert await asyncio.wait_for(c_reader.read(), 10) == b""
        assert await asyncio.wait_for(a_reader.read(), 10) == b""
        c_writer.close()
        a_writer.close()
    finally:
        proxy.stop()
        server.close()
