"""Shape gateway objects as the JSON the API documents (Decimals as strings)."""

from __future__ import annotations

import dataclasses
from datetime import date, datetime
from decimal import Decimal
from enum import Enum
from typing import Any
from zoneinfo import ZoneInfo

from gateway import market_rules

TOKYO = ZoneInfo("Asia/Tokyo")


def plain(value: Any) -> Any:
    """JSON-ready copy: Decimals and datetimes as strings, enums as their values."""
    if isinstance(value, Enum):
        return value.value
    if isinstance(value, Decimal):
        return format(value, "f")
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, dict):
        return {str(k): plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [plain(v) for v in value]
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {f.name: plain(getattr(value, f.name)) for f in dataclasses.fields(value)}
    return value


def order_json(order: Any) -> dict[str, Any]:
    """``Order.to_json`` is already JSON-ready (Decimals as strings): no second walk."""
    result: dict[str, Any] = order.to_json()
    return result


def trail_json(order_id: str, steps: list[Any]) -> dict[str, Any]:
    out = []
    for s in steps:
        out.append(
            {
                "at": plain(s.at),
                "step": plain(s.step),
                "component": s.component,
                "process": s.process,
                "detail": plain(s.detail) if s.detail is not None else {},
            }
        )
    return {"order_id": order_id, "steps": out}


def tokyo_today(now: datetime | None = None) -> date:
    """The trading day the rules in force are picked for."""
    return (now or datetime.now(TOKYO)).astimezone(TOKYO).date()


def symbol_json(symbol: Any, today: date) -> dict[str, Any]:
    """What an order ticket needs: unit, base price, today's limits and tick bands."""
    lower, upper = market_rules.daily_limits(symbol.base_price, today)
    bands = market_rules.tick_bands(symbol.topix500, today)
    return {
        "symbol": symbol.code,
        "name": symbol.name,
        "venues": list(symbol.venues),
        "trading_unit": market_rules.trading_unit(today),
        "base_price": plain(symbol.base_price),
        "lower_limit": plain(lower),
        "upper_limit": plain(upper),
        "topix500": bool(symbol.topix500),
        "tick_sizes": [
            {"up_to": plain(b.up_to) if b.up_to is not None else None, "tick": plain(b.tick)}
            for b in bands
        ],
    }
