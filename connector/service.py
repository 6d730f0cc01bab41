"""The connector process: Redis command streams -> FIX, and FIX reports -> orders in Redis.

The I/O shell around the pure parts (``mapping``, ``throttle``): one ``Connector`` per FIX
session. It waits for the leader lease (``lease``), and while it holds it runs one *term*: a
fresh FIX session on the fenced store (``store.SentRecordingStore``), an initiator, a renewal
loop and the command pump. Anything that goes wrong in a term (lease lost, Redis gone, store
fenced) ends the term; the next one starts from what Redis says, never from memory.

Exactly once, stream to wire: each batch of commands is numbered by the session, written ahead to
the store (seq, raw message, ClOrdID) in one round trip, handed to the socket, then the stream
entries are acknowledged (one pipeline with the ``sent`` trail steps). Entries left pending by a
crash are reclaimed (XAUTOCLAIM) after logon; those whose ClOrdID the store already recorded are
acknowledged without sending: the FIX resend mechanism delivers what the venue missed.
"""

from __future__ import annotations

import asyncio
import contextlib
import gc
import hashlib
import json
import logging
import time
from collections.abc import Coroutine, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import simplefix
from redis import exceptions as rexc

from connector import mapping
from connector.config import ConnectorConfig
from connector.lease import Lease
from connector.store import SentRecordingStore
from connector.throttle import Throttle
from fixengine import Application, FixSession, Initiator, NotLoggedOn, State, sending_time
from gateway import keys
from gateway.codec import FIELD, CodecError, Command, decode_command
from gateway.ids import partition_of_order_id
from gateway.model import OrderStatus, utc_iso
from gateway.reports import ApplyResult, ExecReport, ReportApplier
from gateway.scripts import UNAVAILABLE, pipeline
from gateway.states import OrderEvent

log = logging.getLogger("ordergate.connector")

COMPONENT = "connector"


# an order sent and not yet answered by the venue is in one of these
_PENDING = frozenset(
    {
        OrderStatus.pending_new.value,
        OrderStatus.pending_cancel.value,
        OrderStatus.pending_replace.value,
    }
)


def _s(v: Any) -> str:
    return v.decode() if isinstance(v, bytes) else str(v)


@dataclass
class Stats:
    """Counters the connector publishes (``ordergate status``) and tests read."""

    sent: int = 0
    acked_already_sent: int = 0
    halted_rejected: int = 0
    poison: int = 0
    reports: int = 0
    applied: int = 0
    duplicates: int = 0
    refused: int = 0
    ignored: int = 0
    status_requests: int = 0
    terms: int = 0
    logons: int = 0
    outcomes: dict[str, int] = field(default_factory=dict)

    def as_dict(self) -> dict[str, Any]:
        d = {k: v for k, v in self.__dict__.items() if k != "outcomes"}
        d.update({f"outcome_{k}": v for k, v in self.outcomes.items()})
        return d


@dataclass(slots=True)
class _Item:
    stream: str
    entry_id: str
    p: int
    cmd: Command
    cl_ord_id: str


class _TermEnded(Exception):
    pass


class _Script:
    """One of ``connector/lua/*.lua``, called by SHA from pipelines (loaded on NOSCRIPT)."""

    def __init__(self, redis: Any, name: str) -> None:
        self.redis = redis
        self.source = (Path(__file__).parent / "lua" / f"{name}.lua").read_text()
        self.sha = hashlib.sha1(self.source.encode()).hexdigest()

    async def load(self) -> None:
        await self.redis.script_load(self.source)


def tune_gc() -> None:
    """Garbage collection for a process whose messages make many short-lived objects: what
    exists at start-up is frozen (never traversed again) and the young generation is collected
    every 20,000 allocations instead of 700 (the defaults cost about a fifth of the CPU of
    applying reports, mostly traversing objects that were about to be freed anyway)."""
    gc.freeze()
    gc.set_threshold(20_000, 20, 20)


class Connector(Application):
    def __init__(
        self,
        cfg: ConnectorConfig,
        redis: Any,
        *,
        process: str | None = None,
        lease: Lease | None = None,
    ) -> None:
        self.cfg = cfg
        self.redis = redis
        self.session_id = cfg.session_id
        self.lease = lease or Lease(redis, self.session_id, cfg.lease_ttl)
        self.process = process or f"connector:{self.lease.holder}"
        self.applier = ReportApplier(
            redis,
            cfg.partitions,
            process=self.process,
            component=COMPONENT,
            events_maxlen=cfg.events_maxlen,
        )
        self.throttle = Throttle(cfg.throttle_rate, cfg.throttle_burst)
        self.stats = Stats()
        self.streams = cfg.streams()
        self.partition_of_stream = {s: p for p, s in enumerate(self.streams)}
        self.session: FixSession | None = None
        self.role = "starting"
        self.status_requests_supported = True
        self._stop = asyncio.Event()
        self._term_failed: asyncio.Event | None = None
        self._logons = 0
        self._logon_event = asyncio.Event()
        self._halt_fields = [f"venue:{cfg.venue}", "all"]
        self._left_pending = False
        self._cluster = _is_cluster(redis)
        self._sent_and_ack = _Script(redis, "sent_and_ack")

    # ------------------------------------------------------------------ lifecycle

    def stop(self) -> None:
        self._stop.set()

    async def run(self) -> None:
        """Until ``stop()``: standby while another connector leads, leader when the lease is
        ours. Redis being away is waited out."""
        loaded = False
        while not self._stop.is_set():
            try:
                if not loaded:
                    await self.applier.load_scripts()
                    await self._sent_and_ack.load()
                    loaded = True
                if await self.lease.try_acquire():
                    await self._term()
                else:
                    if self.role != "standby":
                        log.info("%s: standby (lease held elsewhere)", self.session_id)
                    self.role = "standby"
                    await self._publish()
                    await self._sleep(self.lease.renew_interval)
            except Exception as exc:  # Redis away, scripts not loadable...: wait and retry
                if isinstance(exc, asyncio.CancelledError):
                    raise
                log.warning("%s: %s; retrying", self.session_id, exc)
                self.role = "waiting"
                await self._sleep(0.5)
        with contextlib.suppress(Exception):
            await self.lease.release()
        with contextlib.suppress(Exception):
            await self.redis.hset(keys.fix_status(self.session_id), "role", "stopped")

    async def _sleep(self, seconds: float) -> None:
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._stop.wait(), seconds)

    async def _term(self) -> None:
        """One leadership term: fresh session from the stored numbers, fenced by our token."""
        self.stats.terms += 1
        self.role = "leader"
        token = self.lease.token
        log.info("%s: leader, fencing token %d", self.session_id, token)
        store = SentRecordingStore(
            self.redis,
            self.session_id,
            fence_token=token,
            venue=self.cfg.venue,
            process=self.process,
            component=COMPONENT,
        )
        session = FixSession(self.cfg.session_settings(), store=store, app=self)
        self.session = session
        self._term_failed = asyncio.Event()
        initiator = Initiator(session, self.cfg.host, self.cfg.port)
        await initiator.start()
        tasks = [
            asyncio.create_task(self._renew_loop(), name="lease-renew"),
            asyncio.create_task(self._pump(session), name="command-pump"),
            asyncio.create_task(self._publish_loop(session), name="publish"),
            asyncio.create_task(self._admin_loop(session), name="admin"),
            asyncio.create_task(self._stop.wait(), name="stop"),
            asyncio.create_task(self._term_failed.wait(), name="failed"),
        ]
        try:
            done, _ = await asyncio.wait(tasks, return_when=asyncio.FIRST_COMPLETED)
            for t in done:
                if not t.cancelled() and t.exception() is not None:
                    log.warning("%s: term ends: %r", self.session_id, t.exception())
        finally:
            await _cancel_all(tasks)
            clean = self._stop.is_set() and self.lease.valid()
            with contextlib.suppress(Exception):
                await initiator.stop(logout=clean)
            self.session = None
            self.role = "stopping" if self._stop.is_set() else "waiting"
            if not clean:
                self.lease.lose()

    async def _renew_loop(self) -> None:
        while True:
            await asyncio.sleep(self.lease.renew_interval)
            try:
                ok = await asyncio.wait_for(self.lease.renew(), self.lease.ttl * 0.5)
            except Exception as exc:
                log.warning("%s: lease renewal failed: %r", self.session_id, exc)
                ok = False
            if not ok:
                log.error("%s: lease lost: stop sending now", self.session_id)
                self.lease.lose()
                if self.session is not None:
                    self.session.abort("leader lease lost")
                return

    # ------------------------------------------------------------------ commands -> FIX

    async def _ensure_groups(self) -> None:
        """The venue's consumer group on every partition's stream, from the start of the stream
        (orders accepted before the connector first ran are sent too)."""
        pipe = self.redis.pipeline(transaction=False)
        for s in self.streams:
            pipe.xgroup_create(s, self.cfg.group, id="0", mkstream=True)
        for res in await pipe.execute(raise_on_error=False):
            if isinstance(res, Exception) and "BUSYGROUP" not in str(res):
                raise res

    async def _pump(self, session: FixSession) -> None:
        """Commands to FIX, one batch's store write, socket write and XACKs overlapping the
        reading, mapping and numbering of the next (at most one batch being finished)."""
        await self._ensure_groups()
        consumer = self.lease.holder
        finishing: asyncio.Future[None] | None = None
        try:
            while True:
                if finishing is not None:
                    await finishing
                    finishing = None
                await session.wait_logged_on()
                gen = self._logons
                if self.cfg.reconcile:
                    await self._reconcile(session)
                self._left_pending = True
                while session.logged_on and self._logons == gen:
                    if finishing is not None and (
                        self._left_pending or not self.lease.valid() or finishing.done()
                    ):
                        # a batch is finished before its entries could be reclaimed as pending
                        await finishing
                        finishing = None
                    if not self.lease.valid():
                        await asyncio.sleep(0.05)  # the renewal loop decides; send nothing now
                        continue
                    if self._left_pending:
                        # entries read but not sent (line dropped, lease in doubt mid-batch)
                        # stay pending: reclaim them before anything newer, in order
                        self._left_pending = False
                        await self._drain_pending(session, consumer)
                        continue
                    resp = await self._read_new(consumer)
                    if not resp:
                        if finishing is not None:
                            await finishing
                            finishing = None
                        continue
                    batch = [
                        (_s(stream), _s(eid), fields)
                        for stream, entries in resp
                        for eid, fields in entries
                    ]
                    for lo in range(0, len(batch), self.cfg.batch):
                        finish = await self._process(
                            session, batch[lo : lo + self.cfg.batch], False, defer=True
                        )
                        nxt = asyncio.ensure_future(finish) if finish is not None else None
                        try:
                            if finishing is not None:
                                await finishing
                        finally:
                            finishing = nxt
        finally:
            if finishing is not None and not finishing.done():
                finishing.cancel()
                with contextlib.suppress(BaseException):
                    await finishing

    async def _read_new(self, consumer: str) -> list[Any]:
        """New entries of every partition: one blocking multi-stream XREADGROUP on a single
        Redis; on Redis Cluster (streams in different slots) one non-blocking XREADGROUP per
        partition, pipelined, with a short pause when all are empty."""
        if not self._cluster:
            # packed and parsed by hand: redis-py's per-entry dict building cost more than
            # the read itself
            (resp,) = await pipeline(
                self.redis,
                [
                    [
                        "XREADGROUP", "GROUP", self.cfg.group, consumer, "COUNT", self.cfg.batch,
                        "BLOCK", 100, "STREAMS", *self.streams, *[">"] * len(self.streams),
                    ]
                ],
            )  # fmt: skip
            if isinstance(resp, Exception):
                raise resp
            if isinstance(resp, dict):  # RESP3
                return list(resp.items())
            return list(resp or [])
        pipe = self.redis.pipeline(transaction=False)
        for s in self.streams:
            pipe.xreadgroup(self.cfg.group, consumer, {s: ">"}, count=self.cfg.batch)
        out = [r for res in await pipe.execute() for r in (res or [])]
        if not out:
            await asyncio.sleep(0.005)
        return out

    async def _drain_pending(self, session: FixSession, consumer: str) -> None:
        """Reclaim every pending entry (a crashed leader's, or ours from a broken batch) and
        process it, oldest first per partition."""
        for stream in self.streams:
            start = "0-0"
            while session.logged_on:
                res = await self.redis.xautoclaim(
                    stream, self.cfg.group, consumer, 0, start, count=self.cfg.batch
                )
                start = _s(res[0])
                entries = [(stream, _s(eid), fields) for eid, fields in res[1]]
                deleted = res[2] if len(res) > 2 else []
                if deleted:
                    await self.redis.xack(stream, self.cfg.group, *deleted)
                if entries:
                    await self._process(session, entries, recovered=True)
                if start == "0-0":
                    break

    async def _process(
        self,
        session: FixSession,
        batch: Sequence[tuple[str, str, Any]],
        recovered: bool,
        *,
        defer: bool = False,
    ) -> Coroutine[Any, Any, None] | None:
        """Read, map, number and queue a batch; then (``_finish``) its store write, socket write
        and XACKs, awaited here or, with ``defer``, returned for the caller to await."""
        to_ack: dict[str, list[str]] = {}
        trail: list[tuple[str, dict[str, Any]]] = []
        items: list[_Item] = []
        for stream, eid, fields in batch:
            raw = _command_bytes(fields)
            try:
                if raw is None:
                    raise CodecError("entry without a command")
                cmd = decode_command(raw)
                cl = mapping.cl_ord_id_for(cmd, eid)
                p = partition_of_order_id(cmd.order_id)
            except (CodecError, mapping.MappingError, ValueError) as exc:
                log.error("%s: unreadable command %s %s: %s", self.session_id, stream, eid, exc)
                self.stats.poison += 1
                to_ack.setdefault(stream, []).append(eid)
                continue
            items.append(_Item(stream, eid, p, cmd, cl))
        if not items:
            await self._ack(to_ack, trail)
            return None

        # one round trip: sent records, halts, current ClOrdIDs of cancel / replace targets
        cmds: list[list[Any]] = [
            ["HMGET", keys.fix_sent(self.session_id), *[it.cl_ord_id for it in items]]
        ]
        parts = sorted({it.p for it in items if it.cmd.kind == "new"})
        for p in parts:
            cmds.append(["HMGET", keys.halt(p), *self._halt_fields])
        amend = [it for it in items if it.cmd.kind != "new"]
        for it in amend:
            cmds.append(["HGET", keys.order(it.p, it.cmd.order_id), "clordid"])
        res = await pipeline(self.redis, cmds)
        for r in res:
            if isinstance(r, Exception):
                raise r
        sent_seqs = res[0]
        halted = {
            p: any(v is not None for v in r)
            for p, r in zip(parts, res[1 : 1 + len(parts)], strict=True)
        }
        current = {
            it.entry_id: (_s(v) if v else None)
            for it, v in zip(amend, res[1 + len(parts) :], strict=True)
        }

        halted_reports: list[ExecReport] = []
        sent: list[tuple[_Item, int, bytes]] = []
        now_tt = sending_time(time.time())
        for it, seq_recorded in zip(items, sent_seqs, strict=True):
            if seq_recorded is not None:
                # written ahead by a previous leader / term: never send twice
                self.stats.acked_already_sent += 1
                to_ack.setdefault(it.stream, []).append(it.entry_id)
                trail.append(
                    (
                        it.cmd.order_id,
                        {
                            "step": "sent",
                            "detail": {
                                "seq": int(seq_recorded),
                                "cl_ord_id": it.cl_ord_id,
                                "recovered": True,
                            },
                        },
                    )
                )
                continue
            if it.cmd.kind == "new" and halted.get(it.p):
                self.stats.halted_rejected += 1
                halted_reports.append(
                    ExecReport(
                        order_id=it.cmd.order_id,
                        event=OrderEvent.rejected,
                        exec_id=f"HALT:{it.cl_ord_id}",
                        reason="kill_switch: the venue is halted; the order was not sent",
                        account=it.cmd.account,
                    )
                )
                to_ack.setdefault(it.stream, []).append(it.entry_id)
                continue
            try:
                out = mapping.command_to_fix(it.cmd, it.entry_id, now_tt, current.get(it.entry_id))
            except mapping.MappingError as exc:
                self.stats.poison += 1
                to_ack.setdefault(it.stream, []).append(it.entry_id)
                if it.cmd.kind == "new":
                    halted_reports.append(
                        ExecReport(
                            order_id=it.cmd.order_id,
                            event=OrderEvent.rejected,
                            exec_id=f"MAP:{it.cl_ord_id}",
                            reason=f"not sendable: {exc}",
                            account=it.cmd.account,
                        )
                    )
                continue
            if not self.lease.valid():
                self._left_pending = True
                break  # stop sending at once; the rest stays pending
            await self.throttle.acquire()
            try:
                seq = session.send_body(out.msg_type, out.body)
            except NotLoggedOn:
                self._left_pending = True
                break  # the rest stays pending: reclaimed after the next logon
            sent.append((it, seq, out.msg_type))
        finish = self._finish(session, sent, to_ack, trail, halted_reports)
        if defer:
            return finish
        await finish
        return None

    async def _finish(
        self,
        session: FixSession,
        sent: list[tuple[_Item, int, bytes]],
        to_ack: dict[str, list[str]],
        trail: list[tuple[str, dict[str, Any]]],
        halted_reports: list[ExecReport],
    ) -> None:
        if sent:
            # stored (write-ahead, with the ClOrdIDs and then the ``sent`` trail steps) and
            # handed to the socket; raises if the store refused (fenced, Redis gone): the term
            # ends, nothing is acknowledged
            await session.flushed()
            self.stats.sent += len(sent)
            for it, _seq, _mt in sent:
                to_ack.setdefault(it.stream, []).append(it.entry_id)
        if halted_reports:
            await self._apply(halted_reports)
        await self._ack(to_ack, trail)

    async def _ack(
        self, to_ack: dict[str, list[str]], trail: list[tuple[str, dict[str, Any]]]
    ) -> None:
        """Trail steps and XACKs of a batch: one script call per partition (the stream and the
        trails share the tag ``{p}``), all pipelined in one round trip."""
        if not to_ack and not trail:
            return
        at = utc_iso_now()
        steps: dict[int, list[tuple[str, str]]] = {}
        for order_id, step in trail:
            p = partition_of_order_id(order_id)
            steps.setdefault(p, []).append(
                (
                    keys.trail(p, order_id),
                    json.dumps(
                        {
                            "at": step.get("at", at),
                            "step": step["step"],
                            "component": COMPONENT,
                            "process": self.process,
                            "detail": step.get("detail", {}),
                        },
                        default=str,
                    ),
                )
            )
        parts = {self.partition_of_stream[s] for s in to_ack} | set(steps)
        cmds: list[list[Any]] = []
        for p in sorted(parts):
            stream = keys.cmd_stream(p, self.cfg.venue)
            ids = to_ack.get(stream, [])
            rows = steps.get(p, [])
            cmds.append(
                [
                    "EVALSHA",
                    self._sent_and_ack.sha,
                    1 + len(rows),
                    stream,
                    *[k for k, _ in rows],
                    self.cfg.group,
                    len(ids),
                    *ids,
                    *[v for _, v in rows],
                ]
            )
        res = await pipeline(self.redis, cmds)
        for r in res:
            if isinstance(r, Exception) and not isinstance(r, rexc.NoScriptError):
                raise r
        if any(isinstance(r, rexc.NoScriptError) for r in res):
            # Redis restarted or failed over: load the script and redo. Only when every call
            # failed alike (one Redis); otherwise end the term: the XACKs missing are redone by
            # the recovery path, which never sends twice
            if all(isinstance(r, rexc.NoScriptError) for r in res):
                await self._sent_and_ack.load()
                await self._ack(to_ack, trail)
                return
            raise ConnectionError("some partitions lost the connector scripts; term ends")

    # ------------------------------------------------------------------ FIX -> orders

    async def on_message(self, session: FixSession, msg: simplefix.FixMessage) -> None:
        await self.on_messages(session, [msg])

    async def on_messages(self, session: FixSession, msgs: list[simplefix.FixMessage]) -> None:
        """A batch of inbound application messages, in MsgSeqNum order, applied before this
        returns (the engine advances the stored inbound number only then).

        Messages that map to a report on their own (almost all) are mapped in chunks inside
        the applier's iterator, so Redis applies one chunk while the next is mapped. A message
        whose mapping needs Redis (a BusinessMessageReject naming our message, an
        OrderStatusRequest answer) ends the run; it and its like are applied next, in order.

        ``msgs`` grows while this runs (the engine's live batch): whatever it holds when this
        returns counts as delivered, so the last check of ``len(msgs)`` and the return happen
        with no await in between."""
        pos = 0
        while pos < len(msgs):
            stop: list[tuple[int, mapping.Inbound, dict[bytes, bytes], int]] = []
            reports: list[ExecReport] = []
            mapped_to = [pos]
            chunks = self._mapped_chunks(msgs, pos, stop, reports, mapped_to)
            await self._count(reports, await self.applier.apply_chunks(chunks), retry=True)
            if not stop:
                pos = mapped_to[0]  # messages appended after the last chunk: another run
                continue
            j, what, f, seq = stop[0]
            pos = j + 1
            status_reports: list[dict[bytes, bytes]] = []
            slow: list[ExecReport] = []
            while True:  # the run of messages that need Redis to be mapped
                if what.status_report is not None:
                    status_reports.append(what.status_report)
                elif what.ref_seq is not None:
                    r = await self._refused_by_seq(what.ref_seq, _s(f.get(b"58", b"")), "BMR", seq)
                    if r is not None:
                        slow.append(r)
                if pos >= len(msgs):
                    break
                nxt = self._map(msgs[pos], count=False)
                if nxt is None or not _needs_redis(nxt[0]):
                    break  # mapped (and counted) again in the next run: mapping is pure
                self.stats.reports += 1
                what, f, seq = nxt
                pos += 1
            if status_reports:
                slow.extend(await self._reconcile_reports(status_reports))
            if slow:
                await self._apply(slow)

    _CHUNK = 64  # messages mapped per chunk handed to the applier

    def _mapped_chunks(
        self,
        msgs: list[simplefix.FixMessage],
        pos: int,
        stop: list[tuple[int, mapping.Inbound, dict[bytes, bytes], int]],
        produced: list[ExecReport],
        mapped_to: list[int],
    ) -> Iterator[list[ExecReport]]:
        """Reports of ``msgs[pos:]`` chunk by chunk, up to the first message that needs Redis
        to be mapped (left in ``stop``); every report yielded is also added to ``produced``.
        ``len(msgs)`` is read again after each chunk: the engine appends while a chunk is
        applied. ``mapped_to[0]``: the index after the last message mapped."""
        out: list[ExecReport] = []
        j = pos
        while j < len(msgs):
            m = self._map(msgs[j])
            j += 1
            mapped_to[0] = j
            if m is not None:
                what = m[0]
                if what.report is not None:
                    out.append(what.report)
                elif _needs_redis(what):
                    stop.append((j - 1, *m))
                    break
                elif what.status_request_refused:
                    if self.status_requests_supported:
                        log.warning(
                            "%s: the venue refuses OrderStatusRequest; in-flight orders are "
                            "reconciled from its resent execution reports",
                            self.session_id,
                        )
                    self.status_requests_supported = False
                else:
                    self.stats.ignored += 1
                    log.info("%s: %s", self.session_id, what.ignored)
            if len(out) >= self._CHUNK:
                produced += out
                yield out
                out = []
        if out:
            produced += out
            yield out

    def _map(
        self, msg: simplefix.FixMessage, count: bool = True
    ) -> tuple[mapping.Inbound, dict[bytes, bytes], int] | None:
        """One inbound message mapped (pure); None when it cannot be (logged and counted
        when ``count``)."""
        f = dict(msg.pairs)
        mt = f.get(b"35", b"")
        seq_raw = f.get(b"34", b"0")
        seq = int(seq_raw) if seq_raw.isdigit() else 0
        if count:
            self.stats.reports += 1
        try:
            return mapping.inbound(mt, f, seq), f, seq
        except Exception as exc:  # no crash on input
            if count:
                log.error("%s: cannot map inbound %s: %s", self.session_id, mt, exc)
                self.stats.ignored += 1
            return None

    async def _apply(self, reports: list[ExecReport]) -> list[ApplyResult]:
        return await self._count(reports, await self.applier.apply_many(reports), retry=True)

    async def _count(
        self, reports: list[ExecReport], results: list[ApplyResult], retry: bool
    ) -> list[ApplyResult]:
        """Outcome counters; reports refused for a wrong account are applied again with the
        order's own (the venue echoed a wrong Account(1))."""
        if retry:
            again = [
                r for r, res in zip(reports, results, strict=True) if res.outcome == "wrong_account"
            ]
            if again:
                fixed = iter(await self.applier.apply_many([_without_account(r) for r in again]))
                results = [
                    next(fixed) if res.outcome == "wrong_account" else res for res in results
                ]
        for res in results:
            self.stats.outcomes[res.outcome] = self.stats.outcomes.get(res.outcome, 0) + 1
            if res.outcome == "applied":
                self.stats.applied += 1
            elif res.outcome == "duplicate":
                self.stats.duplicates += 1
            else:
                self.stats.refused += 1
        return results

    async def _refused_by_seq(
        self, ref_seq: int, text: str, prefix: str, seq: int
    ) -> ExecReport | None:
        raw = await self.redis.hget(keys.fix_out(self.session_id), str(ref_seq))
        if raw is None:
            return None
        what = mapping.refused_by_reference(bytes(raw), text, prefix, seq)
        return what.report

    def on_event(self, session: FixSession, kind: str, text: str) -> None:
        if kind == "apply_failure" and self._term_failed is not None:
            self._term_failed.set()
        elif kind == "store_failure" and self._term_failed is not None:
            self._term_failed.set()
        elif kind == "reject_received":
            # session-level Reject of one of our messages: "RefSeqNum=N text"
            head, _, rest = text.partition(" ")
            ref = head.removeprefix("RefSeqNum=")
            if ref.isdigit():
                asyncio.get_running_loop().create_task(self._session_reject(int(ref), rest))

    async def _session_reject(self, ref_seq: int, text: str) -> None:
        try:
            r = await self._refused_by_seq(ref_seq, f"session Reject: {text}", "REJ", 0)
            if r is not None:
                await self._apply([r])
        except Exception:
            log.exception("%s: applying a session Reject failed", self.session_id)

    def on_logon(self, session: FixSession) -> None:
        self._logons += 1
        self.stats.logons += 1
        log.info(
            "%s: logged on (out %d, in %d)",
            self.session_id,
            session.next_sender_seq,
            session.next_target_seq,
        )

    def on_state_change(self, session: FixSession, old: State, new: State) -> None:
        log.info("%s: %s -> %s", self.session_id, old.value, new.value)
        asyncio.get_running_loop().create_task(self._publish_quietly(session))

    async def _publish_quietly(self, session: FixSession) -> None:
        with contextlib.suppress(Exception):
            await self._publish(session)

    # ------------------------------------------------------------------ reconciliation

    async def in_flight(self) -> list[dict[str, str]]:
        """Orders of this venue that were sent and have no final answer yet.

        The session's sent map is asked first (one HMGET per 1,000 open orders): a backlog
        queued while the line was down is open but was never sent, and reading each of its
        order records would delay the first send of a market-open drain (20,000 queued orders
        took 20,000 HMGETs, ~0.6 s, before the first order left)."""
        pipe = self.redis.pipeline(transaction=False)
        for p in range(self.cfg.partitions):
            pipe.zrange(keys.open_orders(p), 0, -1)
        open_ids = [(p, _s(oid)) for p, ids in enumerate(await pipe.execute()) for oid in ids]
        sent_ids = await self._sent_among(open_ids)
        if not sent_ids:
            return []
        fields = ["order_id", "status", "venue", "symbol", "side", "clordid"]
        pipe = self.redis.pipeline(transaction=False)
        for p, oid in sent_ids:
            pipe.hmget(keys.order(p, oid), fields)
        out = []
        for vals in await pipe.execute():
            d = {k: _s(v) for k, v in zip(fields, vals, strict=True) if v is not None}
            if d.get("status") in _PENDING and d.get("venue") == self.cfg.venue:
                out.append(d)
        return out

    async def _sent_among(
        self, open_ids: list[tuple[int, str]], chunk: int = 1000
    ) -> list[tuple[int, str]]:
        """The open orders that this session has sent (its ``sent`` map holds them)."""
        if not open_ids:
            return []
        pipe = self.redis.pipeline(transaction=False)
        for lo in range(0, len(open_ids), chunk):
            pipe.hmget(
                keys.fix_sent(self.session_id), [oid for _, oid in open_ids[lo : lo + chunk]]
            )
        sent = [v for part in await pipe.execute() for v in part]
        return [po for po, s in zip(open_ids, sent, strict=True) if s is not None]

    async def _reconcile(self, session: FixSession) -> None:
        """Never guess: ask the venue (OrderStatusRequest) about every order sent but not yet
        answered; the answers are applied in ``_reconcile_reports``. A venue that refuses H is
        reconciled by the resend of its execution reports (asked for at logon from the stored
        inbound number, which advances only once a report was applied)."""
        if not self.status_requests_supported:
            return
        orders = await self.in_flight()
        for d in orders:
            if not session.logged_on or not self.lease.valid():
                return
            await self.throttle.acquire()
            try:
                session.send_body(
                    b"H",
                    mapping.status_request(
                        d.get("clordid") or d["order_id"], d["symbol"], d["side"]
                    ),
                )
            except (NotLoggedOn, mapping.MappingError):
                return
            self.stats.status_requests += 1
        if orders:
            await session.flushed()
            log.info("%s: OrderStatusRequest for %d in-flight orders", self.session_id, len(orders))

    async def _reconcile_reports(
        self, status_reports: list[dict[bytes, bytes]]
    ) -> list[ExecReport]:
        pipe = self.redis.pipeline(transaction=False)
        ids = []
        for f in status_reports:
            try:
                oid = mapping.base_order_id(f.get(b"11", b"").decode())
            except ValueError:
                oid = ""
            ids.append(oid)
            if oid:
                pipe.hget(keys.order(partition_of_order_id(oid), oid), "status")
        statuses = iter(await pipe.execute()) if any(ids) else iter(())
        out = []
        for f, oid in zip(status_reports, ids, strict=True):
            if not oid:
                continue
            st = next(statuses)
            if st is None:
                continue
            r = mapping.reconcile(OrderStatus(_s(st)), f)
            if r is not None:
                out.append(r)
        return out

    # ------------------------------------------------------------------ status and admin

    async def _publish(self, session: FixSession | None = None) -> None:
        data: dict[str, Any] = {
            "role": self.role,
            "holder": self.lease.holder,
            "token": self.lease.token,
            "updated_at": utc_iso_now(),
            **{k: str(v) for k, v in self.stats.as_dict().items()},
        }
        if session is not None:
            data.update(
                state=session.state.value,
                next_out=session.next_sender_seq,
                next_in=session.next_target_seq,
                last_disconnect=session.last_disconnect_reason or "",
            )
        if self.role == "leader" or session is not None:
            await self.redis.hset(
                keys.fix_status(self.session_id), mapping={k: str(v) for k, v in data.items()}
            )

    async def _publish_loop(self, session: FixSession) -> None:
        while True:
            with contextlib.suppress(*UNAVAILABLE):
                await self._publish(session)
            await asyncio.sleep(1.0)

    async def _audit(self, what: str, detail: dict[str, Any]) -> None:
        await self.redis.rpush(
            keys.fix_audit(self.session_id),
            json.dumps(
                {"at": utc_iso_now(), "step": what, "process": self.process, "detail": detail}
            ),
        )

    async def _admin_loop(self, session: FixSession) -> None:
        """Operator commands (``ordergate status --logout`` ...) from the session's admin stream,
        each audited in the session's trail."""
        stream = keys.fix_admin(self.session_id)
        newest = await self.redis.xrevrange(stream, count=1)  # commands from now on
        last = _s(newest[0][0]) if newest else "0-0"
        while True:
            resp = await self.redis.xread({stream: last}, count=10, block=500)
            for _, entries in resp or []:
                for eid, fields in entries:
                    last = _s(eid)
                    cmd = {_s(k): _s(v) for k, v in fields.items()}
                    await self._admin(session, cmd)

    async def _admin(self, session: FixSession, cmd: dict[str, str]) -> None:
        action = cmd.get("action", "")
        detail: dict[str, Any] = {"request": cmd}
        if action == "logout":
            # the connector logs out and stops (a standby, if any, takes the session over)
            await self._audit("admin_logout", detail)
            with contextlib.suppress(TimeoutError):
                await session.logout(cmd.get("text") or "operator logout", timeout=5)
            self.stop()
        elif action == "reset":
            # the FIX way: the next Logon carries ResetSeqNumFlag(141)=Y, both sides restart at 1
            session.reset_at_next_logon()
            await self._audit("admin_reset_sequence", detail)
            with contextlib.suppress(TimeoutError):
                await session.logout("operator sequence reset", timeout=5)
        elif action == "resend":
            # ResendRequest for FROM..TO; the PossDup reports that come back are delivered
            # again (the engine's replay window) and applied idempotently (ExecID dedupe)
            try:
                first, last = int(cmd.get("from", "")), int(cmd.get("to", ""))
                session.request_replay(first, last)
            except (ValueError, NotLoggedOn) as exc:
                detail["result"] = f"refused: {exc or exc.__class__.__name__}"
                await self._audit("admin_refused", detail)
                return
            await self._audit("admin_resend_range", detail)
        else:
            detail["result"] = f"unknown action {action!r}"
            await self._audit("admin_refused", detail)


async def _cancel_all(tasks: list[asyncio.Task[Any]], again_after: float = 0.5) -> None:
    """Cancel ``tasks`` and wait until all have ended, cancelling again those still running
    after ``again_after`` seconds: on Python 3.11 a cancellation that arrives as an inner
    ``asyncio.wait_for`` completes (redis-py wraps every socket write in one when the client
    has a socket timeout, as the command line's has) is lost, and the task runs on; a term
    whose pump kept running never ended (seen in bench.connector: the process hung at stop)."""
    for t in tasks:
        t.cancel()
    pending: set[asyncio.Task[Any]] = set(tasks)
    while pending:
        _, pending = await asyncio.wait(pending, timeout=again_after)
        for t in pending:
            t.cancel()
    for t in tasks:
        if not t.cancelled():
            t.exception()  # retrieved: ended terms log their cause in _term already


_FIELD = FIELD.encode()


def _command_bytes(fields: Any) -> bytes | None:
    """The packed command of a stream entry: its fields as a dict (redis-py) or as the flat
    ``[name, value, ...]`` list of a raw reply."""
    if not fields:
        return None
    if isinstance(fields, dict):
        v = fields.get(_FIELD)
        return None if v is None else bytes(v)
    for i in range(0, len(fields) - 1, 2):
        if fields[i] == _FIELD:
            return bytes(fields[i + 1])
    return None


def _needs_redis(what: mapping.Inbound) -> bool:
    """Mapping this message needs a Redis read (the order's status, our stored message)."""
    return what.report is None and (what.status_report is not None or what.ref_seq is not None)


def _is_cluster(redis: Any) -> bool:
    from redis.asyncio.cluster import RedisCluster

    return isinstance(redis, RedisCluster)


def _without_account(r: ExecReport) -> ExecReport:
    from dataclasses import replace

    return replace(r, account=None)


def utc_iso_now() -> str:
    from datetime import UTC, datetime

    return utc_iso(datetime.now(UTC))
