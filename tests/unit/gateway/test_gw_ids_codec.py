"""Order ids (partition inside, time-ordered, FIX-safe) and the msgpack wire format."""

import os
import re

import msgpack
import pytest

from gateway.codec import (
    CancelCommand,
    CodecError,
    NewOrderCommand,
    OrderUpdate,
    ReplaceCommand,
    decode_command,
    decode_event,
    encode_command,
    encode_event,
)
from gateway.ids import base_order_id, new_order_id, partition_of_order_id


@pytest.mark.parametrize("p", [0, 1, 15, 35, 36, 1295])
def test_order_id_carries_its_partition(p):
    assert partition_of_order_id(new_order_id(p)) == p


def test_order_id_is_a_short_fix_safe_token():
    oid = new_order_id(7)
    assert len(oid) <= 20 and re.fullmatch(r"[A-Za-z0-9-]+", oid)


def test_order_ids_are_unique_and_sorted_by_creation():
    ids = [new_order_id(3) for _ in range(20_000)]
    assert len(set(ids)) == len(ids)
    assert ids == sorted(ids)


@pytest.mark.parametrize(
    "garbage",
    ["", "x", "0MWZJ6I1P01VK2C01A6", "0mwzj6i1p01vk2c01a6h", "../../etc/passwd!!!!", None, 12],
)
def test_garbage_is_not_an_order_id(garbage):
    with pytest.raises(ValueError):
        partition_of_order_id(garbage)


def test_partition_outside_range_is_refused():
    with pytest.raises(ValueError):
        new_order_id(1296)


def test_derived_clordid_maps_back_to_its_order():
    oid = new_order_id(4)
    assert base_order_id(oid + "-C1") == oid
    with pytest.raises(ValueError):
        base_order_id("C1")


def _new() -> NewOrderCommand:
    return NewOrderCommand(
        "OID",
        "A1",
        "c-1",
        "7203",
        "buy",
        "limit",
        100,
        "2500.5",
        "day",
        "TSE",
        "2026-11-27T00:00:00.000000Z",
    )


def test_new_order_command_round_trips():
    cmd = _new()
    assert decode_command(encode_command(cmd)) == cmd


def test_cancel_and_replace_commands_round_trip():
    c = CancelCommand("OID", "A1", "7203", "buy", 100, "TSE", "t")
    r = ReplaceCommand("OID", "A1", "7203", "buy", "limit", 200, "2501", "day", "TSE", "t")
    assert decode_command(encode_command(c)) == c
    assert decode_command(encode_command(r)) == r


def test_command_carries_version_and_kind_on_the_wire():
    body = msgpack.unpackb(encode_command(_new()))
    assert body["v"] == 1 and body["k"] == "new" and body["price"] == "2500.5"


def test_market_order_omits_price_and_decodes_to_none():
    cmd = NewOrderCommand("OID", "A1", "c", "7203", "buy", "market", 100, None, "day", "TSE", "t")
    assert decode_command(encode_command(cmd)).price is None


def test_unknown_fields_are_ignored_for_forward_compatibility():
    body = msgpack.unpackb(encode_command(_new()))
    body["added_later"] = 1
    assert decode_command(msgpack.packb(body)) == _new()


@pytest.mark.parametrize(
    "data",
    [
        b"",
        b"\xc1",
        msgpack.packb([1, 2]),
        msgpack.packb({"v": 2, "k": "new"}),
        msgpack.packb({"v": 1, "k": "nope"}),
        msgpack.packb({"v": 1, "k": "new"}),
    ],
)
def test_garbage_commands_raise_codec_error(data):
    with pytest.raises(CodecError):
        decode_command(data)


def test_event_round_trips():
    ev = OrderUpdate(
        "OID",
        "A1",
        "7203",
        "buy",
        "filled",
        "fill",
        100,
        "2500",
        100,
        0,
        "2500",
        "t",
        100,
        "2500",
        "E1",
    )
    assert decode_event(encode_event(ev)) == ev


def test_event_from_lua_derives_avg_px_from_notional():
    # 200 shares at 1250.25 yen = 2,500,500,000 in 1/10000 yen
    lua_like = msgpack.packb(
        {
            "v": 1,
            "k": "order",
            "order_id": "O",
            "account": "A",
            "symbol": "7203",
            "side": "buy",
            "status": "partially_filled",
            "event": "partial_fill",
            "quantity": 300,
            "cum_qty": 200,
            "leaves_qty": 100,
            "notional": 2_500_500_000,
            "at": "t",
        }
    )
    ev = decode_event(lua_like)
    assert ev.avg_px == "1250.25"


def test_a_forked_child_takes_a_node_id_of_its_own():
    parent = new_order_id(0)[11:15]  # the node id part (see gateway/ids.py)
    read_end, write_end = os.pipe()
    pid = os.fork()
    if pid == 0:  # the child: report its node id and leave without running pytest's exit
        try:
            os.write(write_end, new_order_id(0)[11:15].encode())
        finally:
            os._exit(0)
    os.close(write_end)
    os.waitpid(pid, 0)
    child = os.read(read_end, 16).decode()
    os.close(read_end)
    assert len(child) == 4
    assert new_order_id(0)[11:15] == parent  # the parent keeps its own
    # a fresh node id is random: equal to the parent's with probability 1/36**4
    assert child != parent
