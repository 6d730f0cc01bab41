"""The simulator's FIX application: inbound D/F/G/H to the matching engine, its events back out as
ExecutionReports and OrderCancelRejects, on the FIX engine's :class:`Acceptor`.

What lives here (the rules an exchange session applies above the FIX session layer):

* every order message is recorded by ClOrdID (``GET /orders``), PossDup copies included;
* a message the engine cannot take is answered with a reject report, never a session Reject;
* reports for a session that is not logged on (a fill of a resting order while its session is
  down, the cancels of cancel-on-disconnect) wait and are sent at its next logon, in order;
* cancel-on-disconnect (per session): when the session drops, its open orders are canceled;
* the Logon's Username(553)/Password(554) are checked when the session has them configured;
* ``duplicate_exec_report``: the last ExecutionReport again, with PossDupFlag=Y and
  OrigSendingTime, under a new sequence number (same ExecID: the peer must drop it).

The application is synchronous on the hot path (``on_message`` is a plain function), so the
transport delivers without a task per message.
"""

from __future__ import annotations

import logging
import time
from collections import defaultdict
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

import simplefix

from fixengine import Application, FixSession, State, sending_time

from . import fixmap
from .arrivals import Arrivals
from .config import SessionConfig
from .engine import MatchingEngine
from .model import (
    CancelOrder,
    CancelReject,
    Event,
    ExecType,
    ExecutionReport,
    NewOrder,
    ReplaceOrder,
)

log = logging.getLogger("ordergate.simulator")

_ORDER_TYPES = frozenset({b"D", b"F", b"G"})
_APP_TYPES = frozenset({b"D", b"F", b"G", b"H"})
_LOGGED_ON = State.LOGGED_ON
_REJECTED = ExecType.REJECTED


@dataclass
class SessionStats:
    """What ``GET /state`` shows per session, besides the FIX session's own counters."""

    orders_received: int = 0
    poss_dup_received: int = 0
    reports_sent: int = 0
    cancel_rejects_sent: int = 0
    app_rejects_sent: int = 0
    logons: int = 0
    logons_refused: int = 0
    disconnects: int = 0
    canceled_on_disconnect: int = 0
    duplicates_sent: int = 0
    last_report: tuple[bytes, float] | None = None  # (body, send time) of the last 8 sent
    pending: list[Event] = field(default_factory=list)  # waiting for the next logon


class ExchangeApplication(Application):
    """One application for every session of the acceptor (the engine is shared by them all)."""

    def __init__(
        self,
        engine: MatchingEngine,
        sessions: Iterable[SessionConfig],
        wall: Callable[[], float] = time.time,
    ) -> None:
        self.engine = engine
        self.configs: dict[str, SessionConfig] = {s.name: s for s in sessions}
        self.wall = wall
        self.fix: dict[str, FixSession] = {}
        self.stats: dict[str, SessionStats] = defaultdict(SessionStats)
        self.arrivals = Arrivals()
        self._reject_ids = 0

    def attach(self, session: FixSession) -> None:
        """Register a FIX session; its Logon check (the session's ``logon_validator``, run after its
        schedule window check) when credentials are configured."""
        name = session.session_id
        self.fix[name] = session
        cfg = self.configs.get(name)
        if cfg is not None and (cfg.password is not None or cfg.username is not None):
            session.logon_validator = self._logon_check(cfg, self.stats[name])

    @staticmethod
    def _logon_check(cfg: SessionConfig, stats: SessionStats) -> Callable[[Any], str | None]:
        def check(msg: Any) -> str | None:
            try:
                user = msg.get(553)
                password = msg.get(554)
                if cfg.username is not None and (user or b"").decode() != cfg.username:
                    stats.logons_refused += 1
                    return "Username(553) not accepted"
                if cfg.password is not None and (password or b"").decode() != cfg.password:
                    stats.logons_refused += 1
                    return "Password(554) not accepted"
            except Exception:  # never let a bad Logon break the session
                stats.logons_refused += 1
                return "Logon credentials unreadable"
            return None

        return check

    # --- FIX callbacks -------------------------------------------------------------------

    def on_message(self, session: FixSession, msg: simplefix.FixMessage) -> None:
        name = session.session_id
        mt = msg.message_type
        stats = self.stats[name]
        fields = fixmap.fields_of(msg)
        if mt in _ORDER_TYPES:
            dup = fields.get(b"43") == b"Y"
            stats.orders_received += 1
            if dup:
                stats.poss_dup_received += 1
            cl = fields.get(b"11")
            if cl is not None:
                self.arrivals.record(
                    name, cl.decode(errors="replace"), mt.decode(), dup, self.wall()
                )
        if mt not in _APP_TYPES:
            if mt == b"j":  # the peer rejected something of ours: log it, never answer it
                log.warning("%s: BusinessMessageReject received: %s", name, fields.get(b"58"))
            else:
                self._business_reject(session, fields, mt or b"?")
            return
        try:
            cmd = fixmap.decode_fields(fields, name)
            engine = self.engine
            if type(cmd) is NewOrder:
                events = engine.new_order(cmd)
            elif type(cmd) is CancelOrder:
                events = engine.cancel(cmd)
            elif type(cmd) is ReplaceOrder:
                events = engine.replace(cmd)
            else:
                events = engine.status(cmd)  # type: ignore[arg-type]
        except fixmap.MappingError as error:
            self._app_reject(msg, name, error)
            return
        except Exception:  # a bug must not leave the peer without an answer, nor kill anything
            log.exception("%s: %s could not be processed", name, mt)
            self._app_reject(
                msg,
                name,
                fixmap.MappingError("99", "internal_error", "the simulator failed on this message"),
            )
            return
        if events:
            self.dispatch(events)

    def _app_reject(self, msg: simplefix.FixMessage, name: str, error: fixmap.MappingError) -> None:
        self._reject_ids += 1
        self.stats[name].app_rejects_sent += 1
        report = fixmap.reject_report(msg, name, error, f"R{self._reject_ids}", self.engine.now())
        self.dispatch([report])

    def _business_reject(self, session: FixSession, fields: fixmap.Fields, mt: bytes) -> None:
        """An application message the exchange does not take: BusinessMessageReject(j),
        BusinessRejectReason(380)=3 (unsupported message type)."""
        self.stats[session.session_id].app_rejects_sent += 1
        ref_seq = fields.get(b"34", b"0")
        body = b"45=%b\x01372=%b\x01380=3\x0158=the exchange does not take MsgType %b\x01" % (
            ref_seq,
            mt,
            mt,
        )
        session.send_body(b"j", body)

    def on_logon(self, session: FixSession) -> None:
        stats = self.stats[session.session_id]
        stats.logons += 1
        if stats.pending:
            pending, stats.pending = stats.pending, []
            self.dispatch(pending)

    def on_logout(self, session: FixSession) -> None:
        """The session went down (Logout or a dropped line): cancel-on-disconnect if configured."""
        name = session.session_id
        stats = self.stats[name]
        stats.disconnects += 1
        cfg = self.configs.get(name)
        if cfg is not None and cfg.cancel_on_disconnect:
            events = self.engine.cancel_session_orders(
                name, "cancel_on_disconnect: the session disconnected"
            )
            stats.canceled_on_disconnect += sum(
                1 for e in events if isinstance(e, ExecutionReport) and e.session == name
            )
            self.dispatch(events)

    def on_event(self, session: FixSession, kind: str, text: str) -> None:
        log.info("%s: %s %s", session.session_id, kind, text)

    def on_state_change(self, session: FixSession, old: State, new: State) -> None:
        log.info("%s: %s -> %s", session.session_id, old.value, new.value)

    # --- outbound ------------------------------------------------------------------------

    def dispatch(self, events: Iterable[Event]) -> None:
        """Send each event to its session, or keep it for the session's next logon."""
        fix = self.fix
        all_stats = self.stats
        encode = fixmap.execution_report_bytes
        now = 0.0
        for event in events:
            name = event.session
            session = fix.get(name)
            if session is None:
                continue  # an internal session (liquidity, loaded book): no FIX peer
            stats = all_stats[name]
            if session.core.state is not _LOGGED_ON:
                stats.pending.append(event)
                continue
            if type(event) is ExecutionReport:
                if event.exec_type is _REJECTED:
                    self._mark_rejected(name, event.cl_ord_id)
                body = encode(event)
                if not now:
                    now = self.wall()
                stats.last_report = (body, now)
                session.send_body(b"8", body)
                stats.reports_sent += 1
            else:
                assert isinstance(event, CancelReject)
                self._mark_rejected(name, event.cl_ord_id)
                session.send_body(b"9", fixmap.encode_body(fixmap.cancel_reject_body(event)))
                stats.cancel_rejects_sent += 1

    def _mark_rejected(self, name: str, cl_ord_id: str) -> None:
        arrival = self.arrivals.get(name, cl_ord_id)
        if arrival is not None:
            arrival.rejected = True

    def duplicate_last_report(self, name: str) -> int | None:
        """Fault: the last ExecutionReport again with PossDupFlag=Y; its new MsgSeqNum, or None
        when there is none to repeat or the session is not logged on."""
        session = self.fix.get(name)
        stats = self.stats[name]
        if session is None or not session.logged_on or stats.last_report is None:
            return None
        body, sent_at = stats.last_report
        # PossDupFlag and OrigSendingTime are header fields: they follow SendingTime(52)
        orig = sending_time(sent_at)
        seq = session.send_body(b"8", b"43=Y\x01122=" + orig + b"\x01" + body)
        stats.duplicates_sent += 1
        return seq

    def reset(self) -> None:
        """Forget arrivals and pending reports (the engine is reset by the caller)."""
        self.arrivals.clear()
        for stats in self.stats.values():
            stats.pending.clear()
            stats.last_report = None
