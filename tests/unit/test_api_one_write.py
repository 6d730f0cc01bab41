"""A sized response leaves in one transport write; streamed ones go out as uvicorn sends them."""

from __future__ import annotations

import asyncio
import logging
from typing import Any

from uvicorn.protocols.http.flow_control import FlowControl

from stateless_api.http import _OneWriteCycle


class _Transport:
    """Records writes (a fake for this pure unit of one class: no socket involved)."""

    def __init__(self) -> None:
        self.writes: list[bytes] = []
        self.closed = False

    def write(self, data: bytes) -> None:
        self.writes.append(data)

    def close(self) -> None:
        self.closed = True

    def is_closing(self) -> bool:
        return self.closed

    def pause_reading(self) -> None: ...

    def resume_reading(self) -> None: ...


def _cycle(transport: _Transport, keep_alive: bool = True) -> _OneWriteCycle:
    log = logging.getLogger("test")
    return _OneWriteCycle(
        scope={"type": "http", "method": "POST", "path": "/", "http_version": "1.1"},  # type: ignore[typeddict-item]
        transport=transport,  # type: ignore[arg-type]
        flow=FlowControl(transport),  # type: ignore[arg-type]
        logger=log,
        access_logger=log,
        access_log=False,
        default_headers=[],
        message_event=asyncio.Event(),
        expect_100_continue=False,
        keep_alive=keep_alive,
        on_response=lambda: None,
    )


def _start(headers: list[tuple[bytes, bytes]]) -> dict[str, Any]:
    return {"type": "http.response.start", "status": 202, "headers": headers}


async def test_sized_response_is_written_once_with_head_and_body():
    t = _Transport()
    cycle = _cycle(t)
    await cycle.send(_start([(b"content-type", b"application/json"), (b"content-length", b"2")]))
    assert t.writes == []
    await cycle.send({"type": "http.response.body", "body": b"{}"})
    assert len(t.writes) == 1
    assert t.writes[0].startswith(b"HTTP/1.1 202 ") and t.writes[0].endswith(b"\r\n\r\n{}")
    assert cycle.response_complete and not t.closed


async def test_sized_response_without_keep_alive_is_written_then_closed():
    t = _Transport()
    cycle = _cycle(t, keep_alive=False)
    await cycle.send(_start([(b"content-length", b"2")]))
    await cycle.send({"type": "http.response.body", "body": b"{}"})
    assert len(t.writes) == 1 and b"connection: close" in t.writes[0] and t.closed


async def test_unsized_response_head_goes_out_at_once():
    t = _Transport()
    cycle = _cycle(t)
    await cycle.send(_start([(b"content-type", b"text/event-stream")]))
    assert len(t.writes) == 1 and b"transfer-encoding: chunked" in t.writes[0]
