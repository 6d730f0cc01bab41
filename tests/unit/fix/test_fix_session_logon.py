"""Logon rules of the pure session (no sockets): both roles."""

from __future__ import annotations

from support.fixscript import T0, THEM, US, feed, sent, settings, types

from fixengine import DataDictionary, Session, State, sending_time


def acceptor(**kw: object) -> Session:
    s = Session(settings(SenderCompID=THEM, TargetCompID=US, ConnectionType="acceptor", **kw))
    s.on_connected(T0)
    return s


def logon_in(s: Session, seq: int = 1, *extra: tuple[int, object], **kw: object):
    return feed(s, "A", seq, (98, 0), (108, 25), *extra, sender=US, target=THEM, **kw)


def test_initiator_logon_carries_encryptmethod_heartbtint_and_no_reset_by_default():
    s = Session(settings(HeartBtInt=17))
    a = s.on_connected(T0)
    (logon,) = sent(a)
    assert logon.message_type == b"A"
    assert logon.get(98) == b"0" and logon.get(108) == b"17"
    assert logon.get(141) is None
    assert logon.get(34) == b"1" and logon.get(49) == US.encode() and logon.get(56) == THEM.encode()
    assert s.state is State.LOGON_SENT


def test_initiator_logon_carries_username_and_password_from_config():
    s = Session(settings(Username="alice", Password="s3cret"))
    (logon,) = sent(s.on_connected(T0))
    assert logon.get(553) == b"alice" and logon.get(554) == b"s3cret"


def test_reset_on_logon_sends_resetseqnumflag_from_seq_1_and_resets_store():
    s = Session(settings(ResetOnLogon=True), next_sender=40, next_target=50)
    a = s.on_connected(T0)
    (logon,) = sent(a)
    assert a.reset_store
    assert logon.get(141) == b"Y" and logon.get(34) == b"1"
    assert s.next_target == 1


def test_initiator_logged_on_after_logon_reply():
    s = Session(settings())
    s.on_connected(T0)
    a = feed(s, "A", 1, (98, 0), (108, 30))
    assert s.state is State.LOGGED_ON
    assert [e.kind for e in a.events if e.kind == "logon"] == ["logon"]
    assert s.next_target == 2


def test_initiator_logout_instead_of_logon_reply_disconnects_with_its_text():
    s = Session(settings())
    s.on_connected(T0)
    a = feed(s, "5", 1, (58, "bad password"))
    assert a.disconnect is not None and "bad password" in a.disconnect
    assert a.send == []


def test_acceptor_first_message_not_logon_closes_without_logout():
    s = acceptor()
    a = feed(s, "D", 1, (11, "x"), sender=US, target=THEM)
    assert a.disconnect == "first message is not a Logon"
    assert a.send == []


def test_acceptor_logon_reply_has_encryptmethod_zero_and_offered_heartbtint():
    s = acceptor(HeartBtInt=30)
    a = logon_in(s)
    (reply,) = sent(a)
    assert reply.message_type == b"A"
    assert reply.get(98) == b"0" and reply.get(108) == b"25"
    assert reply.get(141) is None
    assert s.heartbeat_interval == 25 and s.state is State.LOGGED_ON


def test_acceptor_logon_reply_has_resetseqnumflag_only_when_asked():
    s = Session(
        settings(SenderCompID=THEM, TargetCompID=US, ConnectionType="acceptor"),
        next_sender=9,
        next_target=9,
    )
    s.on_connected(T0)
    a = logon_in(s, 1, (141, "Y"))
    (reply,) = sent(a)
    assert reply.get(141) == b"Y" and reply.get(34) == b"1"
    assert a.reset_store and s.next_target == 2 and s.next_sender == 2


def test_acceptor_logon_with_wrong_compids_closes_without_logout():
    s = acceptor()
    a = feed(s, "A", 1, (98, 0), (108, 30), sender="INTRUDER", target=THEM)
    assert a.disconnect is not None and a.send == []
    assert s.state is State.AWAITING_LOGON


def test_acceptor_logon_without_heartbtint_closes_without_logout():
    s = acceptor()
    a = feed(s, "A", 1, (98, 0), sender=US, target=THEM)
    assert a.disconnect is not None and a.send == []


def test_logon_failing_dictionary_validation_closes_without_logout():
    s = Session(
        settings(SenderCompID=THEM, TargetCompID=US, ConnectionType="acceptor"),
        dictionary=DataDictionary.default(),
    )
    s.on_connected(T0)
    a = feed(s, "A", 1, (108, 30), sender=US, target=THEM)  # EncryptMethod(98) missing
    assert a.disconnect is not None and a.send == []


def test_refused_logon_answers_logout_with_text_then_disconnects():
    s = acceptor()
    s.refuse_logons_until = T0 + 60
    s.refuse_logon_text = "maintenance"
    a = logon_in(s)
    (logout,) = sent(a)
    assert logout.message_type == b"5" and logout.get(58) == b"maintenance"
    assert a.disconnect is not None


def test_logon_with_seq_too_high_is_answered_then_resend_requested():
    s = acceptor()
    a = logon_in(s, 5)
    assert types(a) == [b"A", b"2"]
    rr = sent(a)[1]
    assert rr.get(7) == b"1" and rr.get(16) == b"0"
    assert s.state is State.LOGGED_ON


def test_logon_with_seq_too_low_logs_out():
    s = Session(
        settings(SenderCompID=THEM, TargetCompID=US, ConnectionType="acceptor"),
        next_target=10,
    )
    s.on_connected(T0)
    a = logon_in(s, 3)
    (logout,) = sent(a)
    assert logout.message_type == b"5" and b"too low" in (logout.get(58) or b"")
    assert a.disconnect is not None


def test_logon_timeout_disconnects():
    s = Session(settings(LogonTimeout=5))
    s.on_connected(T0)
    assert s.on_timer(T0 + 4.9).disconnect is None
    assert s.on_timer(T0 + 5.0).disconnect == "logon timeout"


def test_acceptor_continues_from_stored_numbers_on_logon():
    s = Session(
        settings(SenderCompID=THEM, TargetCompID=US, ConnectionType="acceptor"),
        next_sender=100,
        next_target=7,
    )
    s.on_connected(T0)
    a = logon_in(s, 7)
    (reply,) = sent(a)
    assert reply.get(34) == b"100"
    assert s.next_target == 8 and s.next_sender == 101


def test_logon_refused_for_its_sendingtime_resets_nothing_even_with_reset_on_logon():
    s = Session(
        settings(SenderCompID=THEM, TargetCompID=US, ConnectionType="acceptor", ResetOnLogon=True),
        next_sender=40,
        next_target=50,
    )
    s.on_connected(T0)
    a = feed(
        s,
        "A",
        1,
        (98, 0),
        (108, 25),
        sender=US,
        target=THEM,
        now=T0 + 10_000,
        sending=sending_time(T0),
    )
    assert a.disconnect == "Logon SendingTime accuracy problem" and a.send == []
    assert (s.next_sender, s.next_target) == (40, 50)
    assert s.state is not State.LOGGED_ON
