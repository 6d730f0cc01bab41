"""The inbound side's pure part: a live batch is mapped chunk by chunk up to the first message
whose mapping needs Redis, and every message is counted once."""

from __future__ import annotations

from typing import Any

import simplefix

from connector.config import ConnectorConfig
from connector.reconcile import Reconciler
from connector.reports import InboundReports, needs_redis
from connector.status import Stats
from gateway.ids import new_order_id
from gateway.states import OrderEvent


def _msg(seq: int, *pairs: tuple[bytes, bytes]) -> simplefix.FixMessage:
    m = simplefix.FixMessage()
    m.append_pair(34, seq)
    for tag, value in pairs:
        m.append_pair(tag, value)
    return m


def _ack(seq: int, oid: str) -> simplefix.FixMessage:
    return _msg(seq, (b"35", b"8"), (b"11", oid.encode()), (b"150", b"0"), (b"39", b"0"),
                (b"17", f"X{seq}".encode()), (b"37", b"V1"))  # fmt: skip


def _inbound() -> tuple[InboundReports, Stats]:
    stats = Stats()
    cfg = ConnectorConfig(hours="always")
    # no Redis: chunking and mapping are pure (nothing here may touch the client or applier)
    reconciler = Reconciler(cfg, None, None, None, stats)  # type: ignore[arg-type]
    inbound = InboundReports(None, "S", None, stats, reconciler)  # type: ignore[arg-type]
    return inbound, stats


def _chunks(inbound: InboundReports, msgs: list[Any]) -> tuple[list[Any], list[Any], int]:
    stop: list[Any] = []
    produced: list[Any] = []
    mapped_to = [0]
    chunks = list(inbound._mapped_chunks(msgs, 0, stop, produced, mapped_to))
    assert [r for c in chunks for r in c] == produced
    return produced, stop, mapped_to[0]


def test_mapping_stops_at_the_first_message_that_needs_redis() -> None:
    inbound, stats = _inbound()
    oids = [new_order_id(1) for _ in range(3)]
    bmr = _msg(12, (b"35", b"j"), (b"45", b"7"), (b"58", b"no"))
    msgs = [_ack(10, oids[0]), _ack(11, oids[1]), bmr, _ack(13, oids[2])]
    produced, stop, mapped_to = _chunks(inbound, msgs)
    assert [r.order_id for r in produced] == oids[:2]
    assert all(r.event is OrderEvent.accepted for r in produced)
    (j, what, _f, seq), *_ = stop
    assert (j, what.ref_seq, seq) == (2, 7, 12)
    assert mapped_to == 3  # the message after the stop is left for the next run
    assert stats.reports == 3 and stats.ignored == 0


def test_a_batch_longer_than_a_chunk_comes_in_chunks_of_at_most_chunk_size() -> None:
    inbound, _ = _inbound()
    n = InboundReports._CHUNK * 2 + 5
    msgs = [_ack(i, new_order_id(i % 16)) for i in range(n)]
    stop: list[Any] = []
    produced: list[Any] = []
    sizes = [len(c) for c in inbound._mapped_chunks(msgs, 0, stop, produced, [0])]
    assert sizes == [InboundReports._CHUNK, InboundReports._CHUNK, 5] and not stop


def test_unmappable_and_foreign_messages_are_counted_as_ignored_not_raised() -> None:
    inbound, stats = _inbound()
    foreign = _msg(1, (b"35", b"8"), (b"11", b"not-ours"), (b"150", b"0"), (b"17", b"E1"))
    unknown_type = _msg(2, (b"35", b"AE"))
    produced, stop, _ = _chunks(inbound, [foreign, unknown_type])
    assert produced == [] and stop == []
    assert (stats.reports, stats.ignored) == (2, 2)


def test_a_refused_status_request_switches_reconciliation_to_the_resend() -> None:
    inbound, _ = _inbound()
    refused = _msg(5, (b"35", b"j"), (b"372", b"H"), (b"380", b"3"))
    assert inbound.reconciler.status_requests_supported
    _chunks(inbound, [refused])
    assert not inbound.reconciler.status_requests_supported


def test_only_status_answers_and_references_by_sequence_need_redis() -> None:
    from connector.mapping import Inbound

    assert needs_redis(Inbound(status_report={b"11": b"x"}))
    assert needs_redis(Inbound(ref_seq=3))
    assert not needs_redis(Inbound(ignored="x"))
