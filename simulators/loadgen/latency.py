"""Latencies as HDR histograms (the ``hdrhistogram`` package): fixed memory whatever the run's
length, and exact to merge across generator processes (counts add bucket by bucket), which a
percentile of percentiles never is. Values are recorded in microseconds, reported in ms."""

from __future__ import annotations

from collections.abc import Iterable

from hdrh.histogram import HdrHistogram

LOWEST_US = 1
HIGHEST_US = 3_600_000_000  # an hour: anything later is clamped to it
DIGITS = 3  # whole-run histograms: 0.1% resolution
COARSE_DIGITS = 2  # per-second histograms (the timeline, the progress line): 1%

# report name -> percentile (the report's keys: p50, p90, p99, p999)
PERCENTILES = (("p50", 50.0), ("p90", 90.0), ("p99", 99.0), ("p999", 99.9))


def new_histogram(digits: int = DIGITS) -> HdrHistogram:
    return HdrHistogram(LOWEST_US, HIGHEST_US, digits)


def record(h: HdrHistogram, seconds: float) -> None:
    """Record a latency given in seconds (negative or sub-microsecond values count as 1 us).

    ``HdrHistogram.record_value`` inlined (same bucket arithmetic, one call instead of five):
    the generator records several values per request, thousands of times a second."""
    v = int(seconds * 1_000_000)
    if v < LOWEST_US:
        v = LOWEST_US
    elif v > HIGHEST_US:
        v = HIGHEST_US
    unit = h.unit_magnitude
    half_mag = h.sub_bucket_half_count_magnitude
    bucket = (v | h.sub_bucket_mask).bit_length() - unit - half_mag - 1
    h.counts[((bucket + 1) << half_mag) + (v >> (bucket + unit)) - h.sub_bucket_half_count] += 1
    h.total_count += 1
    if v < h.min_value:
        h.min_value = v
    if v > h.max_value:
        h.max_value = v


def encode(h: HdrHistogram) -> bytes:
    """The histogram's compressed HDR form, to send between processes."""
    return bytes(h.encode())


def merged(encoded: Iterable[bytes], digits: int = DIGITS) -> HdrHistogram:
    """One histogram holding every count of the ``encoded`` ones."""
    out = new_histogram(digits)
    for blob in encoded:
        out.add(HdrHistogram.decode(blob))
    return out


def _ms(us: float) -> float:
    return round(us / 1000, 3)


def summary(h: HdrHistogram) -> dict[str, float | int | None]:
    """``count``, ``p50`` / ``p90`` / ``p99`` / ``p999`` / ``max`` in ms (None when empty)."""
    n = h.get_total_count()
    out: dict[str, float | int | None] = {"count": n}
    for name, q in PERCENTILES:
        out[name] = _ms(h.get_value_at_percentile(q)) if n else None
    out["max"] = _ms(h.get_max_value()) if n else None
    return out


def p99_ms(h: HdrHistogram) -> float | None:
    return _ms(h.get_value_at_percentile(99.0)) if h.get_total_count() else None


def curve(h: HdrHistogram) -> list[tuple[float, float]]:
    """The percentile curve for a chart: ``(percentile, ms)`` at 0, 50, 75, 87.5, ... up to the
    maximum (HdrHistogram's percentile iterator, 4 steps per halving)."""
    if not h.get_total_count():
        return []
    points = [
        (round(item.percentile_level_iterated_to, 5), _ms(item.value_iterated_to))
        for item in h.get_percentile_iterator(4)
    ]
    out: list[tuple[float, float]] = []
    for p, v in points:
        if not out or p > out[-1][0]:
            out.append((p, v))
    return out
