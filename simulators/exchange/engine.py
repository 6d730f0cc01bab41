"""The exchange simulator's matching engine: pure logic, no I/O.

One :class:`MatchingEngine` serves one venue (TSE, or a PTS with its own hours). It keeps one order
book per symbol in price-time priority and runs the market phases on a :class:`SimClock`. Every
call takes a command and returns the events it caused, as plain data
(:class:`~simulators.exchange.model.ExecutionReport`, :class:`~simulators.exchange.model.CancelReject`),
each addressed to the FIX session (``.session``) that must receive it: a fill produces one report
for each side, possibly for two sessions. The FIX layer turns events into messages; nothing here
knows about sockets or FIX encoding.

API (stable; the simulator process builds on it)::

    engine = MatchingEngine(instruments, clock=SimClock.parse(spec), venue="TSE", phase=None)
    engine.new_order(NewOrder(...))        -> list[Event]   # D (PossDup flag in .poss_dup)
    engine.cancel(CancelOrder(...))        -> list[Event]   # F
    engine.replace(ReplaceOrder(...))      -> list[Event]   # G
    engine.status(StatusRequest(...))      -> list[Event]   # H: one ExecType=I report
    engine.tick()                          -> list[Event]   # call often (e.g. every 100 ms):
                                                            # runs phase changes, auctions, expiry
    engine.phase / engine.pinned / engine.now()
    engine.pin_phase(Phase | None)         -> list[Event]   # pin (runs the auctions the move
                                                            # implies); None follows the clock
    engine.configure_session(name, SessionRules(...))       # STP, hard limits, symbols
    engine.set_kill_switch(name, on)       -> list[Event]   # on: cancel all + refuse new
    engine.cancel_session_orders(name, text) -> list[Event] # cancel-on-disconnect
    engine.inject_rejects(name, count); engine.pending_rejects(name)  # fault: reject next N
    engine.book_view(symbol) -> BookView | None; engine.order_view(session, cl_ord_id)
    engine.orders() -> list[OrderView]; engine.trades (last Trade records, with trade_log=N); engine.reset()
    engine.counters (orders, rejects, trades, volume); engine.next_transition_at()

Liquidity (``simulators/exchange/liquidity.py``): ``RandomWalkLiquidity(engine, seed=...)`` with
``.tick()`` from the same ticker, and ``load_book(engine, path)`` for a deterministic book.

Instruments come from the gateway's reference data: ``from_reference_data(path, on=date,
venue=venue)`` (pass the venue, so a PTS only trades the symbols listed on it).

Every call first brings the phase up to the clock (so events of a phase change, such as the
opening itayose's fills, come first in the returned list). Sessions whose name starts with ``#``
are internal (the liquidity provider, a loaded book): their orders trade normally but produce no
events. IDs (OrderID, ExecID, TrdMatchID) carry ``id_prefix``, unique per engine run, so a
restarted simulator never repeats an ExecID the gateway has already applied.

The engine composes one module per concern, each pure and tested alone:

- :mod:`.checks`: pre-trade checks (``check_new``, ``check_replace``, ``amend_problem``) and the
  per-session state they read (``SessionRules``, ``SessionState``);
- :mod:`.continuous`: continuous matching of an incoming order (``match``);
- :mod:`.auction`: the itayose at the open and the close (``run``; the price from :mod:`.itayose`);
- :mod:`.executions`: fills, end states, rejects and their reports, with the engine's IDs;
- :mod:`.views`: read-only views of books and orders;
- this module: the phases on the clock, the sessions' controls (kill switch, cancel-on-disconnect,
  injected rejects), the commands (D, F, G, H) and order lookup.

Rules, the TimeInForce mapping, phases and reject reasons are documented in docs/simulator.md
and docs/matching-engine.md."""

from __future__ import annotations

import secrets
from collections import deque
from collections.abc import Iterable
from datetime import datetime

from . import auction
from .book import Book, Order
from .checks import (
    Rejected,
    SessionRules,
    SessionState,
    amend_problem,
    check_new,
    check_replace,
)
from .continuous import match
from .executions import NONE_ID, Counters, Executions
from .instruments import Instruments
from .model import (
    CancelOrder,
    CxlRejReason,
    CxlRejResponseTo,
    Event,
    ExecType,
    NewOrder,
    OrdRejReason,
    OrdStatus,
    OrdType,
    RejectRule,
    ReplaceOrder,
    StatusRequest,
    TimeInForce,
    Trade,
)
from .phases import Phase, SimClock, VenueProfile, auction_between, profile_for
from .views import BookView, OrderView, book_view, order_view

__all__ = ["NONE_ID", "BookView", "MatchingEngine", "OrderView", "SessionRules"]

# enum members as module constants: an Enum attribute lookup costs ~10x a global one
_TIF_AT_THE_OPENING = TimeInForce.AT_THE_OPENING
_TIF_AT_THE_CLOSE = TimeInForce.AT_THE_CLOSE
_OT_LIMIT = OrdType.LIMIT
_PH_CLOSED = Phase.CLOSED
_PH_CONTINUOUS = Phase.CONTINUOUS
_ST_CANCELED = OrdStatus.CANCELED
_ET_NEW = ExecType.NEW
_ET_CANCELED = ExecType.CANCELED
_ET_REPLACED = ExecType.REPLACED
_ET_ORDER_STATUS = ExecType.ORDER_STATUS

INTERNAL_PREFIX = "#"


class MatchingEngine:
    """See the module docstring."""

    def __init__(
        self,
        instruments: Instruments,
        *,
        clock: SimClock | None = None,
        venue: str = "TSE",
        profile: VenueProfile | None = None,
        phase: Phase | None = None,
        id_prefix: str | None = None,
        trade_log: int = 0,
    ):
        self.instruments = instruments
        self.clock = clock or SimClock()
        self.profile = profile or profile_for(venue)
        self.venue = self.profile.venue
        prefix = id_prefix if id_prefix is not None else secrets.token_hex(3).upper()
        self._ex = Executions(prefix, trade_log)
        self._books: dict[str, Book] = {}
        self._orders: dict[str, Order] = {}
        self._sessions: dict[str, SessionState] = {}
        self._seq = 0
        now = self.clock.now()
        self._last = now
        self._pinned = phase is not None
        self._phase = phase if phase is not None else self.profile.schedule.phase_at(now)
        self._next_boundary = self.profile.schedule.next_boundary(now)
        # tuples, not sets: `in` on a few Enum members by identity beats hashing an Enum
        self._order_types = tuple(self.profile.order_types)
        self._tif_now = tuple(self.profile.time_in_force.get(self._phase, ()))

    @property
    def counters(self) -> Counters:
        """Orders, rejects, trades and volume since the start (or the last ``reset``)."""
        return self._ex.counters

    @property
    def trades(self) -> deque[Trade]:
        """The last trades (``trade_log`` of them; none when 0)."""
        return self._ex.trades

    # --- clock and phases --------------------------------------------------------------

    @property
    def phase(self) -> Phase:
        return self._phase

    @property
    def pinned(self) -> bool:
        return self._pinned

    def now(self) -> datetime:
        return self.clock.now()

    def tick(self) -> list[Event]:
        """Bring the phase up to the clock; returns what the phase changes caused."""
        out: list[Event] = []
        self._sync(self.clock.now(), out)
        return out

    def pin_phase(self, phase: Phase | None) -> list[Event]:
        """Pin ``phase`` (running the auction or expiry the move implies), or with None go back
        to following the clock."""
        out: list[Event] = []
        now = self.clock.now()
        if phase is None:
            self._pinned = False
            self._last = now
            self._next_boundary = self.profile.schedule.next_boundary(now)
            self._enter(self.profile.schedule.phase_at(now), now, out)
        else:
            self._pinned = True
            self._enter(phase, now, out)
        return out

    def next_transition_at(self) -> datetime | None:
        """Clock time of the next phase change (None while pinned)."""
        return None if self._pinned else self._next_boundary

    def _sync(self, now: datetime, out: list[Event]) -> None:
        if self._pinned:
            return
        if self._last <= now < self._next_boundary:
            self._last = now
            return
        schedule = self.profile.schedule
        if now < self._last:  # the clock was set back: jump straight there
            self._enter(schedule.phase_at(now), now, out)
        else:
            for at, phase in schedule.transitions(self._last, now):
                self._enter(phase, at, out)
        self._last = now
        self._next_boundary = schedule.next_boundary(now)

    def _enter(self, new: Phase, at: datetime, out: list[Event]) -> None:
        old = self._phase
        if new is old:
            return
        self._phase = new
        self._tif_now = tuple(self.profile.time_in_force.get(new, ()))
        kind = auction_between(old, new)
        if kind is not None:
            stp = [n for n, sess in self._sessions.items() if sess.rules.self_trade_prevention]
            for book in list(self._books.values()):
                inst = self.instruments.get(book.symbol)
                base = inst.base_price if inst else None
                auction.run(book, kind, at, out, self._ex, stp, base)
        if new is _PH_CLOSED:
            for book in self._books.values():
                for o in book.live_orders():
                    self._ex.expire(book, o, at, "end of the trading day", out)
        if old is _PH_CLOSED:
            self._new_day()

    def _new_day(self) -> None:
        """A new trading day: ClOrdIDs and order status are per day, as at the exchange."""
        self._orders.clear()
        for sess in self._sessions.values():
            sess.new_day()
        for book in self._books.values():
            book.last_price = None

    # --- sessions ------------------------------------------------------------------------

    def _session(self, name: str) -> SessionState:
        sess = self._sessions.get(name)
        if sess is None:
            sess = self._sessions[name] = SessionState(SessionRules())
        return sess

    def configure_session(self, name: str, rules: SessionRules) -> None:
        self._session(name).rules = rules

    def session_rules(self, name: str) -> SessionRules:
        return self._session(name).rules

    def kill_switch_on(self, name: str) -> bool:
        return self._session(name).killed

    def set_kill_switch(self, name: str, on: bool) -> list[Event]:
        """On: cancel every open order of the session and refuse its new orders until off."""
        out: list[Event] = []
        now = self.clock.now()
        self._sync(now, out)
        self._session(name).killed = on
        if on:
            self._cancel_all(name, "kill_switch: canceled by the exchange kill switch", now, out)
        return out

    def cancel_session_orders(self, name: str, text: str = "cancel_on_disconnect") -> list[Event]:
        """Cancel every open order of the session (cancel-on-disconnect). The reports are
        returned for the caller to deliver when the session logs on again."""
        out: list[Event] = []
        now = self.clock.now()
        self._sync(now, out)
        self._cancel_all(name, text, now, out)
        return out

    def inject_rejects(self, name: str, count: int) -> None:
        """Fault: reject the next ``count`` new orders of the session (OrdRejReason 0)."""
        if count < 0:
            raise ValueError("count must be >= 0")
        self._session(name).reject_next = count

    def pending_rejects(self, name: str) -> int:
        """How many injected rejects the session still has to take."""
        sess = self._sessions.get(name)
        return sess.reject_next if sess is not None else 0

    def _cancel_all(self, name: str, text: str, now: datetime, out: list[Event]) -> None:
        for o in [o for o in self._orders.values() if o.session == name and o.live]:
            self._books[o.symbol].take_off(o)
            o.status = _ST_CANCELED
            o.leaves_qty = 0
            self._ex.report(o, _ET_CANCELED, now, out, text=text)

    # --- commands ----------------------------------------------------------------------

    def new_order(self, cmd: NewOrder) -> list[Event]:
        out: list[Event] = []
        now = self.clock.now()
        if not self._pinned:
            if self._last <= now < self._next_boundary:
                self._last = now
            else:
                self._sync(now, out)
        ex = self._ex
        sess = self._sessions.get(cmd.session) or self._session(cmd.session)
        known = sess.cl_ord_ids
        if cmd.cl_ord_id in known:
            if cmd.poss_dup:
                return out  # a resend of an order we already have: ignored (FIX PossDup rule)
            out.append(
                ex.reject_new(
                    cmd,
                    Rejected(
                        OrdRejReason.DUPLICATE_ORDER,
                        RejectRule.DUPLICATE_CLIENT_ORDER_ID,
                        f"ClOrdID {cmd.cl_ord_id} was already used in this session today",
                    ),
                    now,
                )
            )
            return out
        try:
            check_new(
                cmd,
                sess,
                self.instruments,
                self.venue,
                self._phase,
                self._order_types,
                self._tif_now,
                now,
            )
        except Rejected as rej:
            known[cmd.cl_ord_id] = None
            out.append(ex.reject_new(cmd, rej, now))
            return out

        self._seq += 1
        ex.ids += 1  # inline: one call less per order
        order = Order(
            f"{ex.prefix}-{ex.ids}",
            cmd.session,
            cmd.cl_ord_id,
            cmd.symbol,
            cmd.side,
            cmd.ord_type,
            cmd.price,
            cmd.quantity,
            cmd.time_in_force,
            self._seq,
            cmd.account,
        )
        known[cmd.cl_ord_id] = order
        self._orders[order.order_id] = order
        ex.counters.orders += 1
        book = self._books.get(cmd.symbol)
        if book is None:
            book = self._books[cmd.symbol] = Book(cmd.symbol)
        ex.report(order, _ET_NEW, now, out)

        tif = order.tif
        if tif is _TIF_AT_THE_OPENING:
            order.live = True
            book.at_open[order.order_id] = order
        elif tif is _TIF_AT_THE_CLOSE:
            order.live = True
            book.at_close[order.order_id] = order
        elif self._phase is _PH_CONTINUOUS:
            match(book, order, sess.rules.self_trade_prevention, now, out, ex)
        else:
            book.side(order.side).add(order)  # waits for the itayose
        return out

    def cancel(self, cmd: CancelOrder) -> list[Event]:
        out: list[Event] = []
        now = self.clock.now()
        self._sync(now, out)
        target = self._amend_target(cmd, CxlRejResponseTo.CANCEL, now, out)
        if target is None:
            return out
        sess, order = target
        sess.cl_ord_ids[cmd.cl_ord_id] = order
        self._books[order.symbol].take_off(order)
        order.orig_cl_ord_id = order.cl_ord_id
        order.cl_ord_id = cmd.cl_ord_id
        order.status = _ST_CANCELED
        order.leaves_qty = 0
        self._ex.report(order, _ET_CANCELED, now, out)
        return out

    def replace(self, cmd: ReplaceOrder) -> list[Event]:
        out: list[Event] = []
        now = self.clock.now()
        self._sync(now, out)
        to = CxlRejResponseTo.REPLACE
        target = self._amend_target(cmd, to, now, out)
        if target is None:
            return out
        sess, order = target
        ex = self._ex
        try:
            check_replace(cmd, order, sess, self.instruments, self._last)
        except Rejected as rej:
            out.append(ex.cxl_reject(cmd, order, to, CxlRejReason.OTHER, rej.text, now))
            return out

        sess.cl_ord_ids[cmd.cl_ord_id] = order
        book = self._books[order.symbol]
        new_price = cmd.price if order.ord_type is _OT_LIMIT else None
        new_leaves = cmd.quantity - order.cum_qty
        loses_priority = new_price != order.price or cmd.quantity > order.qty
        order.orig_cl_ord_id = order.cl_ord_id
        order.cl_ord_id = cmd.cl_ord_id
        in_pool = order.order_id in book.at_open or order.order_id in book.at_close
        if in_pool:
            order.price, order.qty, order.leaves_qty = new_price, cmd.quantity, new_leaves
            if loses_priority:
                self._seq += 1
                order.seq = self._seq
            ex.report(order, _ET_REPLACED, now, out)
            return out
        side = book.side(order.side)
        if not loses_priority:  # a pure quantity decrease keeps its place in the queue
            side.reduce(order, order.leaves_qty - new_leaves)
            order.qty, order.leaves_qty = cmd.quantity, new_leaves
            ex.report(order, _ET_REPLACED, now, out)
            return out
        side.remove(order, eager=True)  # it may come back to this very level
        order.price, order.qty, order.leaves_qty = new_price, cmd.quantity, new_leaves
        self._seq += 1
        order.seq = self._seq
        ex.report(order, _ET_REPLACED, now, out)
        if self._phase is _PH_CONTINUOUS and order.ord_type is _OT_LIMIT:
            match(book, order, sess.rules.self_trade_prevention, now, out, ex)
        else:
            side.add(order)
        return out

    def status(self, cmd: StatusRequest) -> list[Event]:
        """OrderStatusRequest: an ExecType=I report of the order's current state, or OrdStatus
        Rejected with OrdRejReason 5 (unknown order)."""
        out: list[Event] = []
        now = self.clock.now()
        self._sync(now, out)
        sess = self._session(cmd.session)
        order = self._find(sess, cmd.session, cmd.cl_ord_id, cmd.order_id)
        if order is None:
            out.append(self._ex.unknown_status(cmd, now))
            return out
        self._ex.report(order, _ET_ORDER_STATUS, now, out, force=True)
        return out

    def _amend_target(
        self,
        cmd: CancelOrder | ReplaceOrder,
        to: CxlRejResponseTo,
        now: datetime,
        out: list[Event],
    ) -> tuple[SessionState, Order] | None:
        """What cancel and replace share: the request's ClOrdID must be new to the session (a
        PossDup repeat is ignored, an unflagged one refused) and the order must be there to
        change. Returns the session and the order, or None with any reject appended to ``out``."""
        sess = self._session(cmd.session)
        order = self._find(sess, cmd.session, cmd.orig_cl_ord_id, cmd.order_id)
        if cmd.cl_ord_id in sess.cl_ord_ids:
            if not cmd.poss_dup:
                out.append(
                    self._ex.cxl_reject(
                        cmd,
                        order,
                        to,
                        CxlRejReason.DUPLICATE_CLORDID,
                        f"{RejectRule.DUPLICATE_CLIENT_ORDER_ID.value}: ClOrdID {cmd.cl_ord_id} "
                        "was already used in this session today",
                        now,
                    )
                )
            return None
        sess.cl_ord_ids[cmd.cl_ord_id] = None
        problem = amend_problem(cmd, order)
        if problem is not None:
            out.append(self._ex.cxl_reject(cmd, order, to, *problem, now))
            return None
        assert order is not None
        return sess, order

    def _find(
        self, sess: SessionState, session: str, cl_ord_id: str, order_id: str | None
    ) -> Order | None:
        order = sess.cl_ord_ids.get(cl_ord_id)
        if order is None and order_id:
            found = self._orders.get(order_id)
            if found is not None and found.session == session:
                order = found
        return order

    # --- views ---------------------------------------------------------------------------

    def symbols(self) -> list[str]:
        return [i.symbol for i in self.instruments]

    def book_view(self, symbol: str, depth: int | None = None) -> BookView | None:
        inst = self.instruments.get(symbol)
        if inst is None:
            return None
        return book_view(inst, self._books.get(symbol) or Book(symbol), depth)

    def order_view(self, session: str, cl_ord_id: str) -> OrderView | None:
        """The order a ClOrdID (original or any replace/cancel id) of ``session`` names."""
        sess = self._sessions.get(session)
        o = sess.cl_ord_ids.get(cl_ord_id) if sess else None
        return order_view(o) if o is not None else None

    def order_by_id(self, order_id: str) -> OrderView | None:
        o = self._orders.get(order_id)
        return order_view(o) if o is not None else None

    def orders(self, session: str | None = None) -> list[OrderView]:
        return [
            order_view(o)
            for o in self._orders.values()
            if (session is None or o.session == session) and o.session[:1] != INTERNAL_PREFIX
        ]

    def open_orders(self, session: str) -> Iterable[OrderView]:
        return [order_view(o) for o in self._orders.values() if o.session == session and o.live]

    def reset(self) -> None:
        """Forget every order, book, ClOrdID and counter (session rules and kill switches stay;
        IDs keep counting, so no ExecID is ever reused)."""
        self._books.clear()
        self._orders.clear()
        for sess in self._sessions.values():
            sess.new_day()
            sess.reject_next = 0
        self._ex.reset()
