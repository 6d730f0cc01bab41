"""Live order updates over server-sent events and WebSocket, resumable from a last event id.

Both transports read the same source, ``OrderGateway.subscribe(accounts, last_event_id)``, which
yields ``(event_id, event)`` pairs; a client that reconnects with the last id it saw gets
everything after it. A producer task feeds a small queue so the transport can send keep-alives
while no event arrives, and a slow client applies back-pressure instead of growing memory.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
from collections.abc import AsyncIterator
from typing import Any

from starlette.responses import StreamingResponse
from starlette.websockets import WebSocket, WebSocketDisconnect

from gateway.errors import OrderError

from .context import ApiContext

KEEPALIVE_SECONDS = 15.0
QUEUE_SIZE = 1000

_END = object()


def _dumps(value: Any) -> str:
    return json.dumps(value, separators=(",", ":"), default=str)


class _Feed:
    """Run a subscription in a task; hand its items out with a keep-alive timeout.

    ``await _Feed.open(...)`` returns only once the subscription's start position is fixed
    (``OrderGateway.subscribe``): a client told "subscribed" misses nothing after it."""

    def __init__(self, source: AsyncIterator[Any]) -> None:
        self.queue: asyncio.Queue[Any] = asyncio.Queue(QUEUE_SIZE)
        self.task = asyncio.create_task(self._produce(source))

    @classmethod
    async def open(cls, ctx: ApiContext, accounts: set[str], last_id: str | None) -> _Feed:
        """Raises ``OrderError`` for a bad last event id or an unreachable Redis."""
        return cls(await ctx.gateway.subscribe(accounts, last_id))

    async def _produce(self, source: AsyncIterator[Any]) -> None:
        try:
            async for item in source:
                await self.queue.put(item)
        except OrderError as exc:
            await self.queue.put(exc)
        finally:
            await self.queue.put(_END)

    async def next(self, timeout: float) -> Any:
        """The next ``(id, event)``, ``None`` on timeout, an ``OrderError``, or ``_END``."""
        try:
            return await asyncio.wait_for(self.queue.get(), timeout)
        except TimeoutError:
            return None

    async def close(self) -> None:
        self.task.cancel()
        with contextlib.suppress(asyncio.CancelledError, Exception):
            await self.task


async def _sse_body(
    ctx: ApiContext, accounts: set[str], last_id: str | None
) -> AsyncIterator[bytes]:
    try:
        feed = await _Feed.open(ctx, accounts, last_id)
    except OrderError as exc:
        yield b"retry: 1000\n\n"
        yield f"event: error\ndata: {_dumps(exc.to_dict())}\n\n".encode()
        return
    ctx.metrics.stream_clients += 1
    try:
        yield b"retry: 1000\n: subscribed\n\n"  # the start position is fixed by now
        while True:
            item = await feed.next(KEEPALIVE_SECONDS)
            if item is None:
                yield b": keep-alive\n\n"
            elif item is _END:
                return
            elif isinstance(item, OrderError):
                yield f"event: error\ndata: {_dumps(item.to_dict())}\n\n".encode()
                return
            else:
                event_id, event = item
                yield f"id: {event_id}\nevent: order\ndata: {_dumps(event)}\n\n".encode()
    finally:
        ctx.metrics.stream_clients -= 1
        await feed.close()


def sse_response(ctx: ApiContext, accounts: set[str], last_id: str | None) -> StreamingResponse:
    return StreamingResponse(
        _sse_body(ctx, accounts, last_id),
        media_type="text/event-stream",
        headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"},
    )


async def websocket_session(
    ctx: ApiContext, websocket: WebSocket, accounts: set[str], last_id: str | None
) -> None:
    """Send ``{"id", "event"}`` text frames until the client goes away."""
    await websocket.accept()
    try:
        feed = await _Feed.open(ctx, accounts, last_id)
    except OrderError as exc:
        with contextlib.suppress(Exception):
            await websocket.send_text(_dumps({"type": "error", "error": exc.to_dict()}))
            await websocket.close()
        return
    ctx.metrics.stream_clients += 1

    async def watch_client() -> None:
        with contextlib.suppress(WebSocketDisconnect, RuntimeError):
            while True:
                message = await websocket.receive()
                if message["type"] == "websocket.disconnect":
                    return

    watcher = asyncio.create_task(watch_client())
    try:
        await websocket.send_text(_dumps({"type": "subscribed", "accounts": sorted(accounts)}))
        while True:
            getter = asyncio.ensure_future(feed.queue.get())
            done, _ = await asyncio.wait(
                {getter, watcher}, timeout=KEEPALIVE_SECONDS, return_when=asyncio.FIRST_COMPLETED
            )
            if getter not in done:
                getter.cancel()
                if watcher in done:  # the client went away
                    break
                await websocket.send_text(_dumps({"type": "keep-alive"}))
                continue
            item = getter.result()
            if item is _END:
                break
            if isinstance(item, OrderError):
                await websocket.send_text(_dumps({"type": "error", "error": item.to_dict()}))
                break
            event_id, event = item
            await websocket.send_text(_dumps({"type": "order", "id": event_id, "event": event}))
    except (WebSocketDisconnect, RuntimeError, OSError):
        pass
    finally:
        ctx.metrics.stream_clients -= 1
        watcher.cancel()
        await feed.close()
        with contextlib.suppress(Exception):
            await websocket.close()
