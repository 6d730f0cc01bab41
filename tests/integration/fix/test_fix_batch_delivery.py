"""``Application.on_messages``: the engine's batched delivery hook (the connector applies each
batch of execution reports in one Redis round trip). Real TCP, our acceptor answering."""

from __future__ import annotations

import asyncio

import simplefix
from support.fixtcp import Recorder, make_settings, order
from support.procs import async_wait_until

from fixengine import Acceptor, FixSession, Initiator, MemoryStore, transport
from fixengine.transport import PARSE_SLICE


async def until(pred, what: str, timeout: float = 10.0) -> None:
    async def check() -> bool:
        return bool(pred())

    await async_wait_until(check, timeout, what)


class BatchApp(Recorder):
    """Records each batch; held by ``gate``; fails the next ``fail`` calls."""

    def __init__(self) -> None:
        super().__init__()
        self.gate = asyncio.Event()
        self.batches: list[list[bytes]] = []
        self.single: list[simplefix.FixMessage] = []
        self.fail = 0

    def on_message(self, session: FixSession, msg: simplefix.FixMessage) -> None:
        self.single.append(msg)  # must not be called: on_messages takes precedence

    async def on_messages(self, session: FixSession, msgs: list[simplefix.FixMessage]) -> None:
        await self.gate.wait()
        if self.fail:
            self.fail -= 1
            raise RuntimeError("Redis away")
        self.batches.append([m.get(11) for m in msgs])


async def _pair(app: BatchApp, store: MemoryStore):
    exch = FixSession(make_settings("acceptor"), store=MemoryStore(), app=Recorder(answer=True))
    acceptor = Acceptor([exch], "127.0.0.1", 0)
    await acceptor.start()
    broker = FixSession(make_settings("initiator"), store=store, app=app)
    ini = Initiator(broker, "127.0.0.1", acceptor.port)
    await ini.start()
    await asyncio.wait_for(broker.wait_logged_on(), 10)
    return broker, ini, acceptor


async def _five_reports_the_last_four_while_the_first_is_held(broker, app: BatchApp) -> None:
    """a1's report is delivered and held by the gate; a2-a5's arrive meanwhile; then the gate
    opens and all five are delivered."""
    broker.send(order("a1"))
    await until(lambda: broker.next_target_seq == 3, "first report received")
    for i in range(2, 6):
        broker.send(order(f"a{i}"))
    await until(lambda: broker.next_target_seq == 7, "all reports received")
    app.gate.set()
    await until(lambda: sum(len(b) for b in app.batches) == 5, "all delivered")


async def test_messages_arriving_while_a_batch_runs_join_it_in_sequence_order():
    app, store = BatchApp(), MemoryStore()
    broker, ini, acceptor = await _pair(app, store)
    try:
        await _five_reports_the_last_four_while_the_first_is_held(broker, app)
        assert app.batches == [[b"a1", b"a2", b"a3", b"a4", b"a5"]]  # one live batch
        assert app.single == []
        await until(lambda: store.next_target == 7, "stored inbound number past the batch")
    finally:
        await ini.stop(logout=False)
        await acceptor.stop()


async def test_a_live_batch_stops_growing_at_its_limit_and_the_rest_comes_next(monkeypatch):
    monkeypatch.setattr(transport, "LIVE_BATCH_MAX", 3)
    app, store = BatchApp(), MemoryStore()
    broker, ini, acceptor = await _pair(app, store)
    try:
        await _five_reports_the_last_four_while_the_first_is_held(broker, app)
        assert app.batches == [[b"a1", b"a2", b"a3"], [b"a4", b"a5"]]
    finally:
        await ini.stop(logout=False)
        await acceptor.stop()


async def test_stored_inbound_number_advances_only_after_the_batch_returns():
    app, store = BatchApp(), MemoryStore()
    broker, ini, acceptor = await _pair(app, store)
    try:
        broker.send(order("a1"))
        await until(lambda: broker.next_target_seq == 3, "report received")
        await broker.flushed()
        assert store.next_target == 2
        app.gate.set()
        await until(lambda: store.next_target == 3, "stored inbound number advanced")
    finally:
        await ini.stop(logout=False)
        await acceptor.stop()


async def test_failed_batch_is_reported_and_offered_again_with_the_next_message():
    app, store = BatchApp(), MemoryStore()
    app.fail = 1
    app.gate.set()
    broker, ini, acceptor = await _pair(app, store)
    try:
        broker.send(order("a1"))
        await until(lambda: any(k == "apply_failure" for k, _ in app.events), "failure event")
        assert app.batches == []
        await broker.flushed()
        assert store.next_target == 2  # not delivered: not stored as received
        broker.send(order("a2"))
        await until(lambda: app.batches, "batch retried")
        assert app.batches == [[b"a1", b"a2"]]
        await until(lambda: store.next_target == 4, "stored inbound number advanced")
    finally:
        await ini.stop(logout=False)
        await acceptor.stop()


class YieldingBatchApp(Recorder):
    """Records each batch's ClOrdIDs and yields once per batch, as an application awaiting
    Redis does."""

    def __init__(self) -> None:
        super().__init__()
        self.batches: list[list[bytes]] = []
        self.first_views: list[int] = []  # how many a batch held when the call began

    async def on_messages(self, session: FixSession, msgs: list[simplefix.FixMessage]) -> None:
        self.first_views.append(len(msgs))
        await asyncio.sleep(0)
        self.batches.append([m.get(11) for m in msgs])  # with what joined while it awaited


async def test_a_large_read_is_parsed_in_slices_so_the_application_runs_in_between():
    # 3,000 orders written at once reach the venue in a few socket reads; parsed a read at a
    # time, the application would first see a whole read (hundreds) after waiting for all of
    # it. A call may begin with the end of one slice and the start of the next read's: at most
    # two slices (the batch then grows while the call awaits)
    venue_app = YieldingBatchApp()
    exch = FixSession(make_settings("acceptor"), store=MemoryStore(), app=venue_app)
    acceptor = Acceptor([exch], "127.0.0.1", 0)
    await acceptor.start()
    broker = FixSession(make_settings("initiator"), store=MemoryStore(), app=Recorder())
    ini = Initiator(broker, "127.0.0.1", acceptor.port)
    await ini.start()
    try:
        await asyncio.wait_for(broker.wait_logged_on(), 10)
        sent = [f"c{i}".encode() for i in range(3000)]
        for cl in sent:
            broker.send(order(cl.decode()))
        await until(lambda: sum(len(b) for b in venue_app.batches) == 3000, "all delivered")
        assert [c for b in venue_app.batches for c in b] == sent  # in order, none twice
        assert max(venue_app.first_views) <= 2 * PARSE_SLICE
        assert exch.next_target_seq == 3002  # Logon + 3,000 orders, nothing lost by the pause
    finally:
        await ini.stop(logout=False)
        await acceptor.stop()
