"""Chaos harness: real redis-server (AOF, appendfsync always), ``ordergate simulator``,
``ordergate api`` and ``ordergate connector`` processes; a submitter that goes through the API; and
the checks every chaos test ends with (exactly once at the venue, final states equal, sequence
numbers never reset)."""

from __future__ import annotations

import asyncio
import os
import random
import time
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


def size(default: int) -> int:
    """Orders per chaos test: ``OG_CHAOS_ORDERS`` overrides every test's default."""
    return int(os.environ.get("OG_CHAOS_ORDERS", default))


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


async def submit(url: str, n: int, seed: int, concurrency: int = 32) -> list[str]:
    """POST ``n`` orders through the API (retrying through Redis outages: the same
    client_order_id again is idempotent); returns the order ids in submit order."""
    rng = random.Random(seed)
    bodies = [order(i, rng) for i in range(n)]
    ids: list[str | None] = [None] * n
    headers = bearer(ACCOUNTS)
    todo = iter(range(n))

    async def worker(session: aiohttp.ClientSession) -> None:
        for i in todo:
            while True:
                try:
                    async with session.post("/v1/orders", json=bodies[i]) as r:
                        status = r.status
                        body = await r.json(content_type=None)
                except (TimeoutError, aiohttp.ClientError):
                    await asyncio.sleep(0.05)
                    continue
                if status in (503, 429):
                    await asyncio.sleep(0.05)
                    continue
                assert status in (200, 202), (status, body)
                ids[i] = body["order_id"]
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
