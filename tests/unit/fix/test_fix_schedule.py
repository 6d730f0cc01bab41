"""Session window in Asia/Tokyo, weekdays, windows across midnight, daily reset."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

from support.fixscript import settings

from connector.fix.schedule import SessionSchedule

TOKYO = ZoneInfo("Asia/Tokyo")


def at(y: int, mo: int, d: int, h: int, mi: int = 0) -> float:
    return datetime(y, mo, d, h, mi, tzinfo=TOKYO).timestamp()


def sched(**kw: object) -> SessionSchedule:
    return SessionSchedule.from_settings(settings(**kw))


def test_no_start_and_end_means_always_in_session():
    assert sched().in_session(at(2026, 11, 29, 3))


def test_window_in_tokyo_time_on_weekdays():
    s = sched(
        StartTime="08:00:00", EndTime="15:30:00", Weekdays=("Mon", "Tue", "Wed", "Thu", "Fri")
    )
    assert s.in_session(at(2026, 11, 27, 9))  # Friday 09:00 JST
    assert not s.in_session(at(2026, 11, 27, 7, 59))
    assert not s.in_session(at(2026, 11, 27, 15, 30))
    assert not s.in_session(at(2026, 11, 28, 9))  # Saturday


def test_window_across_midnight_belongs_to_the_day_it_opens():
    s = sched(StartTime="16:30:00", EndTime="06:00:00", Weekdays=("Fri",))
    assert s.in_session(at(2026, 11, 27, 17))  # Friday evening
    assert s.in_session(at(2026, 11, 28, 5))  # Saturday early morning: Friday's window
    assert not s.in_session(at(2026, 11, 29, 5))  # Sunday early: Saturday has no window


def test_daily_reset_due_when_store_predates_the_window():
    s = sched(StartTime="08:00:00", EndTime="15:30:00")
    now = at(2026, 11, 27, 9)
    assert s.needs_reset(at(2026, 11, 26, 9), now)
    assert not s.needs_reset(at(2026, 11, 27, 8, 1), now)
    assert not s.needs_reset(at(2026, 11, 26, 9), at(2026, 11, 27, 16))  # outside: no reset
