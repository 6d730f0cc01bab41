"""RedisStore on a real redis-server: layout, one round trip per batch, fencing, restart."""

from __future__ import annotations

import asyncio

import pytest
import redis.asyncio as aioredis
from support.fixtcp import BROKER, EXCH, order, start_pair
from support.procs import async_wait_until

from connector.redis_store import RedisStore
from fixengine import FencedError
from gateway import keys

pytestmark = pytest.mark.integration

SID = keys.session_id(BROKER, EXCH)


async def evalsha_calls(client: aioredis.Redis) -> int:
    stats = await client.info("commandstats")
    return int(stats.get("cmdstat_evalsha", {}).get("calls", 0))


async def test_new_session_starts_at_one_one(redis_client):
    st = await RedisStore(redis_client, SID).load()
    assert (st.next_sender, st.next_target) == (1, 1)


async def test_save_keeps_numbers_and_messages_under_the_session_hash_tag(redis_client):
    store = RedisStore(redis_client, SID)
    await store.save(4, 7, [(2, b"two"), (3, b"three")])
    state = await redis_client.hgetall(keys.fix_state(SID))
    assert (state[b"next_sender"], state[b"next_target"]) == (b"4", b"7")
    assert await redis_client.hget(keys.fix_out(SID), "3") == b"three"
    assert "{FIX.4.4:BROKER->EXCH}" in keys.fix_out(SID)
    assert await store.get_messages(1, 10) == {2: b"two", 3: b"three"}


async def test_a_batch_of_messages_is_one_round_trip(redis_client):
    store = RedisStore(redis_client, SID)
    await store.save(1, 1, [])  # loads the script
    before = await evalsha_calls(redis_client)
    await store.save(2001, 1, [(s, b"m%d" % s) for s in range(1, 2001)])
    assert await evalsha_calls(redis_client) - before == 1
    assert await redis_client.hlen(keys.fix_out(SID)) == 2000


async def test_reset_clears_stored_messages(redis_client):
    store = RedisStore(redis_client, SID)
    await store.save(3, 3, [(1, b"a"), (2, b"b")])
    await store.save(1, 1, [], reset=True)
    assert await store.get_messages(1, 5) == {}
    st = await store.load()
    assert (st.next_sender, st.next_target) == (1, 1)


async def test_fenced_write_with_a_stale_token_is_refused_and_changes_nothing(redis_client):
    await redis_client.set(keys.fix_fence(SID), 8)
    current = RedisStore(redis_client, SID, fence_token=8)
    await current.save(5, 5, [(4, b"x")])
    stale = RedisStore(redis_client, SID, fence_token=7)
    with pytest.raises(FencedError):
        await stale.save(99, 99, [(4, b"overwritten")])
    st = await current.load()
    assert (st.next_sender, st.next_target) == (5, 5)
    assert await current.get_messages(4, 4) == {4: b"x"}


async def test_fenced_write_without_any_lease_is_refused(redis_client):
    with pytest.raises(FencedError):
        await RedisStore(redis_client, SID, fence_token=1).save(2, 2, [])


async def test_get_messages_over_a_large_range_reads_in_chunks(redis_client):
    store = RedisStore(redis_client, SID)
    await store.save(2600, 1, [(s, b"%d" % s) for s in range(1, 2600, 2)])
    got = await store.get_messages(1, 2599)
    assert len(got) == 1300 and got[2599] == b"2599"


async def test_restart_continues_from_stored_numbers_and_peer_sees_no_reset(redis_server):
    client = aioredis.Redis.from_url(redis_server.url)
    await client.flushall()
    try:
        p = await start_pair(broker_store=RedisStore(client, SID))
        for i in range(50):
            p.broker.send(order(f"r{i}"))
        await async_wait_until(lambda: _true(len(p.broker_app.messages) == 50), 10, "50 reports")
        sender, target = p.broker.next_sender_seq, p.broker.next_target_seq
        await p.broker.flushed()
        await p.initiator.stop(logout=False)  # a crash: no Logout
        stored = await RedisStore(client, SID).load()
        assert (stored.next_sender, stored.next_target) == (sender, target)

        # a new process: new FixSession on the same Redis store, same acceptor
        from support.fixtcp import Recorder, make_settings

        from fixengine import FixSession, Initiator

        app = Recorder()
        again = FixSession(make_settings("initiator"), store=RedisStore(client, SID), app=app)
        ini = Initiator(again, "127.0.0.1", p.acceptor.port)
        await ini.start()
        await asyncio.wait_for(again.wait_logged_on(), 10)
        assert again.next_sender_seq == sender + 1  # the Logon took `sender`
        again.send(order("after-restart"))
        await async_wait_until(lambda: _true(app.ids() == ["after-restart"]), 10, "report")
        assert p.exch.core.counters.resend_requests_sent == 0  # no gap seen by the peer
        await ini.stop(logout=True)
        await p.acceptor.stop(logout=False)
    finally:
        await client.aclose()


async def _true(value: bool) -> bool:
    return value


async def test_nothing_reaches_the_wire_when_the_store_refuses_the_write(redis_server):
    """Persist before send: a fenced (stale) leader's message is never written to the socket."""
    client = aioredis.Redis.from_url(redis_server.url)
    await client.flushall()
    await client.set(keys.fix_fence(SID), 1)
    try:
        p = await start_pair(broker_store=RedisStore(client, SID, fence_token=1))
        try:
            await client.set(keys.fix_fence(SID), 2)  # another leader took the lease
            p.broker.send(order("stale"))
            with pytest.raises(ConnectionError):
                await p.broker.flushed()
            await async_wait_until(
                lambda: _true(p.broker_app.logouts == 1), 10, "the stale leader disconnected"
            )
            assert "store_failure" in [k for k, _ in p.broker_app.events]
            assert p.exch_app.ids() == []
            assert await client.hlen(keys.fix_out(SID)) == 0
        finally:
            await p.stop()
    finally:
        await client.aclose()


def _tag_id(raw: bytes) -> str | None:
    """Test id function: the text after ``id=`` in the raw message, if any."""
    return raw.split(b"id=", 1)[1].decode() if b"id=" in raw else None


async def test_sent_ids_are_recorded_in_the_same_round_trip_as_the_messages(redis_client):
    store = RedisStore(redis_client, SID, sent_id=_tag_id)
    before = await evalsha_calls(redis_client)
    await store.save(4, 1, [(1, b"id=a"), (2, b"heartbeat-ish"), (3, b"id=c")])
    assert await evalsha_calls(redis_client) - before == 1
    assert await redis_client.hgetall(keys.fix_sent(SID)) == {b"a": b"1", b"c": b"3"}
    assert await store.get_messages(1, 3) == {1: b"id=a", 2: b"heartbeat-ish", 3: b"id=c"}


async def test_without_sent_id_the_store_records_no_sent_ids(redis_client):
    await RedisStore(redis_client, SID).save(2, 1, [(1, b"id=a")])
    assert await redis_client.exists(keys.fix_sent(SID)) == 0


async def test_sent_ids_survive_a_sequence_reset(redis_client):
    store = RedisStore(redis_client, SID, sent_id=_tag_id)
    await store.save(2, 1, [(1, b"id=a")])
    await store.save(1, 1, [], reset=True)
    assert await redis_client.hget(keys.fix_sent(SID), "a") == b"1"
    assert await store.get_messages(1, 5) == {}


async def test_fenced_refusal_records_no_sent_ids(redis_client):
    await redis_client.set(keys.fix_fence(SID), 9)
    store = RedisStore(redis_client, SID, fence_token=8, sent_id=_tag_id)
    with pytest.raises(FencedError):
        await store.save(2, 1, [(1, b"id=a")])
    assert await redis_client.exists(keys.fix_sent(SID), keys.fix_out(SID)) == 0
