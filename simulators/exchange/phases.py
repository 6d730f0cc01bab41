"""Market phases on a Tokyo clock, and the simulator's clock.

A venue's day is a list of boundaries ``(local time, phase that starts then)``. The TSE day since
2024-11-05 (arrowhead4.0)::

    08:00 pre-open          orders accepted, nothing executes
    09:00 continuous        opening itayose first
    11:30 lunch             morning close itayose first; orders accepted for the afternoon
    12:30 continuous        afternoon opening itayose first
    15:25 closing auction   orders accepted (and shown), nothing executes
    15:30 closed            closing itayose first, then every remaining order expires

The engine runs the auctions when it crosses a boundary (see ``auction_between``), so the phase
itself is a pure function of the local time. Every calendar day is a trading day in the simulator
(weekends and holidays are not modelled: a rehearsal on a Saturday just works); pin a phase to run
outside the hours.
"""

from __future__ import annotations

import re
import time
from bisect import bisect_right
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
    """A venue's daily phase boundaries in Tokyo local time."""

    def __init__(self, boundaries: Sequence[tuple[dtime, Phase]]):
        if not boundaries:
            raise ValueError("a schedule needs at least one boundary")
        ordered = sorted(boundaries, key=lambda b: b[0])
        self._times = [t for t, _ in ordered]
        self._phases = [p for _, p in ordered]
        if len(set(self._times)) != len(self._times):
            raise ValueError("two boundaries at the same time")

    @property
    def boundaries(self) -> list[tuple[dtime, Phase]]:
        return list(zip(self._times, self._phases, strict=True))

    def phase_at(self, at: datetime) -> Phase:
        local = at.astimezone(TOKYO).time()
        i = bisect_right(self._times, local) - 1
        return self._phases[i]  # i == -1 wraps to the last boundary of the previous day

    def next_boundary(self, after: datetime) -> datetime:
        """The first boundary strictly after ``after``."""
        local = after.astimezone(TOKYO)
        for day in (local.date(), local.date() + timedelta(days=1)):
            for t in self._times:
                moment = datetime.combine(day, t, TOKYO)
                if moment > local:
                    return moment
        raise AssertionError("unreachable: a schedule has a boundary every day")

    def transitions(self, after: datetime, until: datetime) -> Iterator[tuple[datetime, Phase]]:
        """Boundaries in ``(after, until]``, in order (at most 8 days' worth: a clock that jumps
        further only needs the last day's)."""
        if until <= after:
            return
        start = max(after.astimezone(TOKYO), until.astimezone(TOKYO) - timedelta(days=8))
        day: date = start.date()
        last_day = until.astimezone(TOKYO).date()
        while day <= last_day:
            for t, phase in zip(self._times, self._phases, strict=True):
                moment = datetime.combine(day, t, TOKYO)
                if start < moment <= until:
                    yield moment, phase
            day += timedelta(days=1)


def _t(hh: int, mm: int) -> dtime:
    return dtime(hh, mm)


# Fallback schedules, used when gateway.venues has no hours for the venue. Source: MARKET.md
# (JPX trading hours since 2024-11-05; Japannext PTS day and night sessions).
TSE_SCHEDULE = Schedule(
    [
        (_t(8, 0), Phase.PRE_OPEN),
        (_t(9, 0), Phase.CONTINUOUS),
        (_t(11, 30), Phase.LUNCH),
        (_t(12, 30), Phase.CONTINUOUS),
        (_t(15, 25), Phase.CLOSING_AUCTION),
        (_t(15, 30), Phase.CLOSED),
    ]
)
PTS_SCHEDULE = Schedule(
    [
        (_t(6, 0), Phase.CLOSED),
        (_t(8, 20), Phase.CONTINUOUS),
        (_t(16, 0), Phase.CLOSED),
        (_t(16, 30), Phase.CONTINUOUS),
    ]
)


@dataclass(frozen=True)
class VenueProfile:
    """What a venue's engine needs besides the symbols: hours, and which order types and
    TimeInForce values each phase takes."""

    venue: str
    schedule: Schedule
    time_in_force: dict[Phase, frozenset[TimeInForce]]
    order_types: frozenset[OrdType]


_ALL_TYPES = frozenset({OrdType.LIMIT, OrdType.MARKET})
_TIF = TimeInForce
# Same rule as gateway/data/venues.json: IOC / FOK only while something can execute at once,
# at-the-open only before an opening auction, at-the-close until the closing auction.
TSE_TIME_IN_FORCE = {
    Phase.PRE_OPEN: frozenset({_TIF.DAY, _TIF.AT_THE_OPENING, _TIF.AT_THE_CLOSE}),
    Phase.CONTINUOUS: frozenset({_TIF.DAY, _TIF.IOC, _TIF.FOK, _TIF.AT_THE_CLOSE}),
    Phase.LUNCH: frozenset({_TIF.DAY, _TIF.AT_THE_OPENING, _TIF.AT_THE_CLOSE}),
    Phase.CLOSING_AUCTION: frozenset({_TIF.DAY, _TIF.AT_THE_CLOSE}),
    Phase.CLOSED: frozenset(),
}
PTS_TIME_IN_FORCE = {
    Phase.CONTINUOUS: frozenset({_TIF.DAY, _TIF.IOC}),
    Phase.PRE_OPEN: frozenset(),
    Phase.LUNCH: frozenset(),
    Phase.CLOSING_AUCTION: frozenset(),
    Phase.CLOSED: frozenset(),
}


def profile_for(venue: str) -> VenueProfile:
    """The profile of ``venue``: "TSE", else a PTS (Japannext hours, limit orders only)."""
    if venue.upper() == "TSE":
        return VenueProfile(venue, TSE_SCHEDULE, TSE_TIME_IN_FORCE, _ALL_TYPES)
    return VenueProfile(venue, PTS_SCHEDULE, PTS_TIME_IN_FORCE, frozenset({OrdType.LIMIT}))


# --- the clock ---------------------------------------------------------------------------

_SPEC = re.compile(r"^(?P<start>[0-9T:+\-. ]+?)(?:x(?P<speed>[0-9]+(?:\.[0-9]+)?))?$")


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
