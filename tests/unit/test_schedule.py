"""``ordergate schedule``: scale windows on trading days only, and KEDA cron triggers that are
active exactly inside them (checked with an evaluator of KEDA's cron-scaler rule)."""

from __future__ import annotations

import argparse
from datetime import date, datetime, time, timedelta

import pytest

from gateway.cli import build_parser
from gateway.venues import get_venue
from operations.scale_schedule import (
    ScheduleError,
    calendar_end,
    cron_triggers,
    weekday_trigger,
    windows,
)
from operations.schedule_cli import render

TSE = get_venue("TSE")
JNX = get_venue("JNX")
assert TSE is not None and JNX is not None
BEFORE, AFTER = timedelta(minutes=30), timedelta(minutes=15)


def _field(spec: str, value: int) -> bool:
    if spec == "*":
        return True
    for part in spec.split(","):
        low, _, high = part.partition("-")
        if int(low) <= value <= int(high or low):
            return True
    return False


def cron_fires(expr: str, at: datetime) -> bool:
    """Whether a 5-field cron expression (numbers, lists, ranges, ``*``) fires at ``at``."""
    minute, hour, dom, month, dow = expr.split()
    return (
        _field(minute, at.minute)
        and _field(hour, at.hour)
        and _field(dom, at.day)
        and _field(month, at.month)
        and _field(dow, (at.weekday() + 1) % 7)
    )


def next_fire(expr: str, after: datetime, horizon: timedelta = timedelta(days=40)) -> datetime:
    minute, hour = (int(x) for x in expr.split()[:2])
    day = after.date()
    while day <= (after + horizon).date():
        at = datetime.combine(day, time(hour, minute))
        if at > after and cron_fires(expr, at):
            return at
        day += timedelta(days=1)
    return datetime.max


def keda_active(trigger: dict, now: datetime) -> bool:
    """KEDA's cron scaler: active while the next end comes before the next start."""
    meta = trigger["metadata"]
    return next_fire(meta["end"], now) < next_fire(meta["start"], now)


def test_a_holiday_on_a_weekday_gets_no_window() -> None:
    ws = windows(TSE, date(2026, 12, 28), 10, BEFORE, AFTER)  # Mon 28 Dec .. Wed 6 Jan
    days = [w.day for w in ws]
    assert date(2026, 12, 31) not in days and date(2027, 1, 1) not in days  # Thu, Fri: closed
    assert days == [date(2026, 12, 28), date(2026, 12, 29), date(2026, 12, 30)] + [
        date(2027, 1, 4),
        date(2027, 1, 5),
        date(2027, 1, 6),
    ]


def test_tse_windows_open_at_0830_and_close_at_1545_tokyo_time() -> None:
    (w,) = windows(TSE, date(2026, 12, 8), 1, BEFORE, AFTER)
    assert (w.start, w.end) == (datetime(2026, 12, 8, 8, 30), datetime(2026, 12, 8, 15, 45))


def test_an_overnight_session_closes_the_next_morning() -> None:
    (w,) = windows(JNX, date(2026, 12, 8), 1, BEFORE, AFTER)
    assert (w.start, w.end) == (datetime(2026, 12, 8, 7, 50), datetime(2026, 12, 9, 6, 15))


def test_cron_triggers_are_active_inside_the_windows_and_nowhere_else() -> None:
    for venue, first in ((TSE, date(2026, 12, 21)), (JNX, date(2027, 1, 25))):
        ws = windows(venue, first, 21, BEFORE, AFTER)
        triggers = cron_triggers(venue, ws, 6)
        t = datetime.combine(first, time(0, 7))
        while t < datetime.combine(first + timedelta(days=20), time()):
            inside = any(w.start <= t < w.end for w in ws)
            assert any(keda_active(tr, t) for tr in triggers) == inside, (venue.code, t)
            t += timedelta(minutes=15)


def test_no_trigger_fires_on_a_holiday() -> None:
    ws = windows(TSE, date(2026, 12, 28), 10, BEFORE, AFTER)
    for tr in cron_triggers(TSE, ws, 4):
        for holiday in (datetime(2026, 12, 31, 8, 30), datetime(2027, 1, 1, 8, 30)):
            assert not cron_fires(tr["metadata"]["start"], holiday)


def test_one_trigger_per_month_with_the_replicas_as_a_string() -> None:
    ws = windows(TSE, date(2026, 12, 28), 10, BEFORE, AFTER)
    triggers = cron_triggers(TSE, ws, 8)
    assert [t["name"] for t in triggers] == ["tse-2026-12", "tse-2027-01"]
    assert triggers[0]["metadata"] == {
        "timezone": "Asia/Tokyo",
        "start": "30 8 28,29,30 12 *",
        "end": "45 15 28,29,30 12 *",
        "desiredReplicas": "8",
    }


def test_an_overnight_window_closing_in_the_next_month_gets_its_own_trigger() -> None:
    ws = windows(JNX, date(2027, 3, 29), 4, BEFORE, AFTER)  # Mon 29 .. Thu 1 Apr
    names = [t["name"] for t in cron_triggers(JNX, ws, 2)]
    assert names == ["jnx-2027-03", "jnx-2027-03-to-04", "jnx-2027-04"]


def test_a_month_twice_in_one_schedule_is_refused() -> None:
    ws = windows(TSE, date(2026, 12, 1), 366, BEFORE, AFTER)  # December 2026 and 2027
    with pytest.raises(ScheduleError, match="no year"):
        cron_triggers(TSE, ws, 2)


def test_a_schedule_past_the_calendar_is_refused() -> None:
    assert calendar_end(TSE) == date(2027, 12, 31)
    with pytest.raises(ScheduleError, match="extend gateway/data/venues.json"):
        windows(TSE, date(2027, 12, 20), 14, BEFORE, AFTER)


def test_overlapping_windows_are_refused() -> None:
    with pytest.raises(ScheduleError, match="overlap"):
        windows(JNX, date(2026, 12, 8), 3, timedelta(hours=3), AFTER)  # 05:20 < 06:15


def test_weekday_trigger_spells_business_days_for_cron() -> None:
    assert weekday_trigger(TSE, BEFORE, AFTER, 6)["metadata"] == {
        "timezone": "Asia/Tokyo",
        "start": "30 8 * * 1-5",
        "end": "45 15 * * 1-5",
        "desiredReplicas": "6",
    }
    jnx = weekday_trigger(JNX, BEFORE, AFTER, 6)["metadata"]
    assert (jnx["start"], jnx["end"]) == ("50 7 * * 1-5", "15 6 * * 2,3,4,5,6")


def _args(*argv: str) -> argparse.Namespace:
    return build_parser(["schedule"]).parse_args(["schedule", *argv])


def test_text_lists_windows_and_skipped_holidays_in_date_order() -> None:
    out = render(_args("--days", "5"), date(2026, 12, 30)).splitlines()
    assert out[1:] == [
        "  2026-12-30 Wed  08:30 -> 15:45",
        "  2026-12-31 Thu  holiday: no pre-scale",
        "  2027-01-01 Fri  holiday: no pre-scale",
    ]


def test_keda_output_is_the_yaml_trigger_list() -> None:
    import yaml

    text = render(_args("--days", "10", "--format", "keda", "--replicas", "3"), date(2026, 12, 28))
    assert text.startswith("# generated by: ordergate schedule --venue TSE --from 2026-12-28")
    ws = windows(TSE, date(2026, 12, 28), 10, BEFORE, AFTER)
    assert yaml.safe_load(text) == cron_triggers(TSE, ws, 3)


@pytest.mark.parametrize(
    "argv",
    [["--days", "0"], ["--days", "400"], ["--replicas", "0"], ["--from", "2026-13-01"]]
    + [["--format", "json"], ["--venue", "NYSE"], ["--before", "-5"]],
)
def test_bad_flags_exit_2(argv: list[str]) -> None:
    with pytest.raises(SystemExit) as exc:
        _args(*argv)
    assert exc.value.code == 2
