"""Stable error codes of the gateway core and the one exception that carries them.

The codes are part of the public contract (the API puts them in its JSON error bodies and the
README documents them), so members are only ever added, never renamed. No HTTP status lives
here: the API maps codes to statuses.
"""

from __future__ import annotations

from enum import StrEnum


class ErrorCode(StrEnum):
    # --- request shape -----------------------------------------------------------------
    invalid_request = "invalid_request"  # a field is missing, has the wrong type or format
    duplicate_key = "duplicate_key"  # a JSON object names the same key twice (field: the key)
    # --- reference data and venue rules --------------------------------------------------
    unknown_symbol = "unknown_symbol"  # symbol not in the reference data
    quantity_not_multiple_of_unit = "quantity_not_multiple_of_unit"  # not a positive lot multiple
    price_required = "price_required"  # limit order without a price
    price_not_allowed = "price_not_allowed"  # market order with a price
    price_off_tick = "price_off_tick"  # price not a multiple of the tick of its band
    price_outside_daily_limit = "price_outside_daily_limit"  # outside base price +/- limit
    venue_not_allowed = (
        "venue_not_allowed"  # venue unknown, not listed for the symbol, or explicit venue refused
    )
    order_type_not_allowed = "order_type_not_allowed"  # the venue does not take this order type
    time_in_force_not_allowed = "time_in_force_not_allowed"  # not allowed at that venue / phase
    market_closed = "market_closed"  # venue closed and the client asked when_closed=reject
    # --- order lifecycle ---------------------------------------------------------------
    duplicate_client_order_id = "duplicate_client_order_id"  # same id, different body
    order_not_found = "order_not_found"  # no such order visible to the caller
    order_not_open = "order_not_open"  # order already terminal (filled, canceled, ...)
    order_in_flight = "order_in_flight"  # another change (cancel / replace) is still pending
    replace_no_change = "replace_no_change"  # replace asks for nothing new
    replace_below_filled = "replace_below_filled"  # new quantity not above the filled quantity
    # --- kill switch and risk ------------------------------------------------------------
    halted = "halted"  # account, venue or everything halted by operations
    risk_max_quantity = "risk_max_quantity"  # quantity above the per-order maximum
    risk_max_notional = "risk_max_notional"  # price x quantity above the per-order maximum
    risk_max_open_orders = "risk_max_open_orders"  # too many open orders on the account
    risk_daily_buy_notional = "risk_daily_buy_notional"  # daily buy value would exceed the cap
    rate_limited = "rate_limited"  # order-rate token bucket empty; see retry_after
    # --- infrastructure ----------------------------------------------------------------
    redis_unavailable = "redis_unavailable"  # Redis unreachable / not replicated; nothing written


class OrderError(Exception):
    """A refused request: stable ``code``, human ``message``, the offending ``field`` if any,
    and ``retry_after`` seconds for ``rate_limited``."""

    def __init__(
        self,
        code: ErrorCode,
        message: str,
        field: str | None = None,
        retry_after: float | None = None,
    ) -> None:
        super().__init__(f"{code.value}: {message}")
        self.code = code
        self.message = message
        self.field = field
        self.retry_after = retry_after

    def to_dict(self) -> dict[str, str]:
        """The ``{"code", "message", "field"}`` body the API returns under ``"error"``."""
        out = {"code": self.code.value, "message": self.message}
        if self.field is not None:
            out["field"] = self.field
        return out
