"""Session window: start/end time of day in a time zone (Asia/Tokyo by default), on weekdays
that are not holidays.

A window may cross midnight (a PTS night session, 16:30-06:00); the weekday is the day the
window opens. ``period_start(now)`` is when the current window opened: a session whose store was
created before it is due its daily sequence reset (ResetOnSessionStart).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta
from datetime import time as dtime
from zoneinfo import ZoneInfo

from fixengine.settings import WEEKDAYS, SessionSettings


def _hms(value: str) -> dtime:
    h, m, s = (int(p) for p in value.split(":"))
    return dtime(h, m, s)


@dataclass(frozen=True)
class SessionSchedule:
    start: dtime | None = None
    end: dtime | None = None
    tz: ZoneInfo = ZoneInfo("Asia/Tokyo")
    weekdays: frozenset[int] = frozenset(range(7))  # Monday = 0
    holidays: frozenset[date] = frozenset()  # no window opens on these days

    @classmethod
    def from_settings(cls, s: SessionSettings) -> SessionSchedule:
        days = (
            frozenset(WEEKDAYS.index(d) for d in s.Weekdays) if s.Weekdays else frozenset(range(7))
        )
        return cls(
            _hms(s.StartTime) if s.StartTime else None,
            _hms(s.EndTime) if s.EndTime else None,
            ZoneInfo(s.TimeZone),
            days,
            frozenset(date.fromisoformat(d) for d in s.Holidays),
        )

    @property
    def always(self) -> bool:
        return self.start is None or self.end is None

    def period_start(self, now: float) -> float | None:
        """Epoch seconds when the window containing ``now`` opened; None outside any window."""
        if self.start is None or self.end is None:
            return None
        local = datetime.fromtimestamp(now, self.tz)
        t = local.time().replace(microsecond=0)
        if self.start <= self.end:
            if self.start <= t < self.end and self._opens_on(local.date()):
                return self._at(local.date(), self.start)
            return None
        if t >= self.start and self._opens_on(local.date()):
            return self._at(local.date(), self.start)
        prev = local - timedelta(days=1)
        if t < self.end and self._opens_on(prev.date()):
            return self._at(prev.date(), self.start)
        return None

    def _opens_on(self, day: date) -> bool:
        """A window opens on ``day``: one of the weekdays and not a holiday."""
        return day.weekday() in self.weekdays and day not in self.holidays

    def _at(self, day: object, at: dtime) -> float:
        return datetime.combine(day, at, tzinfo=self.tz).timestamp()  # type: ignore[arg-type]

    def in_session(self, now: float) -> bool:
        return self.always or self.period_start(now) is not None

    def needs_reset(self, creation_time: float, now: float) -> bool:
        """True when the stored numbers predate the current window (daily reset due)."""
        start = self.period_start(now)
        return start is not None and creation_time < start
