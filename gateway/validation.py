"""Pure order validation against the venue rules: no I/O, the clock is an argument.

``parse_new_order`` turns a JSON body into a ``NewOrderRequest`` (shape and types);
``validate_new_order`` checks it against reference data, routing and venue rules and decides
the venue; ``validate_replace`` does the same for an amendment. Each failure is an
``OrderError`` with a stable code and the offending field.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping
from dataclasses import dataclass, replace
from datetime import date, datetime
from decimal import Decimal, InvalidOperation
from typing import Any
from zoneinfo import ZoneInfo

from gateway import market_rules
from gateway.errors import ErrorCode, OrderError
from gateway.model import (
    MAX_EXACT_YEN,
    NewOrderRequest,
    Order,
    OrderType,
    Side,
    TimeInForce,
    new_order_request,
)
from gateway.refdata import ReferenceData, Symbol
from gateway.routing import RoutingTable
from gateway.venues import Phase, allowed_time_in_force, get_venue, phase_at, venue_codes

TOKYO = ZoneInfo("Asia/Tokyo")
ACCOUNT_RE = re.compile(r"^[A-Za-z0-9_.\-]{1,64}$")
CLIENT_ORDER_ID_RE = re.compile(r"^[\x21-\x7e]{1,64}$")  # printable ASCII, no spaces
MAX_QUANTITY = 10**12  # far above any risk limit; keeps integers exact everywhere
PRICE_DECIMALS = 4

_FIELDS = frozenset(
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


# Failures that follow from the body and the process's fixed configuration (reference data,
# routing, venue table), never from the clock: no earlier submit of the same body can have
# been accepted, so the gateway answers them without looking up the client order id.
BODY_ONLY_ERRORS = frozenset(
    {
        ErrorCode.unknown_symbol,
        ErrorCode.price_required,
        ErrorCode.price_not_allowed,
        ErrorCode.venue_not_allowed,
        ErrorCode.order_type_not_allowed,
    }
)


def _bad(field: str, message: str) -> OrderError:
    return OrderError(ErrorCode.invalid_request, message, field)


def _str(body: Mapping[str, Any], name: str, pattern: re.Pattern[str] | None = None) -> str:
    value = body.get(name)
    if not isinstance(value, str) or not value:
        raise _bad(name, f"{name} must be a non-empty string")
    if pattern is not None and not pattern.match(value):
        raise _bad(name, f"{name} has characters or a length that is not allowed")
    return value


def _enum(body: Mapping[str, Any], name: str, enum: Any, default: Any = None) -> Any:
    value = body.get(name, default)
    if value is None and default is None:
        raise _bad(name, f"{name} is required")
    if type(value) is str:  # the common case: one dict lookup instead of the Enum call
        member = enum._value2member_map_.get(value)
        if member is not None:
            return member
    try:
        return enum(value)
    except ValueError:
        allowed = ", ".join(m.value for m in enum)
        raise _bad(name, f"{name} must be one of: {allowed}") from None


def parse_quantity(value: Any, field: str = "quantity") -> int:
    """A JSON integer from 1 to ``MAX_QUANTITY``. Anything else (a bool, a string, a decimal,
    an integer too long for ``int()``) is refused in the project's own words; zero and
    negatives are not a positive multiple of the trading unit."""
    if isinstance(value, bool) or not isinstance(value, int) or value > MAX_QUANTITY:
        raise _bad(field, f"{field} must be an integer between 1 and {MAX_QUANTITY}")
    if value <= 0:
        raise OrderError(
            ErrorCode.quantity_not_multiple_of_unit,
            f"{field} must be an integer between 1 and {MAX_QUANTITY}",
            field,
        )
    return value


def parse_price(value: Any, field: str = "price") -> Decimal | None:
    """A price from JSON: a decimal string (or an integer); floats are refused (no float money)."""
    if value is None:
        return None
    if isinstance(value, bool) or isinstance(value, float):
        raise _bad(field, f'{field} must be a decimal string such as "2500.5"')
    if isinstance(value, int):
        value = str(value)
    if not isinstance(value, str) or len(value) > 32:
        raise _bad(field, f'{field} must be a decimal string such as "2500.5"')
    try:
        price = Decimal(value)
    except InvalidOperation:
        raise _bad(field, f"{field} is not a decimal number") from None
    if not price.is_finite() or price <= 0:
        raise _bad(field, f"{field} must be a positive decimal number")
    if price >= MAX_EXACT_YEN:
        raise _bad(field, f"{field} is too large")
    return price


def parse_new_order(body: Any) -> NewOrderRequest:
    """Shape and types of a new-order JSON body; unknown fields are refused."""
    if not isinstance(body, Mapping):
        raise _bad("body", "the body must be a JSON object")
    if not _FIELDS.issuperset(body):
        unknown = sorted(set(body) - _FIELDS)
        raise _bad(unknown[0], f"unknown field {unknown[0]!r}")
    venue = body.get("venue")
    if venue is not None and (not isinstance(venue, str) or not venue):
        raise _bad("venue", "venue must be a non-empty string")
    when_closed = body.get("when_closed", "hold")
    if when_closed not in ("hold", "reject"):
        raise _bad("when_closed", "when_closed must be hold or reject")
    if "quantity" not in body:
        raise _bad("quantity", "quantity is required")
    return new_order_request(  # fields checked in this order: the first failure is raised
        _str(body, "account", ACCOUNT_RE),
        _str(body, "client_order_id", CLIENT_ORDER_ID_RE),
        _str(body, "symbol"),
        _enum(body, "side", Side),
        _enum(body, "type", OrderType),
        parse_quantity(body["quantity"]),
        parse_price(body.get("price")),
        _enum(body, "time_in_force", TimeInForce, "day"),
        venue,
        when_closed,
    )


@dataclass(frozen=True, slots=True)
class ValidatedOrder:
    request: NewOrderRequest
    symbol: Symbol
    venue: str
    phase: Phase
    risk_price: Decimal  # limit price, or the upper daily limit for a market order
    trading_day: date  # Tokyo date the order counts against (daily buy value)

    @property
    def venue_open(self) -> bool:
        return self.phase is not Phase.closed


def _check_quantity(quantity: int, on: date, field: str = "quantity") -> None:
    unit = market_rules.trading_unit(on)
    if quantity <= 0 or quantity % unit:
        raise OrderError(
            ErrorCode.quantity_not_multiple_of_unit,
            f"{field} must be a positive multiple of the trading unit {unit}",
            field,
        )


def _check_limit_price(price: Decimal, sym: Symbol, on: date, field: str = "price") -> None:
    exponent = price.normalize().as_tuple().exponent
    if not isinstance(exponent, int) or -exponent > PRICE_DECIMALS:
        raise OrderError(ErrorCode.price_off_tick, f"{field} has too many decimals", field)
    if not market_rules.is_on_tick(price, sym, on):
        tick = market_rules.tick_size(price, sym, on)
        raise OrderError(
            ErrorCode.price_off_tick,
            f"{field} {price} is not a multiple of the tick {tick} for that price band",
            field,
        )
    lower, upper = market_rules.daily_limits(sym.base_price, on)
    if not lower <= price <= upper:
        raise OrderError(
            ErrorCode.price_outside_daily_limit,
            f"{field} {price} is outside today's limits {lower}..{upper}",
            field,
        )


def default_venue(sym: Symbol, routing: RoutingTable) -> str:
    """Where an order that names no venue goes: the routing table's venue for the symbol if
    the symbol trades there, else the symbol's first venue."""
    venue = routing.default_for(sym.code)
    return venue if venue in sym.venues else sym.venues[0]


def canonical_request(
    request: NewOrderRequest, refdata: ReferenceData, routing: RoutingTable
) -> NewOrderRequest:
    """``request`` with every default written one way, so that a retry spelling a default out
    has the same fingerprint as one leaving it out: a venue equal to the default venue is
    dropped (``time_in_force`` and ``when_closed`` already parse to their default's value;
    ``price`` null and absent are both None). Validation is unchanged by it: an explicit
    default venue passes every check the default passes."""
    if request.venue is None:
        return request
    sym = refdata.get(request.symbol)
    if sym is None or request.venue != default_venue(sym, routing):
        return request
    return replace(request, venue=None)


def validate_new_order(
    request: NewOrderRequest,
    refdata: ReferenceData,
    now: datetime,
    routing: RoutingTable | None = None,
) -> ValidatedOrder:
    """Check ``request`` against every venue rule at ``now`` (aware); raise the first failure."""
    on = now.astimezone(TOKYO).date()
    sym = refdata.get(request.symbol)
    if sym is None:
        raise OrderError(ErrorCode.unknown_symbol, f"unknown symbol {request.symbol!r}", "symbol")
    _check_quantity(request.quantity, on)
    if request.type is OrderType.limit:
        if request.price is None:
            raise OrderError(ErrorCode.price_required, "a limit order needs a price", "price")
        _check_limit_price(request.price, sym, on)
        risk_price = request.price
    else:
        if request.price is not None:
            raise OrderError(ErrorCode.price_not_allowed, "a market order takes no price", "price")
        risk_price = market_rules.daily_limits(sym.base_price, on)[1]

    routing = routing or RoutingTable.load()
    if request.venue is None:
        venue = default_venue(sym, routing)
    else:
        venue = request.venue
        if not routing.allow_explicit_venue and venue != routing.default_for(sym.code):
            raise OrderError(
                ErrorCode.venue_not_allowed, "explicit venues are not allowed", "venue"
            )
        if venue not in sym.venues or get_venue(venue) is None:
            raise OrderError(
                ErrorCode.venue_not_allowed,
                f"{sym.code} cannot be sent to {venue!r} (allowed: {', '.join(sym.venues)})",
                "venue",
            )
    v = get_venue(venue)
    if v is None:
        raise OrderError(ErrorCode.venue_not_allowed, f"venue {venue!r} is not configured", "venue")
    if request.type not in v.order_types:
        raise OrderError(
            ErrorCode.order_type_not_allowed,
            f"{venue} does not take {request.type.value} orders",
            "type",
        )
    phase = phase_at(venue, now)
    if phase is Phase.closed and request.when_closed == "reject":
        raise OrderError(ErrorCode.market_closed, f"{venue} is closed", "venue")
    if request.time_in_force not in allowed_time_in_force(venue, phase):
        raise OrderError(
            ErrorCode.time_in_force_not_allowed,
            f"{request.time_in_force.value} is not allowed at {venue} during {phase.value}",
            "time_in_force",
        )
    return ValidatedOrder(request, sym, venue, phase, risk_price, on)


class NewOrderValidator:
    """``validate_new_order`` with the time-independent checks remembered per trading day.

    Symbol, price (tick and daily limit), venue and order type depend only on the request
    fields in the key and the Tokyo date, so a success is cached under
    ``(symbol, type, price, venue, date)``; quantity, session phase and time in force are
    checked on every call. Failures are never cached (their message quotes the input as
    written), so they take the full path and raise exactly what ``validate_new_order`` raises.
    Per process; not thread-safe (the API runs on one event loop).
    """

    MAX_ENTRIES = 4096

    def __init__(self, refdata: ReferenceData, routing: RoutingTable) -> None:
        self.refdata = refdata
        self.routing = routing
        self._cache: dict[tuple[Any, ...], tuple[Symbol, str, Decimal]] = {}
        # session boundaries fall on whole minutes: the phase (and the time in force it
        # allows, fixed per venue and phase) is then one per (venue, minute)
        self._phases: dict[tuple[str, int], tuple[Phase, frozenset[TimeInForce]]] | None = {}
        for code in venue_codes():
            v = get_venue(code)
            for sess in v.sessions if v is not None else ():
                if any(t.second or t.microsecond for t in (sess.start, sess.end)):
                    self._phases = None
        self._day_second = math.nan  # the second ``_day`` was computed for
        self._day: tuple[date, int] = (date.min, 0)

    def _trading_day(self, now: datetime, second: float) -> tuple[date, int]:
        """(Tokyo date, trading unit) of ``now``, computed once per second (``second`` is
        ``now``'s timestamp floored): the date only changes on a whole second, and
        ``astimezone`` plus the unit's lookup cost more than the rest of a cache hit."""
        if second != self._day_second:
            on = now.astimezone(TOKYO).date()
            self._day = (on, market_rules.trading_unit(on))
            self._day_second = second
        return self._day

    def _phase(
        self, venue: str, now: datetime, second: float
    ) -> tuple[Phase, frozenset[TimeInForce]]:
        """The venue's phase at ``now`` and the time in force it allows, once per minute."""
        if self._phases is None:
            phase = phase_at(venue, now)
            return phase, allowed_time_in_force(venue, phase)
        key = (venue, int(second) // 60)
        hit = self._phases.get(key)
        if hit is None:
            phase = phase_at(venue, now)
            hit = (phase, allowed_time_in_force(venue, phase))
            if len(self._phases) >= 1024:
                self._phases.clear()
            self._phases[key] = hit
        return hit

    def validate(self, request: NewOrderRequest, now: datetime) -> ValidatedOrder:
        return ValidatedOrder(request, *self.check(request, now))

    def check(
        self, request: NewOrderRequest, now: datetime
    ) -> tuple[Symbol, str, Phase, Decimal, date]:
        """``validate``'s fields after the request: (symbol, venue, phase, risk price, trading
        day). The submit takes these without the ``ValidatedOrder`` (a frozen dataclass
        costs ~1 us to build, half of a cache hit)."""
        second = now.timestamp() // 1
        on, unit = self._trading_day(now, second)
        key = (request.symbol, request.type, request.price, request.venue, on)
        hit = self._cache.get(key)
        if hit is None:
            v = validate_new_order(request, self.refdata, now, self.routing)
            if len(self._cache) >= self.MAX_ENTRIES:
                self._cache.clear()
            self._cache[key] = (v.symbol, v.venue, v.risk_price)
            return v.symbol, v.venue, v.phase, v.risk_price, v.trading_day
        sym, venue, risk_price = hit
        quantity = request.quantity
        if quantity <= 0 or quantity % unit:
            _check_quantity(quantity, on)  # raises, with the message of the full path
        phase, allowed = self._phase(venue, now, second)
        if phase is Phase.closed and request.when_closed == "reject":
            raise OrderError(ErrorCode.market_closed, f"{venue} is closed", "venue")
        if request.time_in_force not in allowed:
            raise OrderError(
                ErrorCode.time_in_force_not_allowed,
                f"{request.time_in_force.value} is not allowed at {venue} during {phase.value}",
                "time_in_force",
            )
        return sym, venue, phase, risk_price, on


def validate_replace(
    order: Order,
    quantity: int | None,
    price: Decimal | None,
    refdata: ReferenceData,
    now: datetime,
) -> tuple[int, Decimal | None]:
    """The order's quantity and price after the amendment; raise if it breaks a rule."""
    on = now.astimezone(TOKYO).date()
    if quantity is None and price is None:
        raise OrderError(ErrorCode.replace_no_change, "give a new quantity and/or price", "body")
    new_qty = order.quantity if quantity is None else quantity
    new_px = order.price if price is None else price
    if quantity is not None:
        _check_quantity(quantity, on)
        if quantity <= order.cum_qty:
            raise OrderError(
                ErrorCode.replace_below_filled,
                f"quantity must be above the filled quantity {order.cum_qty}",
                "quantity",
            )
    if price is not None:
        if order.type is OrderType.market:
            raise OrderError(ErrorCode.price_not_allowed, "a market order takes no price", "price")
        sym = refdata.get(order.symbol)
        if sym is None:
            raise OrderError(ErrorCode.unknown_symbol, f"unknown symbol {order.symbol!r}", "symbol")
        _check_limit_price(price, sym, on)
    if new_qty == order.quantity and new_px == order.price:
        raise OrderError(ErrorCode.replace_no_change, "nothing would change", "body")
    return new_qty, new_px
