"""The answer of a submit, formatted from a template, is byte for byte the encoded order JSON."""

from __future__ import annotations

import json
from dataclasses import replace
from decimal import Decimal

from hypothesis import given
from hypothesis import strategies as st
from support.gateway_orders import MARKET_OPEN, stored_order

from gateway.model import (
    Fill,
    NewOrderRequest,
    Order,
    OrderStatus,
    OrderType,
    Side,
    TimeInForce,
    price_str,
)
from gateway.orders import SubmitCall, SubmitOutcome
from stateless_api.presenters import new_order_body, order_body, order_json, outcome_body

ORDER = stored_order()


def _plain(order: Order) -> bytes:
    return json.dumps(order_json(order), separators=(",", ":")).encode()


@given(
    st.text(max_size=20),
    st.text(max_size=20),
    st.sampled_from([None, Decimal("2500.5"), Decimal("1E+3"), Decimal("0.10")]),
    st.integers(0, 10**12),
    st.sampled_from(list(OrderStatus)),
)
def test_template_answer_equals_the_encoded_order_json(account, cid, price, qty, status):
    order = replace(
        ORDER, account=account, client_order_id=cid, price=price, quantity=qty, status=status
    )
    assert order_body(order) == _plain(order)


def test_orders_with_fills_or_a_pending_change_take_the_encoder_and_agree():
    filled = replace(ORDER, fills=(Fill("e1", 100, Decimal("2500"), "t"),), cum_qty=100)
    pending = replace(ORDER, pending_quantity=200, pending_price=None, reason="r")
    for order in (filled, pending):
        assert order_body(order) == _plain(order)


ids = st.text(alphabet="0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ", min_size=20, max_size=20)


@given(
    st.text(min_size=1, max_size=20),
    st.text(alphabet=st.characters(min_codepoint=0x21, max_codepoint=0x7E), min_size=1),
    st.text(min_size=1, max_size=10),
    st.sampled_from(list(Side)),
    st.sampled_from(
        [
            (OrderType.limit, Decimal("2500.5")),
            (OrderType.limit, Decimal("1E+3")),
            (OrderType.limit, Decimal("0.10")),
            (OrderType.market, None),
        ]
    ),
    st.integers(1, 10**12),
    st.sampled_from(list(TimeInForce)),
    st.text(min_size=1, max_size=10),
    st.sampled_from(["hold", "reject"]),
    ids,
    st.integers(0, 1295),
)
def test_new_order_answer_from_the_call_equals_the_order_answer(
    account, cid, symbol, side, type_price, qty, tif, venue, when_closed, order_id, p
):
    otype, price = type_price
    request = NewOrderRequest(
        account,
        cid,
        symbol,
        side,
        otype,
        qty,
        price,
        tif,
        venue,
        when_closed,  # type: ignore[arg-type]
    )
    at = "2026-11-27T01:00:00.123456Z"
    call = SubmitCall(request, "api", MARKET_OPEN, p, venue, at, order_id, [], [], price_str(price))
    outcome = SubmitOutcome(None, True, call)
    built = outcome.order  # what the order hash holds, built on demand
    assert (built.order_id, built.created_at, built.status) == (
        order_id,
        at,
        OrderStatus.pending_new,
    )
    assert outcome_body(outcome) == new_order_body(call) == _plain(built) == order_body(built)


def test_an_outcome_with_an_order_answers_with_that_order():
    replay = SubmitOutcome(ORDER, False)
    assert replay.call is None and replay.order is ORDER
    assert outcome_body(replay) == _plain(ORDER)
