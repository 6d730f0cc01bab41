"""``report.html``: the run on one self-contained page (inline SVG drawn here, no script, no
CDN: it opens from a file on a machine with no network). Pure: the report dict in, text out.

Charts: the latency-percentile curve per stage (x: percentile on the usual HDR scale, where 90,
99, 99.9 and 99.99 are equally spaced), offered and achieved rate per second, p99 per stage per
second; then statuses, errors, SLOs, the open-burst phases and the run's parameters.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from html import escape
from typing import Any

COLORS = {"accept": "#1f77b4", "ack": "#ff7f0e", "fill": "#2ca02c", "done": "#9467bd"}
W, H = 660, 300
PAD_L, PAD_R, PAD_T, PAD_B = 64, 150, 16, 40

Series = tuple[str, str, Sequence[tuple[float, float]]]  # name, colour, (x, y) points


def _nice_max(v: float) -> float:
    if v <= 0:
        return 1.0
    mag = 10 ** math.floor(math.log10(v))
    for step in (1, 2, 2.5, 5, 10):
        if v <= step * mag:
            return step * mag
    return 10 * mag


def _fmt(v: float) -> str:
    return f"{v:g}" if abs(v) >= 1 or v == 0 else f"{v:.2g}"


def line_chart(
    chart: str,
    series: Sequence[Series],
    x_ticks: Sequence[tuple[float, str]],
    x_range: tuple[float, float],
    y_label: str,
    x_label: str,
    y_log: bool = False,
) -> str:
    """An SVG line chart; each line a ``<path>`` with ``data-series`` and ``data-points``.
    ``y_log``: a log scale (latencies: 1 ms next to 2 s), ticks at powers of ten."""
    x0, x1 = x_range
    ys = [y for _, _, pts in series for _, y in pts]
    pw, ph = W - PAD_L - PAD_R, H - PAD_T - PAD_B
    if y_log:
        positive = [y for y in ys if y > 0] or [1.0]
        lo = math.floor(math.log10(min(positive)))
        hi = max(lo + 1, math.ceil(math.log10(max(positive))))
        y_ticks = [10.0**e for e in range(lo, hi + 1)]

        def sy(y: float) -> float:
            e = math.log10(max(y, 10.0**lo))
            return PAD_T + ph - (e - lo) / (hi - lo) * ph

    else:
        ymax = _nice_max(max(ys, default=0.0))
        y_ticks = [ymax * i / 4 for i in range(5)]

        def sy(y: float) -> float:
            return PAD_T + ph - y / ymax * ph

    def sx(x: float) -> float:
        return PAD_L + (x - x0) / ((x1 - x0) or 1) * pw

    out = [
        f'<svg class="chart" data-chart="{escape(chart)}" xmlns="http://www.w3.org/2000/svg" '
        f'width="{W}" height="{H}" viewBox="0 0 {W} {H}" role="img">',
        f'<rect x="{PAD_L}" y="{PAD_T}" width="{pw}" height="{ph}" fill="#fff" stroke="#999"/>',
    ]
    for y in y_ticks:
        out.append(
            f'<line x1="{PAD_L}" x2="{PAD_L + pw}" y1="{sy(y):.1f}" y2="{sy(y):.1f}" '
            f'stroke="#eee"/><text x="{PAD_L - 6}" y="{sy(y) + 4:.1f}" text-anchor="end" '
            f'font-size="11">{_fmt(y)}</text>'
        )
    for x, label in x_ticks:
        out.append(
            f'<line x1="{sx(x):.1f}" x2="{sx(x):.1f}" y1="{PAD_T}" y2="{PAD_T + ph}" '
            f'stroke="#eee"/><text x="{sx(x):.1f}" y="{PAD_T + ph + 14}" text-anchor="middle" '
            f'font-size="11">{escape(label)}</text>'
        )
    out.append(
        f'<text x="{PAD_L + pw / 2}" y="{H - 6}" text-anchor="middle" font-size="12">'
        f'{escape(x_label)}</text><text x="14" y="{PAD_T + ph / 2}" font-size="12" '
        f'transform="rotate(-90 14 {PAD_T + ph / 2})" text-anchor="middle">{escape(y_label)}'
        "</text>"
    )
    for n, (name, color, pts) in enumerate(series):
        if pts:
            d = " ".join(
                f"{'M' if i == 0 else 'L'}{sx(x):.1f},{sy(y):.1f}" for i, (x, y) in enumerate(pts)
            )
            out.append(
                f'<path d="{d}" fill="none" stroke="{color}" stroke-width="2" '
                f'data-series="{escape(name)}" data-points="{len(pts)}"/>'
            )
        ly = PAD_T + 14 + 18 * n
        out.append(
            f'<line x1="{W - PAD_R + 10}" x2="{W - PAD_R + 30}" y1="{ly - 4}" y2="{ly - 4}" '
            f'stroke="{color}" stroke-width="3"/><text x="{W - PAD_R + 34}" y="{ly}" '
            f'font-size="12">{escape(name)} ({len(pts)})</text>'
        )
    out.append("</svg>")
    return "".join(out)


def _nines(p: float) -> float:
    """Percentile -> the HDR chart's x: log10(1 / (1 - p/100)), capped at 99.999."""
    return math.log10(1 / max(1e-5, 1 - p / 100))


def percentile_chart(curves: dict[str, list[list[float]]]) -> str:
    series = [
        (stage, COLORS.get(stage, "#333"), [(_nines(p), ms) for p, ms in pts])
        for stage, pts in curves.items()
        if pts
    ]
    top = max((x for _, _, pts in series for x, _ in pts), default=3.0)
    top = max(2.0, math.ceil(top))
    ticks = [(float(i), ("0" if i == 0 else f"{100 - 100 / 10**i:g}")) for i in range(int(top) + 1)]
    return line_chart(
        "percentiles", series, ticks, (0.0, top), "ms from due (log)", "percentile", y_log=True
    )


def _time_chart(
    chart: str,
    timeline: list[dict[str, Any]],
    lines: list[tuple[str, str, Callable[[dict[str, Any]], float | None]]],
    y: str,
    y_log: bool = False,
) -> str:
    series = []
    for name, color, get in lines:
        pts = [(float(row["second"]), v) for row in timeline if (v := get(row)) is not None]
        series.append((name, color, pts))
    n = max(1, len(timeline))
    step = max(1, math.ceil(n / 10))
    ticks = [(float(i), str(i)) for i in range(0, n + 1, step)]
    return line_chart(chart, series, ticks, (0.0, float(n)), y, "second of the run", y_log)


def rate_chart(timeline: list[dict[str, Any]]) -> str:
    return _time_chart(
        "rate",
        timeline,
        [
            ("offered", "#7f7f7f", lambda r: float(r["due"])),
            ("answered", "#1f77b4", lambda r: float(r["answered"])),
            ("2xx", "#2ca02c", lambda r: float(r["ok"])),
        ],
        "requests / s",
    )


def p99_chart(timeline: list[dict[str, Any]]) -> str:
    def getter(stage: str) -> Callable[[dict[str, Any]], float | None]:
        return lambda r: r["p99_ms"].get(stage)

    return _time_chart(
        "p99",
        timeline,
        [(s, c, getter(s)) for s, c in COLORS.items()],
        "p99 ms (log)",
        y_log=True,
    )


def _table(head: Sequence[str], rows: Sequence[Sequence[Any]]) -> str:
    th = "".join(f"<th>{escape(str(h))}</th>" for h in head)
    body = "".join(
        "<tr>" + "".join(f"<td>{escape('-' if v is None else str(v))}</td>" for v in row) + "</tr>"
        for row in rows
    )
    return f"<table><thead><tr>{th}</tr></thead><tbody>{body}</tbody></table>"


PARAMS = (
    "url",
    "api_environment",
    "profile",
    "rate",
    "duration_s",
    "backlog",
    "processes",
    "connections",
    "accounts",
    "account_range",
    "seed",
    "run_id",
    "token",
    "stream",
    "started_at",
    "drain_timeout_s",
)


def render(report: dict[str, Any]) -> str:
    r = report
    stages = r["stages"]
    stage_rows = [
        [s, v["count"], v["p50"], v["p90"], v["p99"], v["p999"], v["max"]]
        for s, v in stages.items()
    ]
    un = r.get("unanswered") or {}
    un_rows = [
        [s, v.get("count", 0), " ".join(v.get("orders", [])[:20]) or v.get("note", "")]
        for s, v in un.items()
    ]
    params = [[k, r[k]] for k in PARAMS if k in r]
    params += [
        ["generator CPU", f"{r['generator']['cpu_seconds']} s ({r['generator']['cpu_share']})"]
    ]
    slo = r.get("slo") or []
    phases = r.get("phases") or []
    verdict = ""
    if slo:
        bad = [x for x in slo if not x["met"]]
        verdict = (
            f'<p class="{"bad" if bad else "ok"}">SLO: '
            + (f"{len(bad)} missed: " + ", ".join(x["objective"] for x in bad) if bad else "met")
            + "</p>"
        )
    parts = [
        "<!doctype html><html><head><meta charset='utf-8'>",
        f"<title>ordergate loadtest {escape(str(r.get('run_id', '')))}</title>",
        "<style>body{font:14px system-ui,sans-serif;margin:24px;max-width:1100px;color:#222}"
        "table{border-collapse:collapse;margin:8px 0 16px}td,th{border:1px solid #ccc;"
        "padding:3px 8px;text-align:right}th{background:#f4f4f4}td:first-child{text-align:left}"
        ".charts{display:flex;flex-wrap:wrap;gap:12px}.bad{color:#b00;font-weight:bold}"
        ".ok{color:#070;font-weight:bold}figure{margin:0}figcaption{font-weight:bold}</style>",
        "</head><body>",
        f"<h1>Load test: {escape(str(r['profile']))} at {r['target_rate']:g}/s for "
        f"{r['duration_s']:g} s</h1>",
        f"<p>target {r['target_rate']:g}/s, achieved (2xx) {r['achieved_rate']}/s; sent "
        f"{r['sent']}, answered {r['answered']}, errors {sum(r['errors'].values())}; "
        f"generator kept up: {'yes' if r['generator']['kept_up'] else 'NO'}</p>",
        verdict,
        "<h2>Stages (ms from when the request was due)</h2>",
        _table(["stage", "count", "p50", "p90", "p99", "p99.9", "max"], stage_rows),
        '<div class="charts">',
        f"<figure><figcaption>Latency by percentile</figcaption>"
        f"{percentile_chart(r.get('stage_curves', {}))}</figure>",
        f"<figure><figcaption>Rate per second</figcaption>{rate_chart(r['timeline'])}</figure>",
        f"<figure><figcaption>p99 per second (of what was seen that second)</figcaption>{p99_chart(r['timeline'])}</figure>",
        "</div>",
        "<h2>Never seen before the drain timeout</h2>",
        _table(["stage", "count", "orders"], un_rows) if un_rows else "<p>stream off</p>",
        "<h2>Answers</h2>",
        _table(["status", "count"], list(r["statuses"].items())),
        _table(["error", "count"], list(r["errors"].items()))
        if r["errors"]
        else "<p>no errors</p>",
    ]
    if slo:
        parts += [
            "<h2>SLO</h2>",
            _table(
                ["objective", "limit", "measured", "met"],
                [[x["objective"], x["limit"], x["measured"], x["met"]] for x in slo],
            ),
        ]
    if phases:
        keys = [k for k in phases[0] if k != "stages"]
        parts += [
            "<h2>Market-open rehearsal</h2>",
            _table(keys, [[p.get(k) for k in keys] for p in phases]),
        ]
    parts += ["<h2>Parameters</h2>", _table(["parameter", "value"], params)]
    parts += [f"<p>note: {escape(n)}</p>" for n in r.get("notes", [])]
    parts.append("</body></html>")
    return "\n".join(parts)
