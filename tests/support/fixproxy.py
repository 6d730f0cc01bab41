"""A fault-injecting TCP proxy for FIX sessions: forwards whole messages, drops the ones it is told
to, delays a direction by a set latency, and cuts the line.

It sits between an initiator and an acceptor (``initiator -> proxy.port -> upstream``), splits each
direction into FIX messages by BeginString / BodyLength / CheckSum, and forwards them unchanged
except the chosen ones, which vanish as if lost on the wire. A delay (:meth:`FaultProxy.set_delay`)
holds each chunk read in that direction for that long before writing it on, in order, while reading
goes on (latency, not a bandwidth cap). It runs its own asyncio loop in a
background thread, so sync tests (QuickFIX on both sides) and async tests (our engine in the
test's loop) use it the same way. Bytes that do not frame as FIX are forwarded as they are.
"""

from __future__ import annotations

import asyncio
import re
import threading
from collections.abc import Callable
from dataclasses import dataclass, field

TO_ACCEPTOR = "to_acceptor"
TO_INITIATOR = "to_initiator"

_SEQ = re.compile(rb"\x0134=([0-9]+)\x01")
_TYPE = re.compile(rb"\x0135=([^\x01]*)\x01")


def msg_seq(raw: bytes) -> int | None:
    m = _SEQ.search(raw)
    return int(m.group(1)) if m else None


def msg_type(raw: bytes) -> bytes | None:
    m = _TYPE.search(raw)
    return m.group(1) if m else None


def is_poss_dup(raw: bytes) -> bool:
    return b"\x0143=Y\x01" in raw


def split_messages(buf: bytearray) -> list[bytes]:
    """Remove and return every complete FIX message at the front of ``buf``.

    Garbage before a BeginString is passed through as its own chunk (a proxy must not repair).
    """
    out: list[bytes] = []
    while buf:
        start = buf.find(b"8=FIX")
        if start < 0:
            if len(buf) > 16:  # no message can start here: pass the bytes on
                out.append(bytes(buf))
                buf.clear()
            break
        if start > 0:
            out.append(bytes(buf[:start]))
            del buf[:start]
        first = buf.find(b"\x01")
        if first < 0:
            break
        m = re.match(rb"9=([0-9]+)\x01", buf[first + 1 : first + 20])
        if m is None:
            if first + 20 <= len(buf):  # not a FIX header: pass this much on
                out.append(bytes(buf[: first + 1]))
                del buf[: first + 1]
                continue
            break
        body_start = first + 1 + m.end()
        end = body_start + int(m.group(1)) + 7  # "10=nnn\x01"
        if len(buf) < end:
            break
        out.append(bytes(buf[:end]))
        del buf[:end]
    return out


@dataclass
class _Rule:
    direction: str
    predicate: Callable[[bytes], bool]
    remaining: int


@dataclass
class FaultProxy:
    """Proxy from ``port`` (chosen at start) to ``upstream_port``; see :meth:`drop_seq`."""

    upstream_port: int
    host: str = "127.0.0.1"
    port: int = 0
    forwarded: dict[str, int] = field(default_factory=lambda: {TO_ACCEPTOR: 0, TO_INITIATOR: 0})
    dropped: list[tuple[str, bytes]] = field(default_factory=list)
    connections: int = 0
    delays: dict[str, float] = field(default_factory=lambda: {TO_ACCEPTOR: 0.0, TO_INITIATOR: 0.0})
    delayed: dict[str, int] = field(default_factory=lambda: {TO_ACCEPTOR: 0, TO_INITIATOR: 0})
    _rules: list[_Rule] = field(default_factory=list)
    _lock: threading.Lock = field(default_factory=threading.Lock)
    _loop: asyncio.AbstractEventLoop | None = None
    _thread: threading.Thread | None = None
    _server: asyncio.AbstractServer | None = None
    _writers: set[asyncio.StreamWriter] = field(default_factory=set)

    # -- control (thread-safe) -------------------------------------------------------------

    def drop_where(
        self, direction: str, predicate: Callable[[bytes], bool], count: int = 1
    ) -> None:
        """Drop the next ``count`` messages in ``direction`` for which ``predicate(raw)`` is true."""
        with self._lock:
            self._rules.append(_Rule(direction, predicate, count))

    def drop_seq(self, direction: str, seq: int) -> None:
        """Drop the first message in ``direction`` with MsgSeqNum ``seq`` that is not a PossDup."""
        self.drop_where(direction, lambda raw: msg_seq(raw) == seq and not is_poss_dup(raw))

    def drop_nth(self, direction: str, n: int) -> None:
        """Drop the ``n``-th message (1-based, counted over all connections) in ``direction``."""
        target = n

        def nth(_: bytes) -> bool:
            return self.forwarded[direction] + self._dropped_in(direction) + 1 == target

        self.drop_where(direction, nth)

    def set_delay(self, direction: str, seconds: float) -> None:
        """Latency of ``direction`` from now on (0: none). Chunks already held keep their time;
        order is kept either way, so lowering it lets the queue drain behind the held ones."""
        if seconds < 0:
            raise ValueError("a delay cannot be negative")
        with self._lock:
            self.delays[direction] = seconds

    def pending_rules(self) -> int:
        with self._lock:
            return sum(1 for r in self._rules if r.remaining > 0)

    def _dropped_in(self, direction: str) -> int:
        return sum(1 for d, _ in self.dropped if d == direction)

    def _should_drop(self, direction: str, raw: bytes) -> bool:
        with self._lock:
            for rule in self._rules:
                if rule.remaining > 0 and rule.direction == direction and rule.predicate(raw):
                    rule.remaining -= 1
                    self.dropped.append((direction, raw))
                    return True
            return False

    # -- lifecycle ------------------------------------------------------------------------------

    def start(self) -> FaultProxy:
        ready = threading.Event()

        def run() -> None:
            loop = asyncio.new_event_loop()
            self._loop = loop
            asyncio.set_event_loop(loop)
            self._server = loop.run_until_complete(
                asyncio.start_server(self._accept, self.host, self.port)
            )
            self.port = self._server.sockets[0].getsockname()[1]
            ready.set()
            loop.run_forever()
            loop.close()

        self._thread = threading.Thread(target=run, daemon=True, name="fix-proxy")
        self._thread.start()
        if not ready.wait(10):
            raise RuntimeError("proxy did not start")
        return self

    def stop(self) -> None:
        loop = self._loop
        if loop is None:
            return

        async def shutdown() -> None:
            if self._server is not None:
                self._server.close()
            for w in list(self._writers):
                w.close()

        asyncio.run_coroutine_threadsafe(shutdown(), loop).result(5)
        loop.call_soon_threadsafe(loop.stop)
        if self._thread is not None:
            self._thread.join(5)
        self._loop = None

    def disconnect(self) -> None:
        """Cut every proxied connection now (both sides see the TCP connection close)."""
        loop = self._loop
        if loop is None:
            return

        async def cut() -> None:
            for w in list(self._writers):
                w.close()

        asyncio.run_coroutine_threadsafe(cut(), loop).result(5)

    def __enter__(self) -> FaultProxy:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # -- the pumps ------------------------------------------------------------------------------

    async def _accept(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            up_reader, up_writer = await asyncio.open_connection(self.host, self.upstream_port)
        except OSError:
            writer.close()
            return
        self.connections += 1
        self._writers |= {writer, up_writer}
        a = asyncio.create_task(self._pump(reader, up_writer, TO_ACCEPTOR))
        b = asyncio.create_task(self._pump(up_reader, writer, TO_INITIATOR))
        await asyncio.wait({a, b}, return_when=asyncio.FIRST_COMPLETED)
        for w in (writer, up_writer):
            w.close()
            self._writers.discard(w)
        for t in (a, b):
            t.cancel()

    async def _pump(
        self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter, direction: str
    ) -> None:
        """Read, frame, drop; hand each chunk with its due time to the delivering task. At EOF
        what is held is still delivered (in time), then the pump ends."""
        loop = asyncio.get_running_loop()
        queue: asyncio.Queue[tuple[float, bytes] | None] = asyncio.Queue()
        deliver = asyncio.create_task(self._deliver(queue, writer))
        buf = bytearray()
        try:
            while True:
                data = await reader.read(65536)
                if deliver.done():  # the other end is gone
                    return
                if not data:
                    queue.put_nowait(None)
                    await deliver
                    return
                buf += data
                out = []
                for raw in split_messages(buf):
                    if raw.startswith(b"8=FIX") and self._should_drop(direction, raw):
                        continue
                    if raw.startswith(b"8=FIX"):
                        self.forwarded[direction] += 1
                    out.append(raw)
                if out:
                    with self._lock:
                        delay = self.delays[direction]
                    if delay > 0:
                        self.delayed[direction] += len(out)
                    queue.put_nowait((loop.time() + delay, b"".join(out)))
        except (OSError, asyncio.CancelledError):
            return
        finally:
            deliver.cancel()

    @staticmethod
    async def _deliver(
        queue: asyncio.Queue[tuple[float, bytes] | None], writer: asyncio.StreamWriter
    ) -> None:
        loop = asyncio.get_running_loop()
        try:
            while (item := await queue.get()) is not None:
                due, data = item
                if (wait := due - loop.time()) > 0:
                    await asyncio.sleep(wait)  # the injected latency itself
                writer.write(data)
                await writer.drain()
        except (OSError, asyncio.CancelledError):
            return
