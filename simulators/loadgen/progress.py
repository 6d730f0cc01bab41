"""The once-a-second progress line on stderr while a load runs: elapsed / total, offered and
achieved rate in that second, errors, requests in flight, orders waiting for the exchange, and
that second's p99 per stage. ``line`` is pure; ``Progress`` writes it."""

from __future__ import annotations

import sys
from typing import TextIO

from .latency import COARSE_DIGITS, merged, p99_ms
from .runner import Tick
from .stages import STAGES


def wanted(quiet: bool, forced: bool, stream: TextIO) -> bool:
    """Progress is written to a terminal unless ``--quiet``; elsewhere only with ``--progress``."""
    if quiet:
        return False
    return forced or stream.isatty()


def line(second: int, total_seconds: float, ticks: list[Tick]) -> str:
    """The progress line for ``second`` from every generator's tick."""
    p99s = []
    for stage in STAGES:
        blobs = [t.stage_hists[stage] for t in ticks if stage in t.stage_hists]
        v = p99_ms(merged(blobs, COARSE_DIGITS)) if blobs else None
        p99s.append(f"{stage} {'-' if v is None else f'{v:.1f}'}")
    return (
        f"[{second + 1:>4}/{total_seconds:.0f} s] offered {sum(t.due for t in ticks)}/s "
        f"achieved {sum(t.ok for t in ticks)}/s  errors {sum(t.errors for t in ticks)}  "
        f"in flight {sum(t.in_flight for t in ticks)}  awaiting exchange "
        f"{sum(t.awaiting for t in ticks)}  p99 ms: " + ", ".join(p99s)
    )


class Progress:
    """Writes one line per second to ``out``."""

    def __init__(self, total_seconds: float, out: TextIO = sys.stderr) -> None:
        self.total = total_seconds
        self.out = out

    def __call__(self, second: int, ticks: list[Tick]) -> None:
        self.out.write(line(second, self.total, ticks) + "\n")
        self.out.flush()
