"""Chaos harness: real redis-server (AOF, appendfsync always), ``ordergate simulator``,
``ordergate api`` and ``ordergate connector`` processes; a submitter that goes through the API; and
the checks every chaos test ends with (exactly once at the venue, final states equal, sequence
numbers never reset)."""

from __future__ import annotations

import asyncio
import os
import random
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import aiohttp
import redis.asyncio as aioredis
from support.api import ApiProcess, bearer
from support.connector_proc import ConnectorProcess
from support.procs import RedisServer, async_wait_until
from support.simulator_proc import SimulatorProcess

from gateway import keys

ACCOUNTS = [f"K{i:02d}" for i in range(40)]
SESSION = keys.session_id("ORDERGATE", "TSE")
PENDING = {"pending_new", "pending_cancel", "pending_replace"}


DEFAULT_ORDERS = 3_000  # every chaos test; the whole suite stays ~2-3 min on 2 busy cores


def size() -> int:
    """Orders per chaos test, the same for every test: ``OG_CHAOS_ORDERS`` (default
    ``DEFAULT_ORDERS``; ``OG_CHAOS_ORDERS=20000`` is the issue's full size)."""
    return int(os.environ.get("OG_CHAOS_ORDERS", DEFAULT_ORDERS))


def order(i: int, rng: random.Random) -> dict[str, Any]:
    """Buys and sells of 7203 around 2850 that cross each other: fills, partial fills and
    resting orders, all decided by the venue."""
    side = rng.choice(["buy", "sell"])
    px = 2850 + rng.randint(-6, 6)
    return {
        "account": ACCOUNTS[i % len(ACCOUNTS)],
        "client_order_id": f"x-{i}",
        "symbol": "7203",
        "side": side,
        "type": "limit",
        "quantity": 100 * rng.randint(1, 5),
        "price": str(px),
        "time_in_force": "day",
    }


@dataclass
class Stack:
    workdir: Path
    connectors: int = 1
    sim_args: tuple[str, ...] = ()
    connector_args: tuple[str, ...] = ()
    redis: RedisServer = field(default_factory=lambda: RedisServer(aof=True))
    sim: SimulatorProcess | None = None
    api: ApiProcess | None = None
    procs: list[ConnectorProcess] = field(default_factory=list)
    fix_port: int = 0  # where connectors connect (the simulator, or a proxy in front of it)

    def start(self, connectors: bool = True) -> Stack:
        self.redis.start()
        self.sim = SimulatorProcess("--phase", "continuous", *self.sim_args).start()
        self.api = ApiProcess(self.redis.url).start()
        self.fix_port = self.fix_port or self.sim.port
        if connectors:
            self.start_connectors()
        return self

    def start_connectors(self) -> None:
        for _ in range(self.connectors):
            self.procs.append(self.new_connector())

    def new_connector(self) -> ConnectorProcess:
        return ConnectorProcess(
            self.redis.url, self.fix_port, extra=list(self.connector_args)
        ).start()

    def stop(self) -> None:
        for p in self.procs:
            p.stop()
        if self.api:
            self.api.stop()
        if self.sim:
            self.sim.stop()
        self.redis.stop()

    def logs(self) -> str:
        return "\n".join(p.log()[-2500:] for p in self.procs[-2:])

    def client(self) -> aioredis.Redis:
        return aioredis.Redis.from_url(self.redis.url)


@dataclass
class SubmitStats:
    """What the submitter saw: answers by status code (``error`` = no answer: connection refused
    or dropped, timeout), and per order the answers in attempt order."""

    codes: Counter[str] = field(default_factory=Counter)
    done: int = 0  # orders answered 200 / 202 so far
    bodies: list[dict[str, Any]] = field(default_factory=list)
    answers: list[list[str]] = field(default_factory=list)


async def submit(
    url: str,
    n: int,
    seed: int,
    concurrency: int = 32,
    stats: SubmitStats | None = None,
    rate: float = 0.0,
) -> list[str]:
    """POST ``n`` orders through the API (retrying through Redis outages: the same
    client_order_id again is idempotent); returns the order ids in submit order. ``rate``
    (orders/s, 0 = as fast as it goes) spreads a small run over the faults' schedule."""
    rng = random.Random(seed)
    bodies = [order(i, rng) for i in range(n)]
    st = stats if stats is not None else SubmitStats()
    st.bodies = bodies
    st.answers = [[] for _ in range(n)]
    ids: list[str | None] = [None] * n
    headers = bearer(ACCOUNTS)
    todo = iter(range(n))
    start = time.monotonic()

    async def worker(session: aiohttp.ClientSession) -> None:
        for i in todo:
            if rate and (due := start + i / rate - time.monotonic()) > 0:
                await asyncio.sleep(due)  # the order's place in the submit schedule
            while True:
                try:
                    async with session.post("/v1/orders", json=bodies[i]) as r:
                        status = r.status
                        body = await r.json(content_type=None)
                except (TimeoutError, aiohttp.ClientError):
                    st.codes["error"] += 1
                    st.answers[i].append("error")
                    await asyncio.sleep(0.05)
                    continue
                st.codes[str(status)] += 1
                st.answers[i].append(str(status))
                if status in (503, 429):
                    await asyncio.sleep(0.05)
                    continue
                assert status in (200, 202), (status, body)
                ids[i] = body["order_id"]
                st.done += 1
                break

    timeout = aiohttp.ClientTimeout(total=30)
    async with aiohttp.ClientSession(url, headers=headers, timeout=timeout) as session:
        await asyncio.gather(*(worker(session) for _ in range(concurrency)))
    assert all(ids)
    return [i for i in ids if i]


async def statuses(client: aioredis.Redis, ids: list[str]) -> dict[str, tuple[str, int]]:
    from gateway.ids import partition_of_order_id

    out: dict[str, tuple[str, int]] = {}
    for lo in range(0, len(ids), 2000):
        chunk = ids[lo : lo + 2000]
        pipe = client.pipeline(transaction=False)
        for oid in chunk:
            pipe.hmget(keys.order(partition_of_order_id(oid), oid), ["status", "cum_qty"])
        for oid, (st, cum) in zip(chunk, await pipe.execute(), strict=True):
            out[oid] = (st.decode() if st else "missing", int(cum or 0))
    return out


SIM_STATUS = {"new": "new", "partially_filled": "partially_filled", "replaced": "new"}


def venue_view(sim: SimulatorProcess) -> dict[str, dict[str, Any]]:
    return {row["cl_ord_id"]: row for row in sim.get("/orders")["orders"]}


async def converged(
    stack: Stack, ids: list[str], timeout: float
) -> tuple[dict[str, tuple[str, int]], dict[str, dict[str, Any]]]:
    """Wait until every order is settled in Redis AND equal to the venue's view (status and
    filled quantity); returns both views (the last ones looked at, on timeout too)."""
    assert stack.sim is not None
    client = stack.client()
    last: dict[str, Any] = {}

    async def same() -> bool:
        ours = await statuses(client, ids)
        last["ours"] = ours
        if any(st in PENDING for st, _ in ours.values()):
            return False
        venue = await asyncio.to_thread(venue_view, stack.sim)  # type: ignore[arg-type]
        last["venue"] = venue
        for oid, (st, cum) in ours.items():
            v = venue.get(oid)
            if st in PENDING or v is None:
                return False
            if (
                SIM_STATUS.get(st, st) != SIM_STATUS.get(v["status"], v["status"])
                or cum != v["cum_qty"]
            ):
                return False
        return True

    try:
        await async_wait_until(same, timeout, "Redis and the venue to agree on every order")
    except TimeoutError:
        pass  # the caller's checks say what differs
    finally:
        await client.aclose()
    if "venue" not in last:
        last["venue"] = await asyncio.to_thread(venue_view, stack.sim)
    return last["ours"], last["venue"]


@dataclass
class Figures:
    orders: int = 0
    kills: int = 0
    lost: int = 0
    duplicates: int = 0
    poss_dup_copies: int = 0
    mismatched: int = 0
    recovery_s: list[float] = field(default_factory=list)
    elapsed_s: float = 0.0
    extra: dict[str, Any] = field(default_factory=dict)

    def show(self, name: str) -> None:
        rec = ", ".join(f"{r:.1f}" for r in self.recovery_s) or "-"
        print(
            f"\n[chaos] {name}: orders={self.orders} kills={self.kills} lost={self.lost} "
            f"duplicates={self.duplicates} possdup_copies={self.poss_dup_copies} "
            f"mismatched={self.mismatched} recovery_s=[{rec}] elapsed_s={self.elapsed_s:.1f} "
            + " ".join(f"{k}={v}" for k, v in self.extra.items())
        )


def check_exactly_once(
    ids: list[str],
    ours: dict[str, tuple[str, int]],
    venue: dict[str, dict[str, Any]],
    fig: Figures,
) -> None:
    """Every accepted order reached the venue exactly once (PossDup copies excepted and
    counted), nothing unknown arrived, and the final states agree."""
    fig.orders = len(ids)
    fig.lost = sum(1 for oid in ids if oid not in venue)
    # a copy without PossDupFlag is a new order to the venue: more than one is a duplicate.
    # An order may arrive only as a PossDup resend (written ahead, lost on the wire by the kill)
    fig.duplicates = sum(
        1
        for oid in ids
        if oid in venue and venue[oid]["received"] - venue[oid]["poss_dup_received"] > 1
    )
    fig.extra["arrived_only_as_resend"] = sum(
        1
        for oid in ids
        if oid in venue and venue[oid]["received"] == venue[oid]["poss_dup_received"]
    )
    fig.poss_dup_copies = sum(v["poss_dup_received"] for v in venue.values())
    fig.mismatched = sum(
        1
        for oid in ids
        if oid in venue
        and (
            SIM_STATUS.get(ours[oid][0], ours[oid][0])
            != SIM_STATUS.get(venue[oid]["status"], venue[oid]["status"])
            or ours[oid][1] != venue[oid]["cum_qty"]
        )
    )
    unknown = set(venue) - set(ids)
    fig.extra["unknown_at_venue"] = len(unknown)


def assert_exactly_once(fig: Figures) -> None:
    assert fig.lost == 0, f"{fig.lost} accepted orders never reached the venue"
    assert fig.duplicates == 0, f"{fig.duplicates} orders reached the venue twice as new orders"
    assert not fig.extra["unknown_at_venue"], "the venue saw ClOrdIDs nobody submitted"
    assert fig.mismatched == 0, f"{fig.mismatched} orders differ between Redis and the venue"


async def session_seqs(client: aioredis.Redis) -> tuple[int, int]:
    st = await client.hmget(keys.fix_state(SESSION), ["next_sender", "next_target"])
    return int(st[0] or 1), int(st[1] or 1)


async def wait_leader_logged_on(stack: Stack, since: float, timeout: float = 20.0) -> float:
    """Seconds from ``since`` until the venue sees the session logged on again."""
    assert stack.sim is not None

    def up() -> bool:
        return bool(stack.sim.session_state("ORDERGATE")["logged_on"])  # type: ignore[union-attr]

    await async_wait_until(lambda: asyncio.to_thread(up), timeout, "a connector to log on")
    return time.monotonic() - since


async def diagnose(stack: Stack, ids: list[str], venue: dict[str, dict[str, Any]]) -> str:
    """What became of orders the venue never saw: written ahead or not, still pending."""
    client = stack.client()
    try:
        lost = [oid for oid in ids if oid not in venue]
        sent = await client.hmget(keys.fix_sent(SESSION), lost[:2000]) if lost else []
        recorded = sum(1 for s in sent if s is not None)
        pending = lag = 0
        for p in range(16):
            name = keys.cmd_stream(p, "TSE")
            if await client.exists(name):
                for g in await client.xinfo_groups(name):
                    pending += int(g.get("pending", 0))
                    lag += int(g.get("lag") or 0)
        seqs = [int(s) for s in sent if s is not None]
        state = await client.hgetall(keys.fix_state(SESSION))
        status = await client.hgetall(keys.fix_status(SESSION))
        return (
            f"lost={len(lost)} recorded_as_sent={recorded} seq_range="
            f"{(min(seqs), max(seqs)) if seqs else None} stream_pending={pending} lag={lag} "
            f"state={state} status={status}"
        )
    finally:
        await client.aclose()


async def check_orders_exist_once(
    client: aioredis.Redis, ids: list[str], stats: SubmitStats
) -> dict[str, int]:
    """Redis holds exactly one order (record, command entry, idempotency key) per submitted
    client_order_id, whatever answers its attempts got (202, 503 then 202 / 200, no answer)."""
    from gateway.ids import partition_of_order_id

    records = entries = 0
    for p in range(keys.DEFAULT_PARTITIONS):
        records += len([k async for k in client.scan_iter(match=keys.order(p, "*"), count=1000)])
        entries += int(await client.xlen(keys.cmd_stream(p, "TSE")))
    idem: list[bytes | None] = []
    for lo in range(0, len(ids), 2000):
        pipe = client.pipeline(transaction=False)
        for b in stats.bodies[lo : lo + 2000]:
            p = keys.partition_of(b["account"])
            pipe.get(keys.idempotency(p, b["account"], b["client_order_id"]))
        idem += await pipe.execute()
    wrong = [
        (b["client_order_id"], oid, got)
        for b, oid, got in zip(stats.bodies, ids, idem, strict=True)
        if got is None or got.decode() != oid
    ]
    assert len(set(ids)) == len(ids), "two client_order_ids got the same order id"
    assert all(
        keys.partition_of(b["account"]) == partition_of_order_id(oid)
        for b, oid in zip(stats.bodies, ids, strict=True)
    )
    assert not wrong, f"{len(wrong)} client_order_ids map to another order: {wrong[:5]}"
    assert (records, entries) == (len(ids), len(ids)), (
        f"{records} order records and {entries} command entries for {len(ids)} orders"
    )
    return {"records": records, "entries": entries}


@dataclass
class SeqSampler:
    """Samples the session's next outbound / inbound sequence numbers during a run, from Redis
    (``keys.fix_state``) and from the venue (simulator ``GET /state``), so a test can assert
    they never went back and never reset to 1 — at any moment, not only at the end."""

    stack: Stack
    period: float = 0.1
    series: dict[str, list[int]] = field(
        default_factory=lambda: {"redis_out": [], "redis_in": [], "venue_in": [], "venue_out": []}
    )
    unavailable: int = 0  # samples skipped (Redis down or loading, simulator busy)
    _task: asyncio.Task[None] | None = None
    _stop: asyncio.Event = field(default_factory=asyncio.Event)

    async def __aenter__(self) -> SeqSampler:
        self._task = asyncio.create_task(self._run())
        return self

    async def __aexit__(self, *exc: object) -> None:
        # stopped by a flag, not by cancelling: redis-py can turn a cancel that lands inside a
        # command with a socket timeout into a TimeoutError, which the loop would survive
        self._stop.set()
        if self._task is not None:
            await asyncio.wait_for(self._task, 15)

    async def _run(self) -> None:
        client = aioredis.Redis.from_url(
            self.stack.redis.url, socket_timeout=1, socket_connect_timeout=1
        )
        try:
            while not self._stop.is_set():
                await self.sample(client)
                try:  # the sampling period (or the stop), not a synchronisation
                    await asyncio.wait_for(self._stop.wait(), self.period)
                except TimeoutError:
                    pass
        finally:
            await client.aclose()

    async def sample(self, client: aioredis.Redis) -> None:
        try:
            st = await client.hmget(keys.fix_state(SESSION), ["next_sender", "next_target"])
            if st[0] is not None and st[1] is not None:
                self.series["redis_out"].append(int(st[0]))
                self.series["redis_in"].append(int(st[1]))
        except Exception:  # redis-py's ConnectionError / BusyLoadingError / TimeoutError
            self.unavailable += 1
        try:
            assert self.stack.sim is not None
            venue = await asyncio.to_thread(self.stack.sim.session_state, "ORDERGATE")
            self.series["venue_in"].append(int(venue["next_inbound_seq"]))
            self.series["venue_out"].append(int(venue["next_outbound_seq"]))
        except Exception:  # the control API timed out under load: skip this sample
            self.unavailable += 1

    def figures(self) -> dict[str, Any]:
        return {
            "seq_samples": len(self.series["redis_out"]) + len(self.series["venue_in"]),
            "seq_out": f"{self.first('redis_out')}->{self.last('redis_out')}",
            "seq_in": f"{self.first('redis_in')}->{self.last('redis_in')}",
        }

    def first(self, name: str) -> int | None:
        return self.series[name][0] if self.series[name] else None

    def last(self, name: str) -> int | None:
        return self.series[name][-1] if self.series[name] else None

    def assert_never_back_nor_reset(self, min_out: int) -> None:
        """Every series was sampled, never decreased, never came back to 1; the final outbound
        number (ours and the venue's expectation) is past ``min_out`` (one message per order)."""
        for name, values in self.series.items():
            assert len(values) >= 2, f"{name}: too few samples ({len(values)})"
            back = [(a, b) for a, b in zip(values, values[1:], strict=False) if b < a]
            assert not back, f"{name} went back (a reset to 1 is a step back): {back[:5]}"
        for name in ("redis_out", "venue_in", "venue_out"):  # the Logons took number 1
            assert min(self.series[name]) > 1, f"{name} was 1 after logon: {self.series[name][:5]}"
        assert (self.last("redis_out") or 0) > min_out, "outbound sequence numbers were reset"
        assert (self.last("venue_in") or 0) > min_out, "the venue's inbound numbers were reset"


def pace(n: int, seconds: float) -> float:
    """Submit rate that spreads ``n`` orders over about ``seconds`` (the faults' schedule), so
    every fault hits orders in flight; a full-size run (``OG_CHAOS_ORDERS=20000``) goes flat out
    anyway."""
    return n / seconds


def fault_points(n: int, faults: int, rng: random.Random) -> list[float]:
    """Accepted-order counts at which to strike: one at a random point of each of ``faults``
    equal slices of the first 90% of the run, so every fault lands while orders flow."""
    return [(k + rng.uniform(0.2, 0.8)) / faults * 0.9 * n for k in range(faults)]


async def progress_reached(stats: SubmitStats, count: float, timeout: float = 120) -> None:
    async def reached() -> bool:
        return stats.done >= count

    await async_wait_until(reached, timeout, f"{int(count)} orders accepted")


async def finish(
    stack: Stack,
    ids: list[str],
    fig: Figures,
    name: str,
    t0: float,
    seqs: SeqSampler,
    stats: SubmitStats,
) -> None:
    """The checks every chaos test ends with: exactly once at the venue, final states equal,
    one order per client_order_id in Redis, sequence numbers never back nor reset."""
    ours, venue = await converged(stack, ids, timeout=120)
    fig.elapsed_s = time.monotonic() - t0
    check_exactly_once(ids, ours, venue, fig)
    fig.extra.update(seqs.figures())
    fig.extra["answers"] = dict(sorted(stats.codes.items()))
    fig.show(name)
    if fig.lost or fig.mismatched:
        print(await diagnose(stack, ids, venue))
        print(stack.logs())
    assert_exactly_once(fig)
    client = stack.client()
    try:
        await check_orders_exist_once(client, ids, stats)
    finally:
        await client.aclose()
    seqs.assert_never_back_nor_reset(min_out=len(ids))
