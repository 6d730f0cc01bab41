"""Every validation rule of a new order and of an amendment, one test each."""

from dataclasses import replace
from datetime import UTC, datetime
from decimal import Decimal as D

import pytest
from support.gateway_orders import BODY, stored_order

from gateway.errors import ErrorCode, OrderError
from gateway.model import NewOrderRequest, Order, OrderStatus, OrderType, TimeInForce
from gateway.refdata import ReferenceData
from gateway.routing import RoutingTable
from gateway.validation import (
    canonical_request,
    parse_new_order,
    validate_new_order,
    validate_replace,
)
from gateway.venues import Phase

REF = ReferenceData.load()
# Friday 2026-11-27 in Tokyo (UTC+9)
CONTINUOUS = datetime(2026, 11, 27, 1, 0, tzinfo=UTC)  # 10:00 JST
PRE_OPEN = datetime(2026, 11, 26, 23, 30, tzinfo=UTC)  # 08:30 JST
LUNCH = datetime(2026, 11, 27, 3, 0, tzinfo=UTC)  # 12:00 JST
CLOSING = datetime(2026, 11, 27, 6, 27, tzinfo=UTC)  # 15:27 JST
CLOSED = datetime(2026, 11, 27, 8, 0, tzinfo=UTC)  # 17:00 JST


def req(**kw) -> NewOrderRequest:
    return replace(parse_new_order(BODY), **kw)


def code_of(fn, *a) -> ErrorCode:
    with pytest.raises(OrderError) as ei:
        fn(*a)
    return ei.value.code


def test_valid_limit_order_passes_and_routes_to_tse():
    v = validate_new_order(req(), REF, CONTINUOUS)
    assert v.venue == "TSE" and v.phase is Phase.continuous and v.risk_price == D("2500.5")


def test_unknown_symbol():
    assert (
        code_of(validate_new_order, req(symbol="0000"), REF, CONTINUOUS) is ErrorCode.unknown_symbol
    )


@pytest.mark.parametrize("qty", [50, 150, 1])
def test_quantity_not_multiple_of_unit(qty):
    assert (
        code_of(validate_new_order, req(quantity=qty), REF, CONTINUOUS)
        is ErrorCode.quantity_not_multiple_of_unit
    )


@pytest.mark.parametrize("qty", [0, -100])
def test_non_positive_quantity_is_refused_when_parsing(qty):
    assert (
        code_of(parse_new_order, {**BODY, "quantity": qty})
        is ErrorCode.quantity_not_multiple_of_unit
    )


def test_limit_order_needs_a_price():
    assert code_of(validate_new_order, req(price=None), REF, CONTINUOUS) is ErrorCode.price_required


def test_market_order_takes_no_price():
    assert (
        code_of(validate_new_order, req(type=OrderType.market), REF, CONTINUOUS)
        is ErrorCode.price_not_allowed
    )


def test_market_order_risk_price_is_the_upper_limit():
    v = validate_new_order(req(type=OrderType.market, price=None), REF, CONTINUOUS)
    assert v.risk_price == D("3350")  # base 2850 + 500


def test_price_off_tick_for_the_band():
    assert (
        code_of(validate_new_order, req(price=D("2500.3")), REF, CONTINUOUS)
        is ErrorCode.price_off_tick
    )


def test_price_off_tick_uses_the_symbols_table():
    # 4478 is not a TOPIX500 constituent: above 3,000 yen the tick is 5 (base 2,950)
    r = req(symbol="4478", price=D("3001"))
    assert code_of(validate_new_order, r, REF, CONTINUOUS) is ErrorCode.price_off_tick


def test_too_many_decimals_is_off_tick():
    assert (
        code_of(validate_new_order, req(price=D("2500.00001")), REF, CONTINUOUS)
        is ErrorCode.price_off_tick
    )


def test_price_above_upper_limit():
    assert (
        code_of(validate_new_order, req(price=D("3351")), REF, CONTINUOUS)
        is ErrorCode.price_outside_daily_limit
    )


def test_price_below_lower_limit():
    assert (
        code_of(validate_new_order, req(price=D("2349.5")), REF, CONTINUOUS)
        is ErrorCode.price_outside_daily_limit
    )


def test_price_at_the_limits_is_allowed():
    validate_new_order(req(price=D("3350")), REF, CONTINUOUS)
    validate_new_order(req(price=D("2350")), REF, CONTINUOUS)


def test_venue_not_listed_for_symbol():
    # 3656 trades on TSE only in the shipped reference data
    r = req(symbol="3656", price=D("98"), venue="JNX")
    assert code_of(validate_new_order, r, REF, CONTINUOUS) is ErrorCode.venue_not_allowed


def test_unknown_venue():
    assert (
        code_of(validate_new_order, req(venue="NYSE"), REF, CONTINUOUS)
        is ErrorCode.venue_not_allowed
    )


def test_explicit_venue_refused_when_routing_forbids_it():
    routing = RoutingTable("TSE", allow_explicit_venue=False)
    assert (
        code_of(validate_new_order, req(venue="JNX"), REF, CONTINUOUS, routing)
        is ErrorCode.venue_not_allowed
    )


def test_routing_default_when_no_venue():
    assert validate_new_order(req(venue=None), REF, CONTINUOUS).venue == "TSE"


def test_pts_refuses_market_orders():
    r = req(venue="JNX", type=OrderType.market, price=None)
    assert code_of(validate_new_order, r, REF, CONTINUOUS) is ErrorCode.order_type_not_allowed


def test_ioc_not_allowed_in_pre_open():
    r = req(time_in_force=TimeInForce.ioc)
    assert code_of(validate_new_order, r, REF, PRE_OPEN) is ErrorCode.time_in_force_not_allowed


def test_at_open_not_allowed_during_continuous_session():
    r = req(time_in_force=TimeInForce.at_open)
    assert code_of(validate_new_order, r, REF, CONTINUOUS) is ErrorCode.time_in_force_not_allowed


def test_at_open_allowed_during_lunch_break():
    assert (
        validate_new_order(req(time_in_force=TimeInForce.at_open), REF, LUNCH).phase is Phase.break_
    )


def test_only_day_and_at_close_in_closing_auction():
    validate_new_order(req(time_in_force=TimeInForce.at_close), REF, CLOSING)
    r = req(time_in_force=TimeInForce.fok)
    assert code_of(validate_new_order, r, REF, CLOSING) is ErrorCode.time_in_force_not_allowed


def test_closed_venue_holds_by_default():
    v = validate_new_order(req(), REF, CLOSED)
    assert v.phase is Phase.closed and not v.venue_open


def test_closed_venue_rejects_on_request():
    r = req(when_closed="reject")
    assert code_of(validate_new_order, r, REF, CLOSED) is ErrorCode.market_closed


# --- parsing ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    "change,field",
    [
        ({"account": ""}, "account"),
        ({"account": "A:1"}, "account"),
        ({"client_order_id": "has space"}, "client_order_id"),
        ({"side": "short"}, "side"),
        ({"type": "stop"}, "type"),
        ({"quantity": "100"}, "quantity"),
        ({"quantity": True}, "quantity"),
        ({"price": 2500.5}, "price"),
        ({"price": "abc"}, "price"),
        ({"price": "-1"}, "price"),
        ({"price": "NaN"}, "price"),
        ({"time_in_force": "gtc"}, "time_in_force"),
        ({"when_closed": "maybe"}, "when_closed"),
        ({"extra": 1}, "extra"),
    ],
)
def test_malformed_body_is_invalid_request_naming_the_field(change, field):
    with pytest.raises(OrderError) as ei:
        parse_new_order({**BODY, **change})
    assert ei.value.code is ErrorCode.invalid_request and ei.value.field == field


def test_missing_quantity_is_invalid_request():
    body = dict(BODY)
    del body["quantity"]
    assert code_of(parse_new_order, body) is ErrorCode.invalid_request


def test_body_must_be_an_object():
    assert code_of(parse_new_order, [1]) is ErrorCode.invalid_request


def test_same_body_same_fingerprint_price_text_normalised():
    a = parse_new_order(BODY)
    b = parse_new_order({**BODY, "price": "2500.50"})
    assert a.fingerprint() == b.fingerprint()
    assert a.fingerprint() != parse_new_order({**BODY, "quantity": 200}).fingerprint()


# --- amendments ------------------------------------------------------------------------


def _order(**kw) -> Order:
    """A working order: 300 @ 2500, 100 filled."""
    base = dict(
        order_id="X",
        client_order_id="c",
        quantity=300,
        price=D("2500"),
        status=OrderStatus.new,
        cum_qty=100,
        leaves_qty=200,
        avg_px=D("2500"),
    )
    base.update(kw)
    return stored_order(**base)


def test_replace_needs_a_change():
    assert (
        code_of(validate_replace, _order(), None, None, REF, CONTINUOUS)
        is ErrorCode.replace_no_change
    )


def test_replace_to_the_same_values_is_no_change():
    assert (
        code_of(validate_replace, _order(), 300, D("2500"), REF, CONTINUOUS)
        is ErrorCode.replace_no_change
    )


def test_replace_quantity_must_stay_above_filled():
    assert (
        code_of(validate_replace, _order(), 100, None, REF, CONTINUOUS)
        is ErrorCode.replace_below_filled
    )


def test_replace_quantity_in_lots():
    assert (
        code_of(validate_replace, _order(), 250, None, REF, CONTINUOUS)
        is ErrorCode.quantity_not_multiple_of_unit
    )


def test_replace_price_checked_against_tick_and_limits():
    assert (
        code_of(validate_replace, _order(), None, D("2500.3"), REF, CONTINUOUS)
        is ErrorCode.price_off_tick
    )
    assert (
        code_of(validate_replace, _order(), None, D("9000"), REF, CONTINUOUS)
        is ErrorCode.price_outside_daily_limit
    )


def test_replace_returns_new_values():
    assert validate_replace(_order(), 400, None, REF, CONTINUOUS) == (400, D("2500"))


# --- defaults written one way before the fingerprint -----------------------------------------


def test_default_venue_spelled_out_has_the_fingerprint_of_the_venue_left_out() -> None:
    routing = RoutingTable.load()
    omitted = canonical_request(req(venue=None), REF, routing)
    spelled = canonical_request(req(venue="TSE"), REF, routing)
    assert spelled.fingerprint() == omitted.fingerprint()


def test_defaults_spelled_out_parse_to_the_fingerprint_of_the_defaults_left_out() -> None:
    routing = RoutingTable.load()
    bare = {k: v for k, v in BODY.items() if k not in ("time_in_force", "venue", "when_closed")}
    full = {**bare, "time_in_force": "day", "venue": "TSE", "when_closed": "hold"}
    assert (
        canonical_request(parse_new_order(full), REF, routing).fingerprint()
        == canonical_request(parse_new_order(bare), REF, routing).fingerprint()
    )


def test_another_venue_than_the_default_keeps_its_own_fingerprint() -> None:
    routing = RoutingTable.load()
    other = canonical_request(req(venue="JNX"), REF, routing)
    assert other.venue == "JNX"
    assert other.fingerprint() != canonical_request(req(venue=None), REF, routing).fingerprint()


def test_the_default_venue_follows_the_routing_table() -> None:
    routing = RoutingTable("JNX")
    assert canonical_request(req(venue="JNX"), REF, routing).venue is None
    assert canonical_request(req(venue="TSE"), REF, routing).venue == "TSE"
