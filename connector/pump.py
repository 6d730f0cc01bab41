"""Commands to FIX, the outbound hot path: XREADGROUP -> map -> write-ahead -> send -> XACK.

Exactly once, stream to wire: each batch of commands is numbered by the session, written ahead to
the store (seq, raw message, ClOrdID) in one round trip, handed to the socket, then the stream
entries are acknowledged (one pipeline with the ``sent`` trail steps). Entries left pending by a
crash are reclaimed (XAUTOCLAIM) after logon; those whose ClOrdID the store already recorded are
acknowledged without sending: the FIX resend mechanism delivers what the venue missed.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Awaitable, Callable, Coroutine, Sequence
from dataclasses import dataclass
from typing import Any

from redis import exceptions as rexc

from connector import mapping
from connector.common import COMPONENT, utc_iso_now
from connector.common import text as _s
from connector.config import ConnectorConfig
from connector.lease import Lease
from connector.scripts import SENT_AND_ACK
from connector.status import Stats
from connector.throttle import Throttle
from fixengine import FixSession, NotLoggedOn, sending_time
from gateway import fields, keys
from gateway.codec import FIELD, CodecError, Command, decode_command
from gateway.ids import partition_of_order_id
from gateway.reports import ExecReport
from gateway.scripts import pipeline
from gateway.states import OrderEvent
from gateway.trail import step_json

log = logging.getLogger("ordergate.connector")


@dataclass(slots=True)
class _Item:
    stream: str
    entry_id: str
    p: int
    cmd: Command
    cl_ord_id: str


class CommandPump:
    """The venue's command streams (one per partition, one consumer group) to one session.

    ``logons`` counts the session's logons (the connector's ``on_logon``): a batch loop started
    under one logon ends at the next, so reconciliation and pending entries come first again.
    ``apply`` applies (and counts) the reject reports of orders that were not sent (halted,
    unmappable); ``reconcile`` runs after each logon, before anything is sent."""

    def __init__(
        self,
        cfg: ConnectorConfig,
        redis: Any,
        lease: Lease,
        throttle: Throttle,
        stats: Stats,
        *,
        process: str,
        apply: Callable[[list[ExecReport]], Awaitable[Any]],
        reconcile: Callable[[FixSession], Awaitable[None]] | None,
        cluster: bool,
    ) -> None:
        self.cfg = cfg
        self.redis = redis
        self.session_id = cfg.session_id
        self.lease = lease
        self.throttle = throttle
        self.stats = stats
        self.process = process
        self._apply = apply
        self._reconcile = reconcile
        self._cluster = cluster
        self.streams = cfg.streams()
        self.partition_of_stream = {s: p for p, s in enumerate(self.streams)}
        self.logons = 0
        self._halt_fields = [fields.halt_venue(cfg.venue), fields.HALT_ALL]
        self._left_pending = False
        self._sent_and_ack = SENT_AND_ACK

    async def load_scripts(self) -> None:
        await self._sent_and_ack.load(self.redis)

    async def ensure_groups(self) -> None:
        """The venue's consumer group on every partition's stream, from the start of the stream
        (orders accepted before the connector first ran are sent too)."""
        pipe = self.redis.pipeline(transaction=False)
        for s in self.streams:
            pipe.xgroup_create(s, self.cfg.group, id="0", mkstream=True)
        for res in await pipe.execute(raise_on_error=False):
            if isinstance(res, Exception) and "BUSYGROUP" not in str(res):
                raise res

    async def run(self, session: FixSession) -> None:
        """Commands to FIX, one batch's store write, socket write and XACKs overlapping the
        reading, mapping and numbering of the next (at most one batch being finished)."""
        await self.ensure_groups()
        consumer = self.lease.holder
        finishing: asyncio.Future[None] | None = None
        try:
            while True:
                if finishing is not None:
                    await finishing
                    finishing = None
                await session.wait_logged_on()
                gen = self.logons
                if self._reconcile is not None:
                    await self._reconcile(session)
                self._left_pending = True
                while session.logged_on and self.logons == gen:
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
        for stream, eid, entry in batch:
            raw = command_bytes(entry)
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
            cmds.append(["HGET", keys.order(it.p, it.cmd.order_id), fields.ORDER_CLORDID])
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
                    step_json(
                        step.get("at", at),
                        step["step"],
                        COMPONENT,
                        self.process,
                        step.get("detail", {}),
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
                self._sent_and_ack.evalsha(
                    [stream, *[k for k, _ in rows]],
                    [self.cfg.group, len(ids), *ids, *[v for _, v in rows]],
                )
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
                await self._sent_and_ack.load(self.redis)
                await self._ack(to_ack, trail)
                return
            raise ConnectionError("some partitions lost the connector scripts; term ends")


_FIELD = FIELD.encode()


def command_bytes(fields: Any) -> bytes | None:
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
