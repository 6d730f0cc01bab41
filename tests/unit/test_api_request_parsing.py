"""Request parsing rules of the API: shapes and types, before any trading rule."""

from __future__ import annotations

import json
from decimal import Decimal

import pytest
from support.gateway_orders import BODY

from gateway.errors import ErrorCode, OrderError
from gateway.model import OrderType, Side, TimeInForce
from stateless_api import parsing


def body(**over: object) -> dict[str, object]:
    doc: dict[str, object] = {k: v for k, v in BODY.items() if k != "venue"}
    doc.update(over)
    return {k: v for k, v in doc.items() if v is not ...}


def field_of(doc: dict[str, object]) -> str | None:
    with pytest.raises(OrderError) as info:
        parsing.parse_new_order(doc)
    assert info.value.code is ErrorCode.invalid_request
    return info.value.field


def test_full_body_parses_to_typed_request() -> None:
    r = parsing.parse_new_order(body(venue="TSE"))
    assert (r.side, r.type, r.time_in_force) == (Side.buy, OrderType.limit, TimeInForce.day)
    assert r.price == Decimal("2500.5") and r.quantity == 100 and r.venue == "TSE"
    assert r.when_closed == "hold"


def test_time_in_force_defaults_to_day() -> None:
    assert parsing.parse_new_order(body(time_in_force=...)).time_in_force is TimeInForce.day


@pytest.mark.parametrize(
    "name", ["account", "client_order_id", "symbol", "side", "type", "quantity"]
)
def test_missing_required_field_names_the_field(name: str) -> None:
    assert field_of(body(**{name: ...})) == name


def test_boolean_quantity_is_refused() -> None:
    assert field_of(body(quantity=True)) == "quantity"


def test_fractional_quantity_is_refused() -> None:
    assert field_of(body(quantity=Decimal("100.5"))) == "quantity"


def test_zero_quantity_is_not_a_multiple_of_the_unit() -> None:
    with pytest.raises(OrderError) as info:
        parsing.parse_new_order(body(quantity=0))
    assert info.value.code is ErrorCode.quantity_not_multiple_of_unit


def test_unknown_side_is_refused() -> None:
    assert field_of(body(side="short")) == "side"


def test_unknown_field_is_refused() -> None:
    assert field_of(body(colour="red")) == "colour"


@pytest.mark.parametrize("price", ["NaN", "Infinity", "-5", "0", "", "abc", True])
def test_malformed_price_is_refused(price: object) -> None:
    assert field_of(body(price=price)) == "price"


def test_price_as_json_number_is_refused_not_rounded() -> None:
    doc = parsing.parse_json_object(b'{"price": 2500.5}')
    assert field_of(body(price=doc["price"])) == "price"


def test_json_numbers_never_become_floats() -> None:
    doc = parsing.parse_json_object(b'{"x": 0.1}')
    assert isinstance(doc["x"], Decimal)


def test_json_nan_constant_is_refused() -> None:
    with pytest.raises(OrderError):
        parsing.parse_json_object(b'{"price": NaN}')


def test_non_object_json_body_is_refused() -> None:
    with pytest.raises(OrderError):
        parsing.parse_json_object(b"[1, 2]")


def test_invalid_json_body_is_refused() -> None:
    with pytest.raises(OrderError):
        parsing.parse_json_object(b"{nope")


def test_when_closed_accepts_only_hold_or_reject() -> None:
    assert field_of(body(when_closed="later")) == "when_closed"


def test_replace_refuses_unknown_fields() -> None:
    with pytest.raises(OrderError) as info:
        parsing.parse_replace({"side": "sell"})
    assert info.value.field == "side"


def test_replace_parses_new_price() -> None:
    assert parsing.parse_replace({"price": "2501"}).price == Decimal("2501")


def test_halt_all_takes_no_target() -> None:
    with pytest.raises(OrderError) as info:
        parsing.parse_halt({"scope": "all", "target": "A1"})
    assert info.value.field == "target"


def test_halt_account_needs_target() -> None:
    with pytest.raises(OrderError) as info:
        parsing.parse_halt({"scope": "account"})
    assert info.value.field == "target"


def test_list_query_defaults() -> None:
    q = parsing.parse_list_query({"account": "A1"})
    assert (q.status, q.limit, q.cursor) == ("all", parsing.DEFAULT_LIST_LIMIT, None)


@pytest.mark.parametrize("limit", ["0", "-1", "x", str(parsing.MAX_LIST_LIMIT + 1)])
def test_list_limit_out_of_range_is_refused(limit: str) -> None:
    with pytest.raises(OrderError) as info:
        parsing.parse_list_query({"account": "A1", "limit": limit})
    assert info.value.field == "limit"


@pytest.mark.parametrize(
    ("content_type", "ok"),
    [
        ("application/json", True),
        ("application/json; charset=utf-8", True),
        ("text/plain", False),
        (None, False),
    ],
)
def test_only_json_media_type_is_accepted(content_type: str | None, ok: bool) -> None:
    assert parsing.is_json_content_type(content_type) is ok


def _general_parse(raw: bytes) -> object:
    """What ``parse_json_object`` answered before its shortcuts: ``json.detect_encoding`` and
    the decoder's full ``decode`` (the document, or the error's message)."""
    try:
        text = raw.decode(json.detect_encoding(raw), "surrogatepass")
        doc = parsing._DECODER.decode(text)
    except (ValueError, UnicodeDecodeError) as exc:
        return f"body is not valid JSON: {exc}"
    except RecursionError:
        return "body is nested too deeply"
    return doc if isinstance(doc, dict) else "body must be a JSON object"


@pytest.mark.parametrize(
    "raw",
    [
        b'{"price":"2500.5","quantity":100}',
        b'{"x": 0.1, "y": [1, {"z": null}]}',
        b' {"a":1} ',  # whitespace around: the decoder's path
        b"{}",
        b"{",
        b'{"a":1}}',  # extra data after the object
        b'{"a":1} {"b":2}',
        b'{"a":NaN}',
        b'{"a":-Infinity}',
        b'{"a" 1}',
        b'{"a":1,}',
        b'{"a":"\xff"}',  # not UTF-8
        b'{"a":"\\ud800"}',  # a lone surrogate escape
        b"\xef\xbb\xbf" + b'{"a":1}',  # UTF-8 with a BOM
        '{"a":"\u00e9"}'.encode("utf-16-le"),
        '{"a":1}'.encode("utf-16"),
        '{"a":1}'.encode("utf-32-be"),
        b"[" * 100_000 + b"]" * 100_000,
        b"{" + b'"a":[' * 100_000 + b"]" * 100_000 + b"}",
    ],
)
def test_json_object_shortcuts_answer_like_the_general_decoder(raw: bytes) -> None:
    try:
        got: object = parsing.parse_json_object(raw)
    except OrderError as exc:
        got = exc.message
    assert got == _general_parse(raw)


# --- duplicated keys: refused, never "last one wins" -----------------------------------------


def _refusal(raw: bytes) -> OrderError:
    with pytest.raises(OrderError) as info:
        parsing.parse_json_object(raw)
    return info.value


@pytest.mark.parametrize(
    ("raw", "key"),
    [
        (b'{"account":"ACCB","account":"ACCA","quantity":100}', "account"),
        (b'{"quantity":100,"price":"2500.5","quantity":9900}', "quantity"),
        (b'{"quantity" :100,"quantity":9900}', "quantity"),  # space before a colon
        (b'{ "quantity": 100, "quantity": 9900 }', "quantity"),  # the decoder's own path
        (b'{"a":"x:y","b":1,"b":2}', "b"),  # a colon inside a string
        (b'{"scope":"all","target":{"t":1,"t":2}}', "t"),  # nested
        (b'{"a":[{"k":1},{"k":1,"k":2}]}', "k"),  # in a list
        ('{"quantity":100,"quantity":9900}'.encode("utf-16"), "quantity"),
    ],
)
def test_a_key_given_twice_is_refused_naming_it(raw: bytes, key: str) -> None:
    err = _refusal(raw)
    assert (err.code, err.field) == (ErrorCode.duplicate_key, key)


@pytest.mark.parametrize(
    "raw",
    [
        b'{"client_order_id":"a:b:c","quantity":100}',
        b'{"a":{"b":1},"b":{"a":1}}',  # the same name in different objects
        b'{"a":"\\":","b":1}',
    ],
)
def test_the_same_name_in_different_objects_or_colons_in_strings_are_fine(raw: bytes) -> None:
    assert parsing.parse_json_object(raw) == json.loads(raw)


# --- integers: the project's own message, whatever their length -----------------------------

MAX_Q = "quantity must be an integer between 1 and 1000000000000"


@pytest.mark.parametrize(
    "raw_quantity", ["9" * 5000, "-" + "9" * 5000, "1" + "0" * 4300, "1000000000001", "true"]
)
def test_quantity_out_of_range_names_the_project_rule(raw_quantity: str) -> None:
    doc = parsing.parse_json_object(b'{"quantity":%s}' % raw_quantity.encode())
    with pytest.raises(OrderError) as info:
        parsing.parse_new_order(body(quantity=doc["quantity"]))
    assert (info.value.field, info.value.message) == ("quantity", MAX_Q)
    assert "sys" not in info.value.message


def test_replace_quantity_of_5000_digits_names_the_project_rule() -> None:
    doc = parsing.parse_json_object(b'{"quantity":%s}' % (b"7" * 5000))
    with pytest.raises(OrderError) as info:
        parsing.parse_replace(doc)
    assert (info.value.field, info.value.message) == ("quantity", MAX_Q)


@pytest.mark.parametrize("name", ["price", "account", "symbol", "client_order_id"])
def test_a_5000_digit_integer_in_another_field_is_refused_by_that_field(name: str) -> None:
    doc = parsing.parse_json_object(b'{"%s":%s}' % (name.encode(), b"3" * 5000))
    with pytest.raises(OrderError) as info:
        parsing.parse_new_order(body(**{name: doc[name]}))
    assert info.value.field == name and "sys" not in info.value.message


@pytest.mark.parametrize(
    "limit",
    ["9" * 5000, "²", "٣", "+5", " 5", "1e2", "0" * 30 + "5"],
    ids=lambda v: f"{len(v)}-chars" if len(v) > 40 else repr(v),
)
def test_list_limit_that_is_not_plain_ascii_digits_in_range_is_refused(limit: str) -> None:
    with pytest.raises(OrderError) as info:
        parsing.parse_list_query({"account": "A1", "limit": limit})
    assert (info.value.field, info.value.message) == (
        "limit",
        f"limit must be an integer between 1 and {parsing.MAX_LIST_LIMIT}",
    )


@pytest.mark.parametrize("length", ["9" * 5000, "²", "0" * 20 + "1"], ids=len)
def test_content_length_of_any_shape_never_raises_outside_the_rules(length: str) -> None:
    from stateless_api.context import ApiError, check_body_headers

    try:
        check_body_headers(length, "application/json")
    except ApiError as exc:
        assert exc.code == "body_too_large"
