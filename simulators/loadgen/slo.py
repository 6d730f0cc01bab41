"""``--slo``: service-level thresholds a run must meet, checked against its report (pure).

    --slo ack_p99_ms=10,accept_p99_ms=5,fill_p999_ms=200,errors=0,unanswered=0

``<stage>_<p50|p90|p99|p999|max>_ms=X``: that stage's figure must be at most X ms (a stage with
no sample fails: nothing was measured); ``errors=N``: at most N error answers / connection
errors / timeouts; ``unanswered=N``: at most N orders or changes the exchange never answered.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from .stages import STAGES

_LATENCY = re.compile(rf"^({'|'.join(STAGES)})_(p50|p90|p99|p999|max)_ms$")
COUNTS = ("errors", "unanswered")


@dataclass(frozen=True)
class Objective:
    name: str  # as given: ack_p99_ms, errors, ...
    limit: float


def parse(text: str) -> list[Objective]:
    """``name=value,...``; ``ValueError`` names the first bad item."""
    out = []
    for item in filter(None, (p.strip() for p in text.split(","))):
        name, sep, value = item.partition("=")
        name = name.strip()
        if not sep:
            raise ValueError(f"--slo {item!r}: expected name=value")
        if not (_LATENCY.match(name) or name in COUNTS):
            raise ValueError(
                f"--slo {name!r}: expected <stage>_<p50|p90|p99|p999|max>_ms (stages: "
                f"{', '.join(STAGES)}), errors or unanswered"
            )
        try:
            limit = float(value)
        except ValueError:
            raise ValueError(f"--slo {name}: {value!r} is not a number") from None
        if not limit >= 0:
            raise ValueError(f"--slo {name}: must be >= 0, got {value!r}")
        out.append(Objective(name, limit))
    if not out:
        raise ValueError("--slo: no objective given")
    return out


def _measured(report: dict[str, Any], name: str) -> float | None:
    if name == "errors":
        return float(sum(report["errors"].values()))
    if name == "unanswered":
        un = report.get("unanswered") or {}
        return float(sum((un.get(s) or {}).get("count", 0) for s in ("ack", "done")))
    m = _LATENCY.match(name)
    assert m is not None
    value = report["stages"][m.group(1)][m.group(2)]
    return None if value is None else float(value)


def check(report: dict[str, Any], objectives: list[Objective]) -> list[dict[str, Any]]:
    """Every objective with what was measured and whether it was met."""
    out = []
    for o in objectives:
        got = _measured(report, o.name)
        out.append(
            {
                "objective": o.name,
                "limit": o.limit,
                "measured": got,
                "met": got is not None and got <= o.limit,
            }
        )
    return out


def missed(results: list[dict[str, Any]]) -> list[str]:
    """One line per objective missed."""
    out = []
    for r in results:
        if r["met"]:
            continue
        if r["measured"] is None:
            out.append(f"{r['objective']}: nothing measured (limit {r['limit']:g})")
        else:
            out.append(f"{r['objective']} {r['measured']:g} > {r['limit']:g}")
    return out
