"""The asyncio shell around the pure :class:`fixengine.session.Session`, shared by both roles.

``FixSession`` binds one session to its store, message log, application callbacks and (while
connected) one TCP/TLS connection (``Connection``, the asyncio protocol). Outbound messages are
queued and written in batches: every message queued during one loop turn is persisted in ONE
store call and then written with ONE ``transport.write``; the writer waits for the socket to
drain only above a high-water mark. Persistence always happens before the bytes reach the socket.

The roles that make connections live beside it: :mod:`fixengine.initiator` and
:mod:`fixengine.acceptor`.
"""

from __future__ import annotations

import asyncio
import contextlib
import inspect
import logging
import time
from collections import deque
from collections.abc import Awaitable, Callable
from typing import Any

import simplefix

from fixengine.application import Application
from fixengine.faults import Faults
from fixengine.framing import FrameSplitter
from fixengine.msglog import IN, OUT, FileMessageLog, MessageLog, NullMessageLog
from fixengine.parser import parse
from fixengine.schedule import SessionSchedule
from fixengine.session import Actions, Counters, Outbound, Session, State, Validator
from fixengine.settings import SessionSettings
from fixengine.store import MemoryStore, MessageStore

log = logging.getLogger("fixengine")

RESEND_CHUNK = 1000  # messages fetched, rebuilt and written per step when answering a resend
#: inbound messages parsed per turn of the event loop. libuv reads a readable socket up to 32
#: times in one poll (megabytes from a venue sending fast); parsing all of that at once keeps the
#: application's Redis round trips waiting, so the rest is parsed on the next turns, reading paused
PARSE_SLICE = 256
#: how far a batch being delivered may grow while ``on_messages`` runs (see Application)
LIVE_BATCH_MAX = 4096

#: an acceptor's own Logon check (credentials...): the Logon in, a refusal text or None out
LogonValidator = Callable[[simplefix.FixMessage], str | None]


def load_dictionary(settings: SessionSettings) -> Validator | None:
    """The configured data dictionary, or None when disabled or not available yet."""
    if not settings.UseDataDictionary:
        return None
    try:
        from fixengine import dictionary as dd
    except ImportError:
        return None
    if settings.DataDictionary:
        return dd.DataDictionary.load(settings.DataDictionary)  # type: ignore[no-any-return]
    return dd.DataDictionary.default()  # type: ignore[no-any-return]


class FixSession:
    """One FIX session at run time: the pure core plus store, log, callbacks and connection."""

    def __init__(
        self,
        settings: SessionSettings,
        store: MessageStore | None = None,
        app: Application | None = None,
        dictionary: Validator | None | str = "auto",
        msglog: MessageLog | None = None,
        clock: Callable[[], float] = time.time,
        logon_validator: LogonValidator | None = None,
    ) -> None:
        self.settings = settings
        self.store: MessageStore = store if store is not None else MemoryStore()
        self.app = app or Application()
        if dictionary == "auto":
            dictionary = load_dictionary(settings)
        self.core = Session(settings, dictionary=dictionary)  # type: ignore[arg-type]
        if msglog is None:
            msglog = (
                FileMessageLog(settings.FileLogPath) if settings.FileLogPath else NullMessageLog()
            )
        self.msglog = msglog
        self.clock = clock
        self.faults = Faults(self)
        self.schedule = SessionSchedule.from_settings(settings)
        self.creation_time = 0.0
        # an acceptor's own Logon check, called by the shell's gate AFTER the schedule check; the
        # core's ``accept_logon`` hook belongs to the shell (set it here, never on ``core``)
        self.logon_validator: LogonValidator | None = logon_validator
        self.core.accept_logon = self._logon_gate
        self.session_id = settings.session_id
        self.garbled = 0
        self.reached_logon = False
        self.last_disconnect_reason = ""
        self._reason: str = ""
        self._sync_save = getattr(self.store, "save_now", None)
        self._persist = settings.PersistMessages  # N: numbers only, every resend gap-fills
        self._loaded = False
        self._transport: asyncio.Transport | None = None
        self._conn: Connection | None = None
        self._queue: list[Outbound | tuple[int, int]] = []
        self._scheduled = False
        self._writer: asyncio.Task[None] | None = None
        self._reset_pending = False
        self._saved = (0, 0)
        self._closing: str | None = None
        self._flushed_waiters: list[asyncio.Future[None]] = []
        self._state_waiters: list[tuple[Callable[[], bool], asyncio.Future[None]]] = []
        self._timer: asyncio.Task[None] | None = None
        batch = getattr(self.app, "on_messages", None)
        self._on_messages = batch if inspect.iscoroutinefunction(batch) else None
        self._async_on_message = self._on_messages is not None or inspect.iscoroutinefunction(
            self.app.on_message
        )
        self._deliveries: deque[tuple[int, simplefix.FixMessage]] = deque()
        self._live: list[simplefix.FixMessage] | None = None  # the batch on_messages holds
        # framed inbound messages of this connection not parsed yet (see PARSE_SLICE)
        self._backlog: list[bytes] = []
        self._backlog_pos = 0
        self._delivery_task: asyncio.Task[None] | None = None
        self._can_write = asyncio.Event()
        self._can_write.set()

    # ------------------------------------------------------------------ public API

    @property
    def msglog(self) -> MessageLog:
        return self._msglog

    @msglog.setter
    def msglog(self, sink: MessageLog) -> None:
        self._msglog = sink
        self._logging = not isinstance(sink, NullMessageLog)

    @property
    def state(self) -> State:
        return self.core.state

    @property
    def logged_on(self) -> bool:
        return self.core.state is State.LOGGED_ON

    @property
    def next_sender_seq(self) -> int:
        return self.core.next_sender

    @property
    def next_target_seq(self) -> int:
        return self.core.next_target

    @property
    def counters(self) -> Counters:
        """What the session sent and received, by kind (read-only use)."""
        return self.core.counters

    @property
    def connected(self) -> bool:
        """A connection is attached (logged on or not)."""
        return self._transport is not None

    @property
    def loaded(self) -> bool:
        """The stored sequence numbers were loaded (:meth:`load`)."""
        return self._loaded

    def reset_at_next_logon(self) -> None:
        """The next Logon carries ResetSeqNumFlag(141)=Y: both sides restart at 1 (the FIX way
        to reset while connected: log out after calling this)."""
        self.core.reset_on_next_logon = True

    async def writes_done(self) -> None:
        """Wait for the writer task, if one runs, to finish (a role stopping the session)."""
        if self._writer is not None:
            with contextlib.suppress(Exception):
                await self._writer

    async def load(self) -> None:
        """Continue from the stored sequence numbers (call before the first connection)."""
        st = await self.store.load()
        self.core.next_sender = st.next_sender
        self.core.next_target = st.next_target
        self._saved = (st.next_sender, st.next_target)
        self.creation_time = st.creation_time
        self._loaded = True

    def _logon_gate(self, msg: simplefix.FixMessage) -> str | None:
        """The core's Logon hook: the schedule window first, then ``logon_validator``."""
        if not self.schedule.in_session(self.clock()):
            return "outside the session window"
        if self.logon_validator is not None:
            return self.logon_validator(msg)
        return None

    def send(self, msg: simplefix.FixMessage) -> int:
        """Number, store and write ``msg``; returns its MsgSeqNum. Raises NotLoggedOn.

        Persisted before written; ``await flushed()`` to know both happened."""
        ob = self.core.send_app(msg, self.clock())
        self._enqueue(ob)
        return ob.seq

    def send_body(self, msg_type: bytes | str, body: bytes) -> int:
        """Hot path for ``codec.Template.body(...)`` output."""
        ob = self.core.send_body(msg_type, body, self.clock())
        self._enqueue(ob)
        return ob.seq

    async def flushed(self) -> None:
        """Wait until everything queued so far is stored and handed to the socket."""
        if not self._queue and self._writer is None and not self._scheduled:
            return
        fut = asyncio.get_running_loop().create_future()
        self._flushed_waiters.append(fut)
        await fut

    async def wait_for(self, predicate: Callable[[], bool], timeout: float | None = None) -> None:
        """Wait until ``predicate()`` is true (checked at every state change)."""
        if predicate():
            return
        fut = asyncio.get_running_loop().create_future()
        self._state_waiters.append((predicate, fut))
        await asyncio.wait_for(fut, timeout)

    async def wait_logged_on(self, timeout: float | None = None) -> None:
        await self.wait_for(lambda: self.core.state is State.LOGGED_ON, timeout)

    async def logout(self, text: str = "", timeout: float | None = None) -> None:
        """Logout handshake; returns once disconnected (LogoutTimeout bounds the wait)."""
        if self._transport is None:
            return
        self._apply(self.core.request_logout(self.clock(), text))
        await self.wait_for(lambda: self.core.state is State.DISCONNECTED, timeout)

    def abort(self, reason: str) -> None:
        """Drop the connection now, without a Logout."""
        if self._transport is not None:
            self._reason = self._reason or reason
            self._transport.abort()

    def request_replay(self, first: int, last: int) -> None:
        """Operator "resend range": ask the peer for its messages ``first..last`` again and
        deliver the PossDup application messages that come back (see
        ``Session.request_replay``). ``ValueError`` / ``NotLoggedOn`` as there."""
        self._apply(self.core.request_replay(first, last, self.clock()))

    async def reset_sequence_numbers(self) -> None:
        """Operator reset (while disconnected): both numbers back to 1, stored messages cleared."""
        a = self.core.reset()
        await self.store.save(self.core.next_sender, self.core.next_target, (), reset=a.reset_store)
        self._saved = (self.core.next_sender, self.core.next_target)

    # ------------------------------------------------------------------ connection plumbing

    def _attach(self, conn: Connection, transport: asyncio.Transport) -> None:
        self._conn = conn
        self._transport = transport
        self._closing = None
        self._reason = ""
        self.reached_logon = False
        self._can_write.set()
        now = self.clock()
        if self.settings.ResetOnSessionStart and self.schedule.needs_reset(self.creation_time, now):
            self.core.reset_on_next_logon = True  # daily reset at the start of the window
            self.creation_time = now
        self._apply(self.core.on_connected(now))
        # an acceptor adopts the peer's HeartBtInt, so it ticks finely whatever its own setting
        fine = not self.settings.is_initiator or self.settings.HeartBtInt <= 5
        self._timer = asyncio.get_running_loop().create_task(self._tick(0.1 if fine else 0.5))

    def _detached(self, exc: Exception | None) -> None:
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
        flush_log = getattr(self.msglog, "flush", None)
        if flush_log is not None:
            flush_log()
        self._transport = None
        self._conn = None
        self._backlog, self._backlog_pos = [], 0
        self.last_disconnect_reason = (
            self._reason or self._closing or (str(exc) if exc else "connection closed")
        )
        self._can_write.set()
        self._queue = [q for q in self._queue if isinstance(q, Outbound) and q.store]
        a = self.core.on_disconnected(self.clock())
        self._apply(a)
        self._schedule()

    async def _tick(self, interval: float) -> None:
        flush_log = getattr(self.msglog, "flush", None) if self._logging else None
        last_log_flush = time.monotonic()
        try:
            while True:
                await asyncio.sleep(interval)
                now = self.clock()
                self._apply(self.core.on_timer(now))
                if flush_log is not None and time.monotonic() - last_log_flush >= 1.0:
                    flush_log()  # the audit log reaches the file at least once a second
                    last_log_flush = time.monotonic()
                if (
                    self.core.state is State.LOGGED_ON
                    and not self.schedule.always
                    and not self.schedule.in_session(now)
                ):
                    self._apply(self.core.request_logout(now, "end of session window"))
        except asyncio.CancelledError:
            pass

    def _data(self, splitter: FrameSplitter, data: bytes) -> None:
        frames = splitter.feed(data)
        if self._backlog:  # earlier messages still wait to be parsed: these go after them
            self._backlog.extend(frames)
            return
        self._parse(frames, 0)

    def _parse(self, frames: list[bytes], start: int) -> None:
        """Parse and apply up to PARSE_SLICE of ``frames`` from ``start``; the rest waits in
        the backlog for the next turn of the loop (reading paused meanwhile)."""
        now = self.clock()
        core = self.core
        end = min(len(frames), start + PARSE_SLICE)
        for i in range(start, end):
            raw = frames[i]
            if self._logging:
                self.msglog.write(self.session_id, IN, now, raw)
            msg = parse(raw)
            if msg is None:
                self.garbled += 1
                self.app.on_event(self, "garbled", "unparseable message dropped")
                continue
            floor = core.next_target
            self._apply(core.on_message(msg, raw, now), floor)
            if self._closing is not None:
                return  # nothing after a message that closes the connection is processed
        if end < len(frames) and self._transport is not None:
            self._backlog, self._backlog_pos = frames, end
            self._transport.pause_reading()
            asyncio.get_running_loop().call_soon(self._parse_backlog, self._conn)

    def _parse_backlog(self, conn: Connection | None) -> None:
        if conn is not self._conn or not self._backlog:
            return  # that connection is gone, and its unparsed messages with it
        frames, pos = self._backlog, self._backlog_pos
        self._backlog, self._backlog_pos = [], 0
        self._parse(frames, pos)
        if not self._backlog and self._transport is not None and self._closing is None:
            self._transport.resume_reading()

    # ------------------------------------------------------------------ actions

    def _apply(self, a: Actions, floor: int = 0) -> None:
        """Carry out the core's actions. ``floor``: the expected inbound number before the
        message that produced them; a message delivered again from an operator replay window
        (numbered below it) is queued under ``floor``, so the stored inbound number never moves
        back and does not pass it until the replay was delivered."""
        if a.reset_store:
            self._reset_pending = True
            self._queue = [q for q in self._queue if not isinstance(q, Outbound) or q.seq < 0]
        if a.send:
            self._queue.extend(a.send)
            self._schedule()
        if a.events:
            for ev in a.events:
                self._event(ev.kind, ev.old, ev.new, ev.text)
        if a.deliver:
            if self._async_on_message:
                for msg in a.deliver:
                    self._deliveries.append((max(_seq_of(msg), floor), msg))
                    live = self._live
                    if live is not None and len(live) < LIVE_BATCH_MAX:
                        live.append(msg)
                    else:
                        self._live = None  # full: it stays a prefix of the deliveries
                if self._delivery_task is None:
                    self._delivery_task = asyncio.get_running_loop().create_task(self._deliver())
            else:
                for msg in a.deliver:
                    try:
                        self.app.on_message(self, msg)
                    except Exception:
                        log.exception("%s: on_message raised", self.session_id)
        if a.resend is not None:
            self._queue.append(a.resend)
            self._schedule()
        if a.disconnect is not None and self._transport is not None:
            self._closing = a.disconnect
            self._reason = self._reason or a.disconnect
            self.app.on_event(self, "disconnect", a.disconnect)
            self._schedule()
        elif (self.core.next_sender, self.core.next_target) != self._saved or self._reset_pending:
            self._schedule()

    def _event(self, kind: str, old: State | None, new: State | None, text: str) -> None:
        try:
            if kind == "state" and old is not None and new is not None:
                self.app.on_state_change(self, old, new)
                for pred, fut in list(self._state_waiters):
                    if not fut.done() and pred():
                        fut.set_result(None)
                self._state_waiters = [(p, f) for p, f in self._state_waiters if not f.done()]
            elif kind == "logon":
                self.reached_logon = True
                self.app.on_logon(self)
            elif kind == "logout":
                self.app.on_logout(self)
            else:
                self.app.on_event(self, kind, text)
        except Exception:
            log.exception("%s: application callback %s raised", self.session_id, kind)

    async def _deliver(self) -> None:
        if self._on_messages is not None:
            await self._deliver_batches(self._on_messages)
            return
        try:
            while self._deliveries:
                _, msg = self._deliveries[0]
                try:
                    await self.app.on_message(self, msg)
                except Exception:
                    log.exception("%s: on_message raised", self.session_id)
                self._deliveries.popleft()
                self._schedule()
        finally:
            self._delivery_task = None

    async def _deliver_batches(
        self, on_messages: Callable[[FixSession, list[simplefix.FixMessage]], Awaitable[Any]]
    ) -> None:
        """``Application.on_messages``: everything ready in one call; a failed batch stays."""
        try:
            while self._deliveries:
                msgs = [m for _, m in self._deliveries]
                self._live = msgs if len(msgs) < LIVE_BATCH_MAX else None
                try:
                    await on_messages(self, msgs)
                except Exception as exc:
                    log.exception("%s: on_messages raised", self.session_id)
                    self._event("apply_failure", None, None, repr(exc))
                    return
                finally:
                    self._live = None
                for _ in range(len(msgs)):
                    self._deliveries.popleft()
                self._schedule()
        finally:
            self._delivery_task = None

    def _target_to_persist(self) -> int:
        if self._deliveries:
            return min(self._deliveries[0][0], self.core.next_target)
        return self.core.next_target

    def _enqueue(self, ob: Outbound) -> None:
        self._queue.append(ob)
        if not self._scheduled:
            self._scheduled = True
            asyncio.get_running_loop().call_soon(self._flush)

    def _schedule(self) -> None:
        if not self._scheduled:
            self._scheduled = True
            asyncio.get_running_loop().call_soon(self._flush)

    def _flush(self) -> None:
        self._scheduled = False
        if self._writer is not None:
            return  # the running writer picks the queue up
        if (
            self._sync_save is not None
            and self._can_write.is_set()
            and not self.faults.delay_outbound
            and not any(type(q) is tuple for q in self._queue)
        ):
            self._write_batch(self._take())
            self._finish_flush()
            return
        self._writer = asyncio.get_running_loop().create_task(self._write_loop())

    def _take(self) -> list[Outbound]:
        items = self._queue
        self._queue = []
        return items  # type: ignore[return-value]

    def _write_batch(self, batch: list[Outbound]) -> None:
        """Synchronous store: persist then write, in this call."""
        stored = [(ob.seq, ob.raw) for ob in batch if ob.store] if self._persist else []
        reset = self._reset_pending
        self._reset_pending = False
        target = self._target_to_persist()
        assert self._sync_save is not None
        self._sync_save(self.core.next_sender, target, stored, reset)
        self._saved = (self.core.next_sender, self.core.next_target)
        self._write([ob.raw for ob in batch])

    def _write(self, raws: list[bytes]) -> None:
        if not raws or self._transport is None:
            return
        if self.faults.active:
            raws = self.faults.apply(raws)
            if not raws:
                return
        if self._logging:
            now = self.clock()
            for raw in raws:
                self.msglog.write(self.session_id, OUT, now, raw)
        data = b"".join(raws)
        if self.faults.delay_outbound:
            t = self._transport
            asyncio.get_running_loop().call_later(self.faults.delay_outbound, _late_write, t, data)
        else:
            self._transport.write(data)

    def _finish_flush(self) -> None:
        if self._closing is not None and self._transport is not None:
            t = self._transport
            if self.faults.delay_outbound:
                asyncio.get_running_loop().call_later(self.faults.delay_outbound + 0.001, t.close)
            else:
                t.close()
        if self._flushed_waiters and not self._queue:
            for fut in self._flushed_waiters:
                if not fut.done():
                    fut.set_result(None)
            self._flushed_waiters = []

    async def _write_loop(self) -> None:
        try:
            while True:
                items = self._queue
                self._queue = []
                batch: list[Outbound] = []
                for item in items:
                    if isinstance(item, tuple):
                        if batch:
                            await self._persist_and_write(batch)
                            batch = []
                        await self._resend(item)
                    else:
                        batch.append(item)
                dirty = (
                    bool(batch)
                    or self._reset_pending
                    or (
                        self.core.next_sender,
                        self._target_to_persist(),
                    )
                    != self._saved
                )
                if dirty:
                    await self._persist_and_write(batch)
                elif not items:
                    break
                if self._transport is not None and not self._can_write.is_set():
                    await self._can_write.wait()
            self._finish_flush()
        except Exception as exc:
            log.exception("%s: writer failed; dropping the connection", self.session_id)
            self.app.on_event(self, "store_failure", repr(exc))
            self.abort(f"store or write failure: {exc!r}")
            for fut in self._flushed_waiters:
                if not fut.done():
                    fut.set_exception(ConnectionError(f"not persisted: {exc!r}"))
            self._flushed_waiters = []
        finally:
            self._writer = None
            if self._queue:
                self._schedule()

    async def _persist_and_write(self, batch: list[Outbound]) -> None:
        stored = [(ob.seq, ob.raw) for ob in batch if ob.store] if self._persist else []
        reset = self._reset_pending
        self._reset_pending = False
        sender, target = self.core.next_sender, self._target_to_persist()
        await self.store.save(sender, target, stored, reset)
        self._saved = (sender, target)
        self._write([ob.raw for ob in batch])

    async def _resend(self, rng: tuple[int, int]) -> None:
        """Answer a ResendRequest in chunks, so a long day's worth never blocks the loop."""
        begin, end = rng
        for lo in range(begin, end + 1, RESEND_CHUNK):
            hi = min(lo + RESEND_CHUNK - 1, end)
            stored = await self.store.get_messages(lo, hi)
            if self._transport is None:
                return
            out = self.core.build_resend(lo, hi, stored, self.clock())
            self._write([ob.raw for ob in out])
            if not self._can_write.is_set():
                await self._can_write.wait()
            elif hi < end:
                await asyncio.sleep(0)

    # flow control from the protocol
    def _pause_writing(self) -> None:
        self._can_write.clear()

    def _resume_writing(self) -> None:
        self._can_write.set()
        if self._queue:
            self._schedule()


def _late_write(transport: asyncio.Transport, data: bytes) -> None:
    if not transport.is_closing():
        transport.write(data)


def _seq_of(msg: simplefix.FixMessage) -> int:
    v = msg.get(34)
    return int(v) if v and v.isdigit() else 0


class Connection(asyncio.Protocol):
    """One TCP connection. An acceptor connection learns its session from the first message."""

    def __init__(
        self,
        session: FixSession | None,
        route: Callable[[Connection, simplefix.FixMessage], FixSession | None] | None = None,
        logon_timeout: float = 10.0,
    ) -> None:
        self.session = session
        self.route = route
        self.logon_timeout = logon_timeout
        self.splitter = FrameSplitter(on_garbled=self._garbled)
        self.garbled_seen = False
        self.transport: asyncio.Transport | None = None
        self.closed = asyncio.get_running_loop().create_future()

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        # no isinstance(asyncio.Transport) check: uvloop's TCPTransport does not subclass it
        t: asyncio.Transport = transport  # type: ignore[assignment]
        self.transport = t
        if self.session is not None:
            t.set_write_buffer_limits(high=self.session.settings.WriteHighWaterMark)
            self.session._attach(self, t)
        else:  # acceptor: no Logon within the timeout, no session
            asyncio.get_running_loop().call_later(self.logon_timeout, self._no_logon)

    def _garbled(self, reason: str, data: bytes) -> None:
        s = self.session
        if s is not None:
            s.garbled += 1
            s.msglog.write(s.session_id, "GARBLED", time.time(), data)
            s.app.on_event(s, "garbled", reason)
        self.garbled_seen = True  # judged once the frames read with it were applied

    def _garbled_before_logon(self) -> None:
        """A garbled Logon ends the connection (QuickFIX; case 1d, BodyLength wrong); once
        logged on, garbled messages are only dropped (2d, 3b, 3c)."""
        self.garbled_seen = False
        s = self.session
        if s is None or s.core.state in (State.AWAITING_LOGON, State.LOGON_SENT):
            if self.transport is not None and not self.transport.is_closing():
                self.transport.abort()

    def _no_logon(self) -> None:
        if self.session is None and self.transport is not None and not self.transport.is_closing():
            self.transport.abort()

    def data_received(self, data: bytes) -> None:
        try:
            self._received(data)
        except Exception:  # a bug must cost this connection, never the process
            log.exception("FIX connection: error handling inbound data; disconnecting")
            if self.transport is not None:
                self.transport.abort()

    def _received(self, data: bytes) -> None:
        if self.session is not None:
            self.session._data(self.splitter, data)
            if self.garbled_seen:
                self._garbled_before_logon()
            return
        assert self.route is not None and self.transport is not None
        raws = self.splitter.feed(data)
        if not raws:
            if self.splitter.buffered > 65536 or self.garbled_seen:
                self.transport.abort()
            return
        first = parse(raws[0])
        session = self.route(self, first) if first is not None else None
        if session is None:
            self.transport.abort()  # unknown session, not a Logon, or already connected
            return
        self.session = session
        self.transport.set_write_buffer_limits(high=session.settings.WriteHighWaterMark)
        session._attach(self, self.transport)
        # re-feed the already framed messages (and what is left in the splitter)
        rest = self.splitter._buf
        self.splitter.reset()
        session._data(self.splitter, b"".join(raws) + rest)
        if self.garbled_seen:
            self._garbled_before_logon()

    def connection_lost(self, exc: Exception | None) -> None:
        if self.session is not None and self.session._conn is self:
            self.session._detached(exc)
        if not self.closed.done():
            self.closed.set_result(None)

    def pause_writing(self) -> None:
        if self.session is not None:
            self.session._pause_writing()

    def resume_writing(self) -> None:
        if self.session is not None:
            self.session._resume_writing()
