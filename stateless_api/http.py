"""uvicorn's httptools protocol, writing each response's head and body in one ``write``.

uvicorn writes the status line and headers as soon as the app sends ``http.response.start``
and the body on ``http.response.body``: two transport writes, and on uvloop usually two
``send`` system calls, per answer. For a response that declares its ``content-length`` this
holds the head back until the body comes and writes both together; responses without a
length (server-sent events, chunked) go out as before. Everything else (header checks, keep-alive,
flow control, the 500 on an app error) is uvicorn's own code, run unchanged.

Relies on uvicorn's ``RequestResponseCycle`` (``transport``, ``send``) and
``HttpToolsProtocol.on_headers_complete`` creating ``self.cycle`` (checked by
``uvicorn_compat``); ``tests/e2e`` exercise it through every route.
"""

from __future__ import annotations

import asyncio
from typing import Any

from .uvicorn_compat import HttpToolsProtocol, RequestResponseCycle


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


class OneWriteHttpToolsProtocol(HttpToolsProtocol):
    """``--http`` for uvicorn: httptools, one write per response with a declared length."""

    def on_headers_complete(self) -> None:
        super().on_headers_complete()
        cycle = self.cycle
        if cycle is not None and type(cycle) is RequestResponseCycle:
            cycle.__class__ = _OneWriteCycle
