"""The test proxy splits a byte stream into whole FIX messages and passes anything else through."""

from __future__ import annotations

import simplefix
from support.fixproxy import is_poss_dup, msg_seq, msg_type, split_messages


def raw(seq: int, poss_dup: bool = False) -> bytes:
    m = simplefix.FixMessage()
    m.append_pair(8, "FIX.4.4")
    m.append_pair(35, "D")
    m.append_pair(34, seq)
    if poss_dup:
        m.append_pair(43, "Y")
    m.append_pair(11, f"C{seq}")
    return m.encode()


def test_split_returns_whole_messages_and_keeps_the_partial_tail():
    a, b = raw(1), raw(2)
    buf = bytearray(a + b + b[:10])
    assert split_messages(buf) == [a, b]
    assert bytes(buf) == b[:10]


def test_split_passes_garbage_before_a_message_through():
    a = raw(1)
    buf = bytearray(b"junk" + a)
    assert split_messages(buf) == [b"junk", a]


def test_message_accessors():
    assert msg_seq(raw(17)) == 17
    assert msg_type(raw(1)) == b"D"
    assert is_poss_dup(raw(3, poss_dup=True)) and not is_poss_dup(raw(3))
