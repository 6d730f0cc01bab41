"""Session rules beyond sequencing: CompIDs, SendingTime, validation rejects, heartbeats,
TestRequest, Logout, resets, sending."""

from __future__ import annotations

import pytest
from support.fixscript import T0, US, app, feed, logged_on_session, sent, settings, types

from fixengine import DataDictionary, NotLoggedOn, Session, State, sending_time

NOS = (
    (11, "c1"),
    (21, "1"),
    (55, "7203"),
    (54, "1"),
    (60, "20261118-07:06:40.000"),
    (38, "100"),
    (40, "2"),
    (44, "2500"),
    (59, "0"),
)


def dd_session(**kw: object) -> Session:
    return logged_on_session(dictionary=DataDictionary.default(), **kw)


# -- CompID and SendingTime ------------------------------------------------------------------


def test_compid_problem_is_rejected_373_9_then_logout_and_disconnect():
    s = logged_on_session()
    a = feed(s, "D", 2, (11, "x"), sender="SOMEONE")
    assert types(a) == [b"3", b"5"]
    rej = sent(a)[0]
    assert rej.get(373) == b"9" and rej.get(45) == b"2" and rej.get(372) == b"D"
    assert a.disconnect is not None and a.deliver == []


def test_sendingtime_beyond_maxlatency_is_rejected_373_10_then_logout():
    s = logged_on_session(MaxLatency=120)
    a = feed(s, "D", 2, (11, "x"), now=T0 + 121, sending=sending_time(T0))
    assert types(a) == [b"3", b"5"]
    rej = sent(a)[0]
    assert rej.get(373) == b"10" and rej.get(371) == b"52"
    assert a.disconnect is not None


def test_sendingtime_within_maxlatency_is_accepted():
    s = logged_on_session(MaxLatency=120)
    a = feed(s, "D", 2, (11, "x"), now=T0 + 119, sending=sending_time(T0))
    assert len(a.deliver) == 1


def test_check_latency_off_accepts_any_sendingtime():
    s = logged_on_session(CheckLatency=False)
    a = feed(s, "D", 2, (11, "x"), now=T0 + 10_000, sending=sending_time(T0))
    assert len(a.deliver) == 1 and a.send == []


def test_malformed_sendingtime_is_an_accuracy_problem():
    s = logged_on_session()
    a = feed(s, "D", 2, (11, "x"), sending=b"yesterday")
    assert types(a) == [b"3", b"5"]


# -- dictionary validation ---------------------------------------------------------------------


def test_valid_new_order_single_is_delivered():
    s = dd_session()
    a = feed(s, "D", 2, *NOS)
    assert len(a.deliver) == 1 and a.send == []


def test_invalid_message_answers_reject_with_45_58_371_372_373():
    s = dd_session()
    a = feed(s, "D", 2, *[f for f in NOS if f[0] != 54])  # Side missing
    (rej,) = sent(a)
    assert rej.message_type == b"3"
    assert rej.get(45) == b"2"
    assert rej.get(372) == b"D"
    assert rej.get(373) == b"1"
    assert rej.get(371) == b"54"
    assert rej.get(58)
    assert a.deliver == []


def test_rejected_message_consumes_its_sequence_number():
    s = dd_session()
    feed(s, "D", 2, *[f for f in NOS if f[0] != 54])
    assert s.next_target == 3
    a = feed(s, "D", 3, *NOS)
    assert len(a.deliver) == 1


def test_unsupported_message_type_answers_business_message_reject_380_3():
    s = dd_session()
    a = feed(s, "B", 2, (148, "headline"))
    (bmr,) = sent(a)
    assert bmr.message_type == b"j"
    assert bmr.get(380) == b"3" and bmr.get(45) == b"2" and bmr.get(372) == b"B"
    assert a.deliver == [] and s.next_target == 3


def test_validation_follows_validate_user_defined_fields_setting():
    seen = {}

    class Spy:
        def validate(
            self, msg, raw=None, *, check_fields_out_of_order=True, check_user_defined_fields=True
        ):
            seen["udf"] = check_user_defined_fields
            seen["order"] = check_fields_out_of_order
            return None

    s = logged_on_session(
        dictionary=Spy(), ValidateUserDefinedFields=False, ValidateFieldsOutOfOrder=False
    )
    feed(s, "D", 2, *NOS)
    assert seen == {"udf": False, "order": False}


# -- heartbeats and TestRequest -----------------------------------------------------------------


def test_test_request_is_answered_with_heartbeat_echoing_testreqid():
    s = logged_on_session()
    a = feed(s, "1", 2, (112, "PING-7"))
    (hb,) = sent(a)
    assert hb.message_type == b"0" and hb.get(112) == b"PING-7"


def test_heartbeat_sent_after_heartbtint_of_outbound_silence():
    s = logged_on_session(HeartBtInt=10)
    assert s.on_timer(T0 + 9.9).send == []
    a = s.on_timer(T0 + 10)
    assert types(a) == [b"0"]


def test_test_request_sent_after_heartbtint_plus_20_percent_of_inbound_silence():
    s = logged_on_session(HeartBtInt=10)
    feed(s, "0", 2, now=T0 + 5)  # last inbound at T0+5
    a = s.on_timer(T0 + 5 + 11.9)
    assert b"1" not in types(a)
    a = s.on_timer(T0 + 5 + 12)
    assert b"1" in types(a)
    tr = [m for m in sent(a) if m.message_type == b"1"][0]
    assert tr.get(112)


def test_unanswered_test_request_disconnects():
    s = logged_on_session(HeartBtInt=10)
    s.on_timer(T0 + 12)  # TestRequest
    assert s.on_timer(T0 + 23.9).disconnect is None
    assert s.on_timer(T0 + 24).disconnect == "TestRequest not answered"


def test_heartbeat_answering_the_test_request_keeps_the_session():
    s = logged_on_session(HeartBtInt=10)
    a = s.on_timer(T0 + 12)
    trid = [m for m in sent(a) if m.message_type == b"1"][0].get(112)
    feed(s, "0", 2, (112, trid.decode()), now=T0 + 13)
    assert s.on_timer(T0 + 24).disconnect is None


def test_without_check_peer_heartbeats_a_silent_peer_is_neither_tested_nor_dropped():
    s = logged_on_session(HeartBtInt=10, CheckPeerHeartbeats=False)
    for later in (12, 24, 60):
        a = s.on_timer(T0 + later)
        assert b"1" not in types(a) and a.disconnect is None
    assert b"0" in types(s.on_timer(T0 + 71))  # its own heartbeats still go out


def test_suppressed_heartbeats_are_not_sent():
    s = logged_on_session(HeartBtInt=10)
    s.suppress_heartbeats = True
    assert b"0" not in types(s.on_timer(T0 + 11))


# -- Logout -------------------------------------------------------------------------------------


def test_logout_request_sends_logout_and_waits_for_the_reply():
    s = logged_on_session()
    a = s.request_logout(T0, "end of day")
    (lo,) = sent(a)
    assert lo.message_type == b"5" and lo.get(58) == b"end of day"
    assert s.state is State.LOGOUT_SENT and a.disconnect is None
    b = feed(s, "5", 2)
    assert b.send == [] and b.disconnect == "logout"


def test_logout_timeout_disconnects():
    s = logged_on_session(LogoutTimeout=2)
    s.request_logout(T0)
    assert s.on_timer(T0 + 1.9).disconnect is None
    assert s.on_timer(T0 + 2).disconnect == "logout timeout"


def test_peer_logout_is_answered_with_logout_then_disconnect():
    s = logged_on_session()
    a = feed(s, "5", 2, (58, "bye"))
    assert types(a) == [b"5"] and a.disconnect == "logout"
    assert s.last_logout_text == "bye"


def test_reset_on_logout_resets_numbers_after_the_logout_exchange():
    s = logged_on_session(ResetOnLogout=True)
    feed(s, "5", 2)
    a = s.on_disconnected(T0)
    assert a.reset_store and s.next_sender == 1 and s.next_target == 1


def test_without_reset_on_logout_numbers_survive_the_logout():
    s = logged_on_session()
    feed(s, "5", 2)
    a = s.on_disconnected(T0)
    assert not a.reset_store and s.next_target == 3


def test_reset_on_disconnect_resets_numbers():
    s = logged_on_session(ResetOnDisconnect=True)
    a = s.on_disconnected(T0)
    assert a.reset_store and s.next_sender == 1
    assert [e.kind for e in a.events] == ["state", "logout"]


# -- sending --------------------------------------------------------------------------------------


def test_send_app_numbers_stamps_and_marks_for_storage():
    s = logged_on_session()
    ob = s.send_app(app("z"), T0)
    assert ob.seq == 2 and ob.store and s.next_sender == 3
    m = __import__("fixengine.parser", fromlist=["parse"]).parse(ob.raw)
    assert m.get(49) == US.encode() and m.get(34) == b"2" and m.get(11) == b"z"


def test_send_when_not_logged_on_raises():
    s = Session(settings())
    with pytest.raises(NotLoggedOn):
        s.send_app(app(), T0)


def test_skipped_outbound_numbers_make_a_gap():
    s = logged_on_session()
    s.skip_outbound(3)
    assert s.send_app(app(), T0).seq == 5


def test_operator_reset_only_while_disconnected():
    s = logged_on_session(next_sender=9)
    with pytest.raises(RuntimeError):
        s.reset()
    s.on_disconnected(T0)
    assert s.reset().reset_store and s.next_sender == 1
