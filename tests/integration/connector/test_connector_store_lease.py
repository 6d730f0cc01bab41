"""The connector's fenced session store and leader lease on a real Redis."""

from __future__ import annotations

import pytest

from connector.lease import Lease
from connector.store import SentRecordingStore, order_message_cl_ord_id
from fixengine import FencedError
from gateway import keys

pytestmark = pytest.mark.integration
SID = keys.session_id("ORDERGATE", "TSE")


def raw(msg_type: bytes, seq: int, cl: str) -> bytes:
    return (
        b"8=FIX.4.4\x019=5\x0135="
        + msg_type
        + b"\x0134=%d\x0111=%b\x0110=000\x01" % (seq, cl.encode())
    )


async def test_write_ahead_records_messages_and_clordids_in_one_round_trip(redis_client) -> None:
    store = SentRecordingStore(redis_client, SID)
    batch = [(2, raw(b"D", 2, "A" * 20)), (3, raw(b"F", 3, "B" * 21)), (4, raw(b"H", 4, "C" * 20))]
    await store.save(5, 7, batch)
    assert store.round_trips == 1
    assert await redis_client.hgetall(keys.fix_sent(SID)) == {
        b"A" * 20: b"2",
        b"B" * 21: b"3",  # H carries no order: not recorded as sent
    }
    assert (await store.get_messages(2, 4)) == dict(batch)
    st = await store.load()
    assert (st.next_sender, st.next_target) == (5, 7)


async def test_stale_token_cannot_write_and_records_nothing(redis_client) -> None:
    old = Lease(redis_client, SID, ttl=5, holder="old")
    assert await old.try_acquire()
    await redis_client.delete(keys.fix_lease(SID))  # as if it expired while "old" was paused
    new = Lease(redis_client, SID, ttl=5, holder="new")
    assert await new.try_acquire() and new.token > old.token
    stale = SentRecordingStore(redis_client, SID, fence_token=old.token)
    with pytest.raises(FencedError):
        await stale.save(9, 9, [(8, raw(b"D", 8, "Z" * 20))])
    assert await redis_client.hlen(keys.fix_sent(SID)) == 0
    assert await redis_client.hlen(keys.fix_out(SID)) == 0
    await SentRecordingStore(redis_client, SID, fence_token=new.token).save(2, 1, [])


async def test_lease_is_exclusive_and_tokens_only_grow(redis_client) -> None:
    a = Lease(redis_client, SID, ttl=5, holder="a")
    b = Lease(redis_client, SID, ttl=5, holder="b")
    assert await a.try_acquire()
    assert not await b.try_acquire()
    assert await a.try_acquire() and a.token == 1  # the holder keeps its token
    await a.release()
    assert await b.try_acquire() and b.token == 2
    assert await redis_client.get(keys.fix_fence(SID)) == b"2"


async def test_renewal_fails_once_someone_else_holds_the_lease(redis_client) -> None:
    a = Lease(redis_client, SID, ttl=5, holder="a")
    assert await a.try_acquire() and await a.renew() and a.valid()
    await redis_client.delete(keys.fix_lease(SID))
    b = Lease(redis_client, SID, ttl=5, holder="b")
    assert await b.try_acquire()
    assert not await a.renew()
    assert not a.valid()


async def test_lease_expires_by_itself_after_its_ttl(redis_client) -> None:
    a = Lease(redis_client, SID, ttl=0.2, holder="a")
    assert await a.try_acquire()
    assert 0 < await redis_client.pttl(keys.fix_lease(SID)) <= 200


def test_clordid_is_read_only_from_order_messages() -> None:
    assert order_message_cl_ord_id(raw(b"G", 5, "Q" * 25)) == "Q" * 25
    assert order_message_cl_ord_id(raw(b"8", 5, "Q" * 20)) is None
    assert order_message_cl_ord_id(b"garbage") is None
