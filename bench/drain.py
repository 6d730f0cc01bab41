"""Connector drain, side by side with a QuickFIX initiator: N orders queued while the line was down,
then the line comes up (the market-open case), into a venue that answers each order with an
ExecutionReport New (150=0) and one Fill (150=F, 39=2).

Each run measures both sides, one after the other, each with a fresh venue:

* **ordergate**: a private Redis (AOF ``appendfsync always``, as production); N orders accepted
  through the gateway's submit script while no connector runs; then the real ``ordergate
  connector`` process starts. The clock runs from the venue's receipt of the connector's Logon
  until no order is open any more in Redis (every fill applied); every order's status is then
  checked ``filled``.
* **QuickFIX**: a QuickFIX initiator (quickfix-ssl's ``quickfix`` module, FileStore, data
  dictionary on; ``bench/_qfix_drain.py``, its own process) that, once logged on, sends the same
  N NewOrderSingles (the same field values, read back from the ordergate run's order records)
  and reads the 2N ExecutionReports in ``fromApp``. The clock runs from the venue's receipt of
  its Logon until the 2N-th report reached ``fromApp``.
* **the venue** is the same for both: our FIX engine's acceptor in its own process, with a fast
  path for in-order NewOrderSingles (framing and CheckSum verified, two reports numbered, stored
  and written per order); anything else takes the engine's full path.

Per side: orders per second (wall) and CPU microseconds per order of each process over the
clock's window (``/proc`` for the connector, Redis and the venue, all threads; the QuickFIX
process's own CPU clock, all threads), and the ratio ordergate / QuickFIX. Nothing is pinned by
default (the processes share the cores as they would on this machine); ``--pin`` puts the
initiator (connector or QuickFIX) on CPU 0 and Redis and the venue on CPU 1.

    .venv/bin/python -m bench.drain [--orders 20000] [--runs 3] [--pin]
        [--message-log connector|both|none]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import multiprocessing as mp
import os
import platform
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import redis

from bench.e2e import commandstats, cpu_seconds, open_order_count
from gateway import keys
from gateway.ids import partition_of_order_id

ROOT = Path(__file__).resolve().parents[1]
RESULTS = Path(__file__).parent / "results"
QF_SCRIPT = Path(__file__).with_name("_qfix_drain.py")
QF_FIX44 = ROOT / ".venv" / "share" / "quickfix" / "FIX44.xml"
sys.path.insert(0, str(ROOT / "tests"))

TARGET_RATIO = 1.5
ACCEPT_CONCURRENCY = 200  # submits in flight while the orders are queued (not measured)
ORDER_FIELDS = ("account", "symbol", "side", "quantity", "type", "price", "time_in_force", "status")

# what each side does per order that the other does not (the table prints it, the JSON keeps it)
PER_ORDER_WORK = {
    "both": [
        "session layer: every message numbered, sequence-checked, data dictionary validation of "
        "every inbound message",
        "each NewOrderSingle stored for resend before it is written to TCP",
    ],
    "ordergate_only": [
        "reads the queued order from its partition's command stream (XREADGROUP) and decodes it",
        "writes ahead to Redis before the socket: sequence numbers, the raw message, the "
        "ClOrdID's sent record, fenced by the leader lease (AOF appendfsync always: fsynced)",
        "XACKs the stream entry and appends the order's 'sent' trail step",
        "applies each ExecutionReport in Redis with one Lua script: ExecID dedupe (exactly "
        "once), the order state machine, cum qty / avg px / fills, risk counters, the order "
        "event on the partition's events stream, the trail step; the inbound sequence number "
        "in Redis",
        "at logon, reconciles in-flight orders (asks its sent map about every open order, one "
        "HMGET per 1,000, and reads the records of those it sent)",
    ],
    "quickfix_only": [
        "FileStore: each outbound message appended to its body and header files and the "
        "sequence numbers rewritten (buffered writes, flushed, no fsync)",
    ],
}


# --- the venue -------------------------------------------------------------------------------

# shared doubles: the venue's view of the run
LOGON_T, ORDERS_IN, REPORTS_OUT, FIRST_ORDER_T, LAST_ORDER_T = range(5)
CPU_VENUE, CPU_PEER0, CPU_PEER1 = range(5, 8)


def venue_process(port_q: Any, shared: Any, pids: Any) -> None:
    """A FIX 4.4 acceptor (our engine) that answers each NewOrderSingle with an ExecutionReport
    New and one Fill, as cheaply as the engine allows so that it does not bound the figure.

    Logged on, an in-order NewOrderSingle takes a fast path: its fields split out, two reports
    built from templates, numbered, stored (memory store) and written by the engine; any other
    message takes the engine's full path. At logon it notes the time (``CLOCK_MONOTONIC``) and
    the CPU seconds so far of itself and of ``pids`` (the initiator, Redis), so the bench's
    window starts exactly there."""
    import uvloop

    from bench.connector import take_in_order_order, venue_settings
    from fixengine import Acceptor, FixSession, FrameSplitter, State, Template, parse

    new = Template("8", (37, 11, 17, 150, 39, 1, 55, 54, 38, 151, 14, 6))
    fill = Template("8", (37, 11, 17, 150, 39, 1, 55, 54, 38, 32, 31, 151, 14, 6))

    class AnsweringSession(FixSession):
        answered = 0

        def _data(self, splitter: FrameSplitter, data: bytes) -> None:
            core = self.core
            if core.state is not State.LOGGED_ON:
                super()._data(splitter, data)
                if core.state is State.LOGGED_ON and not shared[LOGON_T]:
                    _note_logon()
                return
            now = self.clock()
            for raw in splitter.feed(data):
                if take_in_order_order(core, raw, now):
                    self._answer(raw, now)
                    continue
                msg = parse(raw)  # anything else: the engine's own path
                if msg is not None:
                    self._apply(core.on_message(msg, raw, now), core.next_target)
            if shared[ORDERS_IN] != self.answered:
                shared[LAST_ORDER_T] = time.monotonic()
                if not shared[ORDERS_IN]:
                    shared[FIRST_ORDER_T] = shared[LAST_ORDER_T]
                shared[ORDERS_IN] = self.answered
            shared[REPORTS_OUT] = 2 * self.answered
            self._schedule()  # the inbound number reaches the (memory) store

        def _answer(self, raw: bytes, now: float) -> None:
            f = dict(p.split(b"=", 1) for p in raw.split(b"\x01") if p)
            self.answered += 1
            n = b"%d" % self.answered
            cl, acct, sym, side, qty = f[b"11"], f[b"1"], f[b"55"], f[b"54"], f[b"38"]
            px = f.get(b"44", b"0")
            oid = b"V" + n
            ack = new.body(oid, cl, b"N" + n, b"0", b"0", acct, sym, side, qty, qty, b"0", b"0")
            done = fill.body(
                oid, cl, b"F" + n, b"F", b"2", acct, sym, side, qty, qty, px, b"0", qty, px
            )
            self._enqueue(self.core._build(b"8", ack, now, store=True))
            self._enqueue(self.core._build(b"8", done, now, store=True))

    def _note_logon() -> None:
        shared[LOGON_T] = time.monotonic()
        shared[CPU_VENUE] = cpu_seconds(os.getpid())
        for k, pid in enumerate(pids):
            shared[CPU_PEER0 + k] = cpu_seconds(pid) if pid else -1.0

    async def main() -> None:
        acc = Acceptor([AnsweringSession(venue_settings())], "127.0.0.1", 0)
        await acc.start()
        port_q.put(acc.port)
        await asyncio.Event().wait()

    uvloop.run(main())


@dataclass
class Venue:
    """The venue process, seen from the bench."""

    proc: Any
    port: int
    shared: Any
    pids: Any

    @classmethod
    def start(cls) -> Venue:
        ctx = mp.get_context("fork")
        port_q = ctx.Queue()
        shared = ctx.Array("d", 8)
        pids = ctx.Array("l", 2)
        proc = ctx.Process(target=venue_process, args=(port_q, shared, pids), daemon=True)
        proc.start()
        return cls(proc, int(port_q.get(timeout=30)), shared, pids)

    @property
    def pid(self) -> int:
        return int(self.proc.pid)

    def watch(self, initiator: int, redis_pid: int = 0) -> None:
        """Whose CPU the venue samples at logon (set before the initiator can log on)."""
        self.pids[0], self.pids[1] = initiator, redis_pid

    def logon_cpu(self, k: int) -> float:
        v = float(self.shared[CPU_PEER0 + k])
        if v < 0:
            raise RuntimeError("the venue did not know the initiator's pid at logon")
        return v

    def view(self) -> dict[str, Any]:
        """What the venue received and wrote, and when the first and the last order arrived
        (seconds after logon)."""
        sh = self.shared
        return {
            "venue_orders_received": int(sh[ORDERS_IN]),
            "venue_reports_written": int(sh[REPORTS_OUT]),
            "venue_first_order_after_logon_s": round(sh[FIRST_ORDER_T] - sh[LOGON_T], 6),
            "venue_last_order_after_logon_s": round(sh[LAST_ORDER_T] - sh[LOGON_T], 6),
        }

    def stop(self) -> None:
        self.proc.kill()
        self.proc.join(10)


# --- helpers ---------------------------------------------------------------------------------


def _wait(predicate: Callable[[], bool], timeout: float, what: str, poll: float = 0.001) -> None:
    """Poll ``predicate`` (a cheap check: shared memory, or one pipelined Redis call) at a fixed
    short interval, not ``support.procs.wait_until``'s backoff: where it turns true the clock
    stops, so it is seen within a millisecond."""
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise TimeoutError(f"timed out after {timeout}s waiting for {what}")
        time.sleep(poll)


def _pin(pid: int, cpu: int) -> None:
    """Every thread of ``pid`` on ``cpu`` (Redis has started its background threads already)."""
    if cpu >= (os.cpu_count() or 1):
        return
    for task in Path(f"/proc/{pid}/task").iterdir():
        try:
            os.sched_setaffinity(int(task.name), {cpu})
        except OSError:
            pass


def _per_order(cpu_s: dict[str, float], n: int) -> dict[str, float]:
    return {k: round(v / n * 1e6, 1) for k, v in cpu_s.items()}


def _side(
    n: int, wall: float, cpu_s: dict[str, float], drained: dict[str, Any], **more: Any
) -> dict[str, Any]:
    per = _per_order(cpu_s, n)
    return {
        "orders": n,
        "wall_s": round(wall, 6),
        "orders_per_s": round(n / wall, 1),
        "cpu_us_per_order": per,
        "cpu_us_per_order_total": round(sum(per.values()), 1),
        "cpu_share_of_one_core": {k: round(v / wall, 2) for k, v in cpu_s.items()},
        "drained": drained,
        **more,
    }


async def _accept(url: str, n: int) -> list[str]:
    import redis.asyncio as aioredis

    from bench.connector import fill_streams

    client = aioredis.Redis.from_url(url)
    try:
        return await fill_streams(client, n, ACCEPT_CONCURRENCY)
    finally:
        await client.aclose()


def _order_records(r: redis.Redis, ids: list[str]) -> list[dict[str, str]]:
    out: list[dict[str, str]] = []
    for lo in range(0, len(ids), 1000):
        pipe = r.pipeline(transaction=False)
        for oid in ids[lo : lo + 1000]:
            pipe.hmget(keys.order(partition_of_order_id(oid), oid), list(ORDER_FIELDS))
        for oid, vals in zip(ids[lo : lo + 1000], pipe.execute(), strict=True):
            rec = {"order_id": oid}
            for k, v in zip(ORDER_FIELDS, vals, strict=True):
                rec[k] = v.decode() if v is not None else ""
            out.append(rec)
    return out


def nos_values(records: list[dict[str, str]]) -> list[list[str]]:
    """The NewOrderSingle field values the connector sends for these orders (``_qfix_drain``'s
    NOS_TAGS order; TransactTime is stamped at sending)."""
    from connector.mapping import ORD_TYPE, SIDE, TIME_IN_FORCE

    return [
        [
            rec["order_id"],
            rec["account"],
            rec["symbol"],
            SIDE[rec["side"]].decode(),
            "",
            rec["quantity"],
            ORD_TYPE[rec["type"]].decode(),
            rec["price"],
            TIME_IN_FORCE[rec["time_in_force"]].decode(),
        ]
        for rec in records
    ]


def _connector_stats(r: redis.Redis, session: str, reports: int) -> dict[str, int]:
    """The connector's published counters, once they include every report (published every s)."""

    def read() -> dict[str, int]:
        raw = r.hgetall(keys.fix_status(session))
        return {k.decode(): int(v) for k, v in raw.items() if v.isdigit()}

    try:
        _wait(lambda: read().get("applied", 0) >= reports, 5, "the connector's counters", 0.05)
    except TimeoutError:
        pass  # reported as they are; the checks below say what is missing
    stats = read()
    names = ("sent", "reports", "applied", "duplicates", "refused", "ignored", "logons")
    return {k: stats.get(k, 0) for k in names}


# --- the two sides ---------------------------------------------------------------------------


def run_ordergate(
    n: int, work: Path, pin: bool, message_log: bool, timeout: float
) -> tuple[dict[str, Any], list[list[str]]]:
    """ordergate's drain; returns its figures and the orders' NewOrderSingle values."""
    from support.connector_proc import ConnectorProcess
    from support.procs import RedisServer

    server = RedisServer(aof=True).start()
    assert server.proc is not None
    venue: Venue | None = None
    conn: ConnectorProcess | None = None
    try:
        t = time.perf_counter()
        ids = asyncio.run(_accept(server.url, n))
        accept_s = time.perf_counter() - t
        r = redis.Redis.from_url(server.url)
        stats0 = commandstats(r)
        venue = Venue.start()
        log_dir = str(work / "og-fixlog") if message_log else "off"
        conn = ConnectorProcess(server.url, venue.port, extra=["--message-log", log_dir])
        conn.start()
        started = time.monotonic()
        venue.watch(conn.pid, server.proc.pid)
        if pin:
            _pin(conn.pid, 0)
            _pin(server.proc.pid, 1)
            _pin(venue.pid, 1)
        running = conn

        def alive(cond: Callable[[], bool]) -> Callable[[], bool]:
            def check() -> bool:
                if not running.alive():
                    raise RuntimeError(f"the connector exited:\n{running.log()}")
                return cond()

            return check

        _wait(alive(lambda: venue.shared[LOGON_T] > 0), timeout, "the connector's logon")
        _wait(alive(lambda: venue.shared[REPORTS_OUT] >= 2 * n), timeout, "every report written")
        _wait(alive(lambda: open_order_count(r) == 0), timeout, "every fill applied in Redis")
        end = time.monotonic()
        cpu_end = {
            "connector": cpu_seconds(conn.pid),
            "redis": cpu_seconds(server.proc.pid),
            "venue": cpu_seconds(venue.pid),
        }
        logon_t = float(venue.shared[LOGON_T])
        cpu0 = {
            "connector": venue.logon_cpu(0),
            "redis": venue.logon_cpu(1),
            "venue": float(venue.shared[CPU_VENUE]),
        }
        stats1 = commandstats(r)
        records = _order_records(r, ids)
        counters = _connector_stats(r, keys.session_id("ORDERGATE", "TSE"), 2 * n)
        r.close()
    finally:
        if conn is not None:
            conn.stop()
            Path(conn.log_path).unlink(missing_ok=True)
        if venue is not None:
            venue.stop()
        server.stop()
        shutil.rmtree(server.dir, ignore_errors=True)
    statuses: dict[str, int] = {}
    for rec in records:
        statuses[rec["status"]] = statuses.get(rec["status"], 0) + 1
    calls = {
        c: calls - stats0.get(c, (0, 0))[0]
        for c, (calls, _us) in stats1.items()
        if c not in ("info", "zcard")  # the bench's own polling
    }
    lua = sum(v for c, v in calls.items() if c.startswith(("evalsha", "eval", "fcall")))
    drained = {
        **venue.view(),
        "order_statuses": statuses,
        "all_filled": statuses == {"filled": n},
        "connector": counters,
    }
    side = _side(
        n,
        end - logon_t,
        {k: cpu_end[k] - cpu0[k] for k in cpu_end},
        drained,
        process_start_to_logon_s=round(logon_t - started, 3),
        accept_s=round(accept_s, 2),
        redis_commands_per_order=round(sum(calls.values()) / n, 2),
        redis_lua_calls_per_order=round(lua / n, 2),
    )
    return side, nos_values(records)


def run_quickfix(
    orders: list[list[str]], work: Path, pin: bool, message_log: bool, timeout: float
) -> dict[str, Any]:
    """QuickFIX's drain of the same orders into a fresh venue."""
    n = len(orders)
    qf_dir = work / "quickfix"
    qf_dir.mkdir(parents=True, exist_ok=True)
    orders_path = qf_dir / "orders.json"
    orders_path.write_text(json.dumps(orders))
    venue = Venue.start()
    argv = [sys.executable, str(QF_SCRIPT), "--port", str(venue.port)]
    argv += ["--sender", "ORDERGATE", "--target", "TSE", "--heartbeat", "30"]
    argv += ["--dir", str(qf_dir), "--dictionary", str(QF_FIX44), "--orders", str(orders_path)]
    argv += ["--timeout", str(timeout), *(["--log"] if message_log else [])]
    proc = subprocess.Popen(
        argv, cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    )
    try:
        venue.watch(proc.pid)
        if pin:
            _pin(proc.pid, 0)
            _pin(venue.pid, 1)
        result: dict[str, Any] = {}
        assert proc.stdout is not None
        for line in proc.stdout:
            event = json.loads(line)
            if event.get("ev") == "result":
                result = event
                break
        venue_end = cpu_seconds(venue.pid)
        _, err = proc.communicate(timeout=30)
        if not result.get("done"):
            raise RuntimeError(f"the QuickFIX initiator did not finish: {result}\n{err[-3000:]}")
        logon_t = float(venue.shared[LOGON_T])
        venue_cpu = venue_end - float(venue.shared[CPU_VENUE])
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait(10)
        venue.stop()
    drained = {
        **venue.view(),
        "sent": result["sent"],
        "reports": result["reports"],
        "acks": result["acks"],
        "fills": result["fills"],
        "distinct_filled": result["distinct_filled"],
        "all_filled": result["distinct_filled"] == n and result["acks"] == n,
        "callback_errors": result["errors"],
    }
    cpu = {"initiator": result["end_cpu_s"] - result["logon_cpu_s"], "venue": venue_cpu}
    return _side(
        n,
        result["end_t"] - logon_t,
        cpu,
        drained,
        own_logon_to_last_report_s=round(result["end_t"] - result["logon_t"], 3),
    )


def run_once(n: int, pin: bool, logs: str, timeout: float) -> dict[str, Any]:
    work = Path(tempfile.mkdtemp(prefix="og-bench-drain-"))
    try:
        og, orders = run_ordergate(n, work, pin, logs in ("connector", "both"), timeout)
        qf = run_quickfix(orders, work, pin, logs == "both", timeout)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    return {
        "ordergate": og,
        "quickfix": qf,
        "ratio": round(og["orders_per_s"] / qf["orders_per_s"], 2),
        "load_average_1m": round(os.getloadavg()[0], 2),
    }


# --- report ----------------------------------------------------------------------------------


def summary(runs: list[dict[str, Any]]) -> dict[str, Any]:
    """Medians over the runs (each side's rate and CPU per order), and the ratio of the medians."""
    out: dict[str, Any] = {}
    for side in ("ordergate", "quickfix"):
        procs = runs[0][side]["cpu_us_per_order"]
        out[side] = {
            "orders_per_s": statistics.median(r[side]["orders_per_s"] for r in runs),
            "cpu_us_per_order": {
                p: statistics.median(r[side]["cpu_us_per_order"][p] for r in runs) for p in procs
            },
        }
    ratio = out["ordergate"]["orders_per_s"] / out["quickfix"]["orders_per_s"]
    out["ratio"] = round(ratio, 2)
    out["run_ratios"] = [r["ratio"] for r in runs]
    out["target_ratio"] = TARGET_RATIO
    out["met"] = ratio >= TARGET_RATIO
    return out


def table(runs: list[dict[str, Any]], first: int = 1, head: bool = True) -> str:
    lines = [
        f"{'run':<4}{'side':<11}{'orders/s':>10}{'wall s':>8}{'sent by s':>10}"
        "  CPU us/order per process"
    ]
    if not head:
        lines = []
    for i, r in enumerate(runs, first):
        for side in ("ordergate", "quickfix"):
            s = r[side]
            per = "  ".join(f"{k} {v:g}" for k, v in s["cpu_us_per_order"].items())
            lines.append(
                f"{i:<4}{side:<11}{s['orders_per_s']:>10,.0f}{s['wall_s']:>8.2f}"
                f"{s['drained']['venue_last_order_after_logon_s']:>10.2f}  {per}"
                f"  (total {s['cpu_us_per_order_total']:g})"
            )
        lines.append(f"{'':<4}{'ratio':<11}{r['ratio']:>10.2f}   load {r['load_average_1m']}")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m bench.drain", description=__doc__.split("\n")[0])
    ap.add_argument("--orders", type=int, default=20_000)
    ap.add_argument("--runs", type=int, default=3, help="rounds of both sides (default 3)")
    ap.add_argument("--pin", action="store_true", help="initiator CPU 0; Redis, venue CPU 1")
    ap.add_argument(
        "--message-log",
        choices=("connector", "both", "none"),
        default="connector",
        help="who logs every FIX message to a file: the connector (its production default; "
        "QuickFIX with its FileStore only), both (QuickFIX's FileLog too) or none",
    )
    ap.add_argument("--timeout", type=float, default=300.0, help="per side, seconds")
    ap.add_argument("--json", default=str(RESULTS / "drain.json"))
    args = ap.parse_args(argv)
    load_start = round(os.getloadavg()[0], 2)
    runs: list[dict[str, Any]] = []
    print(table([]), flush=True)
    for i in range(args.runs):
        runs.append(run_once(args.orders, args.pin, args.message_log, args.timeout))
        print(table(runs[-1:], first=i + 1, head=False), flush=True)
    per_order_work = {k: list(v) for k, v in PER_ORDER_WORK.items()}
    logged = {"connector": "ordergate_only", "both": "both"}.get(args.message_log)
    if logged:
        per_order_work[logged].append("every FIX message appended to a log file")
    result = {
        "benchmark": "drain",
        "at": datetime.now(UTC).isoformat(timespec="seconds"),
        "orders": args.orders,
        "machine": {
            "cpus": os.cpu_count(),
            "python": platform.python_version(),
            "load_average_1m_at_start": load_start,
            "load_average_1m_at_end": round(os.getloadavg()[0], 2),
        },
        "setup": {
            "clock": "from the venue's receipt of the initiator's Logon until every order's fill "
            "is applied in Redis (ordergate) / the 2N-th ExecutionReport reached fromApp "
            "(QuickFIX)",
            "pinned": "initiator CPU 0; Redis and venue CPU 1" if args.pin else "no",
            "message_log": args.message_log,
            "redis": "private, AOF appendfsync always",
            "transport": "TCP on 127.0.0.1, no TLS, for both sides",
            "connector": "the ordergate connector process, default settings (--hours always)",
            "quickfix": "quickfix-ssl initiator, FileStore, FIX44.xml data dictionary",
            "venue": "our FIX engine's acceptor: ExecutionReport New + Fill per order",
        },
        "per_order_work": per_order_work,
        "runs": runs,
        "summary": summary(runs),
    }
    Path(args.json).parent.mkdir(parents=True, exist_ok=True)
    Path(args.json).write_text(json.dumps(result, indent=2) + "\n")
    s = result["summary"]
    print()
    print(table(runs))
    print(
        f"\nmedian: ordergate {s['ordergate']['orders_per_s']:,.0f}/s, QuickFIX "
        f"{s['quickfix']['orders_per_s']:,.0f}/s, ratio {s['ratio']} (target ≥ {TARGET_RATIO}: "
        f"{'met' if s['met'] else 'not met'}); load {result['machine']['load_average_1m_at_end']}"
    )
    print("per order, ordergate only: " + "; ".join(per_order_work["ordergate_only"]))
    print("per order, QuickFIX only: " + "; ".join(per_order_work["quickfix_only"]))
    print(f"JSON: {args.json}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
