"""Venue rules read from the dated data files in ``gateway/data/``: trading unit, the two tick
size tables (and which index's constituents use the narrow one), the daily price limit table.

Each file holds schedules with a ``from`` date; the rule in force on a day is the last schedule
that starts on or before it. A rule change is a new row in a data file, not a code change.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from functools import lru_cache
from pathlib import Path
from typing import Any, Protocol, TypeVar

DATA_DIR = Path(__file__).parent / "data"
T = TypeVar("T")


@dataclass(frozen=True, slots=True)
class TickBand:
    """Prices above the previous band's bound and up to ``up_to`` (None: no bound) use ``tick``."""

    up_to: Decimal | None
    tick: Decimal


@dataclass(frozen=True, slots=True)
class LimitRow:
    below: Decimal | None  # base prices strictly below this (None: every higher base price)
    limit: Decimal
    derived: bool


def _load(name: str) -> dict[str, Any]:
    with open(DATA_DIR / name, encoding="utf-8") as fh:
        data: dict[str, Any] = json.load(fh)
    return data


@dataclass(frozen=True, slots=True)
class TickSchedule:
    """Tick tables from ``start``: ``narrow`` for constituents of ``narrow_index``, else ``other``."""

    start: date
    narrow_index: str  # a membership flag of the symbols: "topix100" | "topix500"
    narrow: tuple[TickBand, ...]
    other: tuple[TickBand, ...]


class IndexMember(Protocol):
    """What the tick rules need to know of a symbol: its index membership flags."""

    @property
    def topix100(self) -> bool: ...

    @property
    def topix500(self) -> bool: ...


NARROW_INDEXES = ("topix100", "topix500")


def _bands(rows: list[list[str | None]]) -> tuple[TickBand, ...]:
    return tuple(
        TickBand(None if up is None else Decimal(up), Decimal(str(tick))) for up, tick in rows
    )


@lru_cache(maxsize=1)
def _tick_schedules() -> list[TickSchedule]:
    out = []
    for s in _load("tick_sizes.json")["schedules"]:
        if s["narrow_index"] not in NARROW_INDEXES:
            raise ValueError(f"tick schedule {s['from']}: unknown index {s['narrow_index']!r}")
        out.append(
            TickSchedule(
                date.fromisoformat(s["from"]),
                s["narrow_index"],
                _bands(s["tables"]["narrow"]),
                _bands(s["tables"]["other"]),
            )
        )
    return sorted(out, key=lambda t: t.start)


@lru_cache(maxsize=1)
def _limit_schedules() -> list[tuple[date, tuple[LimitRow, ...], Decimal]]:
    out = []
    for s in _load("price_limits.json")["schedules"]:
        rows = tuple(
            LimitRow(
                None if r["below"] is None else Decimal(r["below"]),
                Decimal(r["limit"]),
                bool(r.get("derived", False)),
            )
            for r in s["rows"]
        )
        out.append((date.fromisoformat(s["from"]), rows, Decimal(s["lower_limit_floor"])))
    return sorted(out, key=lambda t: t[0])


@lru_cache(maxsize=1)
def _unit_schedules() -> list[dict[str, Any]]:
    schedules: list[dict[str, Any]] = _load("trading_unit.json")["schedules"]
    return schedules


def _pick(schedules: list[T], on: date, start: Callable[[T], date]) -> T:
    chosen = None
    for s in schedules:
        if start(s) <= on:
            chosen = s
    if chosen is None:
        raise LookupError(f"no rule in force on {on.isoformat()}")
    return chosen


@lru_cache(maxsize=64)
def trading_unit(on: date) -> int:
    """Shares per trading unit (lot) on ``on``."""
    return int(_pick(_unit_schedules(), on, lambda s: date.fromisoformat(s["from"]))["unit"])


@lru_cache(maxsize=64)
def _tick_schedule(on: date) -> TickSchedule:
    return _pick(_tick_schedules(), on, lambda s: s.start)


def narrow_index(on: date) -> str:
    """The index whose constituents use the narrow table on ``on`` (topix100 | topix500)."""
    return _tick_schedule(on).narrow_index


def tick_bands(narrow: bool, on: date) -> tuple[TickBand, ...]:
    """The narrow (``narrow=True``) or the other tick table in force on ``on``."""
    schedule = _tick_schedule(on)
    return schedule.narrow if narrow else schedule.other


def symbol_tick_bands(symbol: IndexMember, on: date) -> tuple[TickBand, ...]:
    """The tick table of ``symbol`` on ``on``: narrow when it belongs to that day's index."""
    schedule = _tick_schedule(on)
    return schedule.narrow if getattr(symbol, schedule.narrow_index) else schedule.other


def tick_size(price: Decimal, symbol: IndexMember | bool, on: date) -> Decimal:
    """Tick of the band ``price`` falls in ("up to and including" each bound), for ``symbol``'s
    table on ``on`` (a bool picks the table directly: True = narrow)."""
    if isinstance(symbol, bool):
        bands = tick_bands(symbol, on)
    else:
        bands = symbol_tick_bands(symbol, on)
    for band in bands:
        if band.up_to is None or price <= band.up_to:
            return band.tick
    raise AssertionError("tick table has no open-ended last band")  # data file invariant


def is_on_tick(price: Decimal, symbol: IndexMember | bool, on: date) -> bool:
    return price > 0 and price % tick_size(price, symbol, on) == 0


@lru_cache(maxsize=64)
def _limits_on(on: date) -> tuple[tuple[LimitRow, ...], Decimal]:
    _, rows, floor = _pick(_limit_schedules(), on, lambda s: s[0])
    return rows, floor


def limit_rows(on: date) -> tuple[LimitRow, ...]:
    return _limits_on(on)[0]


def daily_limits(base_price: Decimal, on: date | None = None) -> tuple[Decimal, Decimal]:
    """(lower, upper) daily price limits around ``base_price`` (lower never below the floor)."""
    rows, floor = _limits_on(on or date.today())
    for row in rows:
        if row.below is None or base_price < row.below:
            return max(base_price - row.limit, floor), base_price + row.limit
    raise AssertionError("price limit table has no open-ended last row")  # data file invariant
