"""Request parsing: JSON bodies and query strings to the gateway's typed requests.

Pure functions. They check shape and types only (is ``quantity`` an integer, is ``side`` one
of the sides); the trading rules (tick, unit, limits, venue, phase) belong to
``gateway.validation``. Every failure is an ``OrderError(invalid_request)`` naming the field.
Prices are read as ``Decimal`` from strings (or JSON numbers, parsed without a float).
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from enum import Enum
from typing import Any, TypeVar

from gateway import ids
from gateway.errors import ErrorCode, OrderError
from gateway.model import NewOrderRequest, OrderType, Side, TimeInForce

MAX_BODY_BYTES = 16 * 1024
MAX_ID_LEN = 64
MAX_LIST_LIMIT = 500
DEFAULT_LIST_LIMIT = 100

_ID_RE = re.compile(r"^[A-Za-z0-9._:\-]{1,64}$")
_SYMBOL_RE = re.compile(r"^[A-Za-z0-9]{1,12}$")
_VENUE_RE = re.compile(r"^[A-Za-z0-9_\-]{1,16}$")
_PRICE_RE = re.compile(r"^[0-9]{1,12}(\.[0-9]{1,8})?$")

NEW_ORDER_FIELDS = frozenset(
    {
        "account",
        "client_order_id",
        "symbol",
        "side",
        "type",
        "quantity",
        "price",
        "time_in_force",
        "venue",
        "when_closed",
    }
)
REPLACE_FIELDS = frozenset({"quantity", "price"})
HALT_FIELDS = frozenset({"scope", "target", "cancel_open"})
HALT_SCOPES = ("account", "venue", "all")
LIST_STATUSES = ("open", "done", "all")
WHEN_CLOSED = ("hold", "reject")

E = TypeVar("E", bound=Enum)


def invalid(field: str | None, message: str) -> OrderError:
    return OrderError(ErrorCode.invalid_request, message, field)


def is_json_content_type(content_type: str | None) -> bool:
    """``application/json`` (parameters such as ``charset`` allowed)."""
    if not content_type:
        return False
    media = content_type.split(";", 1)[0].strip().lower()
    return media == "application/json"


def parse_json_object(body: bytes) -> dict[str, Any]:
    """A JSON object, with numbers kept exact (no float)."""
    try:
        doc = json.loads(body, parse_float=Decimal, parse_constant=_reject_constant)
    except (ValueError, UnicodeDecodeError) as exc:
        raise invalid(None, f"body is not valid JSON: {exc}") from None
    except RecursionError:
        raise invalid(None, "body is nested too deeply") from None
    if not isinstance(doc, dict):
        raise invalid(None, "body must be a JSON object")
    return doc


def _reject_constant(name: str) -> Any:
    raise ValueError(f"{name} is not allowed")


def _reject_unknown(doc: dict[str, Any], allowed: frozenset[str]) -> None:
    for key in doc:
        if key not in allowed:
            raise invalid(key, f"unknown field {key!r}")


def _string(doc: dict[str, Any], name: str, pattern: re.Pattern[str], what: str) -> str:
    value = doc.get(name)
    if value is None:
        raise invalid(name, f"{name} is required")
    if not isinstance(value, str) or not pattern.match(value):
        raise invalid(name, f"{name} must be {what}")
    return value


def _enum(doc: dict[str, Any], name: str, enum: type[E], default: E | None = None) -> E:
    value = doc.get(name)
    if value is None:
        if default is None:
            raise invalid(name, f"{name} is required")
        return default
    choices = [m.value for m in enum]
    if not isinstance(value, str) or value not in choices:
        raise invalid(name, f"{name} must be one of {', '.join(choices)}")
    return enum(value)


def parse_quantity(value: Any, name: str = "quantity") -> int:
    """A positive integer (``true`` and ``100.0`` are not quantities)."""
    if isinstance(value, bool) or not isinstance(value, int):
        raise invalid(name, f"{name} must be an integer")
    if value <= 0:
        raise invalid(name, f"{name} must be positive")
    if value > 10**12:
        raise invalid(name, f"{name} is too large")
    return value


def parse_price(value: Any, name: str = "price") -> Decimal | None:
    """A positive decimal price from a string (``"2500.5"``) or an exact JSON number."""
    if value is None:
        return None
    if isinstance(value, bool):
        raise invalid(name, f'{name} must be a decimal string such as "2500.5"')
    if isinstance(value, int):
        value = str(value)
    elif isinstance(value, Decimal):
        value = format(value, "f")
    if not isinstance(value, str) or not _PRICE_RE.match(value):
        raise invalid(name, f'{name} must be a decimal string such as "2500.5"')
    try:
        price = Decimal(value)
    except InvalidOperation:
        raise invalid(name, f"{name} is not a decimal number") from None
    if price <= 0:
        raise invalid(name, f"{name} must be positive")
    return price


def parse_new_order(doc: dict[str, Any]) -> NewOrderRequest:
    """The body of ``POST /v1/orders``."""
    _reject_unknown(doc, NEW_ORDER_FIELDS)
    account = _string(doc, "account", _ID_RE, "an account id (1-64 of A-Z a-z 0-9 . _ : -)")
    client_order_id = _string(
        doc, "client_order_id", _ID_RE, "1-64 characters of A-Z a-z 0-9 . _ : -"
    )
    symbol = _string(doc, "symbol", _SYMBOL_RE, 'a symbol code such as "7203"')
    side = _enum(doc, "side", Side)
    order_type = _enum(doc, "type", OrderType)
    if "quantity" not in doc:
        raise invalid("quantity", "quantity is required")
    quantity = parse_quantity(doc["quantity"])
    price = parse_price(doc.get("price"))
    tif = _enum(doc, "time_in_force", TimeInForce, TimeInForce("day"))
    venue = doc.get("venue")
    if venue is not None and (not isinstance(venue, str) or not _VENUE_RE.match(venue)):
        raise invalid("venue", 'venue must be a venue code such as "TSE"')
    when_closed = doc.get("when_closed", "hold")
    if when_closed not in WHEN_CLOSED:
        raise invalid("when_closed", "when_closed must be hold or reject")
    return NewOrderRequest(
        account=account,
        client_order_id=client_order_id,
        symbol=symbol,
        side=side,
        type=order_type,
        quantity=quantity,
        price=price,
        time_in_force=tif,
        venue=venue,
        when_closed=when_closed,
    )


@dataclass(frozen=True)
class ReplaceRequest:
    quantity: int | None
    price: Decimal | None


def parse_replace(doc: dict[str, Any]) -> ReplaceRequest:
    """The body of ``PATCH /v1/orders/{id}``: a new quantity and/or a new price."""
    _reject_unknown(doc, REPLACE_FIELDS)
    quantity = parse_quantity(doc["quantity"]) if doc.get("quantity") is not None else None
    price = parse_price(doc.get("price"))
    if quantity is None and price is None:
        raise invalid(None, "give a new quantity, a new price, or both")
    return ReplaceRequest(quantity, price)


@dataclass(frozen=True)
class HaltRequest:
    scope: str
    target: str | None
    cancel_open: bool


def parse_halt(doc: dict[str, Any], *, resume: bool = False) -> HaltRequest:
    """The body of ``POST /v1/admin/halt`` and ``/resume``."""
    _reject_unknown(doc, HALT_FIELDS if not resume else HALT_FIELDS - {"cancel_open"})
    scope = doc.get("scope")
    if scope not in HALT_SCOPES:
        raise invalid("scope", "scope must be one of account, venue, all")
    target = doc.get("target")
    if scope == "all":
        if target is not None:
            raise invalid("target", "scope 'all' takes no target")
    elif not isinstance(target, str) or not _ID_RE.match(target):
        raise invalid("target", f"scope {scope!r} needs a target ({scope} id)")
    cancel_open = doc.get("cancel_open", False)
    if not isinstance(cancel_open, bool):
        raise invalid("cancel_open", "cancel_open must be true or false")
    return HaltRequest(scope, target, cancel_open)


@dataclass(frozen=True)
class ListQuery:
    account: str
    status: str
    limit: int
    cursor: str | None


def parse_list_query(params: dict[str, str]) -> ListQuery:
    """The query of ``GET /v1/orders``."""
    account = params.get("account")
    if not account or not _ID_RE.match(account):
        raise invalid("account", "account is required")
    status = params.get("status", "all")
    if status not in LIST_STATUSES:
        raise invalid("status", "status must be one of open, done, all")
    raw_limit = params.get("limit", str(DEFAULT_LIST_LIMIT))
    if not raw_limit.isdigit() or not 1 <= int(raw_limit) <= MAX_LIST_LIMIT:
        raise invalid("limit", f"limit must be an integer from 1 to {MAX_LIST_LIMIT}")
    cursor = params.get("cursor") or None
    if cursor is not None and len(cursor) > 200:
        raise invalid("cursor", "cursor is not one this API issued")
    return ListQuery(account, status, int(raw_limit), cursor)


def is_order_id(value: str) -> bool:
    """Cheap shape check before asking the gateway."""
    return ids.is_order_id(value)
