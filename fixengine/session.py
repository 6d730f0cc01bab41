"""The FIX 4.4 session layer as a pure state machine (no sockets, no clock, no store I/O).

Feed it events -- :meth:`Session.on_connected`, :meth:`Session.on_message`,
:meth:`Session.on_timer` (with ``now`` in epoch seconds), :meth:`Session.send_app`,
:meth:`Session.request_logout`, :meth:`Session.on_disconnected` -- and it returns
:class:`Actions`: messages to write (already numbered and encoded), application messages to
deliver in sequence order, whether the store must be reset, a resend range the shell must fetch
from the store, events for the application, and whether to disconnect. The same code serves
initiator and acceptor; :mod:`fixengine.transport` is the asyncio shell around it.

Sequence numbers live in ``next_sender`` / ``next_target``; the shell persists them (and the
stored application messages) before the bytes reach the socket.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any, Protocol

import simplefix

from fixengine.codec import (
    SOH,
    encode_pairs,
    frame,
    parse_utc_timestamp,
    sending_time,
    to_bytes,
)
from fixengine.parser import parse
from fixengine.settings import SessionSettings

ADMIN_TYPES = frozenset({b"0", b"1", b"2", b"3", b"4", b"5", b"A"})

# SessionRejectReason (373)
REJ_INVALID_TAG = 0
REJ_REQUIRED_TAG_MISSING = 1
REJ_TAG_WITHOUT_VALUE = 4
REJ_VALUE_INCORRECT = 5
REJ_INCORRECT_DATA_FORMAT = 6
REJ_COMPID_PROBLEM = 9
REJ_SENDINGTIME_ACCURACY = 10
REJ_OTHER = 99
# BusinessRejectReason (380)
BIZ_UNSUPPORTED_MESSAGE_TYPE = 3

#: reverse routing on a Reject (QuickFIX's ``Message::reverseRoute``): the received
#: OnBehalfOf* field goes back as the matching DeliverTo* field and vice versa
_ROUTE_BACK = (
    (b"115", b"128"),
    (b"128", b"115"),
    (b"116", b"129"),
    (b"129", b"116"),
    (b"144", b"145"),
    (b"145", b"144"),
)
#: the TestReqID(112) of our TestRequests, QuickFIX's; any inbound message answers it
TEST_REQ_ID = b"TEST"

_RESEND_SKIP = frozenset(
    {b"8", b"9", b"10", b"35", b"49", b"56", b"34", b"43", b"52", b"122", b"97"}
)


def _is_num(value: bytes | None) -> bool:
    """A non-negative integer field that fits (``int()`` of thousands of digits would raise)."""
    return value is not None and 0 < len(value) <= 18 and value.isdigit()


class State(StrEnum):
    """Where the session is; ``logged_on`` is the only state in which application data flows."""

    DISCONNECTED = "disconnected"
    AWAITING_LOGON = "awaiting_logon"  # acceptor: connected, waiting for the peer's Logon
    LOGON_SENT = "logon_sent"  # initiator: Logon written, waiting for the reply
    LOGGED_ON = "logged_on"
    LOGOUT_SENT = "logout_sent"  # our Logout written, waiting for the peer's


class ViolationLike(Protocol):
    session_reject_reason: int
    ref_tag_id: int | None
    text: str
    business_reject: bool


class Validator(Protocol):
    """What the session needs of ``fixengine.dictionary.DataDictionary``."""

    def validate(
        self,
        msg: simplefix.FixMessage,
        raw: bytes | None = None,
        *,
        check_fields_out_of_order: bool = True,
        check_user_defined_fields: bool = True,
    ) -> Any: ...


class NotLoggedOn(RuntimeError):
    """Application data can only be sent while the session is logged on."""


@dataclass(slots=True)
class Outbound:
    """One message ready for the wire. ``store``: an application message kept for resend."""

    seq: int
    msg_type: bytes
    raw: bytes
    store: bool = False


@dataclass(slots=True)
class Event:
    """Something the application hears about: logon, logout, state, reject_received, garbled."""

    kind: str
    old: State | None = None
    new: State | None = None
    text: str = ""


@dataclass(slots=True)
class Actions:
    send: list[Outbound] = field(default_factory=list)
    deliver: list[simplefix.FixMessage] = field(default_factory=list)
    events: list[Event] = field(default_factory=list)
    reset_store: bool = False
    resend: tuple[int, int] | None = None
    disconnect: str | None = None


@dataclass(slots=True)
class Counters:
    received: int = 0
    sent: int = 0
    rejects_sent: int = 0
    rejects_received: int = 0
    business_rejects_sent: int = 0
    resend_requests_sent: int = 0
    resend_requests_received: int = 0
    gap_fills_sent: int = 0
    possdup_ignored: int = 0
    replayed: int = 0  # PossDup messages delivered inside an operator-requested replay window
    held: int = 0
    test_requests_sent: int = 0
    heartbeats_sent: int = 0


class Session:
    """One FIX session (a SenderCompID/TargetCompID pair), alive across connections."""

    def __init__(
        self,
        settings: SessionSettings,
        next_sender: int = 1,
        next_target: int = 1,
        dictionary: Validator | None = None,
    ) -> None:
        self.settings = settings
        self.next_sender = next_sender
        self.next_target = next_target
        self.dictionary = dictionary
        self.state = State.DISCONNECTED
        self.heartbeat_interval = settings.HeartBtInt
        self.counters = Counters()
        self._sender = settings.SenderCompID.encode()
        self._target = settings.TargetCompID.encode()
        self._begin = settings.BeginString.encode()
        self._hdr = b"\x0149=" + self._sender + b"\x0156=" + self._target + b"\x0134="
        self._held: dict[int, tuple[simplefix.FixMessage, bytes, dict[bytes, bytes]]] = {}
        self._resend_end: int | None = None  # we asked for a resend up to (at least) this seq
        self._resend_at = 0.0  # when, and at which expected number, we last asked
        self._resend_from = 0
        # operator-requested replay (``request_replay``): PossDup messages numbered in
        # [first, last] and below the expected number are delivered (the app deduplicates)
        self.replay_window: tuple[int, int] | None = None
        self._last_recv = 0.0
        self._last_sent = 0.0
        self._connected_at = 0.0
        self._logout_sent_at = 0.0
        self._test_req_id: bytes | None = None
        self._test_req_at = 0.0
        self._logout_exchanged = False
        self._sent_reset = False
        self._time_cache: tuple[bytes, float] = (b"", 0.0)
        self.last_logout_text = ""
        # operator / fault-injection knobs (off by default)
        self.reset_on_next_logon = False
        self.suppress_heartbeats = False
        # False: never TestRequest or drop a silent peer (setting CheckPeerHeartbeats)
        self.check_peer_heartbeats = settings.CheckPeerHeartbeats
        self.refuse_logons_until = 0.0
        self.refuse_logon_text = "logon refused"
        # callable(msg) -> refusal text or None; a FixSession owns it (its schedule gate, then
        # its ``logon_validator``): set the shell's validator, not this
        self.accept_logon: Any = None

    # ------------------------------------------------------------------ helpers

    @property
    def logged_on(self) -> bool:
        return self.state is State.LOGGED_ON

    @property
    def begin_string(self) -> bytes:
        """The session's BeginString(8), which every inbound message must carry."""
        return self._begin

    @property
    def held_count(self) -> int:
        return len(self._held)

    @property
    def resend_pending(self) -> bool:
        return self._resend_end is not None

    def _set_state(self, new: State, a: Actions) -> None:
        old = self.state
        if old is not new:
            self.state = new
            a.events.append(Event("state", old, new))

    def _build(self, msg_type: bytes, body: bytes, now: float, store: bool = False) -> Outbound:
        seq = self.next_sender
        self.next_sender = seq + 1
        raw = frame(
            b"35=" + msg_type + self._hdr + b"%d\x0152=%b\x01" % (seq, sending_time(now)) + body,
            self._begin,
        )
        self._last_sent = now
        self.counters.sent += 1
        return Outbound(seq, msg_type, raw, store)

    def _send_admin(self, a: Actions, msg_type: bytes, body: bytes, now: float) -> None:
        a.send.append(self._build(msg_type, body, now))

    def _reset_seqs(self, a: Actions) -> None:
        self.next_sender = 1
        self.next_target = 1
        self._held.clear()
        self._resend_end = None
        a.reset_store = True

    def reset(self) -> Actions:
        """Operator reset of both sequence numbers (only while disconnected)."""
        if self.state is not State.DISCONNECTED:
            raise RuntimeError("reset sequence numbers only while disconnected")
        a = Actions()
        self._reset_seqs(a)
        return a

    def skip_outbound(self, n: int) -> None:
        """Fault injection: leave ``n`` outbound sequence numbers unused (the peer sees a gap)."""
        self.next_sender += n

    # ------------------------------------------------------------------ outbound

    def logon_message(self, now: float, reset: bool) -> Outbound:
        body = b"98=0\x01108=%d\x01" % self.settings.HeartBtInt
        if reset:
            body += b"141=Y\x01"
        s = self.settings
        if s.Username is not None and s.Password is not None:
            body += b"553=" + s.Username.encode() + b"\x01554=" + s.Password.encode() + SOH
        return self._build(b"A", body, now)

    def send_app(self, msg: simplefix.FixMessage, now: float) -> Outbound:
        """Number, stamp and encode an application message (its own 8/9/34/49/52/56/10 ignored)."""
        if msg.message_type is None:
            raise ValueError("message has no MsgType(35)")
        from fixengine.codec import SESSION_HEADER_TAGS

        return self.send_body(msg.message_type, encode_pairs(msg.pairs, SESSION_HEADER_TAGS), now)

    def send_body(self, msg_type: bytes | str, body: bytes, now: float) -> Outbound:
        """Hot path: ``body`` is the encoded fields after the standard header (see codec.Template)."""
        if self.state is not State.LOGGED_ON:
            raise NotLoggedOn(f"session {self.settings.session_id} is {self.state.value}")
        return self._build(to_bytes(msg_type), body, now, store=True)

    def request_logout(self, now: float, text: str = "") -> Actions:
        a = Actions()
        if self.state is State.LOGGED_ON:
            body = b"58=" + text.encode() + SOH if text else b""
            self._send_admin(a, b"5", body, now)
            self._logout_sent_at = now
            self._set_state(State.LOGOUT_SENT, a)
        elif self.state in (State.AWAITING_LOGON, State.LOGON_SENT):
            a.disconnect = "logout requested before logon completed"
        return a

    # ------------------------------------------------------------------ connection events

    def on_connected(self, now: float) -> Actions:
        a = Actions()
        self._connected_at = self._last_recv = self._last_sent = now
        self._test_req_id = None
        self._held.clear()
        self._resend_end = None
        self._logout_exchanged = False
        self._sent_reset = False
        self.last_logout_text = ""
        if self.settings.is_initiator:
            reset = self.settings.ResetOnLogon or self.reset_on_next_logon
            self.reset_on_next_logon = False
            if reset:
                self._reset_seqs(a)
            self._sent_reset = reset
            self.heartbeat_interval = self.settings.HeartBtInt
            a.send.append(self.logon_message(now, reset))
            self._set_state(State.LOGON_SENT, a)
        else:
            self._set_state(State.AWAITING_LOGON, a)
        return a

    def on_disconnected(self, now: float) -> Actions:
        a = Actions()
        was = self.state
        if was is State.DISCONNECTED:
            return a
        self._set_state(State.DISCONNECTED, a)
        self._held.clear()
        self._resend_end = None
        self.replay_window = None
        self._test_req_id = None
        if was in (State.LOGGED_ON, State.LOGOUT_SENT):
            a.events.append(Event("logout", text=self.last_logout_text))
        if self.settings.ResetOnDisconnect or (
            self._logout_exchanged and self.settings.ResetOnLogout
        ):
            self._reset_seqs(a)
        return a

    def on_timer(self, now: float) -> Actions:
        a = Actions()
        st = self.state
        if st in (State.AWAITING_LOGON, State.LOGON_SENT):
            if now - self._connected_at >= self.settings.LogonTimeout:
                a.disconnect = "logon timeout"
        elif st is State.LOGOUT_SENT:
            if now - self._logout_sent_at >= self.settings.LogoutTimeout:
                a.disconnect = "logout timeout"
        elif st is State.LOGGED_ON and self.heartbeat_interval > 0:
            hb = self.heartbeat_interval
            limit = hb * (1.0 + self.settings.TestRequestDelayMultiplier)
            if self._test_req_id is not None:
                if now - self._test_req_at >= limit:
                    a.disconnect = "TestRequest not answered"
                    return a
            elif now - self._last_recv >= limit and self.check_peer_heartbeats:
                self._test_req_id = TEST_REQ_ID
                self._test_req_at = now
                self.counters.test_requests_sent += 1
                self._send_admin(a, b"1", b"112=" + TEST_REQ_ID + SOH, now)
            if (
                now - self._last_sent >= hb
                and self._test_req_id is None  # no Heartbeat while a TestRequest waits (QuickFIX)
                and not self.suppress_heartbeats
            ):
                self.counters.heartbeats_sent += 1
                self._send_admin(a, b"0", b"", now)
        if (
            st is State.LOGGED_ON
            and self._resend_end is not None
            and now - self._resend_at >= max(self.heartbeat_interval, 1)
        ):
            if self.next_target == self._resend_from:
                # a whole HeartBtInt without progress: our ResendRequest (or the answer) was lost
                self._request_resend(self.next_target, now, a)
            else:
                self._resend_at, self._resend_from = now, self.next_target
        return a

    # ------------------------------------------------------------------ inbound

    def on_message(self, msg: simplefix.FixMessage, raw: bytes, now: float) -> Actions:
        a = Actions()
        self._last_recv = now
        self.counters.received += 1
        st = self.state
        if st is State.DISCONNECTED:
            return a
        f = dict(msg.pairs)
        mt = msg.message_type
        if msg.begin_string != self._begin:
            self._wrong_begin_string(f, mt, now, a)
            return a
        self._test_req_id = None  # any message shows the peer alive (as QuickFIX counts it)
        if st is State.AWAITING_LOGON:
            if mt != b"A":
                a.disconnect = "first message is not a Logon"
                return a
            self._on_logon_acceptor(msg, raw, f, now, a)
            return a
        if st is State.LOGON_SENT:
            if mt == b"A":
                self._on_logon_reply(msg, raw, f, now, a)
            elif mt == b"5":
                self.last_logout_text = f.get(b"58", b"").decode(errors="replace")
                self._logout_exchanged = True
                a.disconnect = "logon refused: " + self.last_logout_text
            else:
                a.disconnect = "first message is not a Logon"
            return a
        seq_b = f.get(b"34")
        if seq_b is None or not _is_num(seq_b):
            self._logout(a, now, "MsgSeqNum(34) missing or not a number")
            return a
        seq = int(seq_b)
        if self.settings.CheckCompID and (
            f.get(b"49") != self._target or f.get(b"56") != self._sender
        ):
            self._compid_problem(f, seq, mt, now, a)
            return a
        if mt == b"4" and f.get(b"123") != b"Y":
            self._sequence_reset(f, seq, mt, now, a, gap_fill=False)
            return a
        if mt == b"A" and st is State.LOGGED_ON and f.get(b"141") == b"Y":
            self._reset_logon(f, seq, now, a)
            return a
        expected = self.next_target
        if seq > expected:
            if mt == b"2":
                self._on_resend_request(f, seq, now, a)
            elif mt == b"5":
                self._on_logout(f, now, a)
                return a
            else:
                self._held[seq] = (msg, raw, f)
                self.counters.held += 1
            self._gap(expected, seq, now, a)
            return a
        if seq < expected:
            if mt == b"5":  # a Logout is answered whatever its number (QuickFIX)
                self._on_logout(f, now, a)
                return a
            if f.get(b"43") == b"Y":
                if self.replay_window is not None:
                    self._replayed(msg, raw, f, seq, now, a)
                elif not self._bad_possdup(f, seq, mt, now, a, consume=False):
                    self.counters.possdup_ignored += 1
                return a
            if mt == b"2":  # answered, its number not consumed (QuickFIX; spec case 8)
                self._on_resend_request(f, seq, now, a)
                return a
            self._logout(a, now, f"MsgSeqNum too low, expecting {expected} but received {seq}")
            return a
        self._in_order(msg, raw, f, seq, now, a)
        held = self._held
        while held and a.disconnect is None:
            nxt = held.pop(self.next_target, None)
            if nxt is None:
                for s in [s for s in held if s < self.next_target]:
                    del held[s]
                break
            self._in_order(nxt[0], nxt[1], nxt[2], self.next_target, now, a)
        if self._resend_end is not None and self.next_target > self._resend_end:
            self._resend_end = None
        return a

    def request_replay(self, first: int, last: int, now: float) -> Actions:
        """Ask the peer to send its messages ``first..last`` again (ResendRequest 7/16), all of
        them already received, and open a replay window: those that come back as PossDup
        application messages are delivered again (the engine otherwise drops PossDup messages
        below the expected number). The application must be idempotent (the connector
        deduplicates by ExecID). ``ValueError`` for a range not wholly received; the window
        closes when its last number came back (message or GapFill), or on disconnect."""
        if not self.logged_on:
            raise NotLoggedOn(self.state.value)
        if not 1 <= first <= last:
            raise ValueError(f"bad range {first}-{last}")
        if last >= self.next_target:
            raise ValueError(
                f"range {first}-{last} reaches past the last received number {self.next_target - 1}"
            )
        a = Actions()
        self.replay_window = (first, last)
        self.counters.resend_requests_sent += 1
        self._send_admin(a, b"2", b"7=%d\x0116=%d\x01" % (first, last), now)
        return a

    def _replayed(
        self,
        msg: simplefix.FixMessage,
        raw: bytes,
        f: dict[bytes, bytes],
        seq: int,
        now: float,
        a: Actions,
    ) -> None:
        """A PossDup message below the expected number while a replay window is open."""
        assert self.replay_window is not None
        first, last = self.replay_window
        mt = msg.message_type or b""
        if not first <= seq <= last:
            self.counters.possdup_ignored += 1
            return
        if mt == b"4":  # GapFill over admin messages: nothing to deliver
            new_b = f.get(b"36")
            if new_b is not None and _is_num(new_b) and int(new_b) > last:
                self.replay_window = None
            return
        if seq == last:
            self.replay_window = None
        if mt in ADMIN_TYPES:
            return
        valid = f.get(b"122") is not None and not self._bad_time(f, now)
        if (
            not valid or self._violation(msg, raw) is not None
        ):  # already received once, in order: no Reject, just not delivered again
            self.counters.possdup_ignored += 1
            return
        self.counters.replayed += 1
        a.deliver.append(msg)

    def _gap(self, expected: int, seq: int, now: float, a: Actions) -> None:
        if self._resend_end is not None:
            self._resend_end = max(self._resend_end, seq - 1)
            return
        self._resend_end = seq - 1
        self._request_resend(expected, now, a)

    def _request_resend(self, begin: int, now: float, a: Actions) -> None:
        self._resend_at = now
        self._resend_from = begin
        self.counters.resend_requests_sent += 1
        self._send_admin(a, b"2", b"7=%d\x0116=0\x01" % begin, now)

    def _bad_time(self, f: dict[bytes, bytes], now: float) -> bool:
        """SendingTime(52) missing, malformed or further than MaxLatency seconds from ``now``.

        Whole seconds, as QuickFIX compares: the parsed second is cached, so a stream of
        messages costs one slice and one comparison each."""
        if not self.settings.CheckLatency:
            return False
        st = f.get(b"52")
        if st is None:
            return True
        prefix, base = self._time_cache
        if st[:17] != prefix:
            parsed = parse_utc_timestamp(st)
            if parsed is None:
                return True
            base = float(int(parsed))
            self._time_cache = (st[:17], base)
        elif len(st) != 17 and (st[17:18] != b"." or not st[18:].isdigit()):
            return True
        return abs(now - base) > self.settings.MaxLatency + 0.999

    def _violation(self, msg: simplefix.FixMessage, raw: bytes) -> Any:
        """The dictionary's verdict on a message (None: valid, or no dictionary)."""
        if self.dictionary is None:
            return None
        try:
            return self.dictionary.validate(
                msg,
                raw,
                check_fields_out_of_order=self.settings.ValidateFieldsOutOfOrder,
                check_user_defined_fields=self.settings.ValidateUserDefinedFields,
            )
        except Exception as exc:  # a dictionary bug must not kill the session
            return _Violation(REJ_OTHER, None, f"validation failed: {exc}", False)

    def _in_order(
        self,
        msg: simplefix.FixMessage,
        raw: bytes,
        f: dict[bytes, bytes],
        seq: int,
        now: float,
        a: Actions,
    ) -> None:
        mt = msg.message_type or b""
        if f.get(b"43") == b"Y" and self._bad_possdup(f, seq, mt, now, a, consume=True):
            return
        if self._bad_time(f, now):
            if not f.get(b"52"):  # missing or empty: a malformed message, not a clock problem
                self._header_field_problem(f, b"52", seq, mt, now, a)
                return
            self._reject(
                a, now, seq, mt, REJ_SENDINGTIME_ACCURACY, "SendingTime accuracy problem", 52, f
            )
            self._logout(a, now, "SendingTime accuracy problem")
            return
        if self.dictionary is not None:
            v = self._violation(msg, raw)
            if v is not None:
                self.next_target = seq + 1
                if v.business_reject:
                    self._business_reject(a, now, seq, mt, BIZ_UNSUPPORTED_MESSAGE_TYPE, v.text)
                else:
                    self._reject(a, now, seq, mt, v.session_reject_reason, v.text, v.ref_tag_id, f)
                return
        if mt not in ADMIN_TYPES:
            self.next_target = seq + 1
            a.deliver.append(msg)
            return
        if mt == b"0":
            self.next_target = seq + 1
            if self._test_req_id is not None and f.get(b"112") == self._test_req_id:
                self._test_req_id = None
        elif mt == b"1":
            self.next_target = seq + 1
            trid = f.get(b"112")
            if trid is None:
                self._reject(
                    a, now, seq, mt, REJ_REQUIRED_TAG_MISSING, "TestReqID(112) missing", 112, f
                )
            else:
                self._send_admin(a, b"0", b"112=" + trid + SOH, now)
        elif mt == b"2":
            self.next_target = seq + 1
            self._on_resend_request(f, seq, now, a)
        elif mt == b"3":
            self.next_target = seq + 1
            self.counters.rejects_received += 1
            text = f.get(b"58", b"").decode(errors="replace")
            a.events.append(
                Event(
                    "reject_received",
                    text=f"RefSeqNum={f.get(b'45', b'?').decode(errors='replace')} {text}",
                )
            )
        elif mt == b"4":
            self._sequence_reset(f, seq, mt, now, a, gap_fill=True)
        elif mt == b"5":
            self.next_target = seq + 1
            self._on_logout(f, now, a)
        elif mt == b"A":
            self.next_target = seq + 1  # a second Logon while logged on: counted, ignored

    def _bad_possdup(
        self,
        f: dict[bytes, bytes],
        seq: int,
        mt: bytes | None,
        now: float,
        a: Actions,
        consume: bool,
    ) -> bool:
        """A PossDup message must carry OrigSendingTime(122) (else Reject 373=1, case 2g) no
        later than its SendingTime (else Reject 373=10 and Logout, case 2f); a SequenceReset
        needs no 122. ``consume``: the message holds the expected number (it is used up)."""
        orig = f.get(b"122")
        if orig is None:
            if mt == b"4":
                return False
            if consume:
                self.next_target = seq + 1
            self._reject(
                a,
                now,
                seq,
                mt,
                REJ_REQUIRED_TAG_MISSING,
                "OrigSendingTime(122) missing on a PossDup message",
                122,
                f,
            )
            return True
        ot, stt = parse_utc_timestamp(orig), parse_utc_timestamp(f.get(b"52", b""))
        if ot is not None and stt is not None and ot > stt:
            self._reject(
                a,
                now,
                seq,
                mt,
                REJ_SENDINGTIME_ACCURACY,
                "OrigSendingTime(122) later than SendingTime(52)",
                122,
                f,
            )
            self._logout(a, now, "SendingTime accuracy problem")
            return True
        return False

    def _sequence_reset(
        self, f: dict[bytes, bytes], seq: int, mt: bytes, now: float, a: Actions, gap_fill: bool
    ) -> None:
        new_b = f.get(b"36")
        if new_b is None or not _is_num(new_b):
            if seq == self.next_target:
                self.next_target = seq + 1
            self._reject(
                a,
                now,
                seq,
                mt,
                REJ_REQUIRED_TAG_MISSING if new_b is None else REJ_INCORRECT_DATA_FORMAT,
                "NewSeqNo(36) missing or not a number",
                36,
                f,
            )
            return
        new = int(new_b)
        if new > self.next_target:
            self.next_target = new
            for s in [s for s in self._held if s < new]:
                del self._held[s]
        elif new < self.next_target:
            if gap_fill:
                self.next_target = max(self.next_target, seq + 1)
            self._reject(
                a,
                now,
                seq,
                mt,
                REJ_VALUE_INCORRECT,
                f"NewSeqNo(36)={new} lower than expected {self.next_target}",
                36,
                f,
            )

    def _wrong_begin_string(
        self, f: dict[bytes, bytes], mt: bytes | None, now: float, a: Actions
    ) -> None:
        """A BeginString(8) that is not the session's (spec cases 1d, 2i; QuickFIX's answers):
        before logon, disconnect without a word; after, Logout "Incorrect BeginString" and wait
        for the peer's Logout (LogoutTimeout). A Logout is still a Logout."""
        if self.state in (State.AWAITING_LOGON, State.LOGON_SENT):
            a.disconnect = "incorrect BeginString on the Logon"
            return
        if mt == b"5":
            self._on_logout(f, now, a)
            return
        if self.state is not State.LOGGED_ON:
            return  # our Logout is already out
        seq_b = f.get(b"34")
        if _is_num(seq_b) and int(seq_b or b"0") == self.next_target:
            self.next_target += 1
        text = "Incorrect BeginString"
        self._send_admin(a, b"5", b"58=" + text.encode() + SOH, now)
        self.last_logout_text = text
        self._logout_sent_at = now
        self._set_state(State.LOGOUT_SENT, a)

    def _compid_problem(
        self, f: dict[bytes, bytes], seq: int, mt: bytes | None, now: float, a: Actions
    ) -> None:
        """CompIDs not the session's: Reject 373=9 and Logout (case 2k). A CompID that is missing
        or empty is a malformed message instead (14b, 14d): Reject 373=1 / 373=4 with 371."""
        for tag in (b"56", b"49"):
            if not f.get(tag):
                self._header_field_problem(f, tag, seq, mt, now, a)
                return
        self._reject(a, now, seq, mt, REJ_COMPID_PROBLEM, "CompID problem", None, f)
        self._logout(a, now, "CompID problem")

    def _header_field_problem(
        self,
        f: dict[bytes, bytes],
        tag: bytes,
        seq: int,
        mt: bytes | None,
        now: float,
        a: Actions,
    ) -> None:
        """Reject a message whose required header field ``tag`` is missing (373=1) or empty
        (373=4), RefTagID = the tag; the number is consumed when it was the expected one."""
        missing = f.get(tag) is None
        if seq == self.next_target:
            self.next_target = seq + 1
        self._reject(
            a,
            now,
            seq,
            mt,
            REJ_REQUIRED_TAG_MISSING if missing else REJ_TAG_WITHOUT_VALUE,
            "Required tag missing" if missing else "Tag specified without a value",
            int(tag),
            f,
        )

    def _reset_logon(self, f: dict[bytes, bytes], seq: int, now: float, a: Actions) -> None:
        """Logon with ResetSeqNumFlag(141)=Y during a live session (spec "Session reset",
        QuickFIX's SessionReset): both numbers restart, answered by Logon 141=Y numbered 1."""
        hb = f.get(b"108")
        if seq != 1 or not _is_num(hb):
            self._logout(a, now, "Logon with ResetSeqNumFlag(141)=Y needs MsgSeqNum(34)=1")
            return
        self._reset_seqs(a)
        self.heartbeat_interval = int(hb or b"0")
        a.send.append(self.logon_message_reply(now, self.heartbeat_interval, True))
        self.next_target = 2
        a.events.append(Event("session_reset", text="peer reset the sequence numbers"))

    def _on_logout(self, f: dict[bytes, bytes], now: float, a: Actions) -> None:
        self.last_logout_text = f.get(b"58", b"").decode(errors="replace")
        self._logout_exchanged = True
        if self.state is State.LOGGED_ON:
            self._send_admin(a, b"5", b"", now)
        a.disconnect = "logout"

    def _logout(self, a: Actions, now: float, text: str) -> None:
        """Logout with text, then disconnect (no wait for the reply: the error is ours to end)."""
        self._send_admin(a, b"5", b"58=" + text.encode() + SOH, now)
        self.last_logout_text = text
        a.disconnect = text

    def _reject(
        self,
        a: Actions,
        now: float,
        ref_seq: int,
        ref_type: bytes | None,
        reason: int,
        text: str,
        ref_tag: int | None,
        f: dict[bytes, bytes] | None = None,
    ) -> None:
        """Reject(3); ``f``, the rejected message's fields, routes it back (OnBehalfOf <->
        DeliverTo, QuickFIX's reverse route; empty routing fields are not copied)."""
        body = b""
        if f is not None:
            for src, dst in _ROUTE_BACK:
                v = f.get(src)
                if v:
                    body += dst + b"=" + v + SOH
        body += b"45=%d\x01" % ref_seq
        if ref_tag is not None:
            body += b"371=%d\x01" % ref_tag
        if ref_type:
            body += b"372=" + ref_type + SOH
        body += b"373=%d\x0158=" % reason + text.encode() + SOH
        self.counters.rejects_sent += 1
        self._send_admin(a, b"3", body, now)

    def _business_reject(
        self, a: Actions, now: float, ref_seq: int, ref_type: bytes, reason: int, text: str
    ) -> None:
        body = (
            b"45=%d\x01372=" % ref_seq
            + ref_type
            + b"\x01380=%d\x0158=" % reason
            + text.encode()
            + SOH
        )
        self.counters.business_rejects_sent += 1
        # BusinessMessageReject is an application message: stored, so a resend replays it
        a.send.append(self._build(b"j", body, now, store=True))

    # ------------------------------------------------------------------ logon

    def _logon_common_checks(self, f: dict[bytes, bytes], a: Actions) -> int | None:
        if self.settings.CheckCompID and (
            f.get(b"49") != self._target or f.get(b"56") != self._sender
        ):
            a.disconnect = "Logon with wrong CompIDs"
            return None
        hb = f.get(b"108")
        seq_b = f.get(b"34")
        if not _is_num(hb) or not _is_num(seq_b):
            a.disconnect = "invalid Logon (HeartBtInt or MsgSeqNum missing)"
            return None
        return int(seq_b or b"0")

    def _validate_logon(self, msg: simplefix.FixMessage, raw: bytes, a: Actions) -> bool:
        if self.dictionary is None:
            return True
        try:
            v = self.dictionary.validate(
                msg,
                raw,
                check_fields_out_of_order=self.settings.ValidateFieldsOutOfOrder,
                check_user_defined_fields=self.settings.ValidateUserDefinedFields,
            )
        except Exception as exc:
            v = _Violation(REJ_OTHER, None, f"validation failed: {exc}", False)
        if v is not None:
            a.disconnect = f"invalid Logon: {v.text}"
            return False
        return True

    def _on_logon_acceptor(
        self, msg: simplefix.FixMessage, raw: bytes, f: dict[bytes, bytes], now: float, a: Actions
    ) -> None:
        seq = self._logon_common_checks(f, a)
        if seq is None or not self._validate_logon(msg, raw, a):
            return
        refusal: str | None = None
        if now < self.refuse_logons_until:
            refusal = self.refuse_logon_text
        elif self.accept_logon is not None:
            refusal = self.accept_logon(msg)
        if refusal:
            self._logout(a, now, refusal)
            return
        if self._bad_time(f, now):  # before any reset: a refused Logon changes nothing
            a.disconnect = "Logon SendingTime accuracy problem"
            return
        asked_reset = f.get(b"141") == b"Y"
        if asked_reset or self.settings.ResetOnLogon or self.reset_on_next_logon:
            self.reset_on_next_logon = False
            self._reset_seqs(a)
        if seq < self.next_target:
            self._logout(
                a, now, f"MsgSeqNum too low, expecting {self.next_target} but received {seq}"
            )
            return
        self.heartbeat_interval = int(f[b"108"])
        a.send.append(self.logon_message_reply(now, int(f[b"108"]), asked_reset))
        self._logged_on(msg, raw, f, seq, now, a)

    def logon_message_reply(self, now: float, hb: int, reset: bool) -> Outbound:
        body = b"98=0\x01108=%d\x01" % hb
        if reset:
            body += b"141=Y\x01"
        return self._build(b"A", body, now)

    def _on_logon_reply(
        self, msg: simplefix.FixMessage, raw: bytes, f: dict[bytes, bytes], now: float, a: Actions
    ) -> None:
        seq = self._logon_common_checks(f, a)
        if seq is None or not self._validate_logon(msg, raw, a):
            return
        if self._bad_time(f, now):  # case 1d, as the acceptor checks it
            a.disconnect = "Logon SendingTime accuracy problem"
            return
        if f.get(b"141") == b"Y" and not self._sent_reset:
            self.next_target = 1  # the acceptor reset its numbers: its next is 1 (this Logon)
        if seq < self.next_target:
            self._logout(
                a, now, f"MsgSeqNum too low, expecting {self.next_target} but received {seq}"
            )
            return
        self._logged_on(msg, raw, f, seq, now, a)

    def _logged_on(
        self,
        msg: simplefix.FixMessage,
        raw: bytes,
        f: dict[bytes, bytes],
        seq: int,
        now: float,
        a: Actions,
    ) -> None:
        self._set_state(State.LOGGED_ON, a)
        a.events.append(Event("logon"))
        if seq == self.next_target:
            self.next_target = seq + 1
        else:
            # too high (case 1a): held like any message, so its number is used up once the
            # gap before it is filled (QuickFIX queues it too)
            self._held[seq] = (msg, raw, f)
            self._gap(self.next_target, seq, now, a)

    # ------------------------------------------------------------------ resend

    def _on_resend_request(self, f: dict[bytes, bytes], seq: int, now: float, a: Actions) -> None:
        b, e = f.get(b"7"), f.get(b"16")
        self.counters.resend_requests_received += 1
        if b is None or e is None or not _is_num(b) or not _is_num(e):
            self._reject(
                a,
                now,
                seq,
                b"2",
                REJ_REQUIRED_TAG_MISSING,
                "BeginSeqNo(7)/EndSeqNo(16) missing or bad",
                7 if not _is_num(b) else 16,
                f,
            )
            return
        begin, end = int(b), int(e)
        last = self.next_sender - 1
        if end == 0 or end > last:
            end = last
        if begin < 1 or begin > end:
            return
        a.resend = (begin, end)

    def build_resend(
        self, begin: int, end: int, stored: dict[int, bytes], now: float
    ) -> list[Outbound]:
        """Answer a ResendRequest: stored application messages again with PossDupFlag(43)=Y and
        OrigSendingTime(122); everything else (admin messages, numbers never stored) collapsed
        into SequenceReset-GapFill(123=Y)."""
        out: list[Outbound] = []
        gap_start: int | None = None
        ts = sending_time(now)
        for s in range(begin, end + 1):
            raw = stored.get(s)
            msg = parse(raw) if raw is not None else None
            if msg is None or msg.message_type in ADMIN_TYPES or msg.message_type is None:
                if gap_start is None:
                    gap_start = s
                continue
            if gap_start is not None:
                out.append(self._gap_fill(gap_start, s, ts))
                gap_start = None
            orig = msg.get(52) or ts
            body = (
                b"35="
                + msg.message_type
                + self._hdr
                + b"%d\x0143=Y\x0152=%b\x01122=%b\x01" % (s, ts, orig)
                + encode_pairs(msg.pairs, _RESEND_SKIP)
            )
            out.append(Outbound(s, msg.message_type, frame(body, self._begin), False))
        if gap_start is not None:
            out.append(self._gap_fill(gap_start, end + 1, ts))
        self._last_sent = now
        return out

    def _gap_fill(self, seq: int, new_seq: int, ts: bytes) -> Outbound:
        self.counters.gap_fills_sent += 1
        body = (
            b"35=4"
            + self._hdr
            + b"%d\x0143=Y\x0152=%b\x01122=%b\x01123=Y\x0136=%d\x01" % (seq, ts, ts, new_seq)
        )
        return Outbound(seq, b"4", frame(body, self._begin), False)


@dataclass(frozen=True, slots=True)
class _Violation:
    session_reject_reason: int
    ref_tag_id: int | None
    text: str
    business_reject: bool
