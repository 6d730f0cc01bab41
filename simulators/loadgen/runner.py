"""Generators in parallel: each runs its share of the schedule and accounts on its own event
loop (a process each with ``--processes N``; a thread when N is 1), and the coordinator starts
them together, passes the once-a-second ticks to the progress line and merges their results.

A generator's life, driven by messages (``multiprocessing`` queues both ways):

    ready  -> (start EPOCH) -> leg 0 sent and drained -> leg ...   -> result
    -> coordinator           <- coordinator                  -> coordinator

Between legs the coordinator may act (the open-burst rehearsal opens the market there).
Every generator connects and opens its live update subscriptions BEFORE it says ready, so the
stream misses nothing of the load.
"""

from __future__ import annotations

import asyncio
import multiprocessing
import queue
import signal
import threading
import time
import traceback
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from .driver import Driver, Unreachable, parse_url
from .latency import encode
from .profiles import RateSchedule, Share, make_requests
from .report import RunData
from .stages import Dispatcher, StageTracker
from .stream import StreamClient, subscribe

TICK_SECONDS = 1.0


@dataclass(frozen=True)
class ShardSpec:
    """What one generator does (picklable: it crosses into a new process)."""

    index: int
    count: int
    url: str
    token: str
    profile: str
    accounts: tuple[str, ...]
    run_id: str
    seed: int
    connections: int
    drain_timeout: float
    legs: tuple[RateSchedule, ...]  # the whole run's schedules; this generator takes its Share
    stream: bool = True
    subscribe_per_account: bool = False  # a given --token: one subscription per account
    keep_orders: bool = False
    min_target_age: int = 1
    leg_names: tuple[str, ...] = ("load",)


@dataclass
class Tick:
    """One generator's state at the end of a second of the run."""

    index: int
    second: int
    due: int  # requests due in that second
    sent: int  # totals so far
    answered: int
    ok: int  # 2xx answers in that second
    errors: int
    in_flight: int
    awaiting: int  # accepted orders not acknowledged yet, changes not answered yet
    stage_hists: dict[str, bytes] = field(default_factory=dict)  # that second's, encoded


def _tick(spec: ShardSpec, driver: Driver, trackers: list[StageTracker], second: int) -> Tick:
    d = driver.data
    hists: dict[str, bytes] = {}
    for t in trackers:
        for stage, h in (t.per_second.get(second) or {}).items():
            if h.get_total_count():
                hists[stage] = encode(h)  # the current tracker's wins; fine for a progress line
    return Tick(
        spec.index,
        second,
        d.due_per_s[second] if second < len(d.due_per_s) else 0,
        d.sent,
        d.answered,
        d.ok_per_s[second] if second < len(d.ok_per_s) else 0,
        sum(d.error_codes.values()) + d.connection_errors,
        driver.in_flight,
        sum(t.pending for t in trackers),
        hists,
    )


def _leg_facts(name: str, tracker: StageTracker, start: float, t0: float) -> dict[str, Any]:
    """What a leg's orders did, in seconds from the run's start (merged: min / max / sum)."""
    last = tracker.last_seen
    return {
        "phase": name,
        "orders_accepted": tracker.hist["accept"].get_total_count(),
        "acked": tracker.hist["ack"].get_total_count(),
        "filled": tracker.hist["fill"].get_total_count(),
        "first_due_s": round(start - t0, 3),
        "last_ack_s": round(last["ack"] - t0, 3) if "ack" in last else None,
        "last_fill_s": round(last["fill"] - t0, 3) if "fill" in last else None,
        "stages": {s: encode(h) for s, h in tracker.hist.items()},
    }


async def _open_streams(spec: ShardSpec, driver: Driver, on_event: Any) -> list[StreamClient]:
    if not spec.stream:
        return []
    if spec.subscribe_per_account:
        return [
            await subscribe(driver.target, spec.token, on_event, account)
            for account in spec.accounts
        ]
    return [await subscribe(driver.target, spec.token, on_event)]


async def _shard(spec: ShardSpec, out: Any, inbox: Any) -> dict[str, Any]:
    loop = asyncio.get_running_loop()
    target = parse_url(spec.url)
    trackers = [StageTracker(keep_orders=spec.keep_orders, watch=spec.stream)]
    dispatch = Dispatcher(trackers[0])
    driver = Driver(
        target, spec.token, spec.connections, trackers[0], keep_order_ids=spec.profile == "mixed"
    )
    await driver.connect()
    streams = await _open_streams(spec, driver, dispatch.event)
    requests = make_requests(
        spec.profile, spec.accounts, spec.run_id, spec.seed, spec.min_target_age
    )
    out.put(("ready", spec.index, None))
    cpu0 = time.process_time()
    t0 = 0.0
    ticker: asyncio.Task[None] | None = None
    starts: list[float] = []
    for n, schedule in enumerate(spec.legs):
        epoch = await loop.run_in_executor(None, inbox.get)
        start = time.perf_counter() + (epoch - time.time())
        if n == 0:
            t0 = start
            driver.set_zero(t0)
            trackers[0].t0 = t0
            ticker = loop.create_task(_ticker(spec, driver, trackers, out, t0))
        else:  # a new phase: its orders timed apart
            tracker = StageTracker(t0=t0, keep_orders=spec.keep_orders, watch=spec.stream)
            trackers.append(tracker)
            dispatch.trackers.append(tracker)
            driver.rec.tracker = tracker
        await driver.run(requests, Share(schedule, spec.index, spec.count), start)
        await driver.drain(spec.drain_timeout)
        starts.append(start)
        out.put(("leg", spec.index, n))
    data = driver.data
    data.wall_seconds = time.perf_counter() - t0
    data.generator_cpu_seconds = time.process_time() - cpu0
    if ticker is not None:
        ticker.cancel()
    driver.close()
    for s in streams:
        s.close()
    data.take_stages(trackers[-1])
    for t in trackers[:-1]:  # earlier phases: their per-second figures join the timeline
        for sec, per in t.per_second.items():
            mine = data.stage_seconds.setdefault(sec, {})
            for stage, h in per.items():
                if stage in mine:
                    mine[stage].add(h)
                else:
                    mine[stage] = h
        data.orders.extend((oid, x.accept, x.ack, x.fill, x.done) for oid, x in t.orders.items())
        data.add_counts(t)
    if len(spec.legs) > 1:  # at the end: a backlog's fills come after the market opens
        data.phases = [
            _leg_facts(name, t, start, t0)
            for name, t, start in zip(spec.leg_names, trackers, starts, strict=True)
        ]
    return data.to_wire()


async def _ticker(
    spec: ShardSpec, driver: Driver, trackers: list[StageTracker], out: Any, t0: float
) -> None:
    second = 0
    while True:
        await asyncio.sleep(max(0.0, t0 + (second + 1) * TICK_SECONDS - time.perf_counter()))
        out.put(("tick", spec.index, _tick(spec, driver, trackers, second)))
        second += 1


def worker_main(spec: ShardSpec, out: Any, inbox: Any) -> None:
    """A generator's entry point (process or thread): its result or its error on ``out``.
    A generator process ignores Ctrl-C: the command handles it and stops the generators."""
    if multiprocessing.parent_process() is not None:
        signal.signal(signal.SIGINT, signal.SIG_IGN)
    try:
        import uvloop

        runner = asyncio.Runner(loop_factory=uvloop.new_event_loop)
    except ImportError:
        runner = asyncio.Runner()
    try:
        with runner:
            out.put(("result", spec.index, runner.run(_shard(spec, out, inbox))))
    except (Unreachable, ConnectionError, OSError) as exc:
        out.put(("error", spec.index, str(exc)))
    except Exception:  # noqa: BLE001 - a generator's bug must reach the user, not hang the run
        out.put(("error", spec.index, traceback.format_exc()))


class GeneratorFailed(Exception):
    """A generator could not run (its message says why)."""


class Coordinator:
    """Runs ``specs`` (one generator each) to the end. ``on_tick(second, [Tick])`` is called
    once a second with every generator's tick for that second; ``between_legs(n)`` after leg n
    of every generator is drained (it may block, e.g. to open the market)."""

    def __init__(
        self,
        specs: list[ShardSpec],
        on_tick: Callable[[int, list[Tick]], None] | None = None,
        between_legs: Callable[[int], None] | None = None,
        start_delay: float = 0.2,
    ) -> None:
        self.specs = specs
        self.on_tick = on_tick
        self.between_legs = between_legs
        self.start_delay = start_delay
        processes = len(specs) > 1
        ctx = multiprocessing.get_context("spawn")
        self.out: Any = ctx.Queue() if processes else queue.Queue()
        self.inboxes: list[Any] = [ctx.Queue() if processes else queue.Queue() for _ in specs]
        make: Any = ctx.Process if processes else threading.Thread
        self.workers = [
            make(target=worker_main, args=(s, self.out, box), daemon=True)
            for s, box in zip(specs, self.inboxes, strict=True)
        ]
        self.ticks: dict[int, list[Tick]] = {}
        self.epochs: list[float] = []  # when each leg started (time.time())
        self.early: list[tuple[str, int, Any]] = []  # messages that came before their turn

    def _wait(self, kind: str, timeout: float) -> dict[int, Any]:
        """Every generator's next ``kind`` message (ticks passed on meanwhile)."""
        got: dict[int, Any] = {}
        early, self.early = (
            [m for m in self.early if m[0] == kind],
            [m for m in self.early if m[0] != kind],
        )
        for _, index, payload in early:
            got[index] = payload
        deadline = time.monotonic() + timeout
        while len(got) < len(self.specs):
            try:
                what, index, payload = self.out.get(timeout=0.5)
            except queue.Empty:
                self._check_alive()
                if time.monotonic() >= deadline:
                    raise GeneratorFailed(f"generators silent for {timeout:g} s") from None
                continue
            if what == "error":
                raise GeneratorFailed(str(payload))
            if what == "tick":
                self._tick(payload)
            elif what == kind:
                got[index] = payload
            else:  # a generator ahead of the others: its next message, kept for later
                self.early.append((what, index, payload))
        return got

    def _check_alive(self) -> None:
        for i, w in enumerate(self.workers):
            if isinstance(w, multiprocessing.process.BaseProcess) and w.exitcode not in (None, 0):
                raise GeneratorFailed(f"generator process {i} died (exit code {w.exitcode})")

    def _tick(self, tick: Tick) -> None:
        """Pass a second on once every generator reported it, or once a generator is two
        seconds further (one that finished its share early sends no more ticks)."""
        self.ticks.setdefault(tick.second, []).append(tick)
        for second in sorted(self.ticks):
            got = self.ticks[second]
            if len(got) < len(self.specs) and second >= tick.second - 1:
                break
            del self.ticks[second]
            if self.on_tick is not None:
                self.on_tick(second, got)

    def _start_all(self) -> None:
        epoch = time.time() + self.start_delay
        self.epochs.append(epoch)
        for box in self.inboxes:
            box.put(epoch)

    def run(self, leg_timeout: float) -> RunData:
        """Every generator's merged data. ``GeneratorFailed`` if one could not run."""
        from .report import merge_wire

        for w in self.workers:
            w.start()
        try:
            self._wait("ready", 60)
            legs = len(self.specs[0].legs)
            for n in range(legs):
                self._start_all()
                self._wait("leg", leg_timeout)
                if self.between_legs is not None and n + 1 < legs:
                    self.between_legs(n)
            results = self._wait("result", 60)
        except BaseException:  # a failure or Ctrl-C: the other generators stop now
            self._stop(wait=0)
            raise
        self._stop(wait=5)
        return merge_wire([results[i] for i in sorted(results)])

    def _stop(self, wait: float) -> None:
        """Join the generator processes (``wait`` s each), then terminate any left. A thread
        (one generator) is a daemon: it ends with the command."""
        for w in self.workers:
            if isinstance(w, threading.Thread):
                continue
            w.join(wait)
            if w.is_alive():
                w.terminate()
                w.join(5)
