"""What happened to each order after its 202, from the live update stream. Pure: times are given.

For every order the generator times, from when its request was DUE:

* ``accept``: the API's 202;
* ``ack``: the exchange's first answer on the stream (new, reject, or a fill / cancel / expiry
  that came first: venues may skip the New);
* ``fill``: its first fill (partial or full);
* ``done``: for a cancel or replace, the venue's ``canceled`` / ``replaced``, from when the
  DELETE / PATCH was due.

The stream and the HTTP answers arrive on different sockets, so an event may be read before the
202 that names its order: such events wait in ``early`` until the order id is known. Events for
orders this generator did not send (other runs on the same accounts) wait there too and are
dropped when the run ends. Whatever never arrives is counted and listed (``unanswered``).
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass, field

from hdrh.histogram import HdrHistogram

from .latency import COARSE_DIGITS, new_histogram, record

STAGES = ("accept", "ack", "fill", "done")
# stream events that are the venue's answer to a new order (anything but the gateway's own
# submitted / cancel_requested / replace_requested, and refusals of a change)
VENUE_EVENTS = frozenset(
    {"accepted", "rejected", "partial_fill", "fill", "canceled", "expired", "replaced"}
)
FILL_EVENTS = frozenset({"partial_fill", "fill"})
DONE_EVENTS = frozenset({"canceled", "replaced"})
CHANGE_REFUSED = frozenset({"cancel_rejected", "replace_rejected"})
ENDS_WITHOUT_FILL = frozenset({"rejected", "canceled", "expired"})
FINAL = frozenset({"fill", "rejected", "expired"})  # the order is over (canceled: see DONE)
# early events kept at most (events of other runs' orders must not grow memory without bound)
MAX_EARLY = 200_000
LISTED = 100  # order ids listed per unanswered stage in the report


@dataclass
class OrderTimes:
    """One order's stage times, seconds from its submit's due (nan: not seen)."""

    due: float
    accept: float = math.nan
    ack: float = math.nan
    fill: float = math.nan
    done: float = math.nan


@dataclass
class StageTracker:
    """Stage latencies into HDR histograms: whole-run ones and one set per second of the run
    (by when the stage was seen), for the timeline and the progress line. ``t0``: the run's
    time zero on the same clock as every ``now``. ``keep_orders``: keep each order's times."""

    t0: float = 0.0
    keep_orders: bool = False
    watch: bool = True  # False: no stream, only ``accept`` is timed
    hist: dict[str, HdrHistogram] = field(
        default_factory=lambda: {s: new_histogram() for s in STAGES}
    )
    per_second: dict[int, dict[str, HdrHistogram]] = field(default_factory=dict)
    orders: dict[str, OrderTimes] = field(default_factory=dict)  # keep_orders only
    awaiting_ack: dict[str, float] = field(default_factory=dict)  # order id -> due
    awaiting_fill: dict[str, float] = field(default_factory=dict)  # acked, not filled (resting)
    awaiting_done: dict[str, float] = field(default_factory=dict)  # change requested -> due
    known: set[str] = field(default_factory=set)  # order ids of this generator's 202s
    # changes sent whose API answer is not read yet -> the stream's outcome seen meanwhile
    unconfirmed: dict[str, str | None] = field(default_factory=dict)
    matched_late: int = 0  # stream events read before the 202 that named their order
    early: dict[str, list[tuple[str, float]]] = field(default_factory=dict)
    early_count: int = 0
    change_refused: int = 0
    change_overtaken: int = 0  # the order filled / ended while its change was pending
    events_seen: int = 0
    last_seen: dict[str, float] = field(default_factory=dict)  # stage -> latest ``now`` seen

    def _record(self, stage: str, latency: float, now: float) -> None:
        record(self.hist[stage], latency)
        sec = int(now - self.t0)
        per = self.per_second.get(sec)
        if per is None:
            per = self.per_second[sec] = {s: new_histogram(COARSE_DIGITS) for s in STAGES}
        record(per[stage], latency)

    def accepted(self, order_id: str, due: float, now: float) -> None:
        """A submit's 202 (its order id) was read at ``now``."""
        self._record("accept", now - due, now)
        if not self.watch:
            return
        if self.keep_orders:
            self.orders[order_id] = OrderTimes(due, accept=now - due)
        self.known.add(order_id)
        self.awaiting_ack[order_id] = due
        self.awaiting_fill[order_id] = due
        waiting = self.early.pop(order_id, None)
        if waiting:  # read before this 202: they count from now, when they became ours
            self.early_count -= len(waiting)
            self.matched_late += len(waiting)
            for event, _ in waiting:
                self.event(order_id, event, now)

    def change_sent(self, order_id: str, due: float) -> None:
        """A cancel / replace of ``order_id`` went out (it was due at ``due``); the venue's
        answer is awaited once the API has accepted it (``change_answered``)."""
        if self.watch:
            self.awaiting_done[order_id] = due
            self.unconfirmed[order_id] = None

    def change_answered(self, order_id: str, accepted: bool, now: float) -> None:
        """The API's answer to the cancel / replace of ``order_id`` was read at ``now``: a
        refused change is forgotten (no venue answer will come for it); an accepted one takes
        the outcome the stream may already have shown, from now."""
        if order_id not in self.unconfirmed:
            return
        outcome = self.unconfirmed.pop(order_id)
        if not accepted:
            self.awaiting_done.pop(order_id, None)
        elif outcome is not None:
            self._change_outcome(order_id, outcome, now)

    def _change_outcome(self, order_id: str, outcome: str, now: float) -> None:
        due = self.awaiting_done.pop(order_id, None)
        if due is None:
            return
        if outcome == "done":
            self._seen(order_id, "done", due, now)
        elif outcome == "refused":
            self.change_refused += 1
        else:
            self.change_overtaken += 1  # it ended first: the venue's answer to the change
            # (a reject of it) changes nothing in the gateway, so no event will come

    def _change_event(self, order_id: str, outcome: str, now: float) -> None:
        if order_id not in self.awaiting_done:
            return
        if order_id in self.unconfirmed:  # the API's answer is not read yet: keep the first
            if self.unconfirmed[order_id] is None:
                self.unconfirmed[order_id] = outcome
            return
        self._change_outcome(order_id, outcome, now)

    def event(self, order_id: str, event: str, now: float) -> None:
        """A stream event for ``order_id`` was read at ``now``."""
        self.events_seen += 1
        if event not in VENUE_EVENTS and event not in CHANGE_REFUSED:
            return  # the gateway's own (submitted, cancel / replace requested)
        if order_id not in self.known:
            self._hold(order_id, event, now)
            return
        if event in CHANGE_REFUSED:
            self._change_event(order_id, "refused", now)
            return
        if event in DONE_EVENTS:
            self._change_event(order_id, "done", now)
        elif event in FINAL:
            self._change_event(order_id, "overtaken", now)
        due = self.awaiting_ack.pop(order_id, None)
        if due is not None:
            self._seen(order_id, "ack", due, now)
        if event in FILL_EVENTS:
            due = self.awaiting_fill.pop(order_id, None)
            if due is not None:
                self._seen(order_id, "fill", due, now)
        elif event in ENDS_WITHOUT_FILL:
            self.awaiting_fill.pop(order_id, None)

    def _seen(self, order_id: str, stage: str, due: float, now: float) -> None:
        self._record(stage, now - due, now)
        self.last_seen[stage] = now
        if self.keep_orders:
            times = self.orders.get(order_id)
            if times is not None:
                setattr(times, stage, now - due)

    def _hold(self, order_id: str, event: str, now: float) -> None:
        if self.early_count >= MAX_EARLY:
            return
        self.early.setdefault(order_id, []).append((event, now))
        self.early_count += 1

    @property
    def pending(self) -> int:
        """Accepted orders still waiting for their ack plus changes waiting for their answer."""
        return len(self.awaiting_ack) + len(self.awaiting_done)

    def unanswered(self) -> dict[str, dict[str, object]]:
        """What never came, by stage: count and the first ``LISTED`` order ids."""
        return {
            "ack": _listed(self.awaiting_ack),
            "done": _listed(self.awaiting_done),
            # not an error: a limit order that met no counter-order rests in the book
            "fill": {"count": len(self.awaiting_fill), "note": "accepted, not filled (resting)"},
        }


def _listed(ids: Iterable[str]) -> dict[str, object]:
    ids = list(ids)
    return {"count": len(ids), "orders": ids[:LISTED]}


class Dispatcher:
    """Stream events to the tracker that knows the order (one tracker per phase of a run: the
    open-burst rehearsal times its backlog apart); an order no tracker knows yet waits in the
    current (last) one, where its 202 will be recorded."""

    def __init__(self, *trackers: StageTracker) -> None:
        self.trackers = list(trackers)

    def event(self, order_id: str, event: str, now: float) -> None:
        for t in self.trackers:
            if order_id in t.known:
                t.event(order_id, event, now)
                return
        self.trackers[-1].event(order_id, event, now)
