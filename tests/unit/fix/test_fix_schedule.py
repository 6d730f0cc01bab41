"""Session window in Asia/Tokyo, weekdays, windows across midnight, daily reset."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

import pytest
from support.fixscript import settings

from fixengine import SessionSchedule, SessionSettings, SettingsError

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


def test_no_window_opens_on_a_holiday():
    s = sched(
        StartTime="08:00:00",
        EndTime="15:30:00",
        Weekdays=("Mon", "Tue", "Wed", "Thu", "Fri"),
        Holidays=("2027-01-11",),
    )
    assert not s.in_session(at(2027, 1, 11, 9))  # Coming of Age Day, a Monday
    assert s.in_session(at(2027, 1, 12, 9))  # the Tuesday after
    assert s.period_start(at(2027, 1, 11, 9)) is None


def test_a_window_across_midnight_that_opened_on_a_holiday_is_closed_next_morning():
    s = sched(StartTime="16:30:00", EndTime="06:00:00", Holidays=("2026-12-31",))
    assert not s.in_session(at(2026, 12, 31, 17))
    assert not s.in_session(at(2027, 1, 1, 5))  # would be the 31st's night session
    assert s.in_session(at(2026, 12, 30, 17))


def test_a_holiday_that_is_not_a_date_is_refused():
    with pytest.raises(SettingsError, match="Holidays: '2027-13-01' is not a date"):
        SessionSettings.from_dict(
            {"SenderCompID": "A", "TargetCompID": "B", "Holidays": "2027-13-01"}
        )
