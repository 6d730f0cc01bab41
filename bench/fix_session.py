"""FIX session throughput: N NewOrderSingles, each answered by an ExecutionReport.

Scenarios (each acceptor in its own process, the initiator in this one; TCP on 127.0.0.1):

* ours -> ours: our initiator against our acceptor, memory store and Redis store on both sides;
* ours -> QuickFIX: our initiator against a QuickFIX acceptor (QuickFIX memory store);
* QuickFIX -> QuickFIX: QuickFIX's Python bindings on both sides, memory and file stores.

Orders are pipelined with at most ``--window`` unanswered; a round trip is from handing the order
to the session to receiving its ExecutionReport in the application. Our sessions validate every
inbound message against the data dictionary (the default), as QuickFIX does with FIX44.xml.
Redis: a private redis-server without AOF (durability costs are Redis's, not the session's).

    .venv/bin/python -m bench.fix_session [--orders 20000] [--window 200] [--only ours]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import platform
import subprocess
import sys
import tempfile
import time
from collections.abc import Coroutine
from pathlib import Path
from typing import Any, TypeVar

import simplefix

from fixengine import (
    Acceptor,
    Application,
    FixSession,
    Initiator,
    MemoryStore,
    SessionSettings,
    sending_time,
)
from fixengine.codec import EXECUTION_REPORT, NEW_ORDER_SINGLE
from operations.stack.redis_server import find_redis_server

T = TypeVar("T")

ROOT = Path(__file__).resolve().parents[1]
RESULTS = Path(__file__).parent / "results"
QF_PEER = ROOT / "tests" / "support" / "qfix_process.py"
QF_FIX44 = ROOT / ".venv" / "share" / "quickfix" / "FIX44.xml"
OURS, THEIRS = "OG", "TSE"


def _use_dictionary() -> bool:
    """Dictionary validation on (the default) unless ``--no-dictionary`` (env, for the acceptor)."""
    return os.environ.get("OG_BENCH_NO_DICTIONARY") != "1"


def _run(main: Coroutine[Any, Any, T]) -> T:
    """Run ``main`` on a fresh uvloop loop (the loop every ordergate process runs on)."""
    import uvloop

    return uvloop.run(main)


async def _store(kind: str, redis_url: str, settings: SessionSettings) -> Any:
    if kind == "memory":
        return MemoryStore()
    import redis.asyncio as aioredis

    from connector.redis_store import RedisStore

    return RedisStore(aioredis.Redis.from_url(redis_url), settings.session_id)


# --- our acceptor (a subprocess: ``python -m bench.fix_session --serve``) --------------------


class Answerer(Application):
    """Answers each NewOrderSingle with an ExecutionReport New from the precompiled template."""

    def __init__(self) -> None:
        self.n = 0

    def on_message(self, session: FixSession, msg: simplefix.FixMessage) -> None:
        if msg.message_type != b"D":
            return
        self.n += 1
        f = dict(msg.pairs)
        qty = f.get(b"38", b"0")
        body = EXECUTION_REPORT.body(
            b"O%d" % self.n,
            f.get(b"11", b"NONE"),
            b"E%d" % self.n,
            b"0",
            b"0",
            f.get(b"55", b"NONE"),
            f.get(b"54", b"1"),
            qty,
            f.get(b"44", b"0"),
            b"0",
            b"0",
            qty,
            b"0",
            b"0",
            sending_time(time.time()),
        )
        session.send_body(b"8", body)


async def serve(port: int, store_kind: str, redis_url: str) -> None:
    settings = SessionSettings(
        SenderCompID=THEIRS,
        TargetCompID=OURS,
        ConnectionType="acceptor",
        HeartBtInt=30,
        UseDataDictionary=_use_dictionary(),
    )
    store = await _store(store_kind, redis_url, settings)
    session = FixSession(settings, store=store, app=Answerer())
    acceptor = Acceptor([session], "127.0.0.1", port)
    await acceptor.start()
    print("ready", flush=True)
    loop = asyncio.get_running_loop()
    while True:  # "cpu" answers this process's CPU seconds; end of stdin stops
        line = await loop.run_in_executor(None, sys.stdin.readline)
        if not line:
            break
        print(f"cpu {time.process_time()}", flush=True)
    await acceptor.stop(logout=False)


# --- our initiator (this process) -------------------------------------------------------------


class Timer(Application):
    def __init__(self, window: int) -> None:
        self.sent: dict[bytes, float] = {}
        self.rtts: list[float] = []
        self.room = asyncio.Event()
        self.room.set()
        self.window = window

    def on_message(self, session: FixSession, msg: simplefix.FixMessage) -> None:
        if msg.message_type != b"8":
            return
        t0 = self.sent.pop(msg.get(11), None)
        if t0 is not None:
            self.rtts.append(time.perf_counter() - t0)
            if len(self.sent) < self.window:
                self.room.set()


async def drive(port: int, store_kind: str, redis_url: str, orders: int, window: int) -> dict:
    settings = SessionSettings(
        SenderCompID=OURS,
        TargetCompID=THEIRS,
        HeartBtInt=30,
        UseDataDictionary=_use_dictionary(),
        SocketConnectPort=port,
        ResetOnLogon=True,
    )
    store = await _store(store_kind, redis_url, settings)
    app = Timer(window)
    session = FixSession(settings, store=store, app=app)
    initiator = Initiator(session, "127.0.0.1", port)
    await initiator.start()
    await session.wait_logged_on(timeout=15)
    fixed = (b"ACC1", b"7203", b"XTKS", b"1")
    perf = time.perf_counter
    t_start = perf()
    cpu_start = time.process_time()
    for i in range(orders):
        if len(app.sent) >= window:
            app.room.clear()
            await app.room.wait()
        cl = b"B%d" % i
        app.sent[cl] = perf()
        session.send_body(
            b"D",
            NEW_ORDER_SINGLE.body(
                cl, *fixed, sending_time(time.time()), b"100", b"2", b"2500", b"0"
            ),
        )
        if i % 64 == 63:
            await asyncio.sleep(0)  # let the batch go out
    deadline = time.monotonic() + 120
    while app.sent and time.monotonic() < deadline:
        app.room.clear()
        try:
            await asyncio.wait_for(app.room.wait(), 1)
        except TimeoutError:
            pass
    elapsed = perf() - t_start
    cpu = time.process_time() - cpu_start
    await initiator.stop(logout=True, timeout=5)
    return summarize(app.rtts, elapsed, orders) | {"initiator_cpu_s": round(cpu, 3)}


def summarize(rtts: list[float], elapsed: float, orders: int) -> dict:
    r = sorted(rtts)
    return {
        "orders": orders,
        "answered": len(r),
        "seconds": round(elapsed, 3),
        "orders_per_s": round(len(r) / elapsed, 1) if elapsed else 0.0,
        "p50_us": round(r[len(r) // 2] * 1e6, 1) if r else None,
        "p99_us": round(r[min(len(r) - 1, int(len(r) * 0.99))] * 1e6, 1) if r else None,
    }


# --- processes --------------------------------------------------------------------------------


def free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def wait_port(port: int, timeout: float = 15) -> None:
    import socket

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.2):
                return
        except OSError:
            time.sleep(0.05)
    raise TimeoutError(f"nothing listening on {port}")


class RedisProc:
    def __init__(self) -> None:
        self.port = free_port()
        self.dir = tempfile.mkdtemp(prefix="og-bench-redis-")
        self.proc = subprocess.Popen(
            [
                find_redis_server().path,
                "--port",
                str(self.port),
                "--bind",
                "127.0.0.1",
                "--save",
                "",
            ]
            + ["--appendonly", "no", "--dir", self.dir],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        wait_port(self.port)
        self.url = f"redis://127.0.0.1:{self.port}/0"

    def flush(self) -> None:
        import redis

        redis.Redis.from_url(self.url).flushall()

    def stop(self) -> None:
        self.proc.terminate()
        self.proc.wait(10)


def our_acceptor(port: int, store: str, redis_url: str) -> subprocess.Popen[str]:
    cmd = [sys.executable, "-m", "bench.fix_session", "--serve", "--port", str(port)]
    cmd += ["--store", store, "--redis-url", redis_url]
    proc = subprocess.Popen(cmd, cwd=ROOT, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    assert proc.stdout is not None
    line = proc.stdout.readline()
    if line.strip() != "ready":
        proc.kill()
        raise RuntimeError(f"acceptor did not start: {line!r}")
    return proc


def acceptor_cpu(proc: subprocess.Popen[str]) -> float:
    assert proc.stdin is not None and proc.stdout is not None
    proc.stdin.write("cpu\n")
    proc.stdin.flush()
    return float(proc.stdout.readline().split()[1])


def stop_proc(proc: subprocess.Popen[str]) -> None:
    try:
        if proc.stdin:
            proc.stdin.close()
        proc.wait(10)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait(5)


class QuickFixProc:
    """``tests/support/qfix_process.py``: QuickFIX acceptor or initiator, quiet, answering orders."""

    def __init__(self, role: str, port: int, store: str, workdir: str) -> None:
        sender, target = (THEIRS, OURS) if role == "acceptor" else (OURS, THEIRS)
        cmd = [sys.executable, str(QF_PEER), "--role", role, "--port", str(port)]
        cmd += ["--sender", sender, "--target", target, "--dir", workdir]
        cmd += ["--dictionary", str(QF_FIX44), "--heartbeat", "30", "--store", store, "--quiet"]
        cmd += ["--answer", "--reset-on-logon"]
        self.proc = subprocess.Popen(
            cmd, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True, bufsize=1
        )
        self.wait("started")

    def wait(self, ev: str, timeout: float = 300) -> dict:
        assert self.proc.stdout is not None
        deadline = time.monotonic() + timeout
        for line in self.proc.stdout:
            e = json.loads(line)
            if e.get("ev") == ev:
                return e
            if time.monotonic() > deadline:
                break
        raise RuntimeError(f"QuickFIX: no {ev}")

    def command(self, **cmd: Any) -> dict:
        assert self.proc.stdin is not None
        self.proc.stdin.write(json.dumps(cmd) + "\n")
        self.proc.stdin.flush()
        return self.wait("answer")

    def stop(self) -> None:
        try:
            self.command(op="stop")
            self.proc.wait(10)
        except (OSError, RuntimeError, subprocess.TimeoutExpired):
            self.proc.kill()
            self.proc.wait(5)


def run_ours(
    target: str, store: str, redis: RedisProc | None, orders: int, window: int, pings: int
) -> dict:
    port = free_port()
    url = redis.url if redis else ""
    if redis:
        redis.flush()
    if target == "ours":
        peer: Any = our_acceptor(port, store, url)
    else:
        peer = QuickFixProc("acceptor", port, "memory", tempfile.mkdtemp(prefix="og-bench-qf-"))

    def peer_cpu() -> float:
        if target == "ours":
            return acceptor_cpu(peer)
        return float(peer.command(op="cpu")["cpu_s"])

    try:
        cpu0 = peer_cpu()
        r = _run(drive(port, store, url, orders, window))
        r["acceptor_cpu_s"] = round(peer_cpu() - cpu0, 3)
        with_cpu(r)
        if redis:
            redis.flush()
        ping = _run(drive(port, store, url, pings, 1))
        r.update(ping_p50_us=ping["p50_us"], ping_p99_us=ping["p99_us"])
        return r
    finally:
        stop_proc(peer) if target == "ours" else peer.stop()


def run_quickfix(store: str, orders: int, window: int, pings: int) -> dict:
    port = free_port()
    work = tempfile.mkdtemp(prefix="og-bench-qf-")
    acc = QuickFixProc("acceptor", port, store, os.path.join(work, "acc"))
    ini = QuickFixProc("initiator", port, store, os.path.join(work, "ini"))
    try:
        ini.wait("logon")
        cpu0 = float(acc.command(op="cpu")["cpu_s"])
        raw = ini.command(op="bench", count=orders, window=window)
        r = summarize_qf(raw, orders)
        r["acceptor_cpu_s"] = round(float(acc.command(op="cpu")["cpu_s"]) - cpu0, 3)
        r["initiator_cpu_s"] = round(float(raw["cpu_s"]), 3)
        with_cpu(r)
        ping = summarize_qf(ini.command(op="bench", count=pings, window=1), pings)
        r.update(ping_p50_us=ping["p50_us"], ping_p99_us=ping["p99_us"])
        return r
    finally:
        ini.stop()
        acc.stop()


def with_cpu(r: dict) -> None:
    """Round trips per CPU second: of the busier side (each side on its own core), of both."""
    busiest = max(r["initiator_cpu_s"], r["acceptor_cpu_s"])
    both = r["initiator_cpu_s"] + r["acceptor_cpu_s"]
    r["rt_per_cpu_s_busiest_side"] = round(r["answered"] / busiest, 1) if busiest else None
    r["rt_per_cpu_s_both_sides"] = round(r["answered"] / both, 1) if both else None


def summarize_qf(r: dict, orders: int) -> dict:
    return {
        "orders": orders,
        "answered": r["count"],
        "seconds": round(r["seconds"], 3),
        "orders_per_s": round(r["orders_per_s"], 1),
        "p50_us": round(r["p50_us"], 1),
        "p99_us": round(r["p99_us"], 1),
    }


SCENARIOS = [
    ("ours -> ours", "ours", "memory"),
    ("ours -> ours", "ours", "redis"),
    ("ours -> QuickFIX", "quickfix", "memory"),
    ("ours -> QuickFIX", "quickfix", "redis"),
    ("QuickFIX -> QuickFIX", "qf-qf", "memory"),
    ("QuickFIX -> QuickFIX", "qf-qf", "file"),
]


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--orders", type=int, default=20_000)
    ap.add_argument("--window", type=int, default=200)
    ap.add_argument("--pings", type=int, default=1000, help="orders sent one at a time (latency)")
    ap.add_argument("--only", choices=("ours", "quickfix", "qf-qf"), action="append")
    ap.add_argument(
        "--no-dictionary", action="store_true", help="our sessions skip dictionary validation"
    )
    ap.add_argument("--serve", action="store_true", help=argparse.SUPPRESS)
    ap.add_argument("--port", type=int, default=0, help=argparse.SUPPRESS)
    ap.add_argument("--store", default="memory", help=argparse.SUPPRESS)
    ap.add_argument("--redis-url", default="", help=argparse.SUPPRESS)
    args = ap.parse_args(argv)
    if args.no_dictionary:
        os.environ["OG_BENCH_NO_DICTIONARY"] = "1"
    if args.serve:
        _run(serve(args.port, args.store, args.redis_url))
        return 0

    redis = RedisProc()
    rows = []
    try:
        for label, target, store in SCENARIOS:
            if args.only and target not in args.only:
                continue
            if target == "qf-qf":
                r = run_quickfix(store, args.orders, args.window, args.pings)
            else:
                rds = redis if store == "redis" else None
                r = run_ours(target, store, rds, args.orders, args.window, args.pings)
            r.update(scenario=label, store=store)
            rows.append(r)
            print(
                f"{label:22} {store:7} {r['orders_per_s']:>10,.0f} rt/s  p50 {r['p50_us']} us"
                f"  p99 {r['p99_us']} us; per CPU-s {r['rt_per_cpu_s_busiest_side']}",
                flush=True,
            )
    finally:
        redis.stop()
    result = {
        "benchmark": "fix_session",
        "orders": args.orders,
        "window": args.window,
        "dictionary_validation": _use_dictionary(),
        "python": platform.python_version(),
        "cpus": os.cpu_count(),
        "loadavg_1m": os.getloadavg()[0],
        "rows": rows,
        "targets": {"memory_rt_per_s": 30_000, "redis_rt_per_s": 20_000},
    }
    RESULTS.mkdir(exist_ok=True)
    name = "fix_session.json" if _use_dictionary() else "fix_session_no_dictionary.json"
    (RESULTS / name).write_text(json.dumps(result, indent=2) + "\n")
    print(table(result))
    return 0


def table(result: dict) -> str:
    w = result["window"]
    lines = [
        f"| initiator -> acceptor | store | rt/s wall (window {w}) | rt per CPU-s, busier side "
        "| rt per CPU-s, both sides | p50 µs | p99 µs | one at a time p50 µs | p99 µs |",
        "|---|---|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for r in result["rows"]:
        lines.append(
            f"| {r['scenario']} | {r['store']} | {r['orders_per_s']:,.0f} | "
            f"{r['rt_per_cpu_s_busiest_side']:,.0f} | {r['rt_per_cpu_s_both_sides']:,.0f} | "
            f"{r['p50_us']:,.0f} | {r['p99_us']:,.0f} | "
            f"{r['ping_p50_us']:,.0f} | {r['ping_p99_us']:,.0f} |"
        )
    return "\n".join(lines)


if __name__ == "__main__":
    raise SystemExit(main())
