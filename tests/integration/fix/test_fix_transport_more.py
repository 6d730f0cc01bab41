"""More of the asyncio shell over real TCP: TLS from settings, message log, outbound delay,
logon timeout, async application callbacks, daily reset at the start of the window."""

from __future__ import annotations

import asyncio
import datetime
import socket
import time
from zoneinfo import ZoneInfo

import simplefix
from support.fixtcp import (
    Recorder,
    make_settings,
    order,
    self_signed_files,
    start_pair,
    window,
)
from support.procs import async_wait_until

from fixengine import (
    Acceptor,
    FileMessageLog,
    FixSession,
    Initiator,
    MemoryStore,
    ssl_context_from_settings,
)


async def until(pred, what: str, timeout: float = 10.0) -> None:
    async def check() -> bool:
        return bool(pred())

    await async_wait_until(check, timeout, what)


async def test_tls_contexts_built_from_quickfix_style_settings():
    cert, key = self_signed_files()
    server = ssl_context_from_settings(
        make_settings(
            "acceptor",
            SocketUseSSL=True,
            ServerCertificateFile=str(cert),
            ServerCertificateKeyFile=str(key),
        )
    )
    client = ssl_context_from_settings(
        make_settings("initiator", SocketUseSSL=True, CertificateAuthoritiesFile=str(cert))
    )
    assert ssl_context_from_settings(make_settings("initiator")) is None
    p = await start_pair(server_ssl=server, client_ssl=client)
    try:
        p.broker.send(order("t1"))
        await until(lambda: p.broker_app.ids() == ["t1"], "report over TLS")
    finally:
        await p.stop()


async def test_every_message_is_logged_with_direction_and_timestamp(tmp_path):
    p = await start_pair(broker_kw={"FileLogPath": str(tmp_path)})
    try:
        p.broker.send(order("logged"))
        await until(lambda: p.broker_app.ids() == ["logged"], "report")
    finally:
        await p.stop()
    assert isinstance(p.broker.msglog, FileMessageLog)
    p.broker.msglog.close()
    lines = p.broker.msglog.path_for(p.broker.session_id).read_bytes().splitlines()
    kinds = [(ln.split(b" ")[1], ln.split(b"\x0135=")[1][:1]) for ln in lines]
    assert kinds[:4] == [(b"OUT", b"A"), (b"IN", b"A"), (b"OUT", b"D"), (b"IN", b"8")]
    assert all(ln[:2] == b"20" and ln[26:27] == b"Z" for ln in lines)


async def test_outbound_delay_holds_messages_back():
    p = await start_pair()
    try:
        p.exch.faults.delay(300)
        t0 = time.monotonic()
        p.broker.send(order("slow"))
        await until(lambda: p.broker_app.ids() == ["slow"], "delayed report")
        assert time.monotonic() - t0 >= 0.3
    finally:
        await p.stop()


async def test_unanswered_logon_times_out_on_the_initiator():
    silent = await asyncio.start_server(lambda r, w: None, "127.0.0.1", 0)
    port = silent.sockets[0].getsockname()[1]
    broker = FixSession(make_settings("initiator", LogonTimeout=0.3), store=MemoryStore())
    ini = Initiator(broker, "127.0.0.1", port)
    await ini.start()
    try:
        await until(lambda: broker.last_disconnect_reason == "logon timeout", "logon timeout", 5)
    finally:
        await ini.stop(logout=False)
        silent.close()


def _recv_until_closed(sock: socket.socket) -> bytes:
    data = b""
    while chunk := sock.recv(4096):
        data += chunk
    return data


async def test_silent_connection_to_the_acceptor_is_closed_after_logon_timeout():
    exch = FixSession(make_settings("acceptor", LogonTimeout=0.3), store=MemoryStore())
    acceptor = Acceptor([exch], "127.0.0.1", 0)
    await acceptor.start()
    try:
        sock = await asyncio.to_thread(socket.create_connection, ("127.0.0.1", acceptor.port), 5)
        t0 = time.monotonic()
        assert await asyncio.to_thread(_recv_until_closed, sock) == b""
        assert time.monotonic() - t0 >= 0.25
        sock.close()
    finally:
        await acceptor.stop()


class SlowApp(Recorder):
    """An async on_message (like the connector writing to Redis) that can be held."""

    def __init__(self) -> None:
        super().__init__()
        self.gate = asyncio.Event()

    async def on_message(self, session: FixSession, msg: simplefix.FixMessage) -> None:  # type: ignore[override]
        await self.gate.wait()
        self.messages.append(msg)


async def test_async_on_message_delays_the_stored_inbound_number_until_processed():
    store = MemoryStore()
    exch = FixSession(make_settings("acceptor"), store=MemoryStore(), app=Recorder(answer=True))
    acceptor = Acceptor([exch], "127.0.0.1", 0)
    await acceptor.start()
    app = SlowApp()
    broker = FixSession(make_settings("initiator"), store=store, app=app)
    ini = Initiator(broker, "127.0.0.1", acceptor.port)
    await ini.start()
    try:
        await asyncio.wait_for(broker.wait_logged_on(), 10)
        broker.send(order("a1"))
        await until(lambda: broker.next_target_seq == 3, "report received by the session")
        await broker.flushed()
        assert store.next_target == 2  # received, but not yet processed by the application
        app.gate.set()
        await until(lambda: app.ids() == ["a1"], "application processed the report")
        await until(lambda: store.next_target == 3, "stored inbound number advanced")
    finally:
        await ini.stop(logout=False)
        await acceptor.stop()


async def test_daily_reset_at_the_start_of_the_window():
    # a store created yesterday, a window that is open now: the Logon resets (141=Y)
    now = time.time()
    store = MemoryStore(next_sender=40, next_target=40)
    store.creation_time = now - 86400
    tokyo = datetime.datetime.now(ZoneInfo("Asia/Tokyo"))
    start = (tokyo - datetime.timedelta(hours=1)).strftime("%H:%M:%S")
    end = (tokyo + datetime.timedelta(hours=1)).strftime("%H:%M:%S")
    p = await start_pair(
        broker_store=store,
        broker_kw={"StartTime": start, "EndTime": end, "ResetOnSessionStart": True},
    )
    try:
        assert p.broker.next_sender_seq == 2 and p.exch.next_target_seq == 2
        assert store.creation_time > now - 60
    finally:
        await p.stop()


async def test_acceptor_refuses_logons_outside_its_window_with_a_logout():
    exch = FixSession(make_settings("acceptor", **window(1, 2)), store=MemoryStore())
    acceptor = Acceptor([exch], "127.0.0.1", 0)
    await acceptor.start()
    app = Recorder()
    broker = FixSession(make_settings("initiator"), store=MemoryStore(), app=app)
    ini = Initiator(broker, "127.0.0.1", acceptor.port)
    await ini.start()
    try:
        await until(
            lambda: "outside the session window" in broker.last_disconnect_reason, "refusal"
        )
        assert app.logons == 0
    finally:
        await ini.stop(logout=False)
        await acceptor.stop()


async def test_logged_on_session_logs_out_when_its_window_closes():
    clock_offset = [0.0]
    # the broker's clock jumps two hours: SendingTime checks off on both sides for this test
    p = await start_pair(
        broker_kw={**window(-1, 1), "CheckLatency": False}, exch_kw={"CheckLatency": False}
    )
    try:
        p.broker.clock = lambda: time.time() + clock_offset[0]
        clock_offset[0] = 2 * 3600.0  # two hours later: the window has closed
        await until(lambda: p.broker_app.logouts == 1, "logout at the end of the window", 5)
        assert p.broker.core.last_logout_text == "" and p.exch.core.last_logout_text == (
            "end of session window"
        )
        # the initiator waits for the window instead of reconnecting
        await until(lambda: p.initiator.outside_window_waits >= 1, "initiator waiting", 5)
        assert p.initiator.connects == 1
    finally:
        await p.stop()


async def test_one_acceptor_serves_many_sessions_keyed_by_compids():
    sessions = {
        name: FixSession(
            make_settings("acceptor", TargetCompID=name), store=MemoryStore(), app=Recorder(True)
        )
        for name in ("BROKER", "BROKER2")
    }
    acceptor = Acceptor(sessions.values(), "127.0.0.1", 0)
    await acceptor.start()
    inits, apps = [], {}
    try:
        for name in sessions:
            apps[name] = Recorder()
            fs = FixSession(make_settings("initiator", SenderCompID=name), app=apps[name])
            ini = Initiator(fs, "127.0.0.1", acceptor.port)
            await ini.start()
            inits.append(ini)
            await asyncio.wait_for(fs.wait_logged_on(), 10)
            fs.send(order(f"{name}-1"))
        await until(lambda: all(len(a.messages) == 1 for a in apps.values()), "one report each")
        assert apps["BROKER"].ids() == ["BROKER-1"] and apps["BROKER2"].ids() == ["BROKER2-1"]
        assert sessions["BROKER2"].app.ids() == ["BROKER2-1"]  # type: ignore[attr-defined]
    finally:
        for ini in inits:
            await ini.stop(logout=False)
        await acceptor.stop()


class StateLog(Recorder):
    def __init__(self) -> None:
        super().__init__()
        self.states: list[tuple[str, str]] = []

    def on_state_change(self, session: FixSession, old, new) -> None:  # type: ignore[no-untyped-def]
        self.states.append((old.value, new.value))


async def test_state_changes_are_reported_through_a_logon_and_logout():
    app = StateLog()
    exch = FixSession(make_settings("acceptor"), store=MemoryStore())
    acceptor = Acceptor([exch], "127.0.0.1", 0)
    await acceptor.start()
    broker = FixSession(make_settings("initiator"), store=MemoryStore(), app=app)
    ini = Initiator(broker, "127.0.0.1", acceptor.port)
    await ini.start()
    try:
        await asyncio.wait_for(broker.wait_logged_on(), 10)
        await ini.stop(logout=True)
        assert app.states == [
            ("disconnected", "logon_sent"),
            ("logon_sent", "logged_on"),
            ("logged_on", "logout_sent"),
            ("logout_sent", "disconnected"),
        ]
        assert (app.logons, app.logouts) == (1, 1)
    finally:
        await acceptor.stop()


async def test_operator_reset_while_disconnected_restarts_numbers_and_clears_the_store():
    store = MemoryStore(next_sender=9, next_target=7)
    store.messages = {5: b"old"}
    broker = FixSession(make_settings("initiator"), store=store)
    await broker.load()
    await broker.reset_sequence_numbers()
    assert (store.next_sender, store.next_target, store.messages) == (1, 1, {})
    assert (broker.next_sender_seq, broker.next_target_seq) == (1, 1)


async def test_message_log_reaches_the_file_while_the_session_runs(tmp_path):
    p = await start_pair(broker_kw={"FileLogPath": str(tmp_path)})
    try:
        p.broker.send(order("live"))
        path = p.broker.msglog.path_for(p.broker.session_id)  # type: ignore[attr-defined]
        await until(lambda: path.exists() and b"11=live" in path.read_bytes(), "log on disk", 5)
    finally:
        await p.stop()


async def test_outbound_interceptor_sees_numbered_messages_and_decides_what_is_written():
    p = await start_pair()
    try:
        seen: list[bytes] = []

        def hold_back_reports(raws: list[bytes]) -> list[bytes]:
            seen.extend(raws)
            return [r for r in raws if b"\x0135=8\x01" not in r]

        p.exch.faults.interceptor = hold_back_reports
        p.broker.send(order("i0"))
        await until(lambda: any(b"\x0111=i0\x01" in r for r in seen), "report intercepted")
        p.exch.faults.interceptor = None
        p.broker.send(order("i1"))  # its report reveals the gap: i0 comes back by resend
        await until(lambda: p.broker_app.ids() == ["i0", "i1"], "both reports, in order")
    finally:
        await p.stop()
