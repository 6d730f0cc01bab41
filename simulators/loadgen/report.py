"""The report of a run: stage and operation latencies, answers by status and error code, the
timeline per second, whether the generator kept up; merging several generators' data; as a
dict (the JSON) and as a table. Pure: no clock, no I/O."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field, fields
from typing import Any

from hdrh.histogram import HdrHistogram

from .latency import COARSE_DIGITS, DIGITS, encode, merged, new_histogram, p99_ms, summary
from .profiles import OPS
from .stages import LISTED, STAGES, StageTracker

# the generator kept up when 99% of its requests left within this of when they were due; beyond
# it, latencies from due include the generator's own delay (read the from-write figures)
KEPT_UP_P99_MS = 10.0


def _hists(digits: int = DIGITS) -> dict[str, HdrHistogram]:
    return {op: new_histogram(digits) for op in OPS}


@dataclass
class RunData:
    """What one generator (or, merged, all of them) observed; filled by the driver and the
    stage tracker. Latencies are HDR histograms (:mod:`.latency`)."""

    sent: int = 0
    skipped: dict[str, int] = field(default_factory=dict)  # op -> requests with no order id
    statuses: dict[str, dict[int, int]] = field(default_factory=lambda: {op: {} for op in OPS})
    from_due: dict[str, HdrHistogram] = field(default_factory=_hists)
    from_write: dict[str, HdrHistogram] = field(default_factory=_hists)
    lateness: HdrHistogram = field(default_factory=new_histogram)  # written - due
    # per second of the run: requests due, written, answered, 2xx answers, refusals
    due_per_s: list[int] = field(default_factory=list)
    sent_per_s: list[int] = field(default_factory=list)
    answered_per_s: list[int] = field(default_factory=list)
    ok_per_s: list[int] = field(default_factory=list)
    connection_errors: int = 0
    timeouts: int = 0
    error_codes: dict[str, int] = field(default_factory=dict)  # API error code -> answers
    send_seconds: float = 0.0  # from the start to the last write
    generator_cpu_seconds: float = 0.0
    wall_seconds: float = 0.0
    processes: int = 1
    # from the stage tracker (the live stream); empty without it
    stages: dict[str, HdrHistogram] = field(default_factory=dict)
    stage_seconds: dict[int, dict[str, HdrHistogram]] = field(default_factory=dict)
    unanswered: dict[str, dict[str, Any]] = field(default_factory=dict)
    change_refused: int = 0
    change_overtaken: int = 0
    matched_late: int = 0
    orders: list[tuple[str, float, float, float, float]] = field(default_factory=list)
    phases: list[dict[str, Any]] = field(default_factory=list)  # open-burst: backlog, open

    @property
    def answered(self) -> int:
        return sum(sum(s.values()) for s in self.statuses.values())

    def take_stages(self, tracker: StageTracker) -> None:
        """Copy what the tracker saw (at the end of the run)."""
        self.stages = tracker.hist
        self.stage_seconds = tracker.per_second
        self.unanswered = tracker.unanswered()
        self.change_refused = tracker.change_refused
        self.change_overtaken = tracker.change_overtaken
        self.matched_late = tracker.matched_late
        self.orders = [(oid, t.accept, t.ack, t.fill, t.done) for oid, t in tracker.orders.items()]

    def add_counts(self, tracker: StageTracker) -> None:
        """Add an earlier phase's tracker (open-burst's backlog): what never came and the
        counters (its histograms are reported with the phase)."""
        for stage, row in tracker.unanswered().items():
            mine = self.unanswered.setdefault(stage, {**row, "count": 0})
            mine["count"] += row["count"]
            if "orders" in row:
                mine["orders"] = (mine.get("orders", []) + row["orders"])[:LISTED]
        self.change_refused += tracker.change_refused
        self.change_overtaken += tracker.change_overtaken
        self.matched_late += tracker.matched_late

    def to_wire(self) -> dict[str, Any]:
        """Plain data (histograms encoded) to send from a generator process."""
        out = {f.name: getattr(self, f.name) for f in fields(self)}
        out["from_due"] = {op: encode(h) for op, h in self.from_due.items()}
        out["from_write"] = {op: encode(h) for op, h in self.from_write.items()}
        out["lateness"] = encode(self.lateness)
        out["stages"] = {s: encode(h) for s, h in self.stages.items()}
        out["stage_seconds"] = {
            sec: {s: encode(h) for s, h in per.items()} for sec, per in self.stage_seconds.items()
        }
        return out


def _add_series(into: list[int], more: list[int]) -> None:
    if len(more) > len(into):
        into.extend([0] * (len(more) - len(into)))
    for i, n in enumerate(more):
        into[i] += n


def merge_wire(parts: Sequence[dict[str, Any]]) -> RunData:
    """One ``RunData`` from every generator's ``to_wire()``: counts and series added, histograms
    merged bucket by bucket (exact), CPU summed, wall time the longest."""
    out = RunData(processes=len(parts))
    for p in parts:
        out.sent += p["sent"]
        for op, n in p["skipped"].items():
            out.skipped[op] = out.skipped.get(op, 0) + n
        for op, counts in p["statuses"].items():
            mine = out.statuses.setdefault(op, {})
            for status, n in counts.items():
                mine[status] = mine.get(status, 0) + n
        for name in ("from_due", "from_write"):
            for op, blob in p[name].items():
                getattr(out, name)[op].add(merged([blob]))
        out.lateness.add(merged([p["lateness"]]))
        for name in ("due_per_s", "sent_per_s", "answered_per_s", "ok_per_s"):
            _add_series(getattr(out, name), p[name])
        out.connection_errors += p["connection_errors"]
        out.timeouts += p["timeouts"]
        for code, n in p["error_codes"].items():
            out.error_codes[code] = out.error_codes.get(code, 0) + n
        out.send_seconds = max(out.send_seconds, p["send_seconds"])
        out.generator_cpu_seconds += p["generator_cpu_seconds"]
        out.wall_seconds = max(out.wall_seconds, p["wall_seconds"])
        for stage, blob in p["stages"].items():
            out.stages.setdefault(stage, new_histogram()).add(merged([blob]))
        for sec, per in p["stage_seconds"].items():
            mine_s = out.stage_seconds.setdefault(sec, {})
            for stage, blob in per.items():
                h = mine_s.setdefault(stage, new_histogram(COARSE_DIGITS))
                h.add(merged([blob], COARSE_DIGITS))
        for stage, row in p["unanswered"].items():
            mine_u = out.unanswered.setdefault(stage, {**row, "count": 0, "orders": []})
            mine_u["count"] += row["count"]
            if "orders" in row:
                mine_u["orders"] = (mine_u["orders"] + row["orders"])[:LISTED]
            else:
                mine_u.pop("orders", None)
        out.change_refused += p["change_refused"]
        out.change_overtaken += p["change_overtaken"]
        out.matched_late += p["matched_late"]
        out.orders.extend(p["orders"])
        out.phases.extend(p["phases"])
    return out


def bump(series: list[int], second: float, n: int = 1) -> None:
    """Add ``n`` to ``series[int(second)]``, growing it as needed."""
    i = max(0, int(second))
    if i >= len(series):
        series.extend([0] * (i + 1 - len(series)))
    series[i] += n


def _merge(counts: dict[str, dict[int, int]]) -> dict[int, int]:
    total: dict[int, int] = {}
    for per_op in counts.values():
        for status, n in per_op.items():
            total[status] = total.get(status, 0) + n
    return total


def _keyed(counts: dict[int, int]) -> dict[str, int]:
    return {str(s): counts[s] for s in sorted(counts)}


def merge_phases(parts: Sequence[dict[str, Any]]) -> list[dict[str, Any]]:
    """The open-burst phases of every generator, merged by name: counts added, the first due
    the earliest, the last ack / fill the latest, stage histograms merged; and how long the
    phase's orders took to reach the exchange (first due to last ack)."""
    by_name: dict[str, dict[str, Any]] = {}
    blobs: dict[str, dict[str, list[bytes]]] = {}
    for p in parts:
        name = p["phase"]
        row = by_name.setdefault(name, {"phase": name})
        for key, value in p.items():
            if key in ("phase", "stages"):
                continue
            old = row.get(key)
            if value is None or old is None:
                row[key] = value if old is None else old
            elif key.startswith("first_"):
                row[key] = min(old, value)
            elif key.startswith("last_"):
                row[key] = max(old, value)
            else:
                row[key] = old + value
        for stage, blob in p["stages"].items():
            blobs.setdefault(name, {}).setdefault(stage, []).append(blob)
    out = []
    for name, row in by_name.items():
        if row.get("last_ack_s") is not None:
            row["reached_exchange_s"] = round(row["last_ack_s"] - row["first_due_s"], 3)
        row["stages"] = {s: summary(merged(b)) for s, b in blobs.get(name, {}).items()}
        out.append(row)
    return out


def _error_counts(data: RunData) -> dict[str, int]:
    out = dict(sorted(data.error_codes.items()))
    if data.connection_errors:
        out["connection"] = data.connection_errors
    if data.timeouts:
        out["timeout"] = data.timeouts
    return out


def _stage_p99s(per: dict[str, HdrHistogram] | None) -> dict[str, float | None]:
    per = per or {}
    return {s: (p99_ms(per[s]) if s in per else None) for s in STAGES}


def build_report(
    data: RunData, setup: dict[str, Any], planned: int, duration: float
) -> dict[str, Any]:
    """The report as a JSON-ready dict. ``setup`` (url, profile, rate, ...) is copied in."""
    statuses = _merge(data.statuses)
    accepted = statuses.get(202, 0)
    ok = sum(n for s, n in statuses.items() if 200 <= s < 300)
    late = summary(data.lateness)
    p99_late = late["p99"]
    kept_up = p99_late is not None and float(p99_late) <= KEPT_UP_P99_MS
    seconds = max(
        len(data.due_per_s),
        len(data.sent_per_s),
        len(data.answered_per_s),
        len(data.ok_per_s),
        max(data.stage_seconds, default=-1) + 1,
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
            "latency_from_due_ms": summary(data.from_due[op]),
            "latency_from_write_ms": summary(data.from_write[op]),
        }
    empty = new_histogram()
    return {
        **setup,
        "target_rate": setup.get("rate"),
        "achieved_rate": round(ok / duration, 1),
        "duration_s": duration,
        "planned": planned,
        "offered_per_s": round(planned / duration, 1),
        "sent": data.sent,
        "answered": data.answered,
        "statuses": _keyed(statuses),
        "accepted": accepted,
        "accepted_per_s": round(accepted / duration, 1),
        "orders_accepted": data.statuses["submit"].get(202, 0),
        "errors": _error_counts(data),
        "stages": {s: summary(data.stages.get(s, empty)) for s in STAGES},
        "unanswered": data.unanswered,
        "changes_refused_by_venue": data.change_refused,
        "changes_overtaken_by_fill": data.change_overtaken,
        "stream_before_202": data.matched_late,
        "operations": ops,
        "timeline": [
            {
                "second": i,
                "due": at(data.due_per_s, i),
                "sent": at(data.sent_per_s, i),
                "answered": at(data.answered_per_s, i),
                "ok": at(data.ok_per_s, i),
                "p99_ms": _stage_p99s(data.stage_seconds.get(i)),
            }
            for i in range(seconds)
        ],
        "phases": merge_phases(data.phases),
        "generator": {
            "processes": data.processes,
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
            p99 = row["latency_from_due_ms"]["p99"]
            if p99 is not None and p99 > p99_ms:
                out.append(f"{op} p99 {p99} ms > {p99_ms} ms")
    if fail_on_errors:
        errors = report["errors"]
        five = sum(n for s, n in report["statuses"].items() if int(s) >= 500)
        conn, timeouts = errors.get("connection", 0), errors.get("timeout", 0)
        if conn or timeouts or five:
            out.append(f"errors: {conn} connection, {timeouts} timeouts, {five} 5xx")
    return out


def _ms(v: Any) -> str:
    return "-" if v is None else f"{v:.2f}"


def _latency_cells(row: dict[str, Any], names: Sequence[str]) -> str:
    return " ".join(f"{_ms(row[n]):>8}" for n in names)


def format_table(report: dict[str, Any]) -> str:
    """The report for a terminal."""
    r = report
    errors = ", ".join(f"{c}: {n}" for c, n in r["errors"].items()) or "none"
    lines = [
        f"ordergate loadtest: {r['profile']} at {r['rate']:g}/s for {r['duration_s']:g} s -> "
        f"{r['url']} ({r['connections']} connections x {r['generator']['processes']} "
        f"process(es), {r['accounts']} accounts {r['account_range']}, seed {r['seed']}, run "
        f"{r['run_id']}; token: {r['token']})",
        f"offered {r['offered_per_s']}/s  planned {r['planned']}  sent {r['sent']}  "
        f"answered {r['answered']}  accepted (202) {r['accepted']} = {r['accepted_per_s']}/s  "
        f"achieved (2xx) {r['achieved_rate']}/s",
        "answers by status: "
        + (", ".join(f"{s}: {n}" for s, n in r["statuses"].items()) or "none"),
        f"errors: {errors}",
        "",
        f"{'stage (ms from due)':<20} {'count':>7} {'p50':>8} {'p90':>8} {'p99':>8} "
        f"{'p99.9':>8} {'max':>8}",
    ]
    names = ("p50", "p90", "p99", "p999", "max")
    for stage, row in r["stages"].items():
        lines.append(f"{stage:<20} {row['count']:>7} {_latency_cells(row, names)}")
    un = r.get("unanswered") or {}
    if un:
        parts = [f"{s} {row['count']}" for s, row in un.items()]
        lines.append("never seen before the drain timeout: " + ", ".join(parts))
        for stage in ("ack", "done"):
            row = un.get(stage) or {}
            if row.get("count"):
                lines.append(f"  no {stage}: " + " ".join(row["orders"][:10]) + " ...")
    lines += [
        "",
        f"{'operation':<9} {'answered':>8}  {'statuses':<22}"
        f"{'from due ms: p50':>17} {'p90':>8} {'p99':>8} {'p99.9':>8} {'max':>8}"
        f"{'from write: p50':>17} {'p99':>8} {'max':>8}",
    ]
    for op, row in r["operations"].items():
        due, wr = row["latency_from_due_ms"], row["latency_from_write_ms"]
        st = " ".join(f"{s}:{n}" for s, n in row["statuses"].items())
        if row["skipped_no_order_id"]:
            st += f" skipped:{row['skipped_no_order_id']}"
        lines.append(
            f"{op:<9} {row['answered']:>8}  {st:<22}{_ms(due['p50']):>17} "
            f"{_latency_cells(due, names[1:])}{_ms(wr['p50']):>17} "
            f"{_latency_cells(wr, ('p99', 'max'))}"
        )
    lines += ["", "per second:  due   sent  answered   2xx   p99 ms: accept      ack     fill"]
    for s in r["timeline"]:
        p = s["p99_ms"]
        lines.append(
            f"{s['second']:>10}  {s['due']:>5} {s['sent']:>6} {s['answered']:>9} {s['ok']:>5}"
            f"{_ms(p['accept']):>17} {_ms(p['ack']):>8} {_ms(p['fill']):>8}"
        )
    for phase in r.get("phases", []):
        facts = ", ".join(f"{k} {v}" for k, v in phase.items() if k not in ("phase", "stages"))
        ack = phase["stages"].get("ack", {})
        lines.append(
            f"phase {phase['phase']}: {facts}; ack p50 {_ms(ack.get('p50'))} ms, "
            f"p99 {_ms(ack.get('p99'))} ms"
        )
    g = r["generator"]
    late = g["send_lateness_ms"]
    verdict = (
        "yes"
        if g["kept_up"]
        else "NO: requests left late, so the from-due latencies include the generator's own "
        "delay; read the from-write figures, or lower the rate / add --processes"
    )
    lines += [
        "",
        f"generator: send lateness p50 {_ms(late['p50'])} ms, p99 {_ms(late['p99'])} ms, "
        f"max {_ms(late['max'])} ms; CPU {g['cpu_seconds']} s "
        f"({_pct(g['cpu_share'])} of the run); kept up ({g['kept_up_rule']}): {verdict}",
    ]
    lines += [f"note: {n}" for n in r.get("notes", [])]
    return "\n".join(lines)


def _pct(share: float | None) -> str:
    return "-" if share is None else f"{share * 100:.0f}%"
