"""HDR histograms across generator processes (``simulators.loadgen.latency``, ``report``):
the inlined recorder buckets exactly as ``HdrHistogram.record_value``; merging the encoded
histograms of several generators is exact (the same counts, bucket by bucket, as one histogram
of every value); merged run data adds counts and per-second series."""

from __future__ import annotations

import random

from simulators.loadgen.latency import (
    COARSE_DIGITS,
    HIGHEST_US,
    encode,
    merged,
    new_histogram,
    record,
    summary,
)
from simulators.loadgen.report import RunData, merge_wire
from simulators.loadgen.stages import StageTracker


def _values(seed: int, n: int) -> list[float]:
    rng = random.Random(seed)
    return [rng.expovariate(1 / 0.004) for _ in range(n)] + [0.0, -0.5, 1e-7, 12.5, 1e6]


def test_the_inlined_recorder_buckets_exactly_as_record_value() -> None:
    for digits in (COARSE_DIGITS, 3):
        mine, theirs = new_histogram(digits), new_histogram(digits)
        for v in _values(1, 20_000):
            record(mine, v)
            us = min(HIGHEST_US, max(1, int(v * 1_000_000)))
            theirs.record_value(us)
        assert list(mine.counts) == list(theirs.counts)
        assert (mine.total_count, mine.min_value, mine.max_value) == (
            theirs.total_count,
            theirs.min_value,
            theirs.max_value,
        )


def test_merging_encoded_histograms_is_exact() -> None:
    parts = [_values(seed, 5_000) for seed in (1, 2, 3)]
    whole = new_histogram()
    blobs = []
    for values in parts:
        h = new_histogram()
        for v in values:
            record(h, v)
            record(whole, v)
        blobs.append(encode(h))
    m = merged(blobs)
    assert list(m.counts) == list(whole.counts)
    assert m.get_total_count() == sum(len(p) for p in parts)
    assert summary(m) == summary(whole)


def _part(seed: int, sent: int, per_s: list[int]) -> RunData:
    d = RunData(sent=sent)
    d.statuses["submit"] = {202: sent - 1, 429: 1}
    for v in _values(seed, sent):
        record(d.from_due["submit"], v)
    d.due_per_s = d.sent_per_s = per_s
    d.error_codes = {"rate_limited": 1}
    d.generator_cpu_seconds, d.wall_seconds = 0.2, 2.0 + seed
    t = StageTracker(keep_orders=True)
    t.accepted(f"O{seed}", 0.0, 0.001 * seed)
    d.take_stages(t)
    return d


def test_merged_run_data_adds_what_each_generator_saw() -> None:
    a, b = _part(1, 100, [50, 50]), _part(2, 60, [30, 20, 10])
    m = merge_wire([a.to_wire(), b.to_wire()])
    assert m.processes == 2 and m.sent == 160
    assert m.statuses["submit"] == {202: 158, 429: 2}
    assert m.due_per_s == [80, 70, 10]
    assert m.error_codes == {"rate_limited": 2}
    assert m.generator_cpu_seconds == 0.4 and m.wall_seconds == 4.0
    assert m.from_due["submit"].get_total_count() == 170  # 100 + 60 values, 5 extra each
    assert m.stages["accept"].get_total_count() == 2
    assert m.unanswered["ack"]["count"] == 2
    assert sorted(o[0] for o in m.orders) == ["O1", "O2"]
