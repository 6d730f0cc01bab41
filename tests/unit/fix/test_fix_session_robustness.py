"""No input crashes the session: arbitrary field values in every message type."""

from __future__ import annotations

import simplefix
from hypothesis import given, settings
from hypothesis import strategies as st
from support.fixscript import T0, logged_on_session

from fixengine import Session, SessionSettings, State, parse, sending_time

_values = st.one_of(
    st.binary(max_size=30).filter(lambda v: b"\x01" not in v),
    st.integers(min_value=-5, max_value=10**25).map(lambda i: str(i).encode()),
    st.just(b"9" * 5000),
)
_types = st.sampled_from([b"0", b"1", b"2", b"3", b"4", b"5", b"A", b"D", b"8", b"j", b"ZZ"])
_tags = st.sampled_from([7, 16, 36, 43, 45, 52, 58, 108, 112, 122, 123, 141, 11, 34])


def build(
    mt: bytes, seq: bytes, fields: list[tuple[int, bytes]]
) -> tuple[simplefix.FixMessage, bytes]:
    m = simplefix.FixMessage()
    m.append_pair(8, "FIX.4.4")
    m.append_pair(35, mt)
    m.append_pair(49, "EXCH")
    m.append_pair(56, "BROKER")
    m.append_pair(34, seq)
    m.append_pair(52, sending_time(T0))
    for t, v in fields:
        m.append_pair(t, v)
    raw = bytes(m.encode())
    parsed = parse(raw)
    assert parsed is not None
    return parsed, raw


@settings(max_examples=200, deadline=None)
@given(_types, _values, st.lists(st.tuples(_tags, _values), max_size=6))
def test_logged_on_session_never_raises_on_inbound_fields(mt, seq, fields):
    s = logged_on_session()
    msg, raw = build(mt, seq, fields)
    s.on_message(msg, raw, T0)
    s.on_timer(T0 + 100)


@settings(max_examples=100, deadline=None)
@given(_types, _values, st.lists(st.tuples(_tags, _values), max_size=6))
def test_acceptor_awaiting_logon_never_raises(mt, seq, fields):
    s = Session(SessionSettings("BROKER", "EXCH", ConnectionType="acceptor"))
    s.on_connected(T0)
    msg, raw = build(mt, seq, fields)
    a = s.on_message(msg, raw, T0)
    assert s.state in (State.AWAITING_LOGON, State.LOGGED_ON) or a.disconnect
