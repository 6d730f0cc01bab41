"""What one client connection may hold of an API process: head size, time, the connection itself.

uvicorn's httptools protocol has none of these: a 16 MB header is read into memory and answered,
a request that never completes (slowloris) or a connection that never sends holds its socket for
ever, and nothing caps the open connections. :class:`ConnectionGuard` is a mixin for both HTTP
protocols of ``ordergate api`` (the fast path and ``--http standard``):

- **head size**: request line and headers over ``max_head_bytes`` (16 KiB) answer 431 and close.
  A head still incomplete after that many more bytes is refused at once, so a huge header costs
  at most one read (<= 256 KiB) of memory.
- **request timeout**: a request whose head or body is still incomplete ``request_timeout``
  seconds (5) after it began answers 408 (or, with answers still owed before it, is closed).
- **idle**: a connection that sends nothing at all is closed after the keep-alive time, as a
  keep-alive connection idle between requests already is (``--keep-alive``).
- **connections**: beyond ``max_connections`` open connections (HTTP and WebSocket) a new one gets
  503 ``too_many_connections`` and is closed, with a warning in the log (at most every 10 s).

One timer per connection checks the time limits every half ``request_timeout``: nothing is armed
or cancelled per request, and a request's clock starts at the first check that sees it (so a
request is closed between ``request_timeout`` and 1.5 times that after it began).
"""

from __future__ import annotations

import http
import json
import logging
import os
import resource
from dataclasses import asdict, dataclass
from typing import Any

from . import errors
from .uvicorn_compat import HttpToolsProtocol

log = logging.getLogger("ordergate.api")

ENV_LIMITS = "ORDERGATE_API_LIMITS"
MAX_HEAD_BYTES = 16 * 1024
REQUEST_TIMEOUT = 5.0
#: file descriptors kept free for Redis connections, logs, the listening socket
FD_HEADROOM = 64
REFUSAL_LOG_EVERY = 10.0


def default_max_connections() -> int:
    """4096, or fewer when the process may not open that many files."""
    soft, _ = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft == resource.RLIM_INFINITY:
        return 4096
    return max(16, min(4096, soft - FD_HEADROOM))


@dataclass(frozen=True)
class Limits:
    max_head_bytes: int = MAX_HEAD_BYTES
    request_timeout: float = REQUEST_TIMEOUT
    keep_alive: float = 5.0
    max_connections: int = 4096

    def to_env(self) -> str:
        return json.dumps(asdict(self))


_current: Limits | None = None


def current() -> Limits:
    """The limits ``ordergate api`` put in the environment (each worker process reads them)."""
    global _current
    if _current is None:
        raw = os.environ.get(ENV_LIMITS)
        _current = Limits(**json.loads(raw)) if raw else Limits()
    return _current


def closing_answer(code: str, message: str) -> bytes:
    """A whole error answer (the API's error body) that closes the connection."""
    response = errors.error_response(code, message)
    status = response.status_code
    parts = [b"HTTP/1.1 %d %s\r\n" % (status, http.HTTPStatus(status).phrase.encode())]
    parts += [b"%s: %s\r\n" % (name, value) for name, value in response.raw_headers]
    parts += [b"connection: close\r\n\r\n", bytes(response.body)]
    return b"".join(parts)


HEAD_TOO_LARGE = closing_answer(
    errors.HEADERS_TOO_LARGE, f"request line and headers must not exceed {MAX_HEAD_BYTES} bytes"
)
TIMED_OUT = closing_answer(errors.REQUEST_TIMEOUT, "the request was not completed in time")
NO_ROOM = closing_answer(errors.TOO_MANY_CONNECTIONS, "too many open connections; retry later")


class HeadTooLarge(Exception):
    """Raised in ``on_headers_complete``: httptools stops parsing, the protocol answers 431."""


class _Refusals:
    """Connections refused for the cap, logged at most every ``REFUSAL_LOG_EVERY`` seconds."""

    count = 0
    logged_at: float | None = None

    @classmethod
    def note(cls, now: float, open_now: int, cap: int) -> None:
        cls.count += 1
        if cls.logged_at is None or now - cls.logged_at >= REFUSAL_LOG_EVERY:
            log.warning(
                "connection cap reached: %d open connections (cap %d, --max-connections); "
                "refused %d new connection(s) since the last report",
                open_now - 1,
                cap,
                cls.count,
            )
            cls.logged_at, cls.count = now, 0


class ConnectionGuard:
    """Mixin placed before uvicorn's ``HttpToolsProtocol`` (see the module doc).

    The concrete protocol keeps three fields current in its parser callbacks (a few attribute
    stores per request, no timer): ``_msgs`` (+1 in ``on_message_begin``), ``_head_open``
    (from ``on_message_begin`` to ``on_headers_complete``), ``_reading`` (from
    ``on_message_begin`` to ``on_message_complete``); it calls :meth:`_head_too_large` in
    ``on_headers_complete`` and provides :meth:`_close_with` and :meth:`_owes_answers`."""

    # set by uvicorn's protocol
    loop: Any
    transport: Any
    connections: Any
    url: bytes
    headers: list[tuple[bytes, bytes]]

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._limits = current()
        self._msgs = 0
        self._head_open = False
        self._reading = False
        self._check_head = False
        self._head_bytes = 0
        self._made_at = 0.0
        self._watch: Any = None
        self._watch_msg = 0
        self._watch_since = 0.0
        self._refusal: bytes | None = None

    # --- asyncio.Protocol --------------------------------------------------------------

    def connection_made(self, transport: Any) -> None:
        super().connection_made(transport)  # type: ignore[misc]
        limits = self._limits
        now = self.loop.time()
        if len(self.connections) > limits.max_connections:
            _Refusals.note(now, len(self.connections), limits.max_connections)
            transport.write(NO_ROOM)
            transport.close()
            return
        self._made_at = now
        self._watch = self.loop.call_later(self._tick(), self._watchdog)

    def connection_lost(self, exc: Exception | None) -> None:
        if self._watch is not None:
            self._watch.cancel()
            self._watch = None
        super().connection_lost(exc)  # type: ignore[misc]

    def data_received(self, data: bytes) -> None:
        limit = self._limits.max_head_bytes
        carried = self._msgs if self._head_open else -1
        # a head that spans reads, or a read bigger than the limit: measure heads exactly
        self._check_head = carried >= 0 or len(data) > limit
        super().data_received(data)  # type: ignore[misc]
        if self._head_open and self._refusal is None:
            if carried == self._msgs:  # the same head stayed open through this whole read
                self._head_bytes += len(data)
            else:
                self._head_bytes = self._head_size()
            if self._head_bytes > limit:
                self._refuse(HEAD_TOO_LARGE)

    # --- head size ---------------------------------------------------------------------

    def _head_size(self) -> int:
        """Request target and header fields seen so far (an estimate of the head's bytes)."""
        return len(self.url) + sum(len(n) + len(v) + 4 for n, v in self.headers) + 16

    def _head_too_large(self) -> None:
        """In ``on_headers_complete``: raise :class:`HeadTooLarge` for an oversized head."""
        if self._check_head and self._head_size() > self._limits.max_head_bytes:
            self._refusal = HEAD_TOO_LARGE
            raise HeadTooLarge

    def _refuse(self, answer: bytes) -> None:
        self._refusal = answer
        self._close_with(answer)
        self._head_open = self._reading = False

    # --- time limits -------------------------------------------------------------------

    def _tick(self) -> float:
        return max(0.05, self._limits.request_timeout / 2)

    def _watchdog(self) -> None:
        self._watch = None
        transport = self.transport
        if transport is None or transport.is_closing() or transport.get_protocol() is not self:
            return  # closed, or upgraded to a WebSocket (its own protocol from here on)
        now = self.loop.time()
        limits = self._limits
        if self._reading:
            if self._watch_msg != self._msgs:
                self._watch_msg, self._watch_since = self._msgs, now
            elif now - self._watch_since >= limits.request_timeout:
                self._refuse(TIMED_OUT)
                return
        elif self._msgs == 0 and now - self._made_at >= limits.keep_alive:
            transport.close()  # never sent anything: idle since it connected
            return
        self._watch = self.loop.call_later(self._tick(), self._watchdog)

    # --- provided by the concrete protocol ---------------------------------------------

    def _close_with(self, answer: bytes) -> None:
        """Send ``answer`` after the answers owed before it (or, if they cannot be, just
        close) and read nothing more."""
        raise NotImplementedError


class GuardedHttpToolsProtocol(ConnectionGuard, HttpToolsProtocol):
    """``ordergate api --http standard``: uvicorn's own httptools protocol, unchanged, with the
    limits above around its public entry points (no fast path, no private uvicorn calls)."""

    def on_message_begin(self) -> None:
        self._msgs += 1
        self._head_open = self._reading = True
        super().on_message_begin()

    def on_headers_complete(self) -> None:
        self._head_too_large()
        self._head_open = False
        super().on_headers_complete()

    def on_message_complete(self) -> None:
        self._reading = False
        super().on_message_complete()

    def send_400_response(self, msg: str) -> None:
        if self._refusal is not None:  # HeadTooLarge stopped the parser
            self._close_with(self._refusal)
        else:
            super().send_400_response(msg)

    def _close_with(self, answer: bytes) -> None:
        cycle = getattr(self, "cycle", None)
        if cycle is None or getattr(cycle, "response_complete", True):
            self.transport.write(answer)  # else a response is under way: cut it off
        self.transport.close()
