"""The whole journey on one box: HTTP -> API -> Redis -> connector -> exchange -> connector ->
Redis, under stepped open-loop load, with every process on the same machine as a user runs them.

The stack is what ``ordergate up`` starts (a private Redis with AOF ``appendfsync always``, one
exchange simulator in the continuous phase, one connector, ``--api-workers`` API processes); the
load is ``ordergate loadtest --profile cross`` (buy/sell pairs at one price per symbol, so every
order is acknowledged and filled by the venue), in its own process. Per rate step:

* **accept**, **exchange ack** and **fill** latency, each from when the order was due, as the
  trading app sees them: the 202, then the order's first exchange answer and its first fill on
  the API's live update stream (SSE), from the load test's stages (HDR histograms);
* **CPU per order** of each process (Redis, API workers, connector, simulator; threads included,
  from ``/proc``), over the load and its drain (until no order of the run is open);
* **Redis commands and Lua calls per order** (``INFO commandstats`` deltas), and the commands
  that cost Redis the most;
* whether the step was **sustained** (≥ 99 % of the offered orders accepted, every one of them
  acknowledged and filled, and the exchange ack's p99 within 250 ms: a backlog that grows
  through the step shows there) and which process was busiest.

The steps stop after the first one that is not sustained. Nothing is pinned: the processes share
the cores as they would for a user, so the figures include their contention.

    .venv/bin/python -m bench.e2e [--rates 500,1000,2000,3000,4000] [--seconds 5]
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import re
import signal
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, cast

import redis

from gateway import keys

RESULTS = Path(__file__).parent / "results"
ROOT = Path(__file__).resolve().parents[1]
TICK = os.sysconf("SC_CLK_TCK")
SUSTAINED_ACK_P99_MS = 250.0  # beyond it, orders queue somewhere: the step is not sustained
DRAIN_LIMIT_S = 60.0


@dataclass
class Stack:
    """``ordergate up`` as a child process, and what its banner says."""

    proc: subprocess.Popen[bytes]
    out: Path
    api_url: str = ""
    redis_url: str = ""
    pids: dict[str, int] = field(default_factory=dict)

    @classmethod
    def start(cls, data_dir: Path, api_workers: int) -> Stack:
        out = data_dir / "up.out"
        argv = [sys.executable, "-m", "gateway.cli", "up", "--api-port", "0"]
        argv += ["--api-workers", str(api_workers), "--data-dir", str(data_dir / "stack")]
        with open(out, "wb") as f:
            proc = subprocess.Popen(argv, cwd=ROOT, stdout=f, stderr=subprocess.STDOUT)
        stack = cls(proc, out)
        stack._wait_banner()
        return stack

    def _wait_banner(self) -> None:
        deadline = time.monotonic() + 90
        while "\nTOKEN=" not in (text := self.out.read_text(errors="replace")):
            if self.proc.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"ordergate up did not become ready:\n{text}")
            time.sleep(0.1)
        self.api_url = _match(r"^API_URL=(\S+)$", text)
        self.redis_url = _match(r"^\s+redis\s+(\S+)", text)
        for name, pid in re.findall(
            r"^\s+(redis|simulator|connector|api-\d+)\s.*pid (\d+)$", text, re.M
        ):
            self.pids[name] = int(pid)

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(60)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(10)


def _match(pattern: str, text: str) -> str:
    m = re.search(pattern, text, re.M)
    if m is None:
        raise RuntimeError(f"ordergate up's banner has no line matching {pattern!r}:\n{text}")
    return m.group(1)


def cpu_seconds(pid: int) -> float:
    """User + system CPU of a process, all its threads (Redis's AOF fsync thread included)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / TICK


def commandstats(r: redis.Redis) -> dict[str, tuple[int, int]]:
    """``INFO commandstats``: command -> (calls, usec)."""
    info = cast(dict[str, Any], r.info("commandstats"))  # sync client: a dict
    return {k.removeprefix("cmdstat_"): (int(v["calls"]), int(v["usec"])) for k, v in info.items()}


def open_order_count(r: redis.Redis) -> int:
    pipe = r.pipeline(transaction=False)
    for p in range(keys.DEFAULT_PARTITIONS):
        pipe.zcard(keys.open_orders(p))
    return sum(pipe.execute())


def run_step(stack: Stack, rate: int, seconds: float, accounts: int, prefix: str) -> dict[str, Any]:
    """One step; ``prefix`` names its accounts and run id (new orders, never a replay)."""
    r = redis.Redis.from_url(stack.redis_url)
    cpu0 = {n: cpu_seconds(p) for n, p in stack.pids.items()}
    stats0 = commandstats(r)
    report_path = Path(tempfile.mkdtemp(prefix="og-e2e-")) / "load.json"
    argv = [sys.executable, "-m", "gateway.cli", "loadtest", "--url", stack.api_url]
    argv += ["--rate", str(rate), "--duration", str(seconds), "--profile", "cross"]
    argv += ["--accounts", str(accounts), "--account-prefix", prefix, "--run-id", prefix]
    argv += ["--json", str(report_path), "--quiet", "--drain-timeout", "30"]
    began = time.monotonic()
    load = subprocess.run(argv, cwd=ROOT, capture_output=True, text=True, timeout=seconds + 120)
    load_end = time.monotonic()
    if load.returncode not in (0, 3):
        raise RuntimeError(f"loadtest failed ({load.returncode}): {load.stderr.strip()}")
    report = json.loads(report_path.read_text())
    while (still_open := open_order_count(r)) and time.monotonic() - load_end < DRAIN_LIMIT_S:
        time.sleep(0.05)
    drained = time.monotonic()
    cpu = {n: cpu_seconds(p) - cpu0[n] for n, p in stack.pids.items()}
    stats1 = commandstats(r)
    wall = drained - began
    accepted = int(report["accepted"])
    per_order = max(accepted, 1)
    cmd_delta = {
        c: (calls - stats0.get(c, (0, 0))[0], usec - stats0.get(c, (0, 0))[1])
        for c, (calls, usec) in stats1.items()
    }
    cmd_delta = {c: v for c, v in cmd_delta.items() if v[0] > 0 and c not in ("info", "zcard")}
    lua = sum(v[0] for c, v in cmd_delta.items() if c.startswith(("evalsha", "eval", "fcall")))
    stages = report["stages"]
    unanswered = sum(int(row.get("count", 0)) for row in report["unanswered"].values())
    busiest = max(cpu, key=lambda n: cpu[n])
    ack_p99 = stages["ack"]["p99"]
    sustained = (
        accepted >= 0.99 * report["planned"]
        and still_open == 0
        and unanswered == 0
        and ack_p99 is not None
        and ack_p99 <= SUSTAINED_ACK_P99_MS
    )
    return {
        "offered_per_s": rate,
        "seconds": seconds,
        "planned": report["planned"],
        "accepted": accepted,
        "accepted_per_s": report["accepted_per_s"],
        "open_after_drain": still_open,
        "drain_s": round(drained - load_end, 2),
        "sustained": sustained,
        "unanswered": unanswered,
        "accept_ms": _stage(stages["accept"]),
        "ack_ms": _stage(stages["ack"]),
        "fill_ms": _stage(stages["fill"]),
        "cpu_us_per_order": {n: round(c / per_order * 1e6, 1) for n, c in sorted(cpu.items())},
        "cpu_us_per_order_total": round(sum(cpu.values()) / per_order * 1e6, 1),
        "cpu_share_of_one_core": {n: round(c / wall, 2) for n, c in sorted(cpu.items())},
        "busiest": busiest,
        "redis_commands_per_order": round(sum(v[0] for v in cmd_delta.values()) / per_order, 2),
        "redis_lua_calls_per_order": round(lua / per_order, 2),
        "redis_top_commands_us_per_order": {
            c: round(v[1] / per_order, 1)
            for c, v in sorted(cmd_delta.items(), key=lambda kv: -kv[1][1])[:6]
        },
        "generator_cpu_s": report["generator"]["cpu_seconds"],
    }


def _stage(row: dict[str, Any]) -> dict[str, Any]:
    return {k: row.get(k) for k in ("count", "p50", "p99", "p999", "max")}


def _table(steps: list[dict[str, Any]]) -> str:
    head = (
        f"{'offered/s':>9} {'accepted/s':>10} {'ok':>3} {'acc p50':>8} {'acc p99':>8} "
        f"{'ack p50':>8} {'ack p99':>8} {'fill p99':>9} {'drain s':>7} {'CPU us/order':>12}  "
        "per process (us/order)"
    )
    lines = [head]
    for s in steps:
        per = " ".join(f"{n} {v:g}" for n, v in s["cpu_us_per_order"].items())
        lines.append(
            f"{s['offered_per_s']:>9} {s['accepted_per_s']:>10} {'yes' if s['sustained'] else 'no':>3} "
            f"{_ms(s['accept_ms']['p50']):>8} {_ms(s['accept_ms']['p99']):>8} "
            f"{_ms(s['ack_ms']['p50']):>8} {_ms(s['ack_ms']['p99']):>8} {_ms(s['fill_ms']['p99']):>9} "
            f"{s['drain_s']:>7} {s['cpu_us_per_order_total']:>12}  {per}"
        )
    return "\n".join(lines)


def _ms(v: float | None) -> str:
    return "-" if v is None else f"{v:.1f}"


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m bench.e2e", description=__doc__.split("\n")[0])
    ap.add_argument("--rates", default="500,1000,2000,3000,4000", help="orders/s per step")
    ap.add_argument("--seconds", type=float, default=5.0, help="load per step (default 5)")
    ap.add_argument("--api-workers", type=int, default=1)
    ap.add_argument("--accounts", type=int, default=40, help="accounts per step (default 40)")
    ap.add_argument(
        "--warmup", type=float, default=2.0, help="seconds of unreported load first (default 2)"
    )
    ap.add_argument("--json", default=str(RESULTS / "e2e.json"))
    args = ap.parse_args(argv)
    rates = [int(x) for x in args.rates.split(",")]
    data_dir = Path(tempfile.mkdtemp(prefix="og-bench-e2e-"))
    stack = Stack.start(data_dir, args.api_workers)
    steps: list[dict[str, Any]] = []
    try:
        if args.warmup > 0:  # connections, scripts, caches: not the steady state
            run_step(stack, rates[0], args.warmup, args.accounts, "W")
        for i, rate in enumerate(rates):
            step = run_step(stack, rate, args.seconds, args.accounts, f"E{i}x")
            steps.append(step)
            print(_table([step]).splitlines()[-1], flush=True)
            if not step["sustained"]:
                break
    finally:
        stack.stop()
    result = {
        "benchmark": "e2e",
        "at": datetime.now(UTC).isoformat(timespec="seconds"),
        "machine": {
            "cpus": os.cpu_count(),
            "python": platform.python_version(),
            "load_average_1m_at_end": round(os.getloadavg()[0], 2),
        },
        "setup": {
            "warmup_s": args.warmup,
            "api_workers": args.api_workers,
            "seconds_per_step": args.seconds,
            "accounts": args.accounts,
            "redis": "private, AOF appendfsync always (ordergate up)",
            "profile": "cross (each order acknowledged and filled)",
        },
        "steps": steps,
        "max_sustained_per_s": max(
            (s["offered_per_s"] for s in steps if s["sustained"]), default=0
        ),
    }
    Path(args.json).write_text(json.dumps(result, indent=2) + "\n")
    print()
    print(_table(steps))
    print(f"\nmax sustained: {result['max_sustained_per_s']}/s; JSON: {args.json}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
