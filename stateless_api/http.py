"""uvicorn's httptools protocol, writing each response's head and body in one ``write``.

uvicorn writes the status line and headers as soon as the app sends ``http.response.start``
and the body on ``http.response.body``: two transport writes, and on uvloop usually two
``send`` system calls, per answer. For a response that declares its ``content-length`` this
holds the head back until the body comes and writes both together; responses without a
length (server-sent events, chunked) go out as before. Everything else (header checks, keep-alive,
flow control, the 500 on an app error) is uvicorn's own code, run unchanged.

``POST /v1/orders`` with its whole body already read takes a fast path below the ASGI layer:
the protocol runs ``submit.decide`` (the same token check, parsing, gateway call and error
answers as the ASGI handler) and writes the response bytes itself, doing what uvicorn's ``send``
does at the end of a response (default headers, ``connection: close`` when not keep-alive,
write-flow control, pipelining hand-over through ``on_response``). It skips the ASGI
messages, the per-request ``receive`` / ``send`` calls and the header re-parsing: about a fifth
of the process's CPU per order. A body still arriving, ``Expect: 100-continue``, the access log,
the concurrency limit's 503 and every other request take uvicorn's ordinary path.

Relies on uvicorn's ``RequestResponseCycle`` (``transport``, ``send``, ``flow``, ``body``,
``more_body``, ``on_response``) and ``HttpToolsProtocol`` (``on_headers_complete`` creating
``self.cycle``, ``_start_asgi_task``) of uvicorn 0.5x; ``tests/e2e`` exercise it through every
route.
"""

from __future__ import annotations

import asyncio
import time
from typing import Any

from uvicorn.protocols.http.httptools_impl import (
    STATUS_LINE,
    HttpToolsProtocol,
    RequestResponseCycle,
)

from . import parsing, submit
from .context import ApiContext, too_large

_JSON_CONTENT_TYPE = (b"content-type", b"application/json")


class _Collector:
    """Stands in for the transport while uvicorn formats one response; forwards the rest."""

    __slots__ = ("real", "parts", "closed")

    def __init__(self, real: asyncio.Transport) -> None:
        self.real = real
        self.parts: list[bytes] = []
        self.closed = False

    def write(self, data: bytes) -> None:
        self.parts.append(data)

    def close(self) -> None:
        self.closed = True

    def __getattr__(self, name: str) -> Any:
        return getattr(self.real, name)

    def flush(self) -> None:
        if self.parts:
            self.real.write(b"".join(self.parts))
        if self.closed:
            self.real.close()


def _declares_length(message: Any) -> bool:
    return any(name.lower() == b"content-length" for name, _ in message.get("headers", ()))


class _OneWriteCycle(RequestResponseCycle):
    _held: Any = None

    async def send(self, message: Any) -> None:
        kind = message["type"]
        if (
            kind == "http.response.start"
            and not self.response_started
            and not self.disconnected
            and self.scope["method"] != "HEAD"
            and _declares_length(message)
        ):
            self._held = message
            return
        held = self._held
        if held is None or kind != "http.response.body":
            self._held = None
            if held is not None:
                await super().send(held)
            await super().send(message)
            return
        self._held = None
        real = self.transport
        collector = _Collector(real)
        self.transport = collector  # type: ignore[assignment]
        try:
            await super().send(held)
            await super().send(message)
        finally:
            self.transport = real
            collector.flush()


def _write_answer(
    cycle: RequestResponseCycle, status: int, headers: list[tuple[bytes, bytes]], body: bytes
) -> None:
    """Head and body in one write, then the end-of-response steps of uvicorn's ``send``."""
    content = [STATUS_LINE[status]]
    for name, value in cycle.default_headers:
        content += [name, b": ", value, b"\r\n"]
    for name, value in headers:
        content += [name, b": ", value, b"\r\n"]
    if not cycle.keep_alive:
        content.append(b"connection: close\r\n")
    content += [b"\r\n", body]
    cycle.response_started = True
    cycle.waiting_for_100_continue = False
    cycle.transport.write(b"".join(content))
    cycle.response_complete = True
    cycle.message_event.set()
    if not cycle.keep_alive:
        cycle.transport.close()
    cycle.on_response()


async def _fast_submit(cycle: RequestResponseCycle, app: Any) -> None:
    """``POST /v1/orders`` whose body is complete: decide, then write the answer directly.

    The task starts when the headers are parsed; by the time it runs the parser has fed the
    rest of what arrived with them. A body not complete by then takes the ASGI path."""
    if cycle.more_body or cycle.waiting_for_100_continue:
        await cycle.run_asgi(app)
        return
    ctx: ApiContext = app.ctx
    started = time.perf_counter()
    status = 500
    try:
        authorization, content_type, content_length = submit.request_headers(cycle.scope["headers"])
        body = bytes(cycle.body)
        cycle.body = bytearray()

        async def read_body() -> bytes:
            if len(body) > parsing.MAX_BODY_BYTES:
                raise too_large()
            return body

        status, answer, response = await submit.decide(
            ctx, authorization, content_type, content_length, read_body
        )
        if response is not None:
            headers = response.raw_headers
            answer = bytes(response.body)
        else:
            assert answer is not None
            headers = [_JSON_CONTENT_TYPE, (b"content-length", b"%d" % len(answer))]
        if cycle.flow.write_paused and not cycle.disconnected:
            await cycle.flow.drain()
        if not cycle.disconnected:  # as uvicorn's send: a gone client's answer is dropped
            _write_answer(cycle, status, headers, answer)
    except BaseException as exc:  # as uvicorn's run_asgi
        cycle.logger.error("Exception in the submit fast path", exc_info=exc)
        if not cycle.response_started:
            await cycle.send_500_response()
        else:
            cycle.transport.close()
    finally:
        cycle.on_response = lambda: None
    ctx.metrics.observe("POST", "submit", status, time.perf_counter() - started)


class OneWriteHttpToolsProtocol(HttpToolsProtocol):
    """``--http`` for uvicorn: httptools, one write per response with a declared length, and
    the submit fast path."""

    def _start_asgi_task(self, cycle: RequestResponseCycle, app: Any) -> None:
        scope = cycle.scope
        if (
            app is self.app
            and isinstance(app, submit.OrderApi)
            and scope["method"] == "POST"
            and scope["path"] == submit.PATH
            and not cycle.access_log
            and not self.config.reset_contextvars
        ):
            task = self.loop.create_task(_fast_submit(cycle, app))
            task.add_done_callback(self.tasks.discard)
            self.tasks.add(task)
            return
        super()._start_asgi_task(cycle, app)

    def on_headers_complete(self) -> None:
        super().on_headers_complete()
        cycle = self.cycle
        if cycle is not None and type(cycle) is RequestResponseCycle:
            cycle.__class__ = _OneWriteCycle
