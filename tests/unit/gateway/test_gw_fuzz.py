"""No input crashes the pure layer: any JSON body gives a NewOrderRequest or an OrderError, and
anything that validates is on tick, inside the limits and in lots."""

from datetime import UTC, datetime
from decimal import Decimal

from hypothesis import given, settings
from hypothesis import strategies as st

from gateway import market_rules
from gateway.codec import CodecError, decode_command, decode_event
from gateway.errors import OrderError
from gateway.refdata import ReferenceData
from gateway.validation import parse_new_order, validate_new_order

REF = ReferenceData.load()
AT = datetime(2026, 11, 27, 1, 0, tzinfo=UTC)
json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=True) | st.text(max_size=12),
    lambda inner: (
        st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=5), inner, max_size=3)
    ),
    max_leaves=5,
)
plausible = st.fixed_dictionaries(
    {
        "account": st.sampled_from(["A1", "", "a b", "X" * 70]),
        "client_order_id": st.text(min_size=0, max_size=70),
        "symbol": st.sampled_from([s.code for s in REF.all()] + ["0000", ""]),
        "side": st.sampled_from(["buy", "sell", "hold"]),
        "type": st.sampled_from(["limit", "market", "stop"]),
        "quantity": st.integers(-1000, 10**7) | json_values,
        "price": st.none()
        | st.decimals(min_value=-10, max_value=10**8, places=2).map(str)
        | st.sampled_from(["1e400", "-0", "Infinity", "1.00001", "2500.5"])
        | json_values,
    },
    optional={
        "time_in_force": st.sampled_from(["day", "ioc", "fok", "at_open", "at_close", "gtc"]),
        "venue": st.sampled_from(["TSE", "JNX", "LSE", ""]) | json_values,
        "when_closed": st.sampled_from(["hold", "reject", "x"]),
    },
)


@settings(max_examples=400, deadline=None)
@given(st.one_of(json_values, plausible))
def test_any_body_is_an_order_or_a_precise_error(body):
    try:
        req = parse_new_order(body)
        v = validate_new_order(req, REF, AT)
    except OrderError as exc:
        assert exc.code and exc.message
        return
    on = AT.date()
    assert req.quantity > 0 and req.quantity % market_rules.trading_unit(on) == 0
    if req.price is not None:
        assert market_rules.is_on_tick(req.price, v.symbol.topix500, on)
        lower, upper = market_rules.daily_limits(v.symbol.base_price, on)
        assert lower <= req.price <= upper
        assert isinstance(req.price, Decimal)


@settings(max_examples=300, deadline=None)
@given(st.binary(max_size=64))
def test_any_bytes_decode_to_a_command_or_a_codec_error(data):
    for decode in (decode_command, decode_event):
        try:
            decode(data)
        except CodecError:
            pass
