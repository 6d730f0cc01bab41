"""The submit call's keys and arguments sit where the named layout (gateway.calls.SUBMIT)
says, which is how submit.lua reads them."""

from datetime import UTC, datetime

import pytest
import redis
from support.gateway_orders import BODY as ORDER_BODY

from gateway import keys
from gateway.calls import SUBMIT
from gateway.codec import decode_command
from gateway.config import GatewayConfig
from gateway.orders import OrderGateway
from gateway.refdata import ReferenceData
from gateway.resp import RespBulk
from gateway.scripts import source
from gateway.validation import parse_new_order

NOW = datetime(2026, 11, 27, 1, 0, tzinfo=UTC)  # Friday 10:00 JST


def _call():
    gateway = OrderGateway(redis.Redis(), GatewayConfig(), ReferenceData.load(), clock=lambda: NOW)
    body = {k: v for k, v in ORDER_BODY.items() if k != "venue"}
    request = parse_new_order(body)
    call = gateway.prepare_submit(request, process="api:1")
    named = SUBMIT.named(call.keys, call.args)
    return gateway, request, call, {k: _value(v) for k, v in named.items()}


def _value(v):
    """A pre-packed constant (RespBulk: ``$<len>\\r\\n<data>\\r\\n``) as its text."""
    if isinstance(v, RespBulk):
        text = bytes(v).split(b"\r\n")[1].decode()
        return int(text) if text.isdigit() else text
    return v


def test_each_submit_key_is_the_key_its_name_says():
    _, request, call, n = _call()
    p, oid, acct = call.p, call.order_id, request.account
    assert n["k_order"] == keys.order(p, oid)
    assert n["k_idempotency"] == keys.idempotency(p, acct, request.client_order_id)
    assert n["k_account"] == keys.account(p, acct)
    assert n["k_account_orders"] == keys.account_orders(p, acct)
    assert n["k_account_open"] == keys.account_open(p, acct)
    assert n["k_open_orders"] == keys.open_orders(p)
    assert n["k_cmd_stream"] == keys.cmd_stream(p, call.venue)
    assert n["k_events"] == keys.events(p)
    assert n["k_trail"] == keys.trail(p, oid)
    assert n["k_halt"] == keys.halt(p)


def test_each_submit_argument_is_the_value_its_name_says():
    gateway, request, call, n = _call()
    limits = gateway.config.risk_for(request.account)
    assert (n["a_order_id"], n["a_account"], n["a_venue"]) == (
        call.order_id,
        request.account,
        call.venue,
    )
    assert n["a_fingerprint"] == request.fingerprint()
    assert (n["a_side"], n["a_quantity"], n["a_type"]) == (
        request.side.value,
        request.quantity,
        request.type.value,
    )
    assert (n["a_max_quantity"], n["a_max_open_orders"], n["a_burst"]) == (
        limits.max_order_quantity,
        limits.max_open_orders,
        limits.burst,
    )
    assert (n["a_client_order_id"], n["a_symbol"], n["a_time_in_force"]) == (
        request.client_order_id,
        request.symbol,
        request.time_in_force.value,
    )
    assert (n["a_at"], n["a_partition"], n["a_when_closed"]) == (
        call.at,
        call.p,
        request.when_closed,
    )
    assert n["a_price"] == (call.price_text or "")
    assert n["a_events_maxlen"] == gateway.config.events_maxlen
    assert decode_command(n["a_command"]).order_id == call.order_id
    assert '"step":"received"' in n["a_received"]
    assert n["a_enqueued_before"].endswith('"entry_id":"')


def test_a_call_of_another_shape_is_refused():
    with pytest.raises(ValueError, match="layout"):
        SUBMIT.named(["k"], ["a"])


def test_submit_lua_reads_its_arguments_only_by_name():
    body = (source("submit").split(SUBMIT.lua_locals(), 1))[1]
    assert "KEYS[" not in body and "ARGV[" not in body
