"""Session-core rules from FIX 4.4 Vol. 2 "Session-level test cases" where the engine follows
QuickFIX's answers (the ids in the names are the spec's); sans-I/O, one rule per test."""

from __future__ import annotations

from support.fixscript import (
    T0,
    THEM,
    US,
    feed,
    feed_raw,
    logged_on_session,
    sent,
    settings,
    types,
    wire,
)

from fixengine import DataDictionary, Session, State, parse, sending_time
from fixengine.session import TEST_REQ_ID

NOW = sending_time(T0)


def hdr(msg_type: str, seq: int) -> tuple[tuple[int, object], ...]:
    return ((35, msg_type), (49, THEM), (56, US), (34, seq), (52, NOW))


def acceptor() -> Session:
    s = Session(settings(ConnectionType="acceptor"))
    s.on_connected(T0)
    return s


# -- BeginString (1d, 2i) --------------------------------------------------------------------


def test_1d_acceptor_drops_a_logon_of_another_fix_version_without_answering():
    s = acceptor()
    a = feed_raw(s, wire(*hdr("A", 1), (98, 0), (108, 30), begin="FIX.4.2"))
    assert a.send == [] and a.disconnect is not None and s.state is State.AWAITING_LOGON


def test_1d_initiator_drops_a_logon_answer_of_another_fix_version():
    s = Session(settings())
    s.on_connected(T0)
    a = feed_raw(s, wire(*hdr("A", 1), (98, 0), (108, 30), begin="FIX.4.2"))
    assert a.send == [] and a.disconnect is not None and not s.logged_on


def test_2i_begin_string_mismatch_after_logon_logs_out_and_waits_for_the_peer():
    s = logged_on_session()
    a = feed_raw(s, wire(*hdr("1", 2), (112, "id"), begin="FIX.4.1"))
    assert types(a) == [b"5"] and sent(a)[0].get(58) == b"Incorrect BeginString"
    assert a.disconnect is None and s.state is State.LOGOUT_SENT and a.deliver == []
    a = feed(s, "5", 3)
    assert a.send == [] and a.disconnect is not None  # our Logout was the first: no second one


def test_2i_an_application_message_of_another_version_is_never_delivered():
    s = logged_on_session()
    a = feed_raw(s, wire(*hdr("D", 2), (11, "x"), begin="FIX.4.2"))
    assert a.deliver == [] and types(a) == [b"5"]


# -- garbled (2t) ----------------------------------------------------------------------------


def test_2t_first_three_fields_out_of_order_is_garbled():
    assert parse(wire((34, 3), (35, "0"), (49, THEM))) is None  # 34 where 35 belongs
    raw = wire(*hdr("0", 2))
    assert parse(b"8=FIX.4.4\x0135=0\x01" + raw[raw.index(b"\x0149=") + 1 :]) is None  # no 9
    msg = parse(raw)
    assert msg is not None and msg.message_type == b"0"


# -- heartbeats and TestRequest (4a, 6) ------------------------------------------------------


def test_6_silent_peer_gets_testrequest_TEST_and_no_heartbeat_while_it_waits():
    s = logged_on_session(HeartBtInt=3)
    a = s.on_timer(T0 + 3.0)
    assert types(a) == [b"0"]
    a = s.on_timer(T0 + 3.7)  # 1.2 x HeartBtInt of silence
    assert types(a) == [b"1"] and sent(a)[0].get(112) == TEST_REQ_ID
    assert types(s.on_timer(T0 + 6.8)) == []  # a Heartbeat would be due: the TestRequest waits
    assert s.on_timer(T0 + 7.4).disconnect is not None


def test_6_any_inbound_message_answers_the_testrequest():
    s = logged_on_session(HeartBtInt=3)
    assert types(s.on_timer(T0 + 3.7)) == [b"1"]
    feed(s, "0", 2, now=T0 + 4.0)  # a Heartbeat without TestReqID
    a = s.on_timer(T0 + 7.0)
    assert a.disconnect is None and types(a) == [b"0"]


# -- ResendRequest and Logout below the expected number (8, 20) -------------------------------


def test_8_resend_request_below_the_expected_number_is_answered_without_consuming_it():
    s = logged_on_session(next_target=5)  # the peer's Logon was 5: 6 expected
    s.next_sender = 5
    a = feed(s, "2", 5, (7, 1), (16, 0))  # expected 6: one too low
    assert a.resend == (1, 4) and a.disconnect is None and s.next_target == 6
    gap = s.build_resend(1, 4, {}, T0)
    assert len(gap) == 1 and parse(gap[0].raw).get(36) == b"5"  # type: ignore[union-attr]


def test_20_logout_below_the_expected_number_is_answered_with_a_logout():
    s = logged_on_session(next_target=7)
    a = feed(s, "5", 7)
    assert types(a) == [b"5"] and sent(a)[0].get(58) is None and a.disconnect is not None


def test_2c_other_messages_below_the_expected_number_still_log_out():
    s = logged_on_session(next_target=4)
    a = feed(s, "0", 2)
    assert types(a) == [b"5"] and b"too low" in (sent(a)[0].get(58) or b"")


def test_2g_possdup_below_the_expected_number_without_orig_sending_time_is_rejected():
    s = logged_on_session(next_target=3)  # 4 expected
    a = feed(s, "0", 2, possdup=True)
    rej = sent(a)[0]
    assert (rej.get(373), rej.get(371), rej.get(45)) == (b"1", b"122", b"2")
    assert a.disconnect is None and s.next_target == 4  # not consumed: it was below


def test_2f_possdup_below_the_expected_number_with_orig_after_sending_time_logs_out():
    s = logged_on_session(next_target=3)
    a = feed(s, "D", 2, (11, "x"), possdup=True, orig=T0 + 10)
    assert types(a) == [b"3", b"5"] and sent(a)[0].get(373) == b"10"
    assert a.disconnect is not None and a.deliver == []


def test_2e_possdup_below_the_expected_number_with_orig_sending_time_is_ignored():
    s = logged_on_session(next_target=3)
    a = feed(s, "0", 2, possdup=True, orig=T0 - 1)
    assert a.send == [] and a.disconnect is None and s.next_target == 4


# -- session reset during a live session ------------------------------------------------------


def test_session_reset_logon_141_resets_both_numbers_and_answers_logon_141():
    s = logged_on_session(next_target=9)
    a = feed(s, "A", 1, (98, 0), (108, 30), (141, "Y"))
    assert a.reset_store and types(a) == [b"A"]
    reply = sent(a)[0]
    assert reply.get(34) == b"1" and reply.get(141) == b"Y"
    assert s.next_sender == 2 and s.next_target == 2 and s.logged_on


def test_session_reset_logon_141_with_a_number_other_than_1_logs_out():
    s = logged_on_session(next_target=9)
    a = feed(s, "A", 10, (98, 0), (108, 30), (141, "Y"))
    assert not a.reset_store and types(a) == [b"5"] and a.disconnect is not None


# -- malformed header fields (14b, 14d) ------------------------------------------------------


def test_14b_missing_target_comp_id_is_rejected_373_1_with_371_not_a_compid_logout():
    s = logged_on_session()
    a = feed_raw(s, wire((35, "0"), (34, 2), (49, THEM), (52, NOW)))
    assert types(a) == [b"3"] and a.disconnect is None
    rej = sent(a)[0]
    assert (rej.get(373), rej.get(371), rej.get(45)) == (b"1", b"56", b"2")
    assert s.next_target == 3


def test_14d_empty_target_comp_id_is_rejected_373_4_with_371():
    s = logged_on_session()
    a = feed_raw(s, wire((35, "0"), (34, 2), (49, THEM), (52, NOW), (56, "")))
    rej = sent(a)[0]
    assert (rej.get(373), rej.get(371)) == (b"4", b"56") and a.disconnect is None


def test_14b_missing_sending_time_is_rejected_373_1_not_a_clock_logout():
    s = logged_on_session()
    a = feed_raw(s, wire((35, "0"), (49, THEM), (56, US), (34, 2)))
    assert types(a) == [b"3"] and a.disconnect is None
    assert (sent(a)[0].get(373), sent(a)[0].get(371)) == (b"1", b"52")


# -- dictionary answers (14a, 14i) -----------------------------------------------------------


def test_14a_tags_0_and_minus_1_are_named_in_371():
    s = logged_on_session(dictionary=DataDictionary.default())
    for seq, tag in ((2, "0"), (3, "-1")):
        a = feed_raw(s, wire(*hdr("0", seq), (tag, "HI")))
        rej = sent(a)[0]
        assert (rej.get(373), rej.get(371)) == (b"0", tag.encode())


def test_14i_numingroup_count_not_matching_is_373_16_naming_the_count_tag():
    s = logged_on_session(dictionary=DataDictionary.default())
    order = (
        (11, "ID"),
        (21, "1"),
        (386, 3),
        (336, "PRE-OPEN"),
        (336, "AFTER-HOURS"),
        (55, "7203"),
        (54, "1"),
        (60, NOW),
        (38, "200"),
        (40, "1"),
    )
    a = feed_raw(s, wire(*hdr("D", 2), *order))
    rej = sent(a)[0]
    assert (rej.get(373), rej.get(371)) == (b"16", b"386") and a.deliver == []


# -- reverse routing -------------------------------------------------------------------------


def test_reject_routes_back_on_behalf_of_as_deliver_to_and_vice_versa():
    s = logged_on_session(dictionary=DataDictionary.default())
    a = feed(s, "0", 2, (115, "JCD"), (116, "CS"), (144, "CHI"), (55, "X"))
    rej = sent(a)[0]
    assert (rej.get(128), rej.get(129), rej.get(145)) == (b"JCD", b"CS", b"CHI")
    assert rej.get(115) is None
    a = feed(s, "0", 3, (128, "JCD"), (55, "X"))
    assert sent(a)[0].get(115) == b"JCD" and sent(a)[0].get(128) is None


def test_reject_does_not_route_back_an_empty_routing_field():
    s = logged_on_session(dictionary=DataDictionary.default())
    a = feed(s, "0", 2, (115, ""))
    rej = sent(a)[0]
    assert (rej.get(373), rej.get(371), rej.get(128)) == (b"4", b"115", None)
