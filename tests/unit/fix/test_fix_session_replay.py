"""Operator "resend range": a replay window in which PossDup messages below the expected number
are delivered again (outside it they are ignored, as the FIX session spec says)."""

from __future__ import annotations

import pytest
from support.fixscript import T0, feed, logged_on_session, sent, settings

from fixengine import NotLoggedOn, Session


def received(n: int) -> Session:
    """A session that has received application messages 2..n+1 (1 was the Logon)."""
    s = logged_on_session()
    for seq in range(2, n + 2):
        feed(s, "8", seq, (11, f"r{seq}"))
    return s


def delivered(a) -> list[bytes]:
    return [m.get(11) for m in a.deliver]


def test_request_replay_sends_a_resend_request_for_exactly_the_range():
    s = received(5)
    (rr,) = sent(s.request_replay(2, 4, T0))
    assert rr.message_type == b"2" and rr.get(7) == b"2" and rr.get(16) == b"4"
    assert s.replay_window == (2, 4)


def test_possdup_inside_the_window_is_delivered_again():
    s = received(5)
    s.request_replay(2, 4, T0)
    a = feed(s, "8", 3, (11, "r3"), possdup=True, orig=T0 - 1)
    assert delivered(a) == [b"r3"]
    assert s.counters.replayed == 1 and s.next_target == 7  # the expected number is unchanged


def test_possdup_outside_the_window_is_still_ignored():
    s = received(5)
    s.request_replay(3, 4, T0)
    a = feed(s, "8", 2, (11, "r2"), possdup=True, orig=T0 - 1)
    assert a.deliver == [] and s.counters.possdup_ignored == 1


def test_possdup_below_expected_without_a_window_is_ignored():
    s = received(3)
    a = feed(s, "8", 2, (11, "r2"), possdup=True, orig=T0 - 1)
    assert a.deliver == [] and s.counters.replayed == 0


def test_window_closes_once_its_last_number_came_back():
    s = received(5)
    s.request_replay(2, 3, T0)
    feed(s, "8", 2, (11, "r2"), possdup=True, orig=T0 - 1)
    assert s.replay_window == (2, 3)
    feed(s, "8", 3, (11, "r3"), possdup=True, orig=T0 - 1)
    assert s.replay_window is None
    a = feed(s, "8", 2, (11, "r2"), possdup=True, orig=T0 - 1)
    assert a.deliver == []


def test_gap_fill_past_the_end_closes_the_window_and_delivers_nothing():
    s = received(5)
    s.request_replay(2, 4, T0)
    a = feed(s, "4", 2, (123, "Y"), (36, 5), possdup=True, orig=T0)
    assert a.deliver == [] and a.send == [] and s.replay_window is None
    assert s.next_target == 7  # a replayed GapFill does not move the expected number


def test_replayed_message_without_orig_sending_time_is_not_delivered_and_not_rejected():
    s = received(5)
    s.request_replay(2, 4, T0)
    a = feed(s, "8", 2, (11, "r2"), possdup=True)
    assert a.deliver == [] and a.send == [] and a.disconnect is None


def test_disconnect_closes_the_window():
    s = received(5)
    s.request_replay(2, 4, T0)
    s.on_disconnected(T0)
    assert s.replay_window is None


def test_range_not_wholly_received_is_refused():
    s = received(3)  # received up to 4
    with pytest.raises(ValueError):
        s.request_replay(2, 5, T0)
    with pytest.raises(ValueError):
        s.request_replay(3, 2, T0)
    with pytest.raises(ValueError):
        s.request_replay(0, 2, T0)
    assert s.replay_window is None


def test_replay_needs_a_logged_on_session():
    s = Session(settings())
    with pytest.raises(NotLoggedOn):
        s.request_replay(1, 1, T0)
