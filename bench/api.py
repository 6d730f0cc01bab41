"""Order API benchmark: open-loop POST /v1/orders at fixed rates against one ``ordergate api``.

One API process pinned to CPU 0 (``taskset``); redis-server and this load generator on CPU 1.
The generator is open-loop: request k is due at ``start + k / rate`` and is sent then whether or
not earlier answers came back (HTTP/1.1 pipelining over a fixed set of keep-alive connections),
and its latency is measured from when it was DUE, so a stalled server is charged for the wait
(no coordinated omission). The same answers are also timed from when their request was written
("sent" percentiles): that leaves out the generator's own lateness (1 ms ticks, waiting for CPU 1
behind Redis), which a client on its own machine does not have; a server that stops reading is
still charged, since the write is timed when it is handed to the socket. Each rate runs on a flushed Redis with distinct orders spread over
20 accounts (the development risk limits never throttle it).

Reported per rate: offered and accepted orders/s (202 answers per second of the run), errors,
accept latency p50 / p99 / p99.9 in milliseconds, and what bounds the result: the API's CPU
microseconds per accepted order (user + system of its process), Redis's (its process, and
EVALSHA's own usec per call from INFO commandstats), the generator's, and the idle share of
CPU 0 during the run (idle CPU 0 at saturation: the API is waiting, not working).

    .venv/bin/python -m bench.api [--rates 1000,2000,4000,6000,8000,10000,12000] [--seconds 3] [--aof]
        [--connections 512] [--out bench/results/api.json]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import platform
import subprocess
import sys
import time
import urllib.request
from collections import deque
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import redis
import uvloop

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests"))

from support.api import ApiProcess  # noqa: E402
from support.procs import RedisServer  # noqa: E402

from gateway.auth import mint_token  # noqa: E402
from simulators.loadgen.framing import next_answer  # noqa: E402

RESULTS = ROOT / "bench" / "results"
ACCOUNTS = [f"B{i:02d}" for i in range(20)]
# enough connections that the bench measures the server, not how many requests 128 pipelines
# keep in flight (a fleet of app clients holds many connections)
CONNECTIONS = 512


class _Conn(asyncio.Protocol):
    """One keep-alive connection; answers come back in request order (HTTP/1.1 pipelining)."""

    def __init__(self, sink: _Sink) -> None:
        self.sink = sink
        self.buf = bytearray()
        self.due: deque[tuple[float, float]] = deque()  # (due, written) per request
        self.transport: asyncio.Transport | None = None
        self.lost = False

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]

    def connection_lost(self, exc: Exception | None) -> None:
        self.lost = True
        self.sink.errors += len(self.due)
        self.due.clear()

    def send(self, data: list[bytes], due: list[float]) -> None:
        """Several pipelined requests in one write (one syscall per connection per tick)."""
        assert self.transport is not None
        sent = time.perf_counter()
        self.due.extend((d, sent) for d in due)
        self.transport.write(b"".join(data))

    def data_received(self, data: bytes) -> None:
        self.buf += data
        buf = self.buf
        pos = 0
        now = time.perf_counter()
        while (answer := next_answer(buf, pos)) is not None:
            status, _, pos = answer
            due, sent = self.due.popleft()
            self.sink.record(status, now - due, now - sent)
        if pos:
            del buf[:pos]


class _Sink:
    def __init__(self) -> None:
        self.latencies: list[float] = []  # from when each request was due
        self.from_send: list[float] = []  # from when it was written
        self.statuses: dict[int, int] = {}
        self.errors = 0
        self.recording = True

    def record(self, status: int, from_due: float, from_send: float) -> None:
        if not self.recording:
            return
        self.statuses[status] = self.statuses.get(status, 0) + 1
        if status == 202:
            self.latencies.append(from_due)
            self.from_send.append(from_send)

    @property
    def answered(self) -> int:
        return sum(self.statuses.values())


def _request(port: int, token: str, run: str, k: int) -> bytes:
    account = ACCOUNTS[k % len(ACCOUNTS)]
    body = (
        f'{{"account":"{account}","client_order_id":"{run}-{k}","symbol":"7203","side":"buy",'
        '"type":"limit","quantity":100,"price":"2850","time_in_force":"day"}'
    ).encode()
    return (
        b"POST /v1/orders HTTP/1.1\r\nHost: 127.0.0.1:%d\r\nAuthorization: Bearer %s\r\n"
        b"Content-Type: application/json\r\nContent-Length: %d\r\n\r\n%s"
        % (port, token.encode(), len(body), body)
    )


async def _run_rate(port: int, token: str, rate: int, seconds: float, run: str) -> dict[str, Any]:
    loop = asyncio.get_running_loop()
    sink = _Sink()
    conns = []
    for _ in range(CONNECTIONS):
        _, proto = await loop.create_connection(lambda: _Conn(sink), "127.0.0.1", port)
        conns.append(proto)
    total = int(rate * seconds)
    requests = [_request(port, token, run, k) for k in range(total)]  # built before the clock
    start = time.perf_counter() + 0.05
    k = 0
    while k < total:
        now = time.perf_counter()
        batch: dict[int, tuple[list[bytes], list[float]]] = {}
        while k < total and start + k / rate <= now:
            data, due = batch.setdefault(k % CONNECTIONS, ([], []))
            data.append(requests[k])
            due.append(start + k / rate)
            k += 1
        for c, (data, due) in batch.items():
            conns[c].send(data, due)
        if k < total:
            # wake at the next due time, at least 1 ms on: the event loop's timers have
            # millisecond resolution (shorter sleeps spin), and a tick then carries several
            # requests. A request sent up to 1 ms late is charged that delay in its latency.
            await asyncio.sleep(max(0.001, start + k / rate - time.perf_counter()))
    deadline = time.perf_counter() + 10
    while sink.answered + sink.errors < total and time.perf_counter() < deadline:
        await asyncio.sleep(0.01)
    elapsed = time.perf_counter() - start
    for c in conns:
        if c.transport is not None:
            c.transport.close()
    lat = sorted(sink.latencies)
    sent_lat = sorted(sink.from_send)

    def pct(q: float, lat: list[float] = lat) -> float:
        return round(lat[min(len(lat) - 1, int(q * len(lat)))] * 1000, 3) if lat else float("nan")

    accepted = sink.statuses.get(202, 0)
    return {
        "offered_per_s": rate,
        "seconds": round(seconds, 2),
        "sent": total,
        "accepted": accepted,
        "accepted_per_s": round(accepted / max(seconds, elapsed - 0.05), 1),
        "other_statuses": {str(s): n for s, n in sink.statuses.items() if s != 202},
        "unanswered": total - sink.answered,
        "p50_ms": pct(0.50),
        "p99_ms": pct(0.99),
        "p999_ms": pct(0.999),
        "max_ms": round(lat[-1] * 1000, 3) if lat else float("nan"),
        # the same answers timed from when the request was written: without the generator's
        # own lateness (its 1 ms ticks, waiting for CPU 1), which a client elsewhere never has
        "sent_p50_ms": pct(0.50, sent_lat),
        "sent_p99_ms": pct(0.99, sent_lat),
        "sent_p999_ms": pct(0.999, sent_lat),
    }


async def _core_us_per_order(redis_url: str, n: int = 20_000) -> float:
    """CPU microseconds per order of the API's work without HTTP, in this process: JSON body
    -> ``parse_new_order`` -> ``OrderGateway.submit`` (real Redis, 128 at a time, as the
    batcher sees them under load) -> the answer's JSON bytes. The rest of the API's CPU per
    order is uvicorn, httptools and the event loop."""
    import redis.asyncio as aioredis

    from gateway.config import GatewayConfig
    from gateway.orders import OrderGateway
    from gateway.refdata import ReferenceData
    from stateless_api.parsing import parse_json_object, parse_new_order
    from stateless_api.presenters import outcome_body

    client = aioredis.Redis.from_url(redis_url)
    gw = OrderGateway(client, GatewayConfig(), ReferenceData.load())
    await gw.load_scripts()
    bodies = [_request(0, "", "core", k).split(b"\r\n\r\n", 1)[1] for k in range(2 * n)]

    async def one(body: bytes) -> bytes:
        outcome = await gw.submit(parse_new_order(parse_json_object(body)), process="bench")
        return outcome_body(outcome)

    took = 0.0
    for half in (bodies[:n], bodies[n:]):  # the first half warms up
        t0 = time.process_time()
        for i in range(0, n, 128):
            await asyncio.gather(*(one(b) for b in half[i : i + 128]))
        took = time.process_time() - t0
    await client.aclose()
    return took / n * 1e6


def _cpu_seconds(pid: int) -> float:
    """User + system CPU time of a process so far (Linux /proc)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _cpu_idle(cpu: int) -> tuple[int, int]:
    """(idle + iowait, total) jiffies of one CPU so far (Linux /proc/stat)."""
    for line in Path("/proc/stat").read_text().splitlines():
        if line.startswith(f"cpu{cpu} "):
            ticks = [int(x) for x in line.split()[1:]]
            return ticks[3] + ticks[4], sum(ticks)
    return 0, 0


def _evalsha(r: redis.Redis) -> tuple[int, int, int]:
    """(calls, usec) of EVALSHA and Redis's read events so far (INFO commandstats, stats); the
    API sends each batch of script calls in one write, so calls / reads is about the mean
    batch size (the generator's connection is not Redis's)."""
    stats = r.info("commandstats").get("cmdstat_evalsha", {})
    reads = int(r.info("stats").get("total_reads_processed", 0))
    return int(stats.get("calls", 0)), int(stats.get("usec", 0)), reads


def _cpu_split(pid: int) -> tuple[float, float]:
    """(user, system) CPU seconds of a process so far (Linux /proc)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    tck = os.sysconf("SC_CLK_TCK")
    return int(fields[11]) / tck, int(fields[12]) / tck


def _pin(pid: int, cpu: int) -> None:
    subprocess.run(["taskset", "-p", "-c", str(cpu), str(pid)], capture_output=True, check=False)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--rates", default="1000,2000,4000,6000,8000,10000,12000")
    ap.add_argument("--seconds", type=float, default=3.0)
    ap.add_argument("--aof", action="store_true", help="Redis with AOF appendfsync always")
    ap.add_argument("--connections", type=int, default=512)
    ap.add_argument("--out", default=str(RESULTS / "api.json"), help="where the JSON goes")
    args = ap.parse_args()
    global CONNECTIONS  # noqa: PLW0603 - one run, one setting
    CONNECTIONS = args.connections
    rates = [int(r) for r in args.rates.split(",")]
    two_cores = (os.cpu_count() or 1) >= 2

    server = RedisServer(aof=args.aof).start()
    api = ApiProcess(server.url, cpu=0 if two_cores else None)
    try:
        if two_cores and server.proc is not None:
            _pin(server.proc.pid, 1)
            os.sched_setaffinity(0, {1})
        api.start()
        token = mint_token("bench", ACCOUNTS, ("trade", "read"))
        r = redis.Redis(port=server.port)
        rows = []
        # warm-up (not reported): imports, JIT-free paths, connection set-up
        uvloop.run(_run_rate(api.port, token, 1000, 1.0, "warm"))
        assert api.proc is not None
        for rate in rates:
            r.flushall()
            r.config_resetstat()
            reads0 = _evalsha(r)[2]
            split0 = _cpu_split(api.proc.pid)
            cpu0 = _cpu_seconds(api.proc.pid)
            redis0 = _cpu_seconds(server.proc.pid) if server.proc is not None else 0.0
            gen0 = time.process_time()
            idle0, other0 = _cpu_idle(0), _cpu_idle(1)
            row = uvloop.run(_run_rate(api.port, token, rate, args.seconds, f"r{rate}"))
            idle1, other1 = _cpu_idle(0), _cpu_idle(1)
            gen = time.process_time() - gen0
            redis_cpu = (_cpu_seconds(server.proc.pid) if server.proc is not None else 0) - redis0
            cpu = _cpu_seconds(api.proc.pid) - cpu0
            split1 = _cpu_split(api.proc.pid)
            calls, usec, reads = _evalsha(r)
            n = row["accepted"]
            # CPU the API process spent per accepted order: its capacity on a core of its own,
            # whatever else the shared machine was doing meanwhile
            row["api_cpu_s"] = round(cpu, 2)
            row["api_cpu_us_per_order"] = round(cpu / n * 1e6, 1) if n else None
            row["orders_per_api_cpu_s"] = round(n / cpu) if cpu else None
            # what else bounds the result: Redis and this generator share CPU 1
            row["redis_cpu_us_per_order"] = round(redis_cpu / n * 1e6, 1) if n else None
            row["evalsha_usec_per_call"] = round(usec / calls, 1) if calls else None
            row["mean_batch"] = round(calls / (reads - reads0), 1) if reads > reads0 else None
            # the API's system share: loopback send / recv is charged to the sender
            row["api_system_share"] = round((split1[1] - split0[1]) / cpu, 2) if cpu else None
            row["generator_cpu_us_per_order"] = round(gen / n * 1e6, 1) if n else None
            ticks = idle1[1] - idle0[1]
            row["cpu0_idle_share"] = round((idle1[0] - idle0[0]) / ticks, 3) if ticks else None
            # CPU 1 (Redis + generator): no idle there while CPU 0 idles means they bound it
            ticks1 = other1[1] - other0[1]
            row["cpu1_idle_share"] = round((other1[0] - other0[0]) / ticks1, 3) if ticks1 else None
            rows.append(row)
        r.flushall()
        core_us = uvloop.run(_core_us_per_order(server.url))
        r.flushall()
        r.close()
        scrape = urllib.request.Request(
            f"{api.url}/metrics",
            headers={"Authorization": f"Bearer {mint_token('bench', [], ('ops',))}"},
        )
        with urllib.request.urlopen(scrape, timeout=5) as resp:
            gc_counts = {
                line.split('"')[1]: int(line.rsplit(" ", 1)[1])
                for line in resp.read().decode().splitlines()
                if line.startswith("ordergate_api_gc_collections_total{")
            }
    finally:
        api.stop()
        server.stop()

    load = os.getloadavg()
    result = {
        "benchmark": "api",
        "at": datetime.now(UTC).isoformat(timespec="seconds"),
        "machine": {
            "cpus": os.cpu_count(),
            "python": platform.python_version(),
            "loadavg_1m_at_end": round(load[0], 2),
        },
        "setup": {
            "api": "1 process, uvicorn + uvloop + httptools, taskset CPU 0",
            "redis": f"redis-server on CPU 1, AOF {'always' if args.aof else 'off'}",
            "generator": f"open loop, {CONNECTIONS} pipelined keep-alive connections, CPU 1",
            "order": "limit buy 100 x 7203 @ 2850, 20 accounts, distinct client_order_id",
        },
        "rates": rows,
        "core_cpu_us_per_order": round(core_us, 1),
        "core_note": "parse + validate + OrderGateway.submit + answer JSON, no HTTP, in-process",
        "api_gc_collections_by_generation": gc_counts,
    }
    out = Path(args.out)
    out.parent.mkdir(exist_ok=True)
    out.write_text(json.dumps(result, indent=2) + "\n")
    print(f"API submit, open loop ({result['setup']['redis']}; load avg {load[0]:.2f})")
    print(f"API garbage collections during the whole run, by generation: {gc_counts}")
    print(f"without HTTP (parse + validate + submit + answer JSON): {core_us:.1f} us CPU per order")
    print(
        f"{'offered/s':>10} {'accepted/s':>11} {'p50 ms':>8} {'p99 ms':>8} {'p99.9 ms':>9} "
        f"{'sent p50':>9} {'sent p99':>9} {'sent p99.9':>11} {'orders/API-CPU-s':>17} {'API us':>7} {'Redis us':>9} {'evalsha us':>11} "
        f"{'gen us':>7} {'CPU0 idle':>10} {'CPU1 idle':>10} {'batch':>6} {'API sys':>8} "
        f"{'other':>12}"
    )
    for row in rows:
        other = ",".join(f"{k}:{v}" for k, v in row["other_statuses"].items()) or "-"
        if row["unanswered"]:
            other += f" unanswered:{row['unanswered']}"
        print(
            f"{row['offered_per_s']:>10} {row['accepted_per_s']:>11} {row['p50_ms']:>8} "
            f"{row['p99_ms']:>8} {row['p999_ms']:>9} {row['sent_p50_ms']:>9} "
            f"{row['sent_p99_ms']:>9} {row['sent_p999_ms']:>11} {row['orders_per_api_cpu_s']!s:>17} "
            f"{row['api_cpu_us_per_order']!s:>7} {row['redis_cpu_us_per_order']!s:>9} "
            f"{row['evalsha_usec_per_call']!s:>11} {row['generator_cpu_us_per_order']!s:>7} "
            f"{row['cpu0_idle_share']!s:>10} {row['cpu1_idle_share']!s:>10} {row['mean_batch']!s:>6} "
            f"{row['api_system_share']!s:>8} {other:>12}"
        )


if __name__ == "__main__":
    main()
