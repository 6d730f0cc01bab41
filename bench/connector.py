"""FIX connector throughput with the Redis session store (write-ahead included), one core.

The connector runs in this process, pinned to CPU 0 (uvloop); the venue (a separate process)
and a private redis-server (no persistence) are pinned to CPU 1. Per direction the bench
prints orders per second (wall), orders per CPU second of the connector process, Redis's CPU
per message (``INFO cpu``), the venue's CPU share and the idle share of each CPU, so a reader
sees what bounds each figure:

* **stream -> wire**: N NewOrderSingle commands waiting in the partition streams (accepted by the
  gateway's submit script beforehand); the connector reads them with XREADGROUP, writes each
  batch ahead to the fenced session store (seq, raw message, ClOrdID), appends the ``sent``
  trail steps, writes the batch to the socket and XACKs. The clock stops when the venue has
  received the N-th order.
* **wire -> Redis**: the venue then writes one ExecutionReport (New) per order, built and
  numbered before the clock starts, as fast as the socket takes them; the connector validates
  each (session checks, data dictionary), maps it and applies it with the gateway's
  apply-report script (ExecID dedupe, state machine, event, trail). The clock stops when the
  N-th report is applied.
* **session store** (first run only): ``SentRecordingStore.save`` of batches of 100
  NewOrderSingles (write-ahead path), and ``get_messages`` of the same ranges (the resend
  path), messages per second.

The venue is a real FIX peer (our engine: Logon, sequence numbers, heartbeats, CheckSum) that
only counts in-order NewOrderSingles, so that it takes little of CPU 1.

    .venv/bin/python -m bench.connector [--orders 20000] [--runs 3]

``OG_BENCH_PROFILE=out`` / ``in`` prints a cProfile of that direction.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import multiprocessing as mp
import os
import platform
import sys
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
RESULTS = Path(__file__).parent / "results"
sys.path.insert(0, str(ROOT / "tests"))


def _pin(cpu: int) -> None:
    try:
        if cpu < (os.cpu_count() or 1):
            os.sched_setaffinity(0, {cpu})
    except (AttributeError, OSError):
        pass


def venue_settings() -> Any:
    """The bench venues' side of the session: TSE accepting ORDERGATE, no data dictionary (the
    fast path below does not validate; anything else takes the engine's full path)."""
    from fixengine.settings import SessionSettings

    return SessionSettings.from_dict(
        {
            "SenderCompID": "TSE",
            "TargetCompID": "ORDERGATE",
            "ConnectionType": "acceptor",
            "HeartBtInt": "30",
            "UseDataDictionary": "N",
        }
    )


def take_in_order_order(core: Any, raw: bytes, now: float) -> bool:
    """A bench venue's fast path: True (and the message counted in, as the session core would)
    for a framed NewOrderSingle numbered as expected and not a possible duplicate; False for
    anything else, which then takes the engine's full path."""
    i = raw.find(b"\x0134=")
    j = raw.find(b"\x01", i + 4)
    seq = raw[i + 4 : j]
    if (
        b"\x0135=D\x01" in raw
        and seq.isdigit()
        and int(seq) == core.next_target
        and b"\x0143=Y\x01" not in raw
    ):
        core.next_target += 1
        core._last_recv = now
        return True
    return False


def venue_process(port_q: Any, counts: Any) -> None:
    """The counterpart: a FIX acceptor (our engine: Logon, sequence numbers, heartbeats) that
    takes as little CPU as it can, so that it does not bound what is measured.

    Logged on, an in-order NewOrderSingle is only counted (its raw bytes kept; framing and the
    CheckSum are still verified); any other message takes the engine's full path. Told to
    (``counts[2] = 1``), it builds one ExecutionReport (New, Account echoed as the simulator
    does) per order received, numbered and stored by the engine, and reports them built
    (``counts[3] = 1``); told to go (``counts[2] = 2``), it writes them as fast as the socket
    takes them (flow control respected), counting them in ``counts[1]``."""
    _pin(1)
    import uvloop

    from fixengine import (
        Acceptor,
        FixSession,
        FrameSplitter,
        State,
        Template,
        parse,
    )
    from fixengine.session import Outbound

    er = Template("8", (37, 11, 17, 150, 39, 1, 55, 54, 38, 151, 14, 6))
    orders: list[bytes] = []

    class VenueSession(FixSession):
        def _data(self, splitter: FrameSplitter, data: bytes) -> None:
            core = self.core
            if core.state is not State.LOGGED_ON:
                super()._data(splitter, data)
                return
            now = self.clock()
            for raw in splitter.feed(data):
                if take_in_order_order(core, raw, now):
                    orders.append(raw)
                    continue
                msg = parse(raw)  # anything else: the engine's own path
                if msg is not None:
                    self._apply(core.on_message(msg, raw, now), core.next_target)
            counts[0] = len(orders)
            self._schedule()  # the inbound number reaches the (memory) store

    def build(session: FixSession) -> list[bytes]:
        now = session.clock()
        out: list[Outbound] = []
        for i, raw in enumerate(orders, 1):
            msg = parse(raw)
            assert msg is not None
            f = dict(msg.pairs)
            n = b"%d" % i
            body = er.body(
                b"V" + n, f[b"11"], b"E" + n, b"0", b"0", f[b"1"], f[b"55"], f[b"54"],
                f[b"38"], f[b"38"], b"0", b"0",
            )  # fmt: skip
            out.append(session.core._build(b"8", body, now, store=True))
        core = session.core
        assert session._sync_save is not None
        session._sync_save(core.next_sender, core.next_target, [(o.seq, o.raw) for o in out])
        session._saved = (core.next_sender, core.next_target)
        return [o.raw for o in out]

    async def main() -> None:
        session = VenueSession(venue_settings())
        acc = Acceptor([session], "127.0.0.1", 0)
        await acc.start()
        port_q.put(acc.port)
        while counts[2] < 1:
            await asyncio.sleep(0.005)
        raws = build(session)
        counts[3] = 1
        while counts[2] < 2:
            await asyncio.sleep(0.0005)
        for lo in range(0, len(raws), 250):
            t = session._transport
            if t is None:
                return
            t.write(b"".join(raws[lo : lo + 250]))
            counts[1] = min(lo + 250, len(raws))
            if not session._can_write.is_set():
                await session._can_write.wait()
        session.core._last_sent = session.clock()
        await asyncio.Event().wait()

    uvloop.run(main())


async def fill_streams(redis: Any, n: int, concurrency: int = 1) -> list[str]:
    """N orders accepted through the gateway's submit script (records + command entries),
    ``concurrency`` at a time (they share the gateway's pipelined script calls, as an API
    process's concurrent requests do: with AOF ``always``, one fsync per batch, not per order)."""
    from datetime import UTC, datetime

    from gateway.config import GatewayConfig, RiskLimits
    from gateway.orders import OrderGateway
    from gateway.refdata import ReferenceData
    from gateway.validation import parse_new_order

    at = datetime(2026, 11, 27, 1, 0, tzinfo=UTC)  # a Friday 10:00 in Tokyo: TSE open
    risk = RiskLimits(max_open_orders=10**9, orders_per_second=1e9, burst=10**9)
    gw = OrderGateway(redis, GatewayConfig(risk=risk), ReferenceData.load(), lambda: at)
    await gw.load_scripts()

    async def submit(i: int) -> str:
        body = {
            "account": f"B{i % 64}",
            "client_order_id": f"b-{i}",
            "symbol": "7203",
            "side": "buy",
            "type": "limit",
            "quantity": 100,
            "price": "2850",
            "time_in_force": "day",
        }
        out = await gw.submit(parse_new_order(body), process="bench")
        return out.order.order_id

    ids: list[str] = []
    for lo in range(0, n, concurrency):
        ids += await asyncio.gather(*(submit(i) for i in range(lo, min(n, lo + concurrency))))
    return ids


async def store_bench(redis: Any, messages: int = 100_000, batch: int = 100) -> dict[str, float]:
    from connector.store import SentRecordingStore
    from fixengine import Template
    from fixengine.codec import frame
    from gateway import keys
    from gateway.ids import new_order_id

    sid = keys.session_id("BENCH", "STORE")
    await redis.delete(
        keys.fix_state(sid), keys.fix_out(sid), keys.fix_sent(sid), keys.fix_fence(sid)
    )
    await redis.set(keys.fix_fence(sid), 7)
    store = SentRecordingStore(redis, sid, fence_token=7)
    nos = Template("D", (11, 1, 55, 54, 60, 38, 40, 44, 59))
    raws = []
    for seq in range(1, messages + 1):
        body = nos.body(
            new_order_id(3),
            b"A1",
            b"7203",
            b"1",
            b"20261127-01:00:00.000",
            b"100",
            b"2",
            b"2850",
            b"0",
        )
        raws.append(
            (
                seq,
                frame(
                    b"35=D\x0149=BENCH\x0156=STORE\x0134=%d\x0152=20261127-01:00:00.000\x01" % seq
                    + body
                ),
            )
        )
    t0 = time.perf_counter()
    for lo in range(0, messages, batch):
        chunk = raws[lo : lo + batch]
        await store.save(chunk[-1][0] + 1, 1, chunk)
    write = messages / (time.perf_counter() - t0)
    t0 = time.perf_counter()
    got = 0
    for lo in range(1, messages + 1, 1000):
        got += len(await store.get_messages(lo, min(lo + 999, messages)))
    read = got / (time.perf_counter() - t0)
    assert got == messages
    return {"store_write_msgs_per_s": write, "store_read_msgs_per_s": read, "store_batch": batch}


async def _redis_cpu(redis: Any) -> float:
    info = await redis.info("cpu")
    return float(info["used_cpu_sys"]) + float(info["used_cpu_user"])


def _proc_cpu(pid: int) -> float:
    """CPU seconds (user + system) of process ``pid`` so far."""
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _cpu_ticks() -> dict[str, tuple[int, int]]:
    """(idle, total) jiffies of each CPU (``cpu0``, ``cpu1``...) from /proc/stat."""
    out = {}
    with open("/proc/stat") as f:
        for line in f:
            name, *vals = line.split()
            if name.startswith("cpu") and name != "cpu":
                v = [int(x) for x in vals[:8]]  # user nice system idle iowait irq softirq steal
                out[name] = (v[3] + v[4], sum(v))
    return out


class Phase:
    """Wall time, this process's CPU, Redis's CPU, the venue's CPU and each CPU's idle share
    over one measured phase."""

    def __init__(self, redis: Any, venue_pid: int) -> None:
        self.redis = redis
        self.venue_pid = venue_pid

    async def start(self) -> None:
        self.redis_cpu = await _redis_cpu(self.redis)
        self.venue_cpu = _proc_cpu(self.venue_pid)
        self.ticks = _cpu_ticks()
        self.cpu = time.process_time()
        self.t0 = time.perf_counter()

    async def stop(self, n: int) -> dict[str, Any]:
        wall = time.perf_counter() - self.t0
        cpu = time.process_time() - self.cpu
        ticks = _cpu_ticks()
        venue = _proc_cpu(self.venue_pid) - self.venue_cpu
        redis = await _redis_cpu(self.redis) - self.redis_cpu
        idle = {}
        for name, (i1, t1) in ticks.items():
            i0, t0 = self.ticks.get(name, (i1, t1))
            idle[name] = round((i1 - i0) / (t1 - t0), 3) if t1 > t0 else None
        return {
            "per_s": n / wall,
            "per_cpu_s": n / cpu if cpu else None,
            "connector_cpu_us_per_msg": round(cpu / n * 1e6, 1),
            "redis_cpu_us_per_msg": round(redis / n * 1e6, 1),
            "venue_cpu_share": round(venue / wall, 3),
            "idle_share": idle,
            "wall_s": round(wall, 3),
        }


async def _until(predicate: Any, poll: float = 0.002) -> None:
    while not predicate():
        await asyncio.sleep(poll)


async def run(n: int, with_store: bool = True) -> dict[str, Any]:
    import redis.asyncio as aioredis
    from support.procs import RedisServer

    from connector.config import ConnectorConfig
    from connector.service import Connector, tune_gc

    _pin(0)
    server = RedisServer(extra=["--io-threads", "1"]).start()
    assert server.proc is not None
    with contextlib.suppress(OSError):  # Redis on CPU 1 (it inherited our CPU 0)
        os.sched_setaffinity(server.proc.pid, {1 % (os.cpu_count() or 1)})
    # as the connector's command line makes it (the socket timeout wraps every read and write)
    redis = aioredis.Redis.from_url(server.url, socket_timeout=5, socket_connect_timeout=2)
    ctx = mp.get_context("fork")
    port_q = ctx.Queue()
    counts = ctx.Array("l", 4)  # NOS received, ERs written, command (1 build, 2 go), built
    venue = ctx.Process(target=venue_process, args=(port_q, counts), daemon=True)
    venue.start()
    assert venue.pid is not None
    port = port_q.get(timeout=20)
    try:
        t = time.perf_counter()
        await fill_streams(redis, n)
        fill_s = time.perf_counter() - t
        cfg = ConnectorConfig(
            port=port, redis_url=server.url, hours="always", heartbeat=30, reconcile=False
        )
        conn = Connector(cfg, redis)
        tune_gc()  # as the connector's command line does
        task = asyncio.create_task(conn.run())
        await _until(lambda: conn.session is not None and conn.session.logged_on, 0.01)
        which = os.environ.get("OG_BENCH_PROFILE", "")
        phase = Phase(redis, venue.pid)
        prof = _profile(which == "out")
        await phase.start()
        await _until(lambda: counts[0] >= n)
        out = await phase.stop(n)
        _report_profile(prof)
        counts[2] = 1  # the venue builds its ExecutionReports now, before the clock starts
        await _until(lambda: counts[3] == 1, 0.01)
        prof = _profile(which == "in")
        await phase.start()
        counts[2] = 2
        await _until(lambda: conn.stats.applied >= n)
        inbound = await phase.stop(n)
        _report_profile(prof)
        if conn.stats.applied != n or conn.stats.refused or conn.stats.duplicates:
            raise RuntimeError(f"unexpected outcomes: {conn.stats.as_dict()}")
        conn.stop()
        await task
        store = await store_bench(redis) if with_store else {}
    finally:
        venue.kill()
        await redis.aclose()
        server.stop()
    return {
        "orders": n,
        "submit_fill_s": round(fill_s, 2),
        "stream_to_wire": out,
        "wire_to_redis": inbound,
        **store,
        "load": os.getloadavg(),
    }


def _profile(on: bool) -> Any:
    if not on:
        return None
    import cProfile

    prof = cProfile.Profile()
    prof.enable()
    return prof


def _report_profile(prof: Any) -> None:
    if prof is None:
        return
    import pstats

    prof.disable()
    pstats.Stats(prof).sort_stats("tottime").print_stats(40)


def _range(runs: list[dict[str, Any]], phase: str, key: str) -> list[float]:
    vals = [r[phase][key] for r in runs if r[phase].get(key) is not None]
    return [min(vals), max(vals)] if vals else []


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--orders", type=int, default=20_000)
    ap.add_argument("--runs", type=int, default=3, help="fresh Redis, venue and connector each")
    args = ap.parse_args()
    import uvloop

    runs = [uvloop.run(run(args.orders, with_store=i == 0)) for i in range(args.runs)]
    res: dict[str, Any] = {
        "orders": args.orders,
        "runs": runs,
        "summary": {
            f"{ph}_{k}": _range(runs, ph, k)
            for ph in ("stream_to_wire", "wire_to_redis")
            for k in ("per_s", "per_cpu_s", "redis_cpu_us_per_msg", "venue_cpu_share")
        },
        "store_write_msgs_per_s": runs[0].get("store_write_msgs_per_s"),
        "store_read_msgs_per_s": runs[0].get("store_read_msgs_per_s"),
        "machine": {"cpus": os.cpu_count(), "python": platform.python_version()},
    }
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / "connector.json").write_text(json.dumps(res, indent=2))
    print(
        f"{'run':<4}{'direction':<16}{'per s':>9}{'per CPU s':>11}{'conn us':>9}"
        f"{'redis us':>10}{'venue CPU':>11}{'CPU0 idle':>11}{'CPU1 idle':>11}  load"
    )
    for i, r in enumerate(runs, 1):
        for ph, name in (("stream_to_wire", "stream -> wire"), ("wire_to_redis", "wire -> Redis")):
            m = r[ph]
            idle = m["idle_share"]
            print(
                f"{i:<4}{name:<16}{m['per_s']:>9,.0f}{m['per_cpu_s']:>11,.0f}"
                f"{m['connector_cpu_us_per_msg']:>9}{m['redis_cpu_us_per_msg']:>10}"
                f"{m['venue_cpu_share']:>11.0%}{idle.get('cpu0') or 0:>11.0%}"
                f"{idle.get('cpu1') or 0:>11.0%}  {r['load'][0]:.1f}"
            )
    if res["store_write_msgs_per_s"]:
        print(
            f"session store: write {res['store_write_msgs_per_s']:,.0f} msgs/s (batches of 100), "
            f"read {res['store_read_msgs_per_s']:,.0f} msgs/s (resend path); "
            f"orders {args.orders} per run"
        )


if __name__ == "__main__":
    main()
