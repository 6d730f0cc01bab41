"""Our initiator against our acceptor over real TCP (and TLS): logon, traffic, faults, recovery."""

from __future__ import annotations

import asyncio
import socket

from support.fixscript import peer
from support.fixtcp import BROKER, EXCH, order, self_signed_tls, start_pair
from support.procs import async_wait_until

from fixengine import State


async def until(pred, what: str, timeout: float = 10.0) -> None:
    async def check() -> bool:
        return bool(pred())

    await async_wait_until(check, timeout, what)


async def test_logon_orders_answered_in_order_and_logout():
    p = await start_pair()
    try:
        for i in range(200):
            p.broker.send(order(f"c{i}"))
        await until(lambda: len(p.broker_app.messages) == 200, "200 execution reports")
        assert p.exch_app.ids() == [f"c{i}" for i in range(200)]
        assert p.broker_app.ids() == [f"c{i}" for i in range(200)]
        await p.broker.logout("done", timeout=5)
        await until(lambda: p.exch.state is State.DISCONNECTED, "acceptor disconnected")
        assert p.broker.last_disconnect_reason == "logout"
        assert p.exch.core.last_logout_text == "done"
    finally:
        await p.stop()


async def test_tls_logon_and_round_trip():
    server, client = self_signed_tls()
    p = await start_pair(server_ssl=server, client_ssl=client)
    try:
        p.broker.send(order("tls-1"))
        await until(lambda: p.broker_app.ids() == ["tls-1"], "execution report over TLS")
    finally:
        await p.stop()


async def test_message_dropped_on_the_wire_is_recovered_by_resend_request():
    p = await start_pair()
    try:
        p.exch.faults.drop_next(1)  # the ER for c0 is numbered and stored, never written
        for i in range(3):
            p.broker.send(order(f"c{i}"))
        await until(lambda: len(p.broker_app.messages) == 3, "all three reports")
        assert p.broker_app.ids() == ["c0", "c1", "c2"]
        assert p.broker_app.messages[0].get(43) == b"Y"  # the resent one
        assert p.broker.core.counters.resend_requests_sent == 1
    finally:
        await p.stop()


async def test_garbled_message_is_dropped_and_recovered():
    p = await start_pair()
    try:
        p.exch.faults.garble_next(1)
        for i in range(2):
            p.broker.send(order(f"g{i}"))
        await until(lambda: len(p.broker_app.messages) == 2, "both reports")
        assert p.broker_app.ids() == ["g0", "g1"]
        assert p.broker.core.counters.resend_requests_sent == 1
    finally:
        await p.stop()


async def test_skipped_sequence_numbers_are_gap_filled():
    p = await start_pair()
    try:
        p.exch.faults.skip_sequence_numbers(5)
        p.broker.send(order("s0"))
        await until(lambda: p.broker_app.ids() == ["s0"], "report after the gap")
        assert p.broker.next_target_seq == p.exch.next_sender_seq
    finally:
        await p.stop()


def raw_connect(port: int) -> socket.socket:
    s = socket.create_connection(("127.0.0.1", port), timeout=5)
    return s


def read_until_closed(s: socket.socket) -> bytes:
    data = b""
    while True:
        chunk = s.recv(65536)
        if not chunk:
            return data
        data += chunk


async def test_second_connection_for_a_logged_on_session_is_closed_without_logout():
    p = await start_pair()
    try:
        _, logon = peer("A", 1, (98, 0), (108, 30), sender=BROKER, target=EXCH)
        s = await asyncio.to_thread(raw_connect, p.acceptor.port)
        s.sendall(logon)
        data = await asyncio.to_thread(read_until_closed, s)
        s.close()
        assert data == b""  # closed, not a single byte (no Logout)
        assert p.exch.logged_on and p.broker.logged_on
        assert p.acceptor.refused == 1
    finally:
        await p.stop()


async def test_first_message_not_a_logon_is_closed_without_logout():
    p = await start_pair()
    try:
        await p.initiator.stop(logout=True)
        _, nos = peer("D", 1, (11, "x"), sender=BROKER, target=EXCH)
        s = await asyncio.to_thread(raw_connect, p.acceptor.port)
        s.sendall(nos)
        data = await asyncio.to_thread(read_until_closed, s)
        s.close()
        assert data == b""
    finally:
        await p.stop()


async def test_initiator_reconnects_after_a_drop_and_numbers_continue():
    p = await start_pair()
    try:
        p.broker.send(order("before"))
        await until(lambda: p.broker_app.ids() == ["before"], "first report")
        sender_before = p.broker.next_sender_seq
        p.exch.faults.disconnect_now()
        await until(lambda: p.broker_app.logons == 2 and p.broker.logged_on, "second logon")
        assert p.initiator.connects == 2
        assert p.broker.next_sender_seq > sender_before  # continued, no reset
        p.broker.send(order("after"))
        await until(lambda: p.broker_app.ids() == ["before", "after"], "report after reconnect")
    finally:
        await p.stop()


async def test_test_request_after_silence_is_answered_over_the_wire():
    p = await start_pair(broker_kw={"HeartBtInt": 1}, exch_kw={"HeartBtInt": 1})
    try:
        p.exch.faults.stop_heartbeats()
        # silence from the acceptor: the initiator asks after 1.2 s, the acceptor answers
        await until(lambda: p.broker.core.counters.test_requests_sent >= 2, "two TestRequests", 8)
        assert p.broker.logged_on and p.exch.logged_on
        assert p.exch.core.counters.heartbeats_sent == 0
    finally:
        await p.stop()


async def test_unanswered_test_request_disconnects_over_the_wire():
    p = await start_pair(broker_kw={"HeartBtInt": 1}, exch_kw={"HeartBtInt": 1})
    try:
        p.exch.faults.drop_next(1000)  # the acceptor goes silent, answers included
        await until(lambda: p.broker_app.logouts >= 1, "initiator gives up", 8)
        assert p.broker.last_disconnect_reason == "TestRequest not answered"
    finally:
        await p.stop()


async def test_acceptor_refusing_logons_answers_logout_and_initiator_retries():
    p = await start_pair()
    try:
        await p.initiator.stop(logout=True)
        p.exch.faults.refuse_logons_until(p.exch.clock() + 0.5, "not yet")
        await p.initiator.start()
        await until(lambda: p.broker_app.logons == 2, "logon after the refusal window", 10)
        assert p.initiator.connects >= 2
    finally:
        await p.stop()


async def test_garbled_input_is_counted_and_reported():
    p = await start_pair()
    try:
        p.exch.faults.garble_next(1)
        p.broker.send(order("x0"))
        p.broker.send(order("x1"))
        await until(lambda: len(p.broker_app.messages) == 2, "both reports")
        assert p.broker.garbled == 1
        assert ("garbled", "bad CheckSum") in p.broker_app.events
    finally:
        await p.stop()


async def test_initiator_backoff_doubles_up_to_the_cap_while_the_peer_is_down():
    from support.fixtcp import make_settings
    from support.procs import free_port

    from fixengine import FixSession, Initiator

    session = FixSession(
        make_settings("initiator", ReconnectInterval=0.02, MaxReconnectInterval=0.08)
    )
    ini = Initiator(session, "127.0.0.1", free_port())
    await ini.start()
    try:
        await until(lambda: ini.failures >= 5, "five failed connects", 5)
        assert ini.last_backoff == 0.08
        assert ini.connects == 0
    finally:
        await ini.stop(logout=False)


async def test_without_persist_messages_a_resend_request_is_answered_by_gap_fill_only():
    p = await start_pair(exch_kw={"PersistMessages": False})
    try:
        p.exch.faults.drop_next(1)
        p.broker.send(order("n0"))
        p.broker.send(order("n1"))
        # ResendRequest 2..infinity: nothing stored, so 2..3 are gap-filled (n1, held by the
        # receiver, is superseded by the GapFill, as QuickFIX does)
        await until(lambda: p.exch.core.counters.gap_fills_sent == 1, "a gap fill")
        await until(lambda: p.broker.next_target_seq == p.exch.next_sender_seq, "numbers in step")
        assert p.broker_app.ids() == [] and p.broker.core.held_count == 0
        assert p.broker.logged_on
    finally:
        await p.stop()


async def test_a_long_resend_is_answered_in_chunks_and_arrives_in_order():
    p = await start_pair()
    try:
        n = 2500
        for i in range(n):
            p.broker.send(order(f"L{i}"))
        await until(lambda: len(p.broker_app.messages) == n, "all reports", 20)
        p.broker_app.messages.clear()
        # pretend we lost everything after the Logon: ask for 2..infinity again
        await p.broker.logout(timeout=5)
        await until(lambda: p.broker.logged_on, "logged on again", 10)
        p.broker.core.next_target = 2
        p.broker.send(order("poke"))  # the acceptor's answer shows the gap
        await until(lambda: len(p.broker_app.messages) == n + 1, "the resent reports", 30)
        assert p.broker_app.ids() == [f"L{i}" for i in range(n)] + ["poke"]
        assert all(m.get(43) == b"Y" for m in p.broker_app.messages[:n])
    finally:
        await p.stop()
