"""Scale windows around a venue's trading days, and the KEDA ``cron`` triggers that pre-scale them.

The API is scaled out ``before`` minutes ahead of the venue's first continuous session (the
open) and back in ``after`` minutes past the end of its last session (the close), on trading
days only: business days minus the holidays of ``gateway/data/venues.json``. A cron expression
has no year, so each trigger names the days of one month (``30 8 7,8,9 12 *``), and a schedule
must be regenerated before the same month comes round again; the calendar must also list the
holidays of every day it covers. Pure: no clock, no I/O.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from itertools import groupby

from gateway.venues import Phase, Venue

#: the timezone of every venue's session times (``venues.json`` "timezone")
TIMEZONE = "Asia/Tokyo"


class ScheduleError(ValueError):
    """A schedule that cannot be made safely (the message says why)."""


@dataclass(frozen=True, slots=True)
class Window:
    """Scale out at ``start``, back in at ``end`` (Asia/Tokyo wall clock, naive)."""

    day: date  # the trading day
    start: datetime
    end: datetime


def calendar_end(venue: Venue) -> date:
    """The last day whose holidays the calendar lists: 31 Dec of its last holiday's year."""
    if not venue.holidays:
        raise ScheduleError(f"{venue.code}: the calendar lists no holidays")
    return date(max(venue.holidays).year, 12, 31)


def open_close(venue: Venue) -> tuple[time, time, int]:
    """The open (first continuous session), the close (end of the last session) and how many
    days after the trading day the close falls (1 for a session ending after midnight)."""
    continuous = [s for s in venue.sessions if s.phase is Phase.continuous]
    if not continuous:
        raise ScheduleError(f"{venue.code}: no continuous session")
    last = venue.sessions[-1]
    return continuous[0].start, last.end, int(last.end <= last.start)


def windows(
    venue: Venue, first: date, days: int, before: timedelta, after: timedelta
) -> list[Window]:
    """The scale windows of the trading days in ``[first, first + days)``."""
    if days < 1:
        raise ScheduleError("days must be at least 1")
    last = first + timedelta(days=days - 1)
    if last > calendar_end(venue):
        raise ScheduleError(
            f"{venue.code}: the calendar lists holidays up to {calendar_end(venue)} only, "
            f"the schedule would run to {last}; extend gateway/data/venues.json"
        )
    opens, closes, close_offset = open_close(venue)
    out = []
    for n in range(days):
        day = first + timedelta(days=n)
        if venue.trading_day(day):
            start = datetime.combine(day, opens) - before
            end = datetime.combine(day + timedelta(days=close_offset), closes) + after
            out.append(Window(day, start, end))
    for a, b in zip(out, out[1:], strict=False):
        if b.start < a.end:
            raise ScheduleError(f"the windows of {a.day} and {b.day} overlap: shorten them")
    return out


def skipped(venue: Venue, first: date, days: int) -> list[date]:
    """Business days in the range that are holidays (no pre-scale on them)."""
    every = (first + timedelta(days=n) for n in range(days))
    return [d for d in every if d.weekday() in venue.business_days and d in venue.holidays]


def _cron(at: datetime, days: Iterable[int]) -> str:
    return f"{at.minute} {at.hour} {','.join(str(d) for d in days)} {at.month} *"


def cron_triggers(venue: Venue, ws: list[Window], replicas: int) -> list[dict[str, object]]:
    """KEDA ``cron`` triggers equivalent to ``ws``: one per (month, start and end time).

    KEDA's cron scaler is active while the next ``end`` comes before the next ``start``; with
    the windows' starts and ends interleaved (no overlap), a trigger listing several days is
    active exactly inside its windows. A month seen in two different years is refused: the
    expression would fire on both.
    """
    if replicas < 1:
        raise ScheduleError("replicas must be at least 1")
    years: dict[int, int] = {}
    for w in ws:
        if years.setdefault(w.start.month, w.start.year) != w.start.year:
            raise ScheduleError(
                f"month {w.start.month} is in the schedule twice ({years[w.start.month]} and "
                f"{w.start.year}); a cron expression has no year: ask for fewer days"
            )

    def key(w: Window) -> tuple[int, int, time, time]:
        return (w.start.year, w.start.month, w.start.time(), w.end.time())

    triggers: list[dict[str, object]] = []
    for (year, month, _, _), group in groupby(ws, key=key):
        group_ws = list(group)
        ends_by_month = {(w.end.year, w.end.month) for w in group_ws}
        # an overnight window whose close falls in the next month gets a trigger of its own
        for end_month in sorted(ends_by_month):
            part = [w for w in group_ws if (w.end.year, w.end.month) == end_month]
            suffix = "" if end_month == (year, month) else f"-to-{end_month[1]:02d}"
            triggers.append(
                {
                    "type": "cron",
                    "name": f"{venue.code.lower()}-{year}-{month:02d}{suffix}",
                    "metadata": {
                        "timezone": TIMEZONE,
                        "start": _cron(part[0].start, (w.start.day for w in part)),
                        "end": _cron(part[0].end, (w.end.day for w in part)),
                        "desiredReplicas": str(replicas),
                    },
                }
            )
    return triggers


def weekday_trigger(
    venue: Venue, before: timedelta, after: timedelta, replicas: int
) -> dict[str, object]:
    """The holiday-blind trigger (business days of the week) the base manifests carry."""
    opens, closes, close_offset = open_close(venue)
    start = datetime.combine(date(2000, 1, 3), opens) - before  # a Monday: any date does
    end = datetime.combine(date(2000, 1, 3 + close_offset), closes) + after

    def cron_dow(shift: int) -> str:  # Python: Monday = 0; cron: Sunday = 0
        text = ",".join(str((d + 1 + shift) % 7) for d in sorted(venue.business_days))
        return "1-5" if text == "1,2,3,4,5" else text

    dow, end_dow = cron_dow(0), cron_dow(close_offset)
    return {
        "type": "cron",
        "name": f"{venue.code.lower()}-business-days",
        "metadata": {
            "timezone": TIMEZONE,
            "start": f"{start.minute} {start.hour} * * {dow}",
            "end": f"{end.minute} {end.hour} * * {end_dow}",
            "desiredReplicas": str(replicas),
        },
    }
