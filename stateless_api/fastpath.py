"""``POST /v1/orders`` inside the HTTP protocol: no task, no ASGI messages per order.

uvicorn runs every request as an asyncio task with an ASGI scope, ``receive`` / ``send`` and an
Event, and serves the requests pipelined on one connection one after the other (it pauses
reading until the current answer is out). Under load that made the submit path wait for a
Redis round trip per request and connection, and cost a fifth of the process's CPU per order.
:class:`FastHttpToolsProtocol` handles ``POST /v1/orders`` in the httptools callbacks
themselves: the header checks when the headers are complete, the body as it streams (the size
limit enforced on the way), and at the message's end the synchronous part of a submit
(``submit.order_request``, ``OrderGateway.prepare_submit``) whose script call goes on the
batcher (``Batcher.call_into``: the request object is the reply's sink, called inside the Redis
read), which turns the reply into the answer. The rules are ``stateless_api.submit``'s
and ``OrderGateway``'s, shared with the ASGI handler, which still serves any other server.

Several submits on one connection are in flight at once; answers leave strictly in request
order (:class:`AnswerQueue`), those ready together in one ``transport.write``. Every other
request is uvicorn's: it starts only once the answers before it are written, and answers after
it wait for its response. The rare submits that must wait for something (a JWKS key, reading an
earlier order back, a new order id after a collision) finish in a task, in their place in line.
``Expect: 100-continue``, the access log, a concurrency limit and ``reset_contextvars`` send the
submit the ASGI way.

Relies on uvicorn 0.54's ``HttpToolsProtocol`` (parser callbacks, ``cycle``, ``flow``,
``_start_asgi_task``, ``on_response_complete``, ``server_state``), imported from
``uvicorn_compat``, which checks them at start-up; ``ordergate api --http standard`` runs
without any of this.
"""

from __future__ import annotations

import logging
import time
from collections import deque
from collections.abc import Awaitable, Iterator
from typing import Any

from gateway.auth import Principal
from gateway.orders import MomentRefusal, SubmitCall, SubmitOutcome
from gateway.scripts import unavailable

from . import parsing, submit
from .context import ApiContext, too_large
from .http import OneWriteHttpToolsProtocol, _Collector
from .limits import ConnectionGuard
from .uvicorn_compat import STATUS_LINE, HttpToolsProtocol

log = logging.getLogger("ordergate.api")

PATH = submit.PATH.encode()
#: requests on one connection waiting for their answer before the connection stops reading
MAX_PENDING = 256


class Slot:
    """One request's place in its connection's answer order. A fast answer fills ``data``
    (and ``close`` if the connection ends after it); a uvicorn request is a ``job`` that is
    started when it reaches the head and leaves the queue when its response is complete."""

    __slots__ = ("data", "close", "job", "running")

    def __init__(self, job: Any = None) -> None:
        self.data: bytes | None = None
        self.close = False
        self.job = job
        self.running = False


class AnswerQueue:
    """The answers of one connection in request order (pure: no I/O here)."""

    __slots__ = ("_q",)

    def __init__(self) -> None:
        self._q: deque[Slot] = deque()

    def __len__(self) -> int:
        return len(self._q)

    def __iter__(self) -> Iterator[Slot]:
        return iter(self._q)

    def push(self, slot: Slot) -> Slot:
        self._q.append(slot)
        return slot

    def is_head(self, slot: Slot) -> bool:
        return bool(self._q) and self._q[0] is slot

    def waiting_job(self) -> bool:
        """A uvicorn request is queued behind others (its body buffers meanwhile)."""
        return any(s.job is not None and not s.running for s in self._q)

    def take(self) -> tuple[list[bytes], bool, Any]:
        """What may go out now: the ready answers at the head, whether the connection closes
        after them, and the uvicorn job to start once they are written (or None)."""
        q = self._q
        parts: list[bytes] = []
        while q:
            head = q[0]
            if head.job is not None:
                if head.running:
                    break
                head.running = True
                return parts, False, head.job
            if head.data is None:
                break
            q.popleft()
            parts.append(head.data)
            if head.close:
                q.clear()  # nothing after a closing answer is answered
                return parts, True, None
        return parts, False, None

    def job_done(self) -> None:
        """The running uvicorn request at the head has completed its response."""
        if self._q and self._q[0].running:
            self._q.popleft()

    def clear(self) -> list[Slot]:
        slots = list(self._q)
        self._q.clear()
        return slots


class _Submit(Slot):
    """A ``POST /v1/orders`` being read and answered on the fast path."""

    __slots__ = (
        "started",
        "keep_alive",
        "headers",
        "principal",
        "chunks",
        "size",
        "answered",
        "proto",
        "call",
    )

    def __init__(
        self,
        keep_alive: bool,
        headers: tuple[str | None, str | None, str | None],
        proto: FastHttpToolsProtocol | None = None,
    ):
        super().__init__()
        self.started = time.perf_counter()
        self.keep_alive = keep_alive
        self.headers = headers  # authorization, content-type, content-length
        self.principal: Principal | None = None
        self.chunks: list[bytes] = []
        self.size = 0
        self.answered = False  # decided (or dropped): the rest of its body is ignored
        self.proto = proto
        self.call: SubmitCall | None = None

    # the batcher's ReplySink (gateway.scripts): the script's reply comes here straight from
    # the Redis read, without a future, its done-callback and a loop turn between them

    def done(self) -> bool:
        return self.answered

    def set_result(self, result: tuple[Any, int]) -> None:
        assert self.proto is not None and self.call is not None
        self.proto._replied(self, self.call, *result)

    def set_exception(self, exception: BaseException) -> None:
        assert self.proto is not None
        self.proto._failed(self, exception)


class FastHttpToolsProtocol(ConnectionGuard, OneWriteHttpToolsProtocol):
    """``--http`` for uvicorn: httptools with the submit fast path (see the module doc), and
    the connection limits of ``limits.ConnectionGuard`` (its three fields kept inline here)."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        app = self.app
        fast = (
            isinstance(app, submit.OrderApi)
            and not self.access_log
            and not self.config.reset_contextvars
            and self.limit_concurrency is None
        )
        self.ctx: ApiContext | None = app.ctx if fast else None
        self.answers = AnswerQueue()
        self._req: _Submit | None = None
        self._lost = False
        self._ending = False  # no new request is served (Connection: close seen, bad request)
        self._shutting = False  # close once the pending answers are out
        self._flush_soon = False
        self._head_src: Any = None
        self._head = b""
        self._idle_since: float | None = None  # when the connection last went idle

    # --- parser callbacks --------------------------------------------------------------

    def on_message_begin(self) -> None:
        # uvicorn builds the ASGI scope here; only a request that goes its way needs one
        # (built in on_headers_complete, once the request is known not to be a submit)
        self._msgs += 1
        self._head_open = self._reading = True
        self.url = b""
        self.expect_100_continue = False
        self.headers = []

    def _uvicorn_scope(self) -> None:
        """uvicorn's ``on_message_begin`` for a request that goes its way, keeping what the
        parser collected since."""
        url, headers, expect = self.url, self.headers, self.expect_100_continue
        HttpToolsProtocol.on_message_begin(self)
        self.url, self.headers, self.expect_100_continue = url, headers, expect
        self.scope["headers"] = headers

    def on_headers_complete(self) -> None:
        self._head_too_large()
        self._head_open = False
        ctx = self.ctx
        parser = self.parser
        if self._ending:
            self._req = _Submit(False, (None, None, None))
            self._req.answered = True  # after a closing request: never run, never answered
            return
        if (
            ctx is not None
            and self.url == PATH
            and parser.get_method() == b"POST"
            and not self.expect_100_continue
            and not parser.should_upgrade()
        ):
            keep_alive = parser.get_http_version() != "1.0" and parser.should_keep_alive()
            req = _Submit(keep_alive, submit.request_headers(self.headers), self)
            self._req = req
            self.answers.push(req)
            if not keep_alive:
                self._ending = True
            if len(self.answers) > MAX_PENDING:
                self._gate_reading()
            try:
                req.principal = submit.caller_now(ctx, *req.headers)
            except Exception as exc:  # 401, 403, 413 declared, 415: the body is not read
                self._answer(req, submit.refused(ctx, exc))
            return
        self._req = None
        self._uvicorn_scope()
        # uvicorn starts the new cycle at once when ``self.cycle`` is None: our
        # ``_start_asgi_task`` then queues it behind the answers still pending
        self.cycle = None  # type: ignore[assignment]
        super().on_headers_complete()
        if self.cycle is not None and not self.cycle.keep_alive:
            self._ending = True  # its response closes the connection: nothing after it runs

    def on_body(self, body: bytes) -> None:
        req = self._req
        if req is None:
            super().on_body(body)
            return
        if req.answered:
            return
        req.size += len(body)
        if req.size > parsing.MAX_BODY_BYTES:
            req.chunks = []
            if req.principal is not None:  # else the token decides first (see _complete)
                assert self.ctx is not None
                self._answer(req, submit.refused(self.ctx, too_large()))
            return
        req.chunks.append(body)

    def on_message_complete(self) -> None:
        self._reading = False
        req = self._req
        if req is None:
            super().on_message_complete()
            return
        self._req = None
        if not req.answered:
            self._complete(req)

    # --- the submit --------------------------------------------------------------------

    def _complete(self, req: _Submit) -> None:
        """The whole body is in: run the synchronous part, put the script call on the batch."""
        ctx = self.ctx
        assert ctx is not None
        body = req.chunks[0] if len(req.chunks) == 1 else b"".join(req.chunks)
        if req.principal is None:  # the token's key is being fetched: all of it in a task
            too_big = req.size > parsing.MAX_BODY_BYTES

            async def read_body() -> bytes:
                if too_big:
                    raise too_large()
                return body

            self._later(req, submit.decide(ctx, *req.headers, read_body))
            return
        gateway = ctx.gateway
        try:
            request = submit.order_request(req.principal, body)
            call = gateway.prepare_submit(request, process=ctx.process)
        except MomentRefusal as refusal:  # ask Redis whether it was accepted earlier
            self._later(req, submit.outcome_answer(ctx, gateway.refused_now(request, refusal)))
            return
        except Exception as exc:
            self._answer(req, submit.refused(ctx, exc))
            return
        req.call = call
        gateway.send_submit_into(call, req)

    def _replied(self, req: _Submit, call: SubmitCall, res: Any, acked: int) -> None:
        """The script answered (inside the Redis read: this must not raise, the rest of the
        batch is behind it)."""
        ctx = self.ctx
        assert ctx is not None
        try:
            result = ctx.gateway.finish_submit(call, res, acked)
            if not isinstance(result, SubmitOutcome):  # a used client order id or an order
                # id collision: needs more Redis
                outcome = ctx.gateway.settle_submit(call, result)
                self._later(req, submit.outcome_answer(ctx, outcome))
                return
            answer = submit.accepted(ctx, result)
        except Exception as exc:
            answer = submit.refused(ctx, exc)
        self._answer_safely(req, answer)

    def _failed(self, req: _Submit, exc: BaseException) -> None:
        """The batch failed (Redis unreachable, timed out, the batch cancelled): 503 or 500."""
        assert self.ctx is not None
        self._answer_safely(req, submit.refused(self.ctx, unavailable(exc)))

    def _answer_safely(self, req: _Submit, answer: submit.Answer) -> None:
        try:
            self._answer(req, answer)
        except Exception:  # a bug, not a client: drop this connection, keep the batch going
            log.exception("answering a submit failed; closing the connection")
            self._lost = True
            self.transport.abort()

    def _later(self, req: _Submit, pending: Awaitable[submit.Answer]) -> None:
        async def answer_when_done() -> None:
            self._answer(req, await pending)

        task = self.loop.create_task(answer_when_done())
        self.tasks.add(task)
        task.add_done_callback(self.tasks.discard)

    def _answer(self, req: _Submit, answer: submit.Answer) -> None:
        """The request is decided: format its answer; it leaves when those before it did."""
        ctx = self.ctx
        assert ctx is not None
        req.answered = True
        status, headers, body = answer
        ctx.metrics.observe("POST", "submit", status, time.perf_counter() - req.started)
        if self._lost:  # the client left: the order (if accepted) stands, the answer is lost
            ctx.metrics.response_dropped("submit")
            return
        parts = [STATUS_LINE[status], self._default_head()]
        for name, value in headers:
            parts += (name, b": ", value, b"\r\n")
        if not req.keep_alive:
            parts.append(b"connection: close\r\n")
        parts += (b"\r\n", body)
        req.data = b"".join(parts)
        req.close = not req.keep_alive
        if self.answers.is_head(req):
            self._flush_later()

    def _flush_later(self) -> None:
        """Flush at the end of this loop iteration: the answers completing in it (one Redis
        batch's) leave together, in one write."""
        if not self._flush_soon:
            self._flush_soon = True
            self.loop.call_soon(self._flush)

    def _default_head(self) -> bytes:
        """uvicorn's default headers (the date, refreshed every second), formatted once."""
        src = self.server_state.default_headers
        if src is not self._head_src:
            self._head_src = src
            self._head = b"".join(b"%s: %s\r\n" % (n, v) for n, v in src)
        return self._head

    # --- writing in order --------------------------------------------------------------

    def _flush(self) -> None:
        self._flush_soon = False
        if self._lost:
            return
        parts, close, job = self.answers.take()
        if parts:
            self.server_state.total_requests += len(parts)
            self.transport.write(parts[0] if len(parts) == 1 else b"".join(parts))
        if close or (self._shutting and not self.answers):
            self.transport.close()
            return
        if job is not None:
            self._unset_keepalive_if_required()
            HttpToolsProtocol._start_asgi_task(self, *job)
        elif not self.answers:
            self._arm_keepalive()
        self._gate_reading()

    def _gate_reading(self) -> None:
        """Read on unless the client's answers back up: the write buffer is full (uvicorn's
        flow control), too many answers are pending, or a uvicorn request waits its turn."""
        answers = self.answers
        if self.flow.write_paused or (
            answers and (len(answers) > MAX_PENDING or answers.waiting_job())
        ):
            self.flow.pause_reading()
        else:
            self.flow.resume_reading()

    # --- keep-alive --------------------------------------------------------------------
    # uvicorn arms a timer whenever a connection goes idle and cancels it when data comes:
    # a TimerHandle made and cancelled per request. Here one timer runs per idle period;
    # when it fires it checks whether the connection really stayed idle that long.

    def _unset_keepalive_if_required(self) -> None:
        """uvicorn calls this when data arrives (and at connection end): busy, not idle."""
        self._idle_since = None

    def _arm_keepalive(self) -> None:
        """Every answer is out and nothing is pending: the idle clock starts now."""
        self._idle_since = self.loop.time()
        if self.timeout_keep_alive_task is None:
            self.timeout_keep_alive_task = self.loop.call_later(
                self.timeout_keep_alive, self._keepalive_due
            )

    def _keepalive_due(self) -> None:
        self.timeout_keep_alive_task = None
        idle_since = self._idle_since
        if idle_since is None or self.answers:
            return  # busy since: the next idle moment arms the timer again
        left = idle_since + self.timeout_keep_alive - self.loop.time()
        if left > 0:
            self.timeout_keep_alive_task = self.loop.call_later(left, self._keepalive_due)
        else:
            self.timeout_keep_alive_handler()

    def _start_asgi_task(self, cycle: Any, app: Any) -> None:
        self.answers.push(Slot((cycle, app)))
        self._flush()

    def on_response_complete(self) -> None:
        self.server_state.total_requests += 1
        self.answers.job_done()
        if self.transport.is_closing():
            return
        # not now: uvicorn calls this from inside ``send``, before _OneWriteCycle has written
        # the response it holds back (answers behind it must not overtake it)
        self._flush_later()

    def resume_writing(self) -> None:
        super().resume_writing()
        self._gate_reading()

    def pause_writing(self) -> None:
        super().pause_writing()
        self._gate_reading()

    def send_400_response(self, msg: str) -> None:
        """uvicorn's 400 for a request httptools cannot parse (or the 431 for a head too
        large), after the answers before it."""
        if self._refusal is not None:
            self._close_with(self._refusal)
            return
        real = self.transport
        collector = _Collector(real)
        self.transport = collector  # type: ignore[assignment]
        try:
            super().send_400_response(msg)
        finally:
            self.transport = real
        self._close_with(b"".join(collector.parts))

    def _close_with(self, answer: bytes) -> None:
        """The last answer on this connection, after those owed before it; nothing more is
        read. A submit whose body is still coming gets it as its own answer; a uvicorn request
        whose body is still coming cannot be answered in its place: the connection closes."""
        req = self._req
        self._ending = True
        self.parser = _Deaf()  # type: ignore[assignment]
        if req is not None and not req.answered:
            req.answered = True
            req.data, req.close = answer, True
            if self.answers.is_head(req):
                self._flush()
            return
        if req is not None or (self._reading and not self._head_open):
            self.transport.close()
            return
        slot = self.answers.push(Slot())
        slot.data, slot.close = answer, True
        self._flush()

    # --- connection end ----------------------------------------------------------------

    def connection_lost(self, exc: Exception | None) -> None:
        self._lost = True
        if self.timeout_keep_alive_task is not None:
            self.timeout_keep_alive_task.cancel()
            self.timeout_keep_alive_task = None
        ctx = self.ctx
        for slot in self.answers.clear():
            if slot.job is not None:
                cycle = slot.job[0]
                if not cycle.response_complete:
                    cycle.disconnected = True
                cycle.message_event.set()
            elif isinstance(slot, _Submit) and slot.answered and ctx is not None:
                ctx.metrics.response_dropped("submit")  # decided but still behind others
        super().connection_lost(exc)

    def shutdown(self) -> None:
        if not self.answers:
            super().shutdown()
            return
        self._shutting = True
        self._ending = True
        for slot in self.answers:
            if slot.job is not None:
                slot.job[0].keep_alive = False


class _Deaf:
    """The parser after a 400: what else arrives on the connection is ignored."""

    def feed_data(self, data: bytes) -> None:
        return None

    def should_upgrade(self) -> bool:
        return False
