"""FIX connector throughput with the Redis session store (write-ahead included), one core.

Three figures:

* **stream -> wire**: N NewOrderSingle commands waiting in the partition streams (accepted by the
  gateway's submit script beforehand); a connector (this process, pinned to CPU 0, uvloop) reads
  them with XREADGROUP, writes each batch ahead to the fenced session store (seq, raw message,
  ClOrdID), writes it to the socket, appends the ``sent`` trail steps and XACKs. The clock stops
  when the venue has received the N-th order.
* **wire -> Redis**: the venue (a separate process, our FIX engine as acceptor, pinned to CPU 1)
  then answers every order with an ExecutionReport (New) as fast as it can; the connector applies
  each with the gateway's apply-report script (ExecID dedupe, state machine, event, trail). The
  clock stops when the N-th report is applied.
* **session store**: ``SentRecordingStore.save`` of batches of 100 NewOrderSingles (write-ahead
  path), and ``get_messages`` of the same ranges (the resend path), messages per second.

Redis is a private redis-server (no persistence, sharing CPU 1 with the venue).

    .venv/bin/python -m bench.connector [--orders 20000]
"""

from __future__ import annotations

import argparse
import asyncio
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


def venue_process(port_q: Any, go_answer: Any, counts: Any) -> None:
    """A FIX acceptor that counts NewOrderSingles and, once told, answers each with an
    ExecutionReport (New), in batches."""
    _pin(1)
    import uvloop

    from connector.fix.codec import Template
    from connector.fix.settings import SessionSettings
    from connector.fix.transport import Acceptor, Application, FixSession

    er = Template("8", (37, 11, 17, 150, 39, 1, 55, 54, 38, 151, 14, 6))
    orders: list[tuple[bytes, bytes, bytes, bytes, bytes]] = []

    class Venue(Application):
        def on_message(self, session: FixSession, msg: Any) -> None:
            if msg.get(35) == b"D":
                orders.append((msg.get(11), msg.get(1), msg.get(55), msg.get(54), msg.get(38)))
                counts[0] = len(orders)

    async def main() -> None:
        s = SessionSettings.from_dict(
            {
                "SenderCompID": "TSE",
                "TargetCompID": "ORDERGATE",
                "ConnectionType": "acceptor",
                "HeartBtInt": "30",
                "UseDataDictionary": "N",
            }
        )
        session = FixSession(s, app=Venue())
        acc = Acceptor([session], "127.0.0.1", 0)
        await acc.start()
        port_q.put(acc.port)
        while not go_answer.is_set():
            await asyncio.sleep(0.01)
        i = 0
        while True:
            end = len(orders)
            while i < end:
                cl, acct, sym, side, qty = orders[i]
                i += 1
                n = b"%d" % i
                session.send_body(
                    b"8",
                    er.body(
                        b"V" + n, cl, b"E" + n, b"0", b"0", acct, sym, side, qty, qty, b"0", b"0"
                    ),
                )
                if i % 500 == 0:
                    await session.flushed()
            counts[1] = i
            await session.flushed()
            await asyncio.sleep(0.001)

    uvloop.install()
    asyncio.run(main())


async def fill_streams(redis: Any, n: int) -> list[str]:
    """N orders accepted through the gateway's submit script (records + command entries)."""
    from datetime import UTC, datetime

    from gateway.config import GatewayConfig, RiskLimits
    from gateway.orders import OrderGateway
    from gateway.refdata import ReferenceData
    from gateway.validation import parse_new_order

    at = datetime(2026, 11, 27, 1, 0, tzinfo=UTC)  # a Friday 10:00 in Tokyo: TSE open
    risk = RiskLimits(max_open_orders=10**9, orders_per_second=1e9, burst=10**9)
    gw = OrderGateway(redis, GatewayConfig(risk=risk), ReferenceData.load(), lambda: at)
    await gw.load_scripts()
    ids = []
    for i in range(n):
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
        ids.append(out.order.order_id)
    return ids


async def store_bench(redis: Any, messages: int = 100_000, batch: int = 100) -> dict[str, float]:
    from connector.fix.codec import Template, frame
    from connector.store import SentRecordingStore
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


async def run(n: int) -> dict[str, Any]:
    import redis.asyncio as aioredis
    from support.procs import RedisServer

    from connector.config import ConnectorConfig
    from connector.service import Connector

    _pin(0)
    server = RedisServer(extra=["--io-threads", "1"]).start()
    redis = aioredis.Redis.from_url(server.url)
    ctx = mp.get_context("fork")
    port_q = ctx.Queue()
    go = ctx.Event()
    counts = ctx.Array("l", 2)
    venue = ctx.Process(target=venue_process, args=(port_q, go, counts), daemon=True)
    venue.start()
    port = port_q.get(timeout=20)
    try:
        t = time.perf_counter()
        await fill_streams(redis, n)
        fill_s = time.perf_counter() - t
        cfg = ConnectorConfig(
            port=port, redis_url=server.url, hours="always", heartbeat=30, reconcile=False
        )
        conn = Connector(cfg, redis)
        task = asyncio.create_task(conn.run())
        while not conn.session or not conn.session.logged_on:
            await asyncio.sleep(0.01)
        prof = None
        cpu0 = time.process_time()
        t0 = time.perf_counter()
        while counts[0] < n:
            await asyncio.sleep(0.001)
        out_s = time.perf_counter() - t0
        out_cpu = time.process_time() - cpu0
        if os.environ.get("OG_BENCH_PROFILE"):  # the inbound phase: where the time goes
            import cProfile

            prof = cProfile.Profile()
            prof.enable()
        rcpu0 = await _redis_cpu(redis)
        cpu0 = time.process_time()
        t0 = time.perf_counter()
        go.set()
        venue_s = None
        while conn.stats.applied < n:
            if venue_s is None and counts[1] >= n:
                venue_s = time.perf_counter() - t0
            await asyncio.sleep(0.001)
        in_s = time.perf_counter() - t0
        in_cpu = time.process_time() - cpu0
        redis_in_cpu = await _redis_cpu(redis) - rcpu0
        if prof is not None:
            import pstats

            prof.disable()
            pstats.Stats(prof).sort_stats("tottime").print_stats(30)
        conn.stop()
        await task
        store = await store_bench(redis)
    finally:
        venue.kill()
        await redis.aclose()
        server.stop()
    return {
        "orders": n,
        "submit_fill_s": round(fill_s, 2),
        "stream_to_wire_per_s": n / out_s,
        "stream_to_wire_per_cpu_s": n / out_cpu if out_cpu else None,
        "wire_to_redis_applied_per_s": n / in_s,
        "wire_to_redis_applied_per_cpu_s": n / in_cpu if in_cpu else None,
        "venue_reports_sent_per_s": n / venue_s if venue_s else None,
        "redis_cpu_us_per_report": round(redis_in_cpu / n * 1e6, 1),
        **store,
    }


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--orders", type=int, default=20_000)
    args = ap.parse_args()
    import uvloop

    uvloop.install()
    res = asyncio.run(run(args.orders))
    res["machine"] = {
        "cpus": os.cpu_count(),
        "python": platform.python_version(),
        "load": os.getloadavg(),
    }
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / "connector.json").write_text(json.dumps(res, indent=2))
    print(f"{'measure':<40}{'per second':>14}{'per CPU second':>16}")
    rows = [
        (
            "stream -> wire (write-ahead, XACK)",
            res["stream_to_wire_per_s"],
            res["stream_to_wire_per_cpu_s"],
        ),
        (
            "wire -> Redis applied (apply_report)",
            res["wire_to_redis_applied_per_s"],
            res["wire_to_redis_applied_per_cpu_s"],
        ),
        ("session store write (batches of 100)", res["store_write_msgs_per_s"], None),
        ("session store read (resend path)", res["store_read_msgs_per_s"], None),
    ]
    for name, v, c in rows:
        print(f"{name:<40}{v:>14,.0f}{(f'{c:,.0f}' if c else '-'):>16}")
    print(f"orders {res['orders']}, load average {res['machine']['load']}")


if __name__ == "__main__":
    main()
