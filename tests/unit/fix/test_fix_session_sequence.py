"""Inbound sequence rules: gaps, ResendRequest, hold-and-deliver, PossDup, SequenceReset."""

from __future__ import annotations

from support.fixscript import T0, feed, logged_on_session, sent, types


def delivered(a) -> list[bytes]:
    return [m.get(11) for m in a.deliver]


def test_in_order_application_message_is_delivered_and_counted():
    s = logged_on_session()
    a = feed(s, "D", 2, (11, "a"))
    assert delivered(a) == [b"a"] and s.next_target == 3


def test_gap_triggers_resend_request_from_expected_to_infinity():
    s = logged_on_session()
    a = feed(s, "D", 5, (11, "e"))
    (rr,) = sent(a)
    assert rr.message_type == b"2" and rr.get(7) == b"2" and rr.get(16) == b"0"
    assert a.deliver == [] and s.next_target == 2


def test_held_messages_are_delivered_in_order_once_the_gap_is_filled():
    s = logged_on_session()
    feed(s, "D", 4, (11, "d"))
    feed(s, "D", 5, (11, "e"))
    assert s.held_count == 2
    a1 = feed(s, "D", 2, (11, "b"), possdup=True, orig=T0 - 1)
    assert delivered(a1) == [b"b"]
    a2 = feed(s, "D", 3, (11, "c"), possdup=True, orig=T0 - 1)
    assert delivered(a2) == [b"c", b"d", b"e"]
    assert s.next_target == 6 and s.held_count == 0 and not s.resend_pending


def test_only_one_resend_request_while_a_gap_is_outstanding():
    s = logged_on_session()
    assert types(feed(s, "D", 4, (11, "d"))) == [b"2"]
    assert types(feed(s, "D", 5, (11, "e"))) == []
    assert types(feed(s, "D", 6, (11, "f"))) == []


def test_gap_fill_advances_expected_and_releases_held_messages():
    s = logged_on_session()
    feed(s, "D", 5, (11, "e"))
    a = feed(s, "4", 2, (123, "Y"), (36, 5), possdup=True, orig=T0)
    assert delivered(a) == [b"e"] and s.next_target == 6


def test_possdup_duplicate_below_expected_is_ignored():
    s = logged_on_session()
    feed(s, "D", 2, (11, "b"))
    a = feed(s, "D", 2, (11, "b"), possdup=True, orig=T0 - 1)
    assert a.deliver == [] and a.send == [] and a.disconnect is None
    assert s.counters.possdup_ignored == 1


def test_seq_too_low_without_possdup_logs_out_with_text_and_disconnects():
    s = logged_on_session(next_target=10)
    a = feed(s, "D", 3, (11, "x"))
    (logout,) = sent(a)
    assert logout.message_type == b"5"
    assert logout.get(58) == b"MsgSeqNum too low, expecting 11 but received 3"
    assert a.disconnect is not None


def test_missing_msgseqnum_logs_out():
    s = logged_on_session()
    msg, raw = __import__("support.fixscript", fromlist=["peer"]).peer("D", 2, (11, "x"))
    msg.remove(34)
    a = s.on_message(msg, raw, T0)
    assert types(a) == [b"5"] and a.disconnect is not None


def test_possdup_without_origsendingtime_is_rejected_with_reftag_122():
    s = logged_on_session()
    a = feed(s, "D", 2, (11, "x"), possdup=True)
    (rej,) = sent(a)
    assert rej.message_type == b"3" and rej.get(373) == b"1" and rej.get(371) == b"122"
    assert a.deliver == [] and s.next_target == 3


def test_origsendingtime_later_than_sendingtime_is_rejected_and_logged_out():
    s = logged_on_session()
    a = feed(s, "D", 2, (11, "x"), possdup=True, orig=T0 + 5)
    assert types(a) == [b"3", b"5"] and a.disconnect is not None
    assert sent(a)[0].get(373) == b"10"


def test_gap_fill_with_lower_newseqno_is_rejected_value_incorrect():
    s = logged_on_session(next_target=10)
    a = feed(s, "4", 11, (123, "Y"), (36, 4))
    (rej,) = sent(a)
    assert rej.get(373) == b"5" and rej.get(371) == b"36" and rej.get(45) == b"11"


def test_sequence_reset_reset_mode_sets_expected_whatever_its_own_seq():
    s = logged_on_session(next_target=10)
    a = feed(s, "4", 3, (36, 50))  # 3 is "too low" but Reset mode ignores MsgSeqNum
    assert a.disconnect is None and a.send == []
    assert s.next_target == 50


def test_sequence_reset_without_newseqno_is_rejected_required_tag_missing():
    s = logged_on_session()
    a = feed(s, "4", 2, (123, "Y"))
    (rej,) = sent(a)
    assert rej.get(373) == b"1" and rej.get(371) == b"36"


def test_resend_request_arriving_with_high_seq_is_answered_at_once():
    s = logged_on_session(next_sender=5)
    a = feed(s, "2", 9, (7, 1), (16, 0))
    assert a.resend == (1, s.next_sender - 2)  # everything we sent (the RR we emit comes after)
    assert types(a) == [b"2"]  # and our own ResendRequest for the gap 2..8


def test_logout_arriving_with_high_seq_is_processed():
    s = logged_on_session()
    a = feed(s, "5", 9)
    assert types(a) == [b"5"] and a.disconnect == "logout"


def test_resend_request_repeated_after_a_heartbtint_without_progress():
    s = logged_on_session(HeartBtInt=10)
    feed(s, "D", 5, (11, "e"), now=T0 + 1)
    assert types(s.on_timer(T0 + 10.9)).count(b"2") == 0
    again = [m for m in sent(s.on_timer(T0 + 11)) if m.message_type == b"2"]
    assert len(again) == 1 and again[0].get(7) == b"2" and again[0].get(16) == b"0"


def test_no_repeated_resend_request_while_the_gap_is_filling():
    s = logged_on_session(HeartBtInt=10)
    feed(s, "D", 5, (11, "e"), now=T0 + 1)
    feed(s, "D", 2, (11, "b"), possdup=True, orig=T0, now=T0 + 5)  # progress
    assert b"2" not in types(s.on_timer(T0 + 11))
    assert b"2" in types(s.on_timer(T0 + 21))  # then stuck again for a whole interval
