"""Market phases on a Tokyo clock, and the simulator's clock.

The hours, trading days and per-phase TimeInForce rules come from the gateway's venue data
(``gateway/data/venues.json`` via ``gateway.venues``), so the simulator and the gateway agree. The
TSE day since 2024-11-05 (arrowhead4.0)::

    08:00 pre-open          orders accepted, nothing executes
    09:00 continuous        opening itayose first
    11:30 lunch             morning close itayose first; orders accepted for the afternoon
    12:30 continuous        afternoon opening itayose first
    15:25 closing auction   orders accepted (and shown), nothing executes
    15:30 closed            closing itayose first, then every remaining order expires

The engine runs the auctions when it crosses a boundary (see ``auction_between``), so the phase
itself is a pure function of the local time. Outside the trading days (weekends, the holidays in
the venue data) the venue is closed: pin a phase to rehearse then.
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from datetime import time as dtime
from enum import StrEnum
from zoneinfo import ZoneInfo

from .model import OrdType, TimeInForce

TOKYO = ZoneInfo("Asia/Tokyo")


class Phase(StrEnum):
    CLOSED = "closed"  # orders rejected (market_closed)
    PRE_OPEN = "pre_open"  # orders accepted, not matched; opening itayose at the end
    CONTINUOUS = "continuous"  # zaraba: price-time priority matching
    LUNCH = "lunch"  # orders accepted, not matched; afternoon opening itayose at the end
    CLOSING_AUCTION = "closing_auction"  # 15:25-15:30: accepted, not matched; closing itayose


ACCEPTING = frozenset({Phase.PRE_OPEN, Phase.CONTINUOUS, Phase.LUNCH, Phase.CLOSING_AUCTION})


class Auction(StrEnum):
    """The itayose a phase change runs: an opening one (at-the-open orders take part) or a
    closing one (at-the-close orders take part)."""

    OPEN = "open"
    CLOSE = "close"


def auction_between(old: Phase, new: Phase) -> Auction | None:
    """The itayose that moving from ``old`` to ``new`` runs, if any.

    Entering the continuous session from anywhere else opens it by itayose; leaving a session
    (continuous or the closing auction period) for the lunch break or the close ends it by
    itayose. A call phase that goes straight to closed (an operator pinning) also runs the
    closing itayose, so orders collected for an auction are not silently dropped.
    """
    if old is new:
        return None
    if new is Phase.CONTINUOUS:
        return Auction.OPEN
    if new is Phase.LUNCH and old in (Phase.CONTINUOUS, Phase.CLOSING_AUCTION):
        return Auction.CLOSE
    if new is Phase.CLOSED and old is not Phase.CLOSED:
        return Auction.CLOSE
    return None


class Schedule:
    """A venue's sessions on its trading days, as phase boundaries in Tokyo time.

    ``sessions`` are ``(start, end, phase)`` in local time; an end before its start ends on the
    next day (a PTS night session). Outside every session the venue is closed. ``trading_day``
    says which dates have sessions (weekdays minus holidays, from the venue data).
    """

    def __init__(
        self,
        sessions: Sequence[tuple[dtime, dtime, Phase]],
        trading_day: Callable[[date], bool] = lambda _d: True,
    ):
        if not sessions:
            raise ValueError("a schedule needs at least one session")
        self.sessions = tuple(sessions)
        self.trading_day = trading_day
        self._cache: dict[date, list[tuple[datetime, Phase]]] = {}

    def _day(self, day: date) -> list[tuple[datetime, Phase]]:
        """The boundaries that the sessions of ``day`` produce (some fall on the next day)."""
        cached = self._cache.get(day)
        if cached is not None:
            return cached
        out: list[tuple[datetime, Phase]] = []
        if self.trading_day(day):
            starts = set()
            for start, end, phase in self.sessions:
                begin = datetime.combine(day, start, TOKYO)
                finish = datetime.combine(
                    day if end > start else day + timedelta(days=1), end, TOKYO
                )
                out.append((begin, phase))
                starts.add(begin)
                out.append((finish, Phase.CLOSED))
            # an end that is another session's start is not a close
            out = [(t, p) for t, p in out if p is not Phase.CLOSED or t not in starts]
            out.sort(key=lambda b: b[0])
        if len(self._cache) > 64:
            self._cache.clear()
        self._cache[day] = out
        return out

    def _around(self, first: date, last: date) -> list[tuple[datetime, Phase]]:
        found: list[tuple[datetime, Phase]] = []
        day = first
        while day <= last:
            found.extend(self._day(day))
            day += timedelta(days=1)
        found.sort(key=lambda b: b[0])
        return found

    def phase_at(self, at: datetime) -> Phase:
        local = at.astimezone(TOKYO)
        phase = Phase.CLOSED
        for t, p in self._around(local.date() - timedelta(days=2), local.date()):
            if t <= local:
                phase = p
            else:
                break
        # a boundary more than two days back can only be a CLOSED one: every session is < 24 h
        return phase

    def next_boundary(self, after: datetime) -> datetime:
        """The first boundary strictly after ``after`` (looks up to 30 days ahead)."""
        local = after.astimezone(TOKYO)
        day = local.date() - timedelta(days=1)
        for _ in range(32):
            for t, _p in self._day(day):
                if t > local:
                    return t
            day += timedelta(days=1)
        return local + timedelta(days=30)

    def transitions(self, after: datetime, until: datetime) -> Iterator[tuple[datetime, Phase]]:
        """Boundaries in ``(after, until]``, in order (at most 8 days' worth: a clock that jumps
        further only needs the last days')."""
        if until <= after:
            return
        start = max(after.astimezone(TOKYO), until.astimezone(TOKYO) - timedelta(days=8))
        first = start.date() - timedelta(days=1)
        for t, p in self._around(first, until.astimezone(TOKYO).date()):
            if start < t <= until:
                yield t, p


@dataclass(frozen=True)
class VenueProfile:
    """What a venue's engine needs besides the symbols: hours, and which order types and
    TimeInForce values each phase takes."""

    venue: str
    schedule: Schedule
    time_in_force: dict[Phase, frozenset[TimeInForce]]
    order_types: frozenset[OrdType]


_GW_PHASE = {
    "closed": Phase.CLOSED,
    "pre_open": Phase.PRE_OPEN,
    "continuous": Phase.CONTINUOUS,
    "break": Phase.LUNCH,
    "closing_auction": Phase.CLOSING_AUCTION,
}
_GW_TIF = {
    "day": TimeInForce.DAY,
    "ioc": TimeInForce.IOC,
    "fok": TimeInForce.FOK,
    "at_open": TimeInForce.AT_THE_OPENING,
    "at_close": TimeInForce.AT_THE_CLOSE,
}
_GW_TYPE = {"limit": OrdType.LIMIT, "market": OrdType.MARKET}


def profile_for(venue: str) -> VenueProfile:
    """The profile of ``venue`` from the gateway's venue data (``gateway/data/venues.json``):
    the same hours, trading days and per-phase TimeInForce rules the gateway validates with."""
    from gateway import venues as gw

    v = gw.get_venue(venue)
    if v is None:
        known = ", ".join(gw.venue_codes())
        raise ValueError(f"unknown venue {venue!r} (known: {known})")
    schedule = Schedule(
        [(s.start, s.end, _GW_PHASE[s.phase.value]) for s in v.sessions], v.trading_day
    )
    tif: dict[Phase, frozenset[TimeInForce]] = {phase: frozenset() for phase in Phase}
    for gw_phase, values in v.time_in_force.items():
        tif[_GW_PHASE[gw_phase.value]] = frozenset(_GW_TIF[t.value] for t in values)
    tif[Phase.CLOSED] = frozenset()  # the exchange refuses orders while closed (issue 3)
    types = frozenset(_GW_TYPE[t.value] for t in v.order_types)
    return VenueProfile(v.code, schedule, tif, types)


# --- the clock ---------------------------------------------------------------------------

_SPEC = re.compile(r"^(?P<start>[0-9TZ:+\-. ]+?)(?:x(?P<speed>[0-9]+(?:\.[0-9]+)?))?$")


class SimClock:
    """The simulator's clock: real Tokyo time, a fixed instant, or a compressed one.

    ``speed`` 0 is fixed (only ``set``/``advance`` move it: what tests use); 1 is real time from
    ``start``; 60 makes a simulated hour pass in a real minute. The engine never reads the system
    time itself; it asks this clock.
    """

    def __init__(
        self,
        start: datetime | None = None,
        speed: float = 1.0,
        monotonic: Callable[[], float] = time.monotonic,
    ):
        if speed < 0:
            raise ValueError("clock speed must be >= 0")
        if start is not None and start.tzinfo is None:
            raise ValueError("clock start must carry a time zone")
        self._monotonic = monotonic
        self._speed = speed
        self._start = (start or datetime.now(TOKYO)).astimezone(TOKYO)
        self._origin = monotonic()

    @classmethod
    def fixed(cls, at: datetime) -> SimClock:
        return cls(at, 0)

    @classmethod
    def parse(cls, spec: str | None) -> SimClock:
        """``None``/"real": wall clock. "<ISO time>": fixed there. "<ISO time>x60": starts there
        and runs 60 times faster. A time without an offset is Tokyo time."""
        if spec is None or spec.strip().lower() in ("", "real"):
            return cls()
        m = _SPEC.match(spec.strip())
        if not m:
            raise ValueError(
                f"clock {spec!r}: expected 'real', '<ISO time>' or '<ISO time>x<speed>'"
            )
        try:
            start = datetime.fromisoformat(m["start"].strip())
        except ValueError:
            raise ValueError(f"clock {spec!r}: {m['start']!r} is not an ISO date-time") from None
        if start.tzinfo is None:
            start = start.replace(tzinfo=TOKYO)
        speed = float(m["speed"]) if m["speed"] is not None else 0.0
        return cls(start, speed)

    @property
    def speed(self) -> float:
        return self._speed

    def now(self) -> datetime:
        if self._speed == 0:
            return self._start
        elapsed = (self._monotonic() - self._origin) * self._speed
        return self._start + timedelta(seconds=elapsed)

    def set(self, at: datetime) -> None:
        """Jump to ``at`` (keeps the speed)."""
        if at.tzinfo is None:
            raise ValueError("clock time must carry a time zone")
        self._start = at.astimezone(TOKYO)
        self._origin = self._monotonic()

    def advance(self, seconds: float) -> None:
        self.set(self.now() + timedelta(seconds=seconds))
