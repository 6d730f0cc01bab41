"""One pipelining Redis connection on ``asyncio.Protocol`` for the script batcher.

redis-py's asyncio path costs a pool checkout, a StreamReader, locks, a timeout context and one
``read_response`` per reply on every round trip; at the API's batch sizes (3-5 calls) that fixed
cost was most of the batcher's CPU. Here a batch is one ``transport.write`` and the replies are
parsed by ``hiredis.Reader`` in ``data_received`` and handed, in order, to whoever sent them:
requests are answered FIFO, as Redis answers them on one connection.

Only what a plain single-node TCP client needs is supported (AUTH, SELECT, CLIENT SETNAME, RESP2);
:func:`pipe_settings` returns ``None`` for anything else (cluster, unix socket, TLS, RESP3,
credential providers) and the caller keeps using redis-py. Error replies become the exceptions
redis-py raises for them (its own prefix table); a lost connection or an unanswered request fails
every pending request with ``redis.exceptions.ConnectionError`` / ``TimeoutError`` and the next
request connects again.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections import deque
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, cast

import hiredis
from redis import exceptions as rexc
from redis.asyncio.connection import Connection

from gateway.redis_compat import reply_error
from gateway.resp import pack_commands

#: what a request's ``done`` gets: every reply (error replies as exceptions, in their place),
#: or the one exception that failed the whole request (connection lost, timeout)
Done = Callable[[list[Any] | BaseException], None]

#: without a ``socket_timeout`` on the client a hung Redis must still not hang callers forever
DEFAULT_TIMEOUT = 5.0

# connection_kwargs the pipe does not implement; any of them set sends the client to redis-py
_UNSUPPORTED = ("credential_provider", "redis_connect_func", "ssl_context", "path")


@dataclass(frozen=True)
class PipeSettings:
    """Where and how to connect: taken from a redis-py client's pool."""

    host: str
    port: int
    db: int = 0
    username: str | None = None
    password: str | None = None
    client_name: str | None = None
    timeout: float = DEFAULT_TIMEOUT
    connect_timeout: float = DEFAULT_TIMEOUT
    encoding: str | None = None  # decode bulk strings (the client's decode_responses)
    encoding_errors: str = "strict"

    def handshake(self) -> list[list[Any]]:
        """The commands that start every connection (as redis-py's ``on_connect`` sends them)."""
        cmds: list[list[Any]] = []
        if self.username or self.password:
            auth = [self.username, self.password or ""] if self.username else [self.password]
            cmds.append(["AUTH", *auth])
        if self.client_name:
            cmds.append(["CLIENT", "SETNAME", self.client_name])
        if self.db:
            cmds.append(["SELECT", self.db])
        return cmds


def pipe_settings(redis: Any) -> PipeSettings | None:
    """The settings of a plain single-node TCP, RESP2 redis-py asyncio client, else ``None``."""
    pool = getattr(redis, "connection_pool", None)
    if pool is None or getattr(redis, "connection", None) is not None:
        return None  # cluster client, or a client pinned to one connection
    if getattr(pool, "connection_class", None) is not Connection:
        return None  # unix socket, TLS, sentinel, anything custom
    kw = getattr(pool, "connection_kwargs", None)
    if not isinstance(kw, dict) or any(kw.get(k) is not None for k in _UNSUPPORTED):
        return None
    if str(kw.get("protocol") or 2) != "2":
        return None
    timeout = kw.get("socket_timeout") or DEFAULT_TIMEOUT
    return PipeSettings(
        host=str(kw.get("host") or "localhost"),
        port=int(kw.get("port") or 6379),
        db=int(kw.get("db") or 0),
        username=kw.get("username") or None,
        password=kw.get("password") or None,
        client_name=kw.get("client_name") or None,
        timeout=float(timeout),
        connect_timeout=float(kw.get("socket_connect_timeout") or timeout),
        encoding=str(kw.get("encoding") or "utf-8") if kw.get("decode_responses") else None,
        encoding_errors=str(kw.get("encoding_errors") or "strict"),
    )


class Request:
    """``want`` replies still to come for one write, and whom to hand them to."""

    __slots__ = ("want", "got", "done", "deadline")

    def __init__(self, want: int, done: Done, deadline: float) -> None:
        self.want = want
        self.got: list[Any] = []
        self.done = done
        self.deadline = deadline


class RespProtocol(asyncio.Protocol):
    """One connection: writes requests, parses replies, answers the requests in order."""

    def __init__(self, settings: PipeSettings, on_lost: Callable[[RespProtocol], None]) -> None:
        kwargs: dict[str, Any] = {"replyError": reply_error}
        if settings.encoding:
            kwargs["encoding"] = settings.encoding
            kwargs["errors"] = settings.encoding_errors
        self.reader = hiredis.Reader(**kwargs)
        self.pending: deque[Request] = deque()
        self.transport: asyncio.Transport | None = None
        self.on_lost = on_lost
        self._paused = False
        self._backlog: list[bytes] = []
        self._timer: asyncio.TimerHandle | None = None
        self._loop = asyncio.get_running_loop()

    # --- asyncio callbacks ---------------------------------------------------------------

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = cast(asyncio.Transport, transport)  # uvloop's are not subclasses

    def data_received(self, data: bytes) -> None:
        reader = self.reader
        reader.feed(data)
        pending = self.pending
        try:
            while pending:
                req = pending[0]
                got = req.got
                need = req.want - len(got)
                while need:
                    reply = reader.gets()
                    if reply is False:
                        return
                    got.append(reply)
                    need -= 1
                pending.popleft()
                self._answer(req, got)
            if reader.gets() is not False:
                self.abort(rexc.ConnectionError("Redis sent a reply nobody asked for"))
        except hiredis.ProtocolError as exc:
            self.abort(rexc.ConnectionError(f"Redis protocol error: {exc}"))

    def connection_lost(self, exc: Exception | None) -> None:
        self.transport = None
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
        self._fail(rexc.ConnectionError(f"Connection to Redis lost: {exc or 'closed'}"))
        self.on_lost(self)

    def pause_writing(self) -> None:
        self._paused = True

    def resume_writing(self) -> None:
        self._paused = False
        if self._backlog and self.transport is not None:
            data, self._backlog = b"".join(self._backlog), []
            self.transport.write(data)

    # --- requests ------------------------------------------------------------------------

    def send(self, packed: bytes, req: Request) -> None:
        """Write ``packed`` (held while the transport's buffer is full); ``req`` gets its replies."""
        if self.transport is None:  # lost between connect and now
            self._answer(req, rexc.ConnectionError("Connection to Redis lost"))
            return
        self.pending.append(req)
        if self._paused:
            self._backlog.append(packed)
        else:
            self.transport.write(packed)
        if self._timer is None:
            self._timer = self._loop.call_at(req.deadline, self._check_deadline)

    def abort(self, exc: BaseException) -> None:
        """Fail every pending request with ``exc`` and drop the connection (its replies could no
        longer be matched)."""
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
        self._fail(exc)
        transport, self.transport = self.transport, None
        if transport is not None:
            transport.abort()
        self.on_lost(self)  # the next request connects again, even before connection_lost

    def _check_deadline(self) -> None:
        """One timer per connection, at the oldest pending request's deadline: a timer per
        request would cost more than the request."""
        self._timer = None
        if not self.pending:
            return
        deadline = self.pending[0].deadline
        if deadline <= self._loop.time():
            self.abort(rexc.TimeoutError("Redis did not answer in time"))
        else:
            self._timer = self._loop.call_at(deadline, self._check_deadline)

    def _fail(self, exc: BaseException) -> None:
        pending, self.pending = self.pending, deque()
        self._backlog = []
        for req in pending:
            self._answer(req, exc)

    def _answer(self, req: Request, replies: list[Any] | BaseException) -> None:
        try:
            req.done(replies)
        except Exception as exc:  # a broken callback must not break the connection
            self._loop.call_exception_handler(
                {"message": "RESP pipe: reply callback failed", "exception": exc}
            )


class RespPipe:
    """Requests on one lazily (re)connected :class:`RespProtocol`.

    While the connection is being made (or after a loss, made again) requests wait in order and
    go out once AUTH / SELECT succeeded; if that fails, they fail with it. A connection belongs
    to the event loop that made it: a request from another loop starts a new one."""

    def __init__(self, settings: PipeSettings) -> None:
        self.settings = settings
        self._proto: RespProtocol | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._waiting: list[tuple[bytes, Request]] = []
        self._connecting: asyncio.Task[None] | None = None

    @classmethod
    def for_client(cls, redis: Any) -> RespPipe | None:
        settings = pipe_settings(redis)
        return None if settings is None else cls(settings)

    @property
    def pending(self) -> int:
        """Requests written and not answered yet (plus those waiting for the connection)."""
        return len(self._waiting) + (len(self._proto.pending) if self._proto else 0)

    def send(
        self,
        loop: asyncio.AbstractEventLoop,
        packed: bytes,
        n_replies: int,
        done: Done,
        slack: float = 0.0,
    ) -> None:
        """Send ``packed`` (``n_replies`` commands); ``done`` gets the replies or the exception.

        ``loop`` is the running loop (the caller has it). ``slack`` lengthens the timeout for a
        request that makes Redis wait on purpose (``WAIT``)."""
        req = Request(n_replies, done, loop.time() + self.settings.timeout + slack)
        proto = self._proto
        if proto is not None and self._loop is loop:
            proto.send(packed, req)
            return
        if self._loop is not loop:
            self._forget_loop()
            self._loop = loop
        self._waiting.append((packed, req))
        if self._connecting is None:
            self._connecting = loop.create_task(self._connect(loop))

    def execute(
        self, loop: asyncio.AbstractEventLoop, commands: Sequence[Sequence[Any]]
    ) -> asyncio.Future[list[Any]]:
        """``commands`` (packed here) as one request: a future of their replies."""
        fut: asyncio.Future[list[Any]] = loop.create_future()
        self.send(loop, pack_commands(commands), len(commands), _setter(fut))
        return fut

    def close(self) -> None:
        """Drop the connection; pending requests fail with ConnectionError."""
        if self._connecting is not None:
            self._connecting.cancel()
        if self._proto is not None:
            self._proto.abort(rexc.ConnectionError("RESP pipe closed"))
            self._proto = None

    async def _connect(self, loop: asyncio.AbstractEventLoop) -> None:
        s = self.settings
        proto: RespProtocol | None = None
        try:
            async with asyncio.timeout(s.connect_timeout):
                _, proto = await loop.create_connection(
                    lambda: RespProtocol(s, self._lost), s.host, s.port
                )
                hello = s.handshake()
                if hello:
                    await self._handshake(loop, proto, hello)
        except BaseException as exc:
            if proto is not None and proto.transport is not None:
                proto.transport.abort()
            if self._loop is loop:
                self._connecting = None
                self._fail_waiting(_connect_error(exc, s))
            if not isinstance(exc, Exception):
                raise
            return
        if self._loop is not loop:  # another loop took over meanwhile
            proto.abort(rexc.ConnectionError("event loop changed"))
            return
        self._connecting = None
        self._proto = proto
        waiting, self._waiting = self._waiting, []
        for packed, req in waiting:
            proto.send(packed, req)

    async def _handshake(
        self, loop: asyncio.AbstractEventLoop, proto: RespProtocol, hello: list[list[Any]]
    ) -> None:
        fut: asyncio.Future[list[Any]] = loop.create_future()
        proto.send(
            pack_commands(hello),
            Request(len(hello), _setter(fut), loop.time() + self.settings.connect_timeout),
        )
        for reply in await fut:
            if isinstance(reply, Exception):
                if isinstance(reply, rexc.AuthenticationError):
                    raise reply
                raise rexc.ConnectionError(f"Redis refused the connection set-up: {reply}")

    def _lost(self, proto: RespProtocol) -> None:
        if self._proto is proto:
            self._proto = None

    def _fail_waiting(self, exc: BaseException) -> None:
        waiting, self._waiting = self._waiting, []
        for _, req in waiting:
            try:
                req.done(exc)
            except Exception as cb_exc:
                if self._loop is not None:
                    self._loop.call_exception_handler(
                        {"message": "RESP pipe: reply callback failed", "exception": cb_exc}
                    )

    def _forget_loop(self) -> None:
        """The previous loop is gone (tests run one loop after another): its connection and
        requests cannot be used from this one; drop them without touching that loop."""
        proto, self._proto = self._proto, None
        self._waiting = []
        self._connecting = None
        if proto is not None and proto.transport is not None:
            with contextlib.suppress(RuntimeError):  # its loop may be closed
                proto.transport.abort()


def _setter(fut: asyncio.Future[list[Any]]) -> Done:
    def done(replies: list[Any] | BaseException) -> None:
        if fut.done():
            return
        if isinstance(replies, BaseException):
            fut.set_exception(replies)
        else:
            fut.set_result(replies)

    return done


def _connect_error(exc: BaseException, s: PipeSettings) -> BaseException:
    """A failed connect as redis-py reports it: ConnectionError (or its TimeoutError)."""
    if isinstance(exc, rexc.ConnectionError | rexc.TimeoutError):
        return exc
    if isinstance(exc, TimeoutError):
        return rexc.TimeoutError(f"Timeout connecting to Redis at {s.host}:{s.port}")
    return rexc.ConnectionError(f"Error connecting to Redis at {s.host}:{s.port}: {exc!r}")
