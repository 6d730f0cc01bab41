"""FIX to orders, the inbound hot path: application messages -> ``mapping`` -> one Lua apply per
report (``gateway.reports.ReportApplier``), chunked so Redis applies one chunk while the next is
mapped. Reports are deduplicated by ExecID in the script, so a replayed one changes nothing."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from dataclasses import replace
from typing import Any

import simplefix

from connector import mapping
from connector.common import text as _s
from connector.reconcile import Reconciler
from connector.status import Stats
from fixengine import FixSession
from gateway import keys
from gateway.reports import ApplyResult, ExecReport, ReportApplier

log = logging.getLogger("ordergate.connector")


class InboundReports:
    """Applies what the venue says to the orders; ``on_messages`` is the session's batched
    delivery (the connector hands it to the engine as its own)."""

    def __init__(
        self,
        redis: Any,
        session_id: str,
        applier: ReportApplier,
        stats: Stats,
        reconciler: Reconciler,
    ) -> None:
        self.redis = redis
        self.session_id = session_id
        self.applier = applier
        self.stats = stats
        self.reconciler = reconciler

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
                if nxt is None or not needs_redis(nxt[0]):
                    break  # mapped (and counted) again in the next run: mapping is pure
                self.stats.reports += 1
                what, f, seq = nxt
                pos += 1
            if status_reports:
                slow.extend(await self.reconciler.reports(status_reports))
            if slow:
                await self.apply(slow)

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
                elif needs_redis(what):
                    stop.append((j - 1, *m))
                    break
                elif what.status_request_refused:
                    if self.reconciler.status_requests_supported:
                        log.warning(
                            "%s: the venue refuses OrderStatusRequest; in-flight orders are "
                            "reconciled from its resent execution reports",
                            self.session_id,
                        )
                    self.reconciler.status_requests_supported = False
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

    async def apply(self, reports: list[ExecReport]) -> list[ApplyResult]:
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

    async def session_reject(self, ref_seq: int, text: str) -> None:
        try:
            r = await self._refused_by_seq(ref_seq, f"session Reject: {text}", "REJ", 0)
            if r is not None:
                await self.apply([r])
        except Exception:
            log.exception("%s: applying a session Reject failed", self.session_id)


def needs_redis(what: mapping.Inbound) -> bool:
    """Mapping this message needs a Redis read (the order's status, our stored message)."""
    return what.report is None and (what.status_report is not None or what.ref_seq is not None)


def _without_account(r: ExecReport) -> ExecReport:
    return replace(r, account=None)
