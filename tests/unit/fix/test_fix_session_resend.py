"""Answering a ResendRequest: PossDup replays of stored application messages, GapFill for the rest."""

from __future__ import annotations

from support.fixscript import T0, app, feed, logged_on_session

from fixengine import FrameSplitter, parse


def sent_app(s, n: int) -> dict[int, bytes]:
    """Send ``n`` application messages; return what a store would hold."""
    stored = {}
    for i in range(n):
        ob = s.send_app(app(f"c{i}"), T0 + i)
        assert ob.store
        stored[ob.seq] = ob.raw
    return stored


def test_resend_request_with_endseqno_zero_covers_up_to_the_last_sent():
    s = logged_on_session()  # our Logon was seq 1
    sent_app(s, 3)  # 2, 3, 4
    a = feed(s, "2", 2, (7, 2), (16, 0))
    assert a.resend == (2, 4)


def test_resent_application_messages_carry_possdup_and_origsendingtime():
    s = logged_on_session()
    stored = sent_app(s, 2)
    out = s.build_resend(2, 3, stored, T0 + 100)
    assert [o.seq for o in out] == [2, 3]
    for o in out:
        m = parse(o.raw)
        orig = parse(stored[o.seq])
        assert m is not None and orig is not None
        assert m.get(43) == b"Y"
        assert m.get(122) == orig.get(52)
        assert m.get(52) != orig.get(52)
        assert m.get(34) == str(o.seq).encode()
        assert m.get(11) == orig.get(11)


def test_resent_messages_are_well_framed_with_header_before_body():
    s = logged_on_session()
    stored = sent_app(s, 1)
    (o,) = s.build_resend(2, 2, stored, T0 + 5)
    assert FrameSplitter().feed(o.raw) == [o.raw]
    tags = [t for t, _ in parse(o.raw).pairs]  # type: ignore[union-attr]
    assert tags[:9] == [b"8", b"9", b"35", b"49", b"56", b"34", b"43", b"52", b"122"]


def test_admin_messages_and_unstored_numbers_are_gap_filled():
    s = logged_on_session()  # seq 1 = Logon (admin, never stored)
    stored = sent_app(s, 3)  # 2, 3, 4
    del stored[3]  # e.g. dropped before persistence: never stored
    out = s.build_resend(1, 4, stored, T0 + 9)
    kinds = [(o.seq, o.msg_type) for o in out]
    assert kinds == [(1, b"4"), (2, b"D"), (3, b"4"), (4, b"D")]
    gf1 = parse(out[0].raw)
    assert gf1 is not None
    assert gf1.get(123) == b"Y" and gf1.get(36) == b"2" and gf1.get(43) == b"Y"
    gf3 = parse(out[2].raw)
    assert gf3 is not None and gf3.get(36) == b"4"


def test_trailing_gap_fill_points_past_the_range():
    s = logged_on_session()
    s.on_timer(T0 + 31)  # a heartbeat: seq 2, admin
    out = s.build_resend(1, 2, {}, T0 + 40)
    assert len(out) == 1 and out[0].seq == 1
    m = parse(out[0].raw)
    assert m is not None and m.get(36) == b"3"


def test_resending_does_not_consume_sequence_numbers():
    s = logged_on_session()
    stored = sent_app(s, 2)
    before = s.next_sender
    s.build_resend(1, 3, stored, T0)
    assert s.next_sender == before


def test_resend_request_beyond_what_was_sent_is_ignored():
    s = logged_on_session()
    a = feed(s, "2", 2, (7, 50), (16, 0))
    assert a.resend is None and a.disconnect is None
