"""Venue rules read from the dated data files in ``gateway/data/``: trading unit, the two tick
size tables, the daily price limit table.

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
from typing import Any, TypeVar

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


@lru_cache(maxsize=1)
def _tick_schedules() -> list[tuple[date, dict[str, tuple[TickBand, ...]]]]:
    out = []
    for s in _load("tick_sizes.json")["schedules"]:
        tables = {
            name: tuple(
                TickBand(None if up is None else Decimal(up), Decimal(tick)) for up, tick in rows
            )
            for name, rows in s["tables"].items()
        }
        out.append((date.fromisoformat(s["from"]), tables))
    return sorted(out, key=lambda t: t[0])


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
def tick_bands(topix500: bool, on: date) -> tuple[TickBand, ...]:
    """The tick size table in force on ``on`` for a constituent (narrow) or other issue."""
    _, tables = _pick(_tick_schedules(), on, lambda s: s[0])
    return tables["topix500" if topix500 else "other"]


def tick_size(price: Decimal, topix500: bool, on: date) -> Decimal:
    """Tick of the band ``price`` falls in ("up to and including" each bound)."""
    for band in tick_bands(topix500, on):
        if band.up_to is None or price <= band.up_to:
            return band.tick
    raise AssertionError("tick table has no open-ended last band")  # data file invariant


def is_on_tick(price: Decimal, topix500: bool, on: date) -> bool:
    return price > 0 and price % tick_size(price, topix500, on) == 0


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
