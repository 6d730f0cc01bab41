"""The engine as the initiator (the connector's role) answers every session-level test case of
FIX 4.4 Vol. 2 as the spec and QuickFIX do: it connects to a raw-socket scripted acceptor that
plays each case as raw FIX over real TCP."""

from __future__ import annotations

import asyncio
import socket
import threading
from collections.abc import Iterator

import pytest
from session_cases import CASES
from support.fixconformance import Case, Peer, play
from support.fixtcp import Recorder, make_settings

from fixengine import FixSession, Initiator, MemoryStore


class EngineInitiator:
    """Our initiator (BROKER -> EXCH, ResetOnLogon=Y) on its own event loop thread, towards
    ``port``; it answers NewOrderSingle with an ExecutionReport as the simulator does."""

    def __init__(self, port: int, hb: int) -> None:
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self.loop.run_forever, daemon=True)
        self.thread.start()
        settings = make_settings(
            "initiator",
            HeartBtInt=hb,
            ResetOnLogon=True,
            ReconnectInterval=60,
            MaxReconnectInterval=60,
        )
        self.session = FixSession(settings, store=MemoryStore(), app=Recorder(answer=True))
        self.initiator = Initiator(self.session, "127.0.0.1", port)
        self._call(self.initiator.start())

    def _call(self, coro: object) -> None:
        asyncio.run_coroutine_threadsafe(coro, self.loop).result(15)  # type: ignore[arg-type]

    def stop(self) -> None:
        self._call(self.initiator.stop(logout=False))
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(5)
        self.loop.close()


@pytest.fixture
def listener() -> Iterator[socket.socket]:
    with socket.create_server(("127.0.0.1", 0)) as srv:
        srv.settimeout(10)
        yield srv


@pytest.mark.parametrize("case", [c for c in CASES if "initiator" in c.roles], ids=lambda c: c.id)
def test_initiator_answers_the_session_case(listener: socket.socket, case: Case) -> None:
    engine = EngineInitiator(listener.getsockname()[1], case.hb)
    try:
        sock, _ = listener.accept()
        with sock:
            play(Peer(sock, "EXCH", "BROKER", "initiator"), case)
    finally:
        engine.stop()
