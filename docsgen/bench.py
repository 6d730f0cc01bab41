"""The latest benchmark figures, rendered from ``bench/results/*.json`` (what ``make bench``
writes), so the documentation shows the committed run and nothing pasted by hand.

One renderer per result file; a file that is missing or lacks a figure raises (``OSError``,
``KeyError``), which fails the documentation build rather than showing a stale table.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

from docsgen.markdown import code, table


def num(value: float | int) -> str:
    """Figures as a reader scans them: thousands separated, decimals only below 100."""
    if isinstance(value, int) or abs(value) >= 100:
        return f"{round(value):,}"
    if abs(value) >= 10:
        return f"{value:.1f}"
    return f"{value:.2f}"


def pct(share: float) -> str:
    return f"{share * 100:.0f} %"


def met(value: float, target: float) -> str:
    return "yes" if value >= target else "no"


def run_line(data: dict[str, Any]) -> str:
    """What the run was measured on, from whichever of the fields the result carries."""
    raw = data.get("machine")
    machine: dict[str, Any] = raw if isinstance(raw, dict) else {}
    python = data.get("python") or machine.get("python")
    cpus = data.get("cpus") or machine.get("cpus")
    load = data.get("loadavg_1m", machine.get("loadavg_1m", machine.get("loadavg_1m_at_end")))
    if load is None:
        load = machine.get("load_average_1m_at_end")
    parts = []
    if data.get("at"):
        parts.append(f"measured {data['at']}")
    if python:
        parts.append(f"Python {python}")
    if cpus:
        parts.append(f"{cpus} CPUs")
    if load is not None:
        parts.append(f"load average {load:.2f}")
    return "Run: " + ", ".join(parts) + "." if parts else ""


def fix_parse(d: dict[str, Any]) -> str:
    r, t = d["rates_msgs_per_s"], d["targets"]
    rows = [
        (
            "parse ExecutionReports, ours (framing + parse)",
            num(r["parse_ours_stream"]),
            num(t["parse"]),
            met(r["parse_ours_stream"], t["parse"]),
        ),
        ("parse, ours, framed input", num(r["parse_ours_framed"]), "", ""),
        ("parse, simplefix's parser", num(r["parse_simplefix_stream"]), "", ""),
        (
            "encode NewOrderSingle, our template",
            num(r["encode_template_nos"]),
            num(t["encode"]),
            met(r["encode_template_nos"], t["encode"]),
        ),
        ("encode NewOrderSingle, simplefix", num(r["encode_simplefix_nos"]), "", ""),
        (
            "validate ExecutionReport against the dictionary",
            num(r["validate_dictionary_er"]),
            "",
            "",
        ),
        ("validate, shape already seen", num(r["validate_dictionary_er_shape"]), "", ""),
    ]
    return table(("what", "messages/s", "target", "met"), rows)


def fix_session(d: dict[str, Any]) -> str:
    targets = {"memory": d["targets"]["memory_rt_per_s"], "redis": d["targets"]["redis_rt_per_s"]}
    rows = []
    for r in d["rows"]:
        ours = r["scenario"] == "ours -> ours"
        target = targets.get(r["store"]) if ours else None
        rows.append(
            (
                r["scenario"].replace("->", "→"),
                r["store"],
                num(r["orders_per_s"]),
                num(r["rt_per_cpu_s_busiest_side"]),
                num(r["rt_per_cpu_s_both_sides"]),
                num(r["p50_us"]),
                num(r["p99_us"]),
                num(r["ping_p50_us"]),
                num(r["ping_p99_us"]),
                f"{num(target)}: {met(r['orders_per_s'], target)}" if target else "",
            )
        )
    head = (
        f"{d['orders']:,} orders, window {d['window']}, dictionary validation "
        f"{'on' if d['dictionary_validation'] else 'off'}."
    )
    return (
        head
        + "\n\n"
        + table(
            (
                "initiator → acceptor",
                "store",
                "round trips/s",
                "per CPU s, busier side",
                "per CPU s, both sides",
                "p50 µs",
                "p99 µs",
                "one at a time p50 µs",
                "p99 µs",
                "target (wall)",
            ),
            rows,
        )
    )


def matching(d: dict[str, Any]) -> str:
    cpu, wall = d["rates_orders_per_cpu_s"], d["rates_orders_per_wall_s"]
    rows = [
        (
            code(name),
            num(cpu[name]),
            num(wall[name]) if name in wall else "",
            f"{d['trades'].get(name, 0):,}",
            f"{d['events'].get(name, 0):,}",
            met(cpu[name], d["target"]),
        )
        for name in cpu
    ]
    return f"{d['orders']:,} orders per scenario, target {num(d['target'])} orders/s.\n\n" + table(
        ("scenario", "orders per CPU s", "orders/s wall", "trades", "events", "met"), rows
    )


def simulator_fix(d: dict[str, Any]) -> str:
    rows = [
        (str(i), num(r["orders_per_s"]), num(r["orders_per_cpu_s"]), str(r["session_rejects"]))
        for i, r in enumerate(d["runs"], 1)
    ]
    return (
        f"{d['orders']:,} orders, window {d['window']}, dictionary "
        f"{'on' if d['dictionary'] else 'off'}; best {num(d['best_orders_per_s'])}/s "
        f"against a target of {num(d['target_orders_per_s'])}/s: "
        f"{met(d['best_orders_per_s'], d['target_orders_per_s'])}.\n\n"
        + table(("run", "orders/s", "per simulator CPU s", "session Rejects"), rows)
    )


def gateway_core(d: dict[str, Any]) -> str:
    v, s, a = d["validate"], d["submit"], d["apply"]
    rows = [
        (
            "validation (parse, rules, fingerprint, encode; no I/O)",
            num(v["per_second"]),
            "",
            f"{num(v['us_per_order'])} µs client CPU per order",
        ),
        (
            f"submit script, {s['concurrency']} in flight",
            num(s["per_second"]),
            f"{num(s['p50_ms'])} / {num(s['p99_ms'])} / {num(s['p999_ms'])}",
            f"Redis {num(s['redis_us_per_submit'])} µs per submit",
        ),
        (
            f"apply execution reports, batches of {a['batch']}",
            num(a["per_second"]),
            "",
            f"Redis {num(a['redis_us_per_report'])} µs per report",
        ),
    ]
    return table(("what", "per second", "p50 / p99 / p99.9 ms", "cost"), rows)


def api(d: dict[str, Any]) -> str:
    rows = [
        (
            num(r["offered_per_s"]),
            num(r["accepted_per_s"]),
            num(r["p50_ms"]),
            num(r["p99_ms"]),
            num(r["p999_ms"]),
            num(r["sent_p99_ms"]),
            num(r["api_cpu_us_per_order"]),
            num(r["redis_cpu_us_per_order"]),
            num(r["mean_batch"]),
            pct(r["cpu0_idle_share"]),
        )
        for r in d["rates"]
    ]
    setup = "; ".join(f"{k}: {v}" for k, v in d["setup"].items())
    return (
        f"Setup: {setup}. In-process cost without HTTP: {num(d['core_cpu_us_per_order'])} µs "
        f"per order ({d['core_note']}). Targets: ≥ 8,000 accepted orders/s per process, "
        "p99 ≤ 5 ms at 4,000/s.\n\n"
        + table(
            (
                "offered/s",
                "accepted/s",
                "p50 ms",
                "p99 ms",
                "p99.9 ms",
                "p99 ms from write",
                "API µs CPU/order",
                "Redis µs/order",
                "batch",
                "CPU 0 idle",
            ),
            rows,
        )
    )


def connector(d: dict[str, Any]) -> str:
    rows = []
    for i, r in enumerate(d["runs"], 1):
        for label, key in (("stream → wire", "stream_to_wire"), ("wire → Redis", "wire_to_redis")):
            x = r[key]
            rows.append(
                (
                    str(i),
                    label,
                    num(x["per_s"]),
                    num(x["per_cpu_s"]),
                    num(x["connector_cpu_us_per_msg"]),
                    num(x["redis_cpu_us_per_msg"]),
                    pct(x["idle_share"]["cpu0"]),
                    pct(x["idle_share"]["cpu1"]),
                )
            )
    return (
        f"{d['orders']:,} orders per run; target ≥ 20,000/s each way. Session store: "
        f"{num(d['store_write_msgs_per_s'])} messages/s written in batches, "
        f"{num(d['store_read_msgs_per_s'])}/s read on the resend path.\n\n"
        + table(
            (
                "run",
                "direction",
                "orders/s",
                "per connector CPU s",
                "connector µs/msg",
                "Redis µs/msg",
                "CPU 0 idle",
                "CPU 1 idle",
            ),
            rows,
        )
    )


def _per_process(cpu: dict[str, float]) -> str:
    return ", ".join(f"{name} {num(v)}" for name, v in cpu.items())


def e2e(d: dict[str, Any]) -> str:
    rows = []
    for s in d["steps"]:
        rows.append(
            (
                num(s["offered_per_s"]),
                num(s["accepted_per_s"]),
                "yes" if s["sustained"] else "no",
                *(
                    _ms(s[stage][q])
                    for stage in ("accept_ms", "ack_ms", "fill_ms")
                    for q in ("p50", "p99")
                ),
                num(s["cpu_us_per_order_total"]),
                _per_process(s["cpu_us_per_order"]),
                num(s["redis_commands_per_order"]),
                num(s["redis_lua_calls_per_order"]),
            )
        )
    setup = d["setup"]
    return (
        f"{setup['api_workers']} API worker(s), {setup['seconds_per_step']:g} s per step, "
        f"{setup['accounts']} accounts; Redis {setup['redis']}; profile {setup['profile']}. "
        f"Highest sustained rate: **{num(d['max_sustained_per_s'])} orders/s**. Latencies in ms "
        "from when the order was due; CPU in µs per order.\n\n"
        + table(
            (
                "offered/s",
                "accepted/s",
                "sustained",
                "accept p50",
                "accept p99",
                "ack p50",
                "ack p99",
                "fill p50",
                "fill p99",
                "CPU µs/order",
                "per process",
                "Redis commands/order",
                "Lua calls/order",
            ),
            rows,
        )
    )


def _ms(v: float | None) -> str:
    return "-" if v is None else num(v)


def drain(d: dict[str, Any]) -> str:
    rows = []
    for i, r in enumerate(d["runs"], 1):
        for side in ("ordergate", "quickfix"):
            x = r[side]
            rows.append(
                (
                    str(i),
                    side,
                    num(x["orders_per_s"]),
                    num(x["cpu_us_per_order_total"]),
                    _per_process(x["cpu_us_per_order"]),
                    num(r["ratio"]) if side == "quickfix" else "",
                )
            )
    s = d["summary"]
    return (
        f"{d['orders']:,} orders queued while the line was down, then drained into a venue that "
        f"answers each with an ack and a fill. Median: ordergate "
        f"**{num(s['ordergate']['orders_per_s'])}/s**, QuickFIX "
        f"**{num(s['quickfix']['orders_per_s'])}/s**, ratio **{num(s['ratio'])}** "
        f"(target ≥ {num(s['target_ratio'])}: {'met' if s['met'] else 'not met'}).\n\n"
        + table(
            ("run", "side", "orders/s", "CPU µs/order", "per process", "ratio"),
            rows,
        )
    )


# (result file, section title, renderer), in the order of the page
SECTIONS: list[tuple[str, str, Callable[[dict[str, Any]], str]]] = [
    ("fix_parse.json", "FIX parsing and encoding (`bench.fix_parse`)", fix_parse),
    ("fix_session.json", "FIX session round trips (`bench.fix_session`)", fix_session),
    (
        "fix_session_no_dictionary.json",
        "FIX session round trips, no dictionary validation (`bench.fix_session --no-dictionary`)",
        fix_session,
    ),
    ("matching.json", "Matching engine alone (`bench.matching`)", matching),
    ("simulator_fix.json", "Exchange simulator through FIX (`bench.simulator_fix`)", simulator_fix),
    (
        "simulator_fix_no_dictionary.json",
        "Exchange simulator through FIX, no dictionary validation",
        simulator_fix,
    ),
    ("gateway_core.json", "Gateway core (`bench.gateway_core`)", gateway_core),
    ("api.json", "Order API, one process (`bench.api`)", api),
    ("connector.json", "FIX connector (`bench.connector`)", connector),
    ("e2e.json", "The whole journey (`bench.e2e`)", e2e),
    ("drain.json", "Connector drain beside QuickFIX (`bench.drain`)", drain),
]


def render_benchmarks(results: Path) -> str:
    out = []
    for name, title, render in SECTIONS:
        data = json.loads((results / name).read_text())
        line = run_line(data)
        body = render(data)
        out.append(
            "\n\n".join(x for x in (f"## {title}", line, body) if x)
            + f"\n\nFrom `bench/results/{name}`."
        )
    return "\n\n".join(out) + "\n"
