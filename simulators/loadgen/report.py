"""The report of a run: percentiles, answers by status, the rate per second, whether the
generator kept up; as a dict (the JSON) and as a table. Pure: no clock, no I/O."""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from .profiles import OPS

QUANTILES = (("p50", 0.50), ("p90", 0.90), ("p99", 0.99), ("p99.9", 0.999))
# the generator kept up when 99% of its requests left within this of when they were due; beyond
# it, latencies from due include the generator's own delay (read the from-write figures)
KEPT_UP_P99_MS = 10.0


@dataclass
class RunData:
    """What one run observed (raw samples, seconds), filled by the driver."""

    sent: int = 0
    skipped: dict[str, int] = field(default_factory=dict)  # op -> requests with no order id
    statuses: dict[str, dict[int, int]] = field(default_factory=lambda: {op: {} for op in OPS})
    from_due: dict[str, list[float]] = field(default_factory=lambda: {op: [] for op in OPS})
    from_write: dict[str, list[float]] = field(default_factory=lambda: {op: [] for op in OPS})
    lateness: list[float] = field(default_factory=list)  # written - due, per request
    # per second of the run: requests due, written, answered, and 2xx answers
    due_per_s: list[int] = field(default_factory=list)
    sent_per_s: list[int] = field(default_factory=list)
    answered_per_s: list[int] = field(default_factory=list)
    ok_per_s: list[int] = field(default_factory=list)
    connection_errors: int = 0
    timeouts: int = 0
    send_seconds: float = 0.0  # from the start to the last write
    generator_cpu_seconds: float = 0.0
    wall_seconds: float = 0.0

    @property
    def answered(self) -> int:
        return sum(sum(s.values()) for s in self.statuses.values())


def bump(series: list[int], second: float, n: int = 1) -> None:
    """Add ``n`` to ``series[int(second)]``, growing it as needed."""
    i = max(0, int(second))
    if i >= len(series):
        series.extend([0] * (i + 1 - len(series)))
    series[i] += n


def percentile(values: Sequence[float], q: float) -> float:
    """Nearest-rank percentile of sorted ``values`` (the smallest value with at least ``q`` of
    them at or below it)."""
    if not values:
        return math.nan
    return values[max(0, math.ceil(q * len(values)) - 1)]


def latency_summary(seconds: Sequence[float]) -> dict[str, float | int | None]:
    """count, p50 / p90 / p99 / p99.9 / max in milliseconds (None when there is no sample)."""
    values = sorted(seconds)
    out: dict[str, float | int | None] = {"count": len(values)}
    for name, q in QUANTILES:
        out[f"{name}_ms"] = round(percentile(values, q) * 1000, 3) if values else None
    out["max_ms"] = round(values[-1] * 1000, 3) if values else None
    return out


def _merge(counts: dict[str, dict[int, int]]) -> dict[int, int]:
    total: dict[int, int] = {}
    for per_op in counts.values():
        for status, n in per_op.items():
            total[status] = total.get(status, 0) + n
    return total


def _keyed(counts: dict[int, int]) -> dict[str, int]:
    return {str(s): counts[s] for s in sorted(counts)}


def build_report(
    data: RunData, setup: dict[str, Any], planned: int, duration: float
) -> dict[str, Any]:
    """The report as a JSON-ready dict. ``setup`` (url, profile, rate, ...) is copied in."""
    statuses = _merge(data.statuses)
    accepted = statuses.get(202, 0)
    five = sum(n for s, n in statuses.items() if s >= 500)
    late = latency_summary(data.lateness)
    p99_late = late["p99_ms"]
    kept_up = p99_late is not None and float(p99_late) <= KEPT_UP_P99_MS
    seconds = max(
        len(data.due_per_s), len(data.sent_per_s), len(data.answered_per_s), len(data.ok_per_s)
    )

    def at(series: list[int], i: int) -> int:
        return series[i] if i < len(series) else 0

    ops = {}
    for op in OPS:
        if not data.statuses[op] and not data.skipped.get(op):
            continue
        ops[op] = {
            "answered": sum(data.statuses[op].values()),
            "statuses": _keyed(data.statuses[op]),
            "skipped_no_order_id": data.skipped.get(op, 0),
            "latency_from_due_ms": latency_summary(data.from_due[op]),
            "latency_from_write_ms": latency_summary(data.from_write[op]),
        }
    return {
        **setup,
        "planned": planned,
        "offered_per_s": round(planned / duration, 1),
        "sent": data.sent,
        "answered": data.answered,
        "statuses": _keyed(statuses),
        "accepted": accepted,
        "accepted_per_s": round(accepted / duration, 1),
        "orders_accepted": data.statuses["submit"].get(202, 0),
        "errors": {
            "connection": data.connection_errors,
            "timeouts": data.timeouts,
            "status_5xx": five,
        },
        "operations": ops,
        "per_second": [
            {
                "second": i,
                "due": at(data.due_per_s, i),
                "sent": at(data.sent_per_s, i),
                "answered": at(data.answered_per_s, i),
                "ok": at(data.ok_per_s, i),
            }
            for i in range(seconds)
        ],
        "generator": {
            "send_lateness_ms": late,
            "kept_up": kept_up,
            "kept_up_rule": f"p99 send lateness <= {KEPT_UP_P99_MS} ms",
            "cpu_seconds": round(data.generator_cpu_seconds, 3),
            "cpu_share": round(data.generator_cpu_seconds / data.wall_seconds, 3)
            if data.wall_seconds
            else None,
            "send_seconds": round(data.send_seconds, 3),
        },
    }


def threshold_failures(
    report: dict[str, Any], p99_ms: float | None, fail_on_errors: bool
) -> list[str]:
    """Why a CI run should fail (empty: it passes): an operation's p99 from due above
    ``p99_ms``; with ``fail_on_errors``, any connection error, timeout or 5xx answer."""
    out = []
    if p99_ms is not None:
        for op, row in report["operations"].items():
            p99 = row["latency_from_due_ms"]["p99_ms"]
            if p99 is not None and p99 > p99_ms:
                out.append(f"{op} p99 {p99} ms > {p99_ms} ms")
    if fail_on_errors:
        errors = report["errors"]
        if any(errors.values()):
            out.append(
                f"errors: {errors['connection']} connection, {errors['timeouts']} timeouts, "
                f"{errors['status_5xx']} 5xx"
            )
    return out


def _ms(v: Any) -> str:
    return "-" if v is None else f"{v:.2f}"


def format_table(report: dict[str, Any]) -> str:
    """The report for a terminal."""
    r = report
    lines = [
        f"ordergate loadtest: {r['profile']} at {r['rate']:g}/s for {r['duration_s']:g} s -> "
        f"{r['url']} ({r['connections']} connections, {r['accounts']} accounts "
        f"{r['account_range']}, seed {r['seed']}, run {r['run_id']}; token: {r['token']})",
        f"offered {r['offered_per_s']}/s  planned {r['planned']}  sent {r['sent']}  "
        f"answered {r['answered']}  accepted (202) {r['accepted']} = {r['accepted_per_s']}/s  "
        f"errors: {r['errors']['connection']} connection, {r['errors']['timeouts']} timeouts, "
        f"{r['errors']['status_5xx']} 5xx",
        "answers by status: "
        + (", ".join(f"{s}: {n}" for s, n in r["statuses"].items()) or "none"),
        "",
        f"{'operation':<9} {'answered':>8}  {'statuses':<22}"
        f"{'from due ms: p50':>17} {'p90':>7} {'p99':>7} {'p99.9':>7} {'max':>7}"
        f"{'from write: p50':>17} {'p99':>7} {'p99.9':>7} {'max':>7}",
    ]
    for op, row in r["operations"].items():
        due, wr = row["latency_from_due_ms"], row["latency_from_write_ms"]
        st = " ".join(f"{s}:{n}" for s, n in row["statuses"].items())
        if row["skipped_no_order_id"]:
            st += f" skipped:{row['skipped_no_order_id']}"
        lines.append(
            f"{op:<9} {row['answered']:>8}  {st:<22}{_ms(due['p50_ms']):>17} "
            f"{_ms(due['p90_ms']):>7} {_ms(due['p99_ms']):>7} {_ms(due['p99.9_ms']):>7} "
            f"{_ms(due['max_ms']):>7}{_ms(wr['p50_ms']):>17} {_ms(wr['p99_ms']):>7} "
            f"{_ms(wr['p99.9_ms']):>7} {_ms(wr['max_ms']):>7}"
        )
    lines += ["", "per second:  due   sent  answered   2xx"]
    for s in r["per_second"]:
        lines.append(
            f"{s['second']:>10}  {s['due']:>5} {s['sent']:>6} {s['answered']:>9} {s['ok']:>5}"
        )
    g = r["generator"]
    late = g["send_lateness_ms"]
    verdict = (
        "yes"
        if g["kept_up"]
        else "NO: requests left late, so the from-due latencies include the generator's own "
        "delay; read the from-write figures, or lower the rate / run the generator elsewhere"
    )
    lines += [
        "",
        f"generator: send lateness p50 {_ms(late['p50_ms'])} ms, p99 {_ms(late['p99_ms'])} ms, "
        f"max {_ms(late['max_ms'])} ms; CPU {g['cpu_seconds']} s "
        f"({_pct(g['cpu_share'])} of the run); kept up ({g['kept_up_rule']}): {verdict}",
    ]
    lines += [f"note: {n}" for n in r.get("notes", [])]
    return "\n".join(lines)


def _pct(share: float | None) -> str:
    return "-" if share is None else f"{share * 100:.0f}%"
