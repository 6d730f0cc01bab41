"""Framing (BodyLength, CheckSum, garbled input) and the fast parser, incl. hypothesis properties."""

from __future__ import annotations

import simplefix
from hypothesis import given, settings
from hypothesis import strategies as st

from fixengine import FrameSplitter, parse
from fixengine.framing import checksum
from fixengine.parser import StreamParser


def msg(*fields: tuple[int, object]) -> bytes:
    m = simplefix.FixMessage()
    m.append_pair(8, "FIX.4.4")
    for t, v in fields:
        m.append_pair(t, v)
    return bytes(m.encode())


A = msg((35, "D"), (49, "S"), (56, "T"), (34, 1), (11, "one"))
B = msg((35, "8"), (49, "T"), (56, "S"), (34, 2), (17, "two"))


def test_checksum_matches_the_byte_sum_mod_256_for_long_input():
    data = bytes(range(256)) * 5 + b"xyz"
    assert checksum(data) == sum(data) % 256


def test_two_messages_in_one_chunk_are_split():
    assert FrameSplitter().feed(A + B) == [A, B]


def test_message_split_across_chunks_is_reassembled():
    sp = FrameSplitter()
    out = []
    for i in range(len(A)):
        out += sp.feed(A[i : i + 1])
    assert out == [A] and sp.buffered == 0


def test_bad_checksum_is_dropped_counted_and_the_next_message_still_arrives():
    bad = A[:-4] + b"%03d\x01" % ((int(A[-4:-1]) + 1) % 256)
    sp = FrameSplitter()
    assert sp.feed(bad + B) == [B]
    assert sp.garbled == 1 and sp.reasons["bad CheckSum"] == 1


def test_wrong_bodylength_is_dropped_and_the_stream_recovers():
    bad = A.replace(b"9=%d" % (len(A) - A.index(b"35=") - 7), b"9=5", 1)
    sp = FrameSplitter()
    assert sp.feed(bad + B) == [B]
    assert sp.reasons["bad BodyLength"] == 1


def test_bytes_without_beginstring_are_dropped():
    seen = []
    sp = FrameSplitter(on_garbled=lambda reason, data: seen.append(reason))
    assert sp.feed(b"garbage\x01garbage" + A) == [A]
    assert seen == ["no BeginString"]


def test_partial_beginstring_at_the_end_is_kept_for_the_next_chunk():
    sp = FrameSplitter()
    assert sp.feed(b"junk" + A[:3]) == []
    assert sp.feed(A[3:]) == [A]


def test_oversized_bodylength_is_dropped():
    sp = FrameSplitter(max_message_size=100)
    assert sp.feed(b"8=FIX.4.4\x019=999999\x0135=0\x01" + A) == [A]
    assert sp.reasons["message too large"] == 1


def test_parse_yields_the_same_message_as_simplefix():
    p = simplefix.FixParser()
    p.append_buffer(B)
    ref = p.get_message()
    ours = parse(B)
    assert ours == ref and ours.pairs == ref.pairs  # type: ignore[union-attr]
    assert ours.message_type == b"8" and ours.begin_string == b"FIX.4.4"  # type: ignore[union-attr]


def test_parse_handles_raw_data_fields_containing_soh():
    raw = msg((35, "D"), (95, 3), (96, "a\x01b"), (11, "x"))
    m = parse(raw)
    assert m is not None and m.get(96) == b"a\x01b" and m.get(11) == b"x"


def test_parse_rejects_a_field_without_equals():
    assert parse(b"8=FIX.4.4\x019=5\x01garbage\x0110=000\x01") is None


def test_parse_keeps_empty_values_for_the_validator():
    m = parse(b"8=FIX.4.4\x019=10\x0135=D\x0111=\x0110=000\x01")
    assert m is not None and m.get(11) == b""


@settings(max_examples=400, deadline=None)
@given(st.binary(max_size=600))
def test_parser_never_raises_on_arbitrary_bytes(data: bytes):
    parse(data)
    StreamParser().feed(data)


@settings(max_examples=300, deadline=None)
@given(st.lists(st.binary(max_size=80), max_size=8), st.sampled_from([A, B]))
def test_garbage_never_stops_the_stream(chunks: list[bytes], good: bytes):
    sp = FrameSplitter()
    for c in chunks:
        sp.feed(c.replace(b"8=FIX", b"8=FIZ"))
    # whatever came before, a valid message after a valid one is always delivered
    out = sp.feed(good + good)
    assert out[-1] == good


_tag = st.integers(min_value=11, max_value=9999).filter(lambda t: t not in (10, 35, 49, 56, 34))
_value = st.binary(min_size=1, max_size=20).filter(lambda v: b"\x01" not in v and b"=" not in v)


@settings(max_examples=300, deadline=None)
@given(st.lists(st.tuples(_tag, _value), max_size=25))
def test_build_then_parse_round_trips(fields: list[tuple[int, bytes]]):
    fields = [(t, v) for t, v in fields if t not in (89, 91, 96, 213) and t not in range(90, 100)]
    m = simplefix.FixMessage()
    m.append_pair(8, "FIX.4.4")
    m.append_pair(35, "D")
    for t, v in fields:
        m.append_pair(t, v)
    raw = bytes(m.encode())
    assert FrameSplitter().feed(raw) == [raw]
    back = parse(raw)
    assert back is not None
    assert [(t, v) for t, v in back.pairs if t not in (b"9", b"10")] == [
        (b"8", b"FIX.4.4"),
        (b"35", b"D"),
        *[(str(t).encode(), v) for t, v in fields],
    ]


def test_parse_keeps_equals_signs_inside_values():
    raw = msg((35, "3"), (58, "a=b=c"), (45, 7))
    m = parse(raw)
    assert m is not None and m.get(58) == b"a=b=c" and m.get(45) == b"7"


def test_long_messages_are_checksummed_exactly():
    long = msg((35, "3"), (58, "x" * 1500), (45, 1))
    assert FrameSplitter().feed(long + A) == [long, A]
    bad = long.replace(b"xxxx", b"xxxy", 1)  # same length, checksum now wrong
    sp = FrameSplitter()
    assert sp.feed(bad + A) == [A] and sp.reasons["bad CheckSum"] == 1
