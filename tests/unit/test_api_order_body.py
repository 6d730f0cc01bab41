"""The answer of a submit, formatted from a template, is byte for byte the encoded order JSON."""

from __future__ import annotations

import json
from dataclasses import replace
from decimal import Decimal

from hypothesis import given
from hypothesis import strategies as st
from support.gateway_orders import stored_order

from gateway.model import Fill, Order, OrderStatus
from stateless_api.presenters import order_body, order_json

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
