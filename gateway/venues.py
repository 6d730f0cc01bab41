"""Venue session hours as data (``gateway/data/venues.json``): which phase a venue is in at a
given moment, and what it accepts in that phase."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from enum import StrEnum
from functools import lru_cache
from zoneinfo import ZoneInfo

from gateway.market_rules import DATA_DIR
from gateway.model import OrderType, TimeInForce


class Phase(StrEnum):
    closed = "closed"  # outside every session: orders are held (or refused on request)
    pre_open = "pre_open"  # orders accepted, nothing executes
    continuous = "continuous"  # zaraba: orders execute
    break_ = "break"  # lunch break: orders accepted for the afternoon
    closing_auction = "closing_auction"  # 15:25-15:30 at TSE: accepted, executes at 15:30


@dataclass(frozen=True, slots=True)
class Session:
    phase: Phase
    start: time
    end: time  # before start: the session ends on the next day


@dataclass(frozen=True, slots=True)
class Venue:
    code: str
    name: str
    business_days: frozenset[int]  # Monday = 0
    holidays: frozenset[date]
    sessions: tuple[Session, ...]
    order_types: frozenset[OrderType]
    time_in_force: dict[Phase, frozenset[TimeInForce]]

    def trading_day(self, day: date) -> bool:
        return day.weekday() in self.business_days and day not in self.holidays


@lru_cache(maxsize=1)
def _load() -> tuple[ZoneInfo, dict[str, Venue]]:
    with open(DATA_DIR / "venues.json", encoding="utf-8") as fh:
        data = json.load(fh)
    venues = {}
    for code, v in data["venues"].items():
        venues[code] = Venue(
            code=code,
            name=v["name"],
            business_days=frozenset(v["business_days"]),
            holidays=frozenset(date.fromisoformat(d) for d in v.get("holidays", [])),
            sessions=tuple(
                Session(
                    Phase(s["phase"]), time.fromisoformat(s["start"]), time.fromisoformat(s["end"])
                )
                for s in v["sessions"]
            ),
            order_types=frozenset(OrderType(t) for t in v["order_types"]),
            time_in_force={
                Phase(ph): frozenset(TimeInForce(t) for t in tifs)
                for ph, tifs in v["time_in_force"].items()
            },
        )
    return ZoneInfo(data["timezone"]), venues


def venue_codes() -> tuple[str, ...]:
    return tuple(_load()[1])


def get_venue(code: str) -> Venue | None:
    return _load()[1].get(code)


def phase_at(venue: str, at: datetime) -> Phase:
    """The phase ``venue`` is in at the aware datetime ``at``; ``KeyError`` for unknown venues."""
    tz, venues = _load()
    v = venues[venue]
    local = at.astimezone(tz)
    day, t = local.date(), local.time()
    for s in v.sessions:
        if s.start < s.end:
            if v.trading_day(day) and s.start <= t < s.end:
                return s.phase
        else:  # overnight: [start, 24:00) on a trading day, [00:00, end) the day after it
            if v.trading_day(day) and t >= s.start:
                return s.phase
            if v.trading_day(day - timedelta(days=1)) and t < s.end:
                return s.phase
    return Phase.closed


def is_open(venue: str, at: datetime) -> bool:
    """True when the venue takes orders now (any phase but ``closed``)."""
    return phase_at(venue, at) is not Phase.closed


def allowed_time_in_force(venue: str, phase: Phase) -> frozenset[TimeInForce]:
    v = _load()[1][venue]
    return v.time_in_force.get(phase, frozenset())
