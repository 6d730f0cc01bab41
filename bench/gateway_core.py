"""Gateway core throughput: ``OrderGateway.submit`` (validation + the full submit script) and
``ReportApplier.apply_many`` (the apply-report script, batched), against a private
redis-server, without HTTP.

- ``validate``: the pure Python part of a submit (parse, validate, fingerprint, encode), no I/O;
- ``submit``: closed loop, ``--concurrency`` tasks on one uvloop, distinct orders over 1,000
  accounts; accepted orders/s and per-call latency;
- ``apply``: an ack then a full fill for each submitted order, ``--batch`` reports per pipelined
  round trip; reports/s.

The bench process is pinned to CPU 0 and redis-server to CPU 1 when the machine has two.

    .venv/bin/python -m bench.gateway_core [--orders 20000] [--concurrency 64] [--batch 200]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import platform
import shutil
import socket
import subprocess
import tempfile
import time
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import redis.asyncio as aioredis
import uvloop

from gateway.codec import NewOrderCommand, encode_command
from gateway.config import GatewayConfig
from gateway.orders import OrderGateway
from gateway.refdata import ReferenceData
from gateway.reports import ExecReport, ReportApplier
from gateway.routing import RoutingTable
from gateway.states import OrderEvent
from gateway.validation import parse_new_order, validate_new_order
from operations.stack.redis_server import find_redis_server

RESULTS = Path(__file__).parent / "results"
AT = datetime(2026, 11, 27, 1, 0, tzinfo=UTC)  # Friday 10:00 Tokyo, continuous session


def _body(i: int) -> dict[str, Any]:
    return {
        "account": f"ACC{i % 1000}",
        "client_order_id": f"b-{i}",
        "symbol": "7203",
        "side": "buy" if i % 2 else "sell",
        "type": "limit",
        "quantity": 100 * (1 + i % 5),
        "price": str(Decimal("2850") + Decimal("0.5") * (i % 21 - 10)),
        "time_in_force": "day",
    }


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _start_redis() -> tuple[subprocess.Popen[bytes], int, str]:
    port, d = _free_port(), tempfile.mkdtemp(prefix="og-bench-")
    cmd = [
        find_redis_server().path,
        "--port",
        str(port),
        "--bind",
        "127.0.0.1",
        "--save",
        "",
        "--appendonly",
        "no",
        "--dir",
        d,
        "--logfile",
        os.path.join(d, "redis.log"),
    ]
    if (os.cpu_count() or 1) >= 2 and shutil.which("taskset"):
        cmd = ["taskset", "-c", "1"] + cmd
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        try:
            socket.create_connection(("127.0.0.1", port), 0.2).close()
            return proc, port, d
        except OSError:
            time.sleep(0.02)
    proc.kill()
    raise RuntimeError("redis-server did not start")


def _pct(xs: list[float], q: float) -> float:
    xs = sorted(xs)
    return xs[min(len(xs) - 1, int(q * len(xs)))] * 1000


async def _evalsha_us(client: Any) -> float:
    """Redis CPU per script call (INFO commandstats), since the last CONFIG RESETSTAT."""
    stats = await client.info("commandstats")
    return float(stats.get("cmdstat_evalsha", {}).get("usec_per_call", 0.0))


async def _evalsha_total_us(client: Any) -> float:
    """Redis CPU of all script calls (INFO commandstats), since the last CONFIG RESETSTAT."""
    stats = await client.info("commandstats")
    return float(stats.get("cmdstat_evalsha", {}).get("usec", 0.0))


def bench_validate(n: int) -> dict[str, Any]:
    ref, routing = ReferenceData.load(), RoutingTable.load()
    bodies = [_body(i) for i in range(n)]
    t0 = time.perf_counter()
    for b in bodies:
        r = parse_new_order(b)
        v = validate_new_order(r, ref, AT, routing)
        r.fingerprint()
        encode_command(
            NewOrderCommand(
                "X" * 20,
                r.account,
                r.client_order_id,
                r.symbol,
                r.side.value,
                r.type.value,
                r.quantity,
                b["price"],
                "day",
                v.venue,
                "t",
            )
        )
    dt = time.perf_counter() - t0
    return {"orders": n, "per_second": round(n / dt), "us_per_order": round(dt / n * 1e6, 1)}


async def bench_submit_apply(url: str, n: int, concurrency: int, batch: int) -> dict[str, Any]:
    client = aioredis.Redis.from_url(url, max_connections=concurrency + 4)
    await client.flushall()
    gw = OrderGateway(client, GatewayConfig(), ReferenceData.load(), lambda: AT)
    await gw.load_scripts()
    requests = [parse_new_order(_body(i)) for i in range(n)]
    latencies: list[float] = []
    ids: list[tuple[str, int, str]] = []
    it = iter(requests)

    async def worker() -> None:
        for r in it:
            t = time.perf_counter()
            out = await gw.submit(r, process="bench")
            latencies.append(time.perf_counter() - t)
            ids.append((out.order.order_id, out.order.quantity, out.order.account))

    await client.config_resetstat()
    t0 = time.perf_counter()
    await asyncio.gather(*(worker() for _ in range(concurrency)))
    dt = time.perf_counter() - t0
    submit = {
        "orders": n,
        "concurrency": concurrency,
        "per_second": round(n / dt),
        "p50_ms": round(_pct(latencies, 0.5), 2),
        "p99_ms": round(_pct(latencies, 0.99), 2),
        "p999_ms": round(_pct(latencies, 0.999), 2),
        "redis_us_per_submit": await _evalsha_us(client),
    }

    applier = ReportApplier(client, 16, process="bench")
    # the connector knows each order's account from the command it sent: no lookup round trip
    reports = [ExecReport(o, OrderEvent.accepted, f"a-{o}", account=a) for o, _, a in ids]
    reports += [
        ExecReport(o, OrderEvent.fill, f"f-{o}", q, Decimal("2850"), account=a) for o, q, a in ids
    ]
    await client.config_resetstat()
    t0 = time.perf_counter()
    outcomes: dict[str, int] = {}
    for i in range(0, len(reports), batch):
        for res in await applier.apply_many(reports[i : i + batch]):
            outcomes[res.outcome] = outcomes.get(res.outcome, 0) + 1
    dt = time.perf_counter() - t0
    apply = {
        "reports": len(reports),
        "batch": batch,
        "per_second": round(len(reports) / dt),
        # one script call applies a partition's share of a batch: per report, not per call
        "redis_us_per_report": round(await _evalsha_total_us(client) / len(reports), 2),
        "redis_us_per_call": await _evalsha_us(client),
        "outcomes": outcomes,
    }
    await client.aclose()
    return {"submit": submit, "apply": apply}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--orders", type=int, default=20_000)
    ap.add_argument("--concurrency", type=int, default=64)
    ap.add_argument("--batch", type=int, default=200)
    args = ap.parse_args()
    if (os.cpu_count() or 1) >= 2 and hasattr(os, "sched_setaffinity"):
        os.sched_setaffinity(0, {0})
    validate = bench_validate(args.orders)
    proc, port, d = _start_redis()
    try:
        io = uvloop.run(
            bench_submit_apply(
                f"redis://127.0.0.1:{port}/0", args.orders, args.concurrency, args.batch
            )
        )
    finally:
        proc.terminate()
        proc.wait(10)
        shutil.rmtree(d, ignore_errors=True)
    result = {
        "benchmark": "gateway_core",
        "machine": {
            "python": platform.python_version(),
            "cpus": os.cpu_count(),
            "loadavg_1m": round(os.getloadavg()[0], 2),
        },
        "validate": validate,
        **io,
    }
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / "gateway_core.json").write_text(json.dumps(result, indent=2) + "\n")
    s, a = io["submit"], io["apply"]
    print(f"{'what':<34}{'per second':>12}{'p50 ms':>9}{'p99 ms':>9}{'p99.9 ms':>10}")
    print(f"{'validate (pure Python, no I/O)':<34}{validate['per_second']:>12,}")
    print(
        f"{'submit (script, c=' + str(s['concurrency']) + ')':<34}{s['per_second']:>12,}{s['p50_ms']:>9}{s['p99_ms']:>9}{s['p999_ms']:>10}"
    )
    print(f"{'apply reports (batch ' + str(a['batch']) + ')':<34}{a['per_second']:>12,}")
    print(
        f"Redis CPU per submit script {s['redis_us_per_submit']} us, per report "
        f"{a['redis_us_per_report']} us; load average (1 min) at the end: "
        f"{result['machine']['loadavg_1m']}; outcomes {a['outcomes']}"
    )


if __name__ == "__main__":
    main()
