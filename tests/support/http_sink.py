"""A cheap HTTP/1.1 sink that looks enough like the order API for the load generator: it answers
``GET /healthz`` and ``GET /v1/orders?...`` (the pre-run probe) and every other request with a
``202`` carrying a fresh ``order_id``, optionally ``delay`` seconds late (a deliberately slow
server). No stream. Run it as its own process (``python -m support.http_sink PORT [DELAY]``) to
measure the generator's own CPU apart from the server's, or in the test's event loop:
``python -m support.http_sink [PORT [DELAY [ENVIRONMENT]]]`` prints ``sink on 127.0.0.1:PORT``.
"""

from __future__ import annotations

import asyncio
import sys

HEALTH = b'{"status":"ok","environment":"%s","process":"sink"}'


class SinkProtocol(asyncio.Protocol):
    """Answers pipelined requests in order; ``delay`` holds every answer back that long."""

    def __init__(self, server: Sink) -> None:
        self.server = server
        self.buf = bytearray()
        self.transport: asyncio.Transport | None = None
        self.closing = False

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]

    def data_received(self, data: bytes) -> None:
        self.buf += data
        out = []
        while True:
            end = self.buf.find(b"\r\n\r\n")
            if end < 0:
                break
            head = bytes(self.buf[:end]).lower()
            i = head.find(b"content-length:")
            length = int(head[i + 15 : head.find(b"\r\n", i) % (len(head) + 1)]) if i >= 0 else 0
            if len(self.buf) < end + 4 + length:
                break
            del self.buf[: end + 4 + length]
            out.append(self.server.answer(head))
            if b"\r\nconnection: close" in head:
                self.closing = True
                break
        if out:
            wire = b"".join(out)
            if self.server.delay:
                asyncio.get_running_loop().call_later(self.server.delay, self._write, wire)
            else:
                self._write(wire)

    def _write(self, wire: bytes) -> None:
        if self.transport is not None and not self.transport.is_closing():
            self.transport.write(wire)
            if self.closing:
                self.transport.close()


class Sink:
    """The listening sink; ``requests`` counts what it answered."""

    def __init__(self, delay: float = 0.0, environment: str = "development") -> None:
        self.delay = delay
        self.environment = environment
        self.requests = 0
        self.server: asyncio.Server | None = None
        self.port = 0

    def answer(self, head: bytes) -> bytes:
        self.requests += 1
        if head.startswith(b"get /healthz"):
            body = HEALTH % self.environment.encode()
            status = b"200 OK"
        elif head.startswith(b"get "):
            body, status = b'{"orders":[],"next_cursor":null}', b"200 OK"
        else:
            body = b'{"order_id":"S%d","status":"pending_new"}' % self.requests
            status = b"202 Accepted"
        return b"HTTP/1.1 %s\r\nContent-Length: %d\r\n\r\n%s" % (status, len(body), body)

    async def start(self, port: int = 0) -> Sink:
        loop = asyncio.get_running_loop()
        self.server = await loop.create_server(lambda: SinkProtocol(self), "127.0.0.1", port)
        self.port = self.server.sockets[0].getsockname()[1]
        return self

    async def close(self) -> None:
        if self.server is not None:
            self.server.close()


async def _main(port: int, delay: float, environment: str) -> None:
    sink = await Sink(delay, environment).start(port)
    print(f"sink on 127.0.0.1:{sink.port}", flush=True)
    await asyncio.Event().wait()


if __name__ == "__main__":
    import uvloop

    args = sys.argv[1:] + ["0", "0", "development"][len(sys.argv) - 1 :]
    uvloop.run(_main(int(args[0]), float(args[1]), args[2]))
