"""The submit hot path's shortcuts produce exactly what the general code produces.

Each shortcut (direct msgpack encoders, the cached validator, the id generator's per-millisecond
prefix, the trail step templates) must be invisible on the wire and in every answer.
"""

from dataclasses import FrozenInstanceError, replace
from datetime import UTC, datetime, timedelta
from decimal import Decimal as D

import pytest
import redis
from hypothesis import given
from hypothesis import strategies as st
from support.gateway_orders import BODY as ORDER_BODY

from gateway import ids, keys
from gateway.codec import (
    NewOrderCommand,
    OrderUpdate,
    encode_command,
    encode_event,
    encode_new_order,
    encode_submitted,
)
from gateway.config import GatewayConfig
from gateway.errors import OrderError
from gateway.model import NewOrderRequest, OrderType, Side, TimeInForce, utc_iso
from gateway.orders import _ENQ_AFTER, OrderGateway, _utc_iso
from gateway.refdata import ReferenceData
from gateway.routing import RoutingTable
from gateway.trail import step_json
from gateway.validation import NewOrderValidator, parse_new_order, validate_new_order

REF = ReferenceData.load()
ROUTING = RoutingTable.load()
CONTINUOUS = datetime(2026, 11, 27, 1, 0, tzinfo=UTC)  # Friday 10:00 JST
CLOSING = datetime(2026, 11, 27, 6, 27, tzinfo=UTC)  # 15:27 JST
BODY = {k: v for k, v in ORDER_BODY.items() if k != "venue"}  # the routing table picks it
text = st.text(min_size=1, max_size=30)


@given(
    text,
    text,
    text,
    st.sampled_from(["buy", "sell"]),
    st.integers(1, 10**12),
    st.one_of(st.none(), st.sampled_from(["2500.5", "1", "0.1"])),
    text,
    st.sampled_from([("limit", "day"), ("market", "ioc"), ("limit", "at_close")]),
    text,
)
def test_direct_new_order_encoding_equals_the_command_codec(
    oid, acct, cid, side, qty, px, at, type_tif, venue
):
    otype, tif = type_tif
    cmd = NewOrderCommand(oid, acct, cid, "7203", side, otype, qty, px, tif, venue, at)
    direct = encode_new_order(oid, acct, cid, "7203", side, otype, qty, px, tif, venue, at)
    assert direct == encode_command(cmd)


@given(
    text,
    text,
    st.sampled_from(["buy", "sell"]),
    st.integers(1, 10**12),
    st.one_of(st.none(), st.sampled_from(["2500.5", "7"])),
    text,
    text,
)
def test_direct_submitted_event_encoding_equals_the_event_codec(oid, acct, side, qty, px, at, sym):
    event = OrderUpdate(
        order_id=oid,
        account=acct,
        symbol=sym,
        side=side,
        status="pending_new",
        event="submitted",
        quantity=qty,
        price=px,
        cum_qty=0,
        leaves_qty=qty,
        avg_px="0",
        at=at,
    )
    assert encode_submitted(oid, acct, sym, side, qty, px, at) == encode_event(event)


@given(st.datetimes(min_value=datetime(2000, 1, 1), max_value=datetime(2100, 1, 1)))
def test_fast_utc_timestamp_equals_utc_iso(naive):
    at = naive.replace(tzinfo=UTC)
    assert _utc_iso(at) == utc_iso(at)


def test_fast_utc_timestamp_follows_the_second_in_any_order_of_calls():
    """The cached second must never leak into another second (a stale cache would answer
    the previous second's text)."""
    last = datetime(2026, 12, 31, 23, 59, 59, 999_999, tzinfo=UTC)
    moments = [
        last - timedelta(seconds=1),
        last,
        last + timedelta(microseconds=1),  # next second, next day, next year
        last,  # back again
        last + timedelta(minutes=1),  # same second field, another minute
        last + timedelta(hours=1),
        last + timedelta(days=1),
        last.replace(year=2025),
    ]
    assert [_utc_iso(at) for at in moments] == [utc_iso(at) for at in moments]


def test_enqueued_step_tail_is_what_the_general_step_leaves_after_the_entry_id():
    full = step_json(
        "2026-11-27T01:00:00.000000Z",
        "enqueued",
        "api",
        "api@h:1",
        {"stream": "s", "entry_id": "1-0"},
        compact=True,
    )
    assert full.endswith('"1-0' + _ENQ_AFTER)


@pytest.mark.parametrize("seq", [0, 35, 36, 1295, 1296, 36**4 - 1, 36**4, 36**5 - 2])
def test_order_id_sequence_digits_are_base36_of_the_sequence(seq):
    ids._GEN.seq = seq
    oid = ids.new_order_id(5)
    assert oid[-5:] == ids._b36(seq + 1, 5) and ids.partition_of_order_id(oid) == 5


def _both(request, now):
    """(result or error code) from the plain function and from a warm cached validator."""
    validator = NewOrderValidator(REF, ROUTING)
    validator.validate(parse_new_order(BODY), now)  # warm the cache for 7203 @ 2500.5
    out = []
    for fn in (
        lambda: validate_new_order(request, REF, now, ROUTING),
        lambda: validator.validate(request, now),
    ):
        try:
            v = fn()
            out.append((v.venue, v.phase, v.risk_price, v.trading_day, v.symbol.code))
        except OrderError as exc:
            out.append((exc.code, exc.message, exc.field))
    return out


@pytest.mark.parametrize(
    "changes,now",
    [
        ({}, CONTINUOUS),
        ({"quantity": 150}, CONTINUOUS),  # a cache hit must still check the quantity
        ({"time_in_force": TimeInForce.at_open}, CONTINUOUS),  # ... and the phase's TIF
        ({"when_closed": "reject"}, CONTINUOUS + timedelta(hours=8)),  # ... and closed
        ({}, CLOSING),
        ({}, CONTINUOUS + timedelta(days=1)),  # another day: another cache entry
        ({"price": D("2500.50")}, CONTINUOUS),  # equal price, other spelling
        ({"price": D("2500.3")}, CONTINUOUS),  # off tick: never cached
        ({"type": OrderType.market, "price": None}, CONTINUOUS),
        # either side of a session boundary (15:25 JST, the closing auction): per-minute phase
        ({"time_in_force": TimeInForce.at_close}, CLOSING - timedelta(minutes=2, microseconds=1)),
        ({"time_in_force": TimeInForce.at_close}, CLOSING - timedelta(minutes=2)),
        ({"time_in_force": TimeInForce.ioc}, CLOSING - timedelta(minutes=2)),
        ({"time_in_force": TimeInForce.ioc}, CLOSING - timedelta(minutes=2, microseconds=1)),
    ],
)
def test_cached_validator_decides_like_validate_new_order(changes, now):
    request = replace(parse_new_order(BODY), **changes)
    plain, cached = _both(request, now)
    assert cached == plain


def test_cached_validator_follows_the_phase_across_a_session_boundary():
    validator = NewOrderValidator(REF, ROUTING)
    boundary = CLOSING - timedelta(minutes=2)  # 15:25:00 JST: the closing auction starts
    request = replace(parse_new_order(BODY), time_in_force=TimeInForce.ioc)
    for now in (boundary - timedelta(microseconds=1), boundary, boundary + timedelta(seconds=59)):
        for fn in (validator.validate, lambda r, t: validate_new_order(r, REF, t, ROUTING)):
            try:
                outcome: object = fn(request, now).phase
            except OrderError as exc:
                outcome = exc.code
            assert outcome == _plain_phase_or_code(request, now)


def _plain_phase_or_code(request, now):
    try:
        return validate_new_order(request, REF, now, ROUTING).phase
    except OrderError as exc:
        return exc.code


def test_cached_validator_follows_the_trading_day_across_tokyo_midnight():
    """The Tokyo date (and the day's unit and limits) is computed once per second: the order
    just after midnight must count against the new day, the one just before against the old."""
    validator = NewOrderValidator(REF, ROUTING)
    midnight = datetime(2026, 11, 26, 15, 0, tzinfo=UTC)  # Friday 2026-11-27 00:00 JST
    request = parse_new_order(BODY)
    moments = [
        midnight - timedelta(microseconds=1),
        midnight,
        midnight + timedelta(microseconds=999_999),
        midnight - timedelta(microseconds=2),  # back before midnight (a clock step)
        midnight + timedelta(days=1, seconds=-1),
    ]
    for now in moments:
        plain = validate_new_order(request, REF, now, ROUTING)
        cached = validator.validate(request, now)
        assert (cached.trading_day, cached.phase, cached.risk_price) == (
            plain.trading_day,
            plain.phase,
            plain.risk_price,
        )
    assert validator.validate(request, midnight).trading_day.isoformat() == "2026-11-27"
    assert validator.validate(request, moments[0]).trading_day.isoformat() == "2026-11-26"


def test_parsed_request_is_the_dataclass_a_constructor_call_makes():
    """``parse_new_order`` builds the request through its slots: equal, same hash, frozen."""
    parsed = parse_new_order({**BODY, "venue": "TSE", "when_closed": "reject"})
    made = NewOrderRequest(
        "A1", "c-1", "7203", Side.buy, OrderType.limit, 100, D("2500.5"), TimeInForce.day,
        "TSE", "reject",
    )  # fmt: skip
    assert parsed == made and hash(parsed) == hash(made) and repr(parsed) == repr(made)
    with pytest.raises(FrozenInstanceError):
        parsed.quantity = 200  # type: ignore[misc]


def test_fingerprint_text_is_the_stored_one():
    """The fingerprint is stored with the order (idempotent replays compare it): its text must
    not change, whichever way the submit computes it."""
    request = parse_new_order({**BODY, "price": "2500.50"})
    assert (
        request.fingerprint()
        == "A1\x1fc-1\x1f7203\x1fbuy\x1flimit\x1f100\x1f2500.5\x1fday\x1f\x1fhold"
    )
    market = replace(request, type=OrderType.market, price=None, venue="TSE")
    assert (
        market.fingerprint()
        == "A1\x1fc-1\x1f7203\x1fbuy\x1fmarket\x1f100\x1f\x1fday\x1fTSE\x1fhold"
    )


def test_trail_steps_of_a_prepared_submit_are_the_general_steps():
    """The submit writes its received / enqueued steps from templates: the same JSON as
    ``trail.step_json``, escapes included (a quote in the client order id, non-ASCII in the process)."""
    gateway = OrderGateway(redis.Redis(), GatewayConfig(), REF, clock=lambda: CONTINUOUS)
    cid, process = 'q"\\-1', "api@h\u00e9st:1"
    call = gateway.prepare_submit(
        parse_new_order({**BODY, "client_order_id": cid}), process=process
    )
    received, enqueued_before = call.args[-3:-1]
    detail = {"client_order_id": cid, "venue": call.venue}
    assert received == step_json(call.at, "received", "api", process, detail, compact=True)
    stream = keys.cmd_stream(call.p, call.venue)
    enqueued = step_json(
        call.at, "enqueued", "api", process, {"stream": stream, "entry_id": "1-0"}, compact=True
    )
    assert enqueued_before + "1-0" + _ENQ_AFTER == enqueued
