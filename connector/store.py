"""The connector's session store: the engine's ``RedisStore`` recording the ClOrdIDs carried by
each batch (its ``sent_id`` option: same fenced script, same round trip, before the socket).

Once that write succeeded (and before the engine writes the bytes to the socket) it appends the
``sent`` step, with the outbound MsgSeqNum, to each order's trail: one script call per partition,
pipelined. So the trail reads in time order (``sent`` before the venue's answer), and never says
``sent`` for a message the store refused.

``fix_sent`` (``gateway.keys.fix_sent``) maps ClOrdID -> outbound MsgSeqNum. A connector that
restarts (or a standby that takes over) acknowledges stream entries whose ClOrdID is there
without sending them again; the FIX resend mechanism delivers whatever the venue missed.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime
from json.encoder import encode_basestring_ascii as _q
from typing import Any

from redis.exceptions import NoScriptError

from connector.redis_store import RedisStore
from connector.scripts import SENT_AND_ACK
from gateway import keys, trail
from gateway.ids import base_order_id, partition_of_order_id
from gateway.model import utc_iso
from gateway.scripts import pipeline

_ORDER_TYPES = (b"D", b"F", b"G")


def order_message_type(raw: bytes) -> str:
    i = raw.find(b"\x0135=")
    return raw[i + 4 : i + 5].decode() if i >= 0 else ""


def order_message_cl_ord_id(raw: bytes) -> str | None:
    """ClOrdID(11) of a raw NewOrderSingle / OrderCancelRequest / OrderCancelReplaceRequest."""
    i = raw.find(b"\x0135=")
    if i < 0 or raw[i + 4 : i + 5] not in _ORDER_TYPES or raw[i + 5 : i + 6] != b"\x01":
        return None
    j = raw.find(b"\x0111=", i)
    if j < 0:
        return None
    k = raw.find(b"\x01", j + 4)
    return raw[j + 4 : k].decode("utf-8", "replace") if k > 0 else None


class SentRecordingStore(RedisStore):
    def __init__(
        self,
        client: Any,
        session_id: str,
        fence_token: int | str | None = None,
        *,
        venue: str | None = None,
        process: str = "connector",
        component: str = "connector",
    ) -> None:
        super().__init__(client, session_id, fence_token, sent_id=order_message_cl_ord_id)
        self.venue = venue  # None: no trail steps (benchmarks of the store alone, tests)
        self.process = process
        self.component = component

    async def save(
        self,
        next_sender: int,
        next_target: int,
        messages: Sequence[tuple[int, bytes]] = (),
        reset: bool = False,
        *,
        sent_ids: Sequence[str | None] | None = None,
    ) -> None:
        """The engine's fenced write-ahead (with the ClOrdIDs), then the ``sent`` steps."""
        if sent_ids is None:
            sent_ids = [order_message_cl_ord_id(raw) for _, raw in messages]
        await super().save(next_sender, next_target, messages, reset, sent_ids=sent_ids)
        if self.venue is None or not messages:
            return
        steps = [
            (cl, seq, order_message_type(raw))
            for (seq, raw), cl in zip(messages, sent_ids, strict=True)
            if cl is not None
        ]
        if steps:
            await self._sent_steps(steps)

    async def _sent_steps(self, steps: list[tuple[str, int, str]]) -> None:
        step = SentStep(utc_iso(datetime.now(UTC)), self.component, self.process)
        by_p: dict[int, tuple[list[str], list[str]]] = {}
        for cl, seq, mt in steps:
            try:
                oid = base_order_id(cl)
            except ValueError:
                continue
            p = partition_of_order_id(oid)
            rows = by_p.get(p)
            if rows is None:
                rows = by_p[p] = ([], [])
            rows[0].append(keys.trail(p, oid))
            rows[1].append(step.json(seq, cl, mt))
        assert self.venue is not None
        todo = [
            (p, SENT_AND_ACK.evalsha([keys.cmd_stream(p, self.venue), *ks], ["-", 0, *vs]))
            for p, (ks, vs) in by_p.items()
        ]  # fmt: skip
        for attempt in (1, 2):
            res = await pipeline(self.client, [cmd for _, cmd in todo])
            missing = [t for t, r in zip(todo, res, strict=True) if isinstance(r, NoScriptError)]
            for r in res:
                if isinstance(r, Exception) and not isinstance(r, NoScriptError):
                    raise r
            if not missing:
                return
            if attempt == 2:
                raise RuntimeError("sent_and_ack.lua missing right after SCRIPT LOAD")
            await SENT_AND_ACK.load(self.client)  # Redis restarted or failed over
            todo = missing  # only the partitions whose steps were not written


class SentStep:
    """The ``sent`` trail steps of one batch as JSON text, exactly as ``json.dumps`` writes
    them, from the trail encoder's template (json.dumps per step was the largest cost of the
    steps)."""

    __slots__ = ("_fmt", "_at", "_process")
    _formats: dict[str, str] = {}  # by component

    def __init__(self, at: str, component: str, process: str) -> None:
        fmt = self._formats.get(component)
        if fmt is None:
            fmt = trail.template("sent", component, ("seq", "cl_ord_id", "msg_type"), compact=False)
            self._formats[component] = fmt
        self._fmt = fmt
        self._at = at
        self._process = _q(process)

    def json(self, seq: int, cl_ord_id: str, msg_type: str) -> str:
        return self._fmt % (self._at, self._process, int(seq), _q(cl_ord_id), _q(msg_type))
