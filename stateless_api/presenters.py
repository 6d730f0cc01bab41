"""Shape gateway objects as the JSON the API documents (Decimals as strings)."""

from __future__ import annotations

import dataclasses
import json
from datetime import date, datetime
from decimal import Decimal
from enum import Enum
from json.encoder import encode_basestring_ascii as _q  # what the encoder uses (C)
from typing import Any
from zoneinfo import ZoneInfo

from gateway import market_rules
from gateway.model import price_str
from gateway.orders import SubmitCall, SubmitOutcome

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


_ENC = json.JSONEncoder(separators=(",", ":"))
_BODY = (
    '{"order_id":%s,"account":%s,"client_order_id":%s,"symbol":%s,"side":%s,"type":%s,'
    '"quantity":%d,"price":%s,"time_in_force":%s,"venue":%s,"when_closed":%s,"status":%s,'
    '"cum_qty":%d,"leaves_qty":%d,"avg_px":%s,"fills":[],"created_at":%s,"updated_at":%s,'
    '"partition":%d}'
)


def order_body(order: Any) -> bytes:
    """``order_json(order)`` as compact JSON bytes. An order without fills, pending change or
    reason (every new order's answer) is formatted from one template, the rest through the
    encoder; a unit test holds both byte for byte equal to encoding ``order_json``."""
    if order.fills or order.reason or order.pending_quantity is not None:
        return _ENC.encode(order_json(order)).encode()
    if order.pending_price is not None:
        return _ENC.encode(order_json(order)).encode()
    price = price_str(order.price)
    return (
        _BODY
        % (
            _q(order.order_id),
            _q(order.account),
            _q(order.client_order_id),
            _q(order.symbol),
            _q(order.side.value),
            _q(order.type.value),
            order.quantity,
            "null" if price is None else _q(price),
            _q(order.time_in_force.value),
            _q(order.venue),
            _q(order.when_closed),
            _q(order.status.value),
            order.cum_qty,
            order.leaves_qty,
            _q(price_str(order.avg_px) or ""),
            _q(order.created_at),
            _q(order.updated_at),
            order.partition,
        )
    ).encode()


# A new order's answer: only the order id, client order id, time and the request's own fields
# vary; the enum values, order id, price text and time need no JSON escaping.
_NEW_BODY = (
    '{"order_id":"%s","account":%s,"client_order_id":%s,"symbol":%s,"side":"%s","type":"%s",'
    '"quantity":%d,"price":%s,"time_in_force":"%s","venue":%s,"when_closed":"%s",'
    '"status":"pending_new","cum_qty":0,"leaves_qty":%d,"avg_px":"0","fills":[],'
    '"created_at":"%s","updated_at":"%s","partition":%d}'
)


def new_order_body(call: SubmitCall) -> bytes:
    """``order_body`` of the order ``call`` created, formatted from the call without building
    the ``Order`` (a unit test holds the two byte for byte equal)."""
    r = call.request
    at = call.at
    price = call.price_text
    return (
        _NEW_BODY
        % (
            call.order_id,
            _q(r.account),
            _q(r.client_order_id),
            _q(r.symbol),
            r.side._value_,
            r.type._value_,
            r.quantity,
            "null" if price is None else f'"{price}"',
            r.time_in_force._value_,
            _q(call.venue),
            r.when_closed,
            r.quantity,
            at,
            at,
            call.p,
        )
    ).encode()


def outcome_body(outcome: SubmitOutcome) -> bytes:
    """The answer JSON of a submit's outcome: from the call for an order it just created."""
    call = outcome.call
    if call is not None:
        return new_order_body(call)
    return order_body(outcome.order)


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
    bands = market_rules.symbol_tick_bands(symbol, today)
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
