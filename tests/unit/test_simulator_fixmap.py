"""The pure mapping between FIX 4.4 messages and the matching engine's commands and events."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal

import pytest
import simplefix
from hypothesis import given, settings
from hypothesis import strategies as st

from simulators.exchange import fixmap
from simulators.exchange.fixmap import (
    MappingError,
    cancel_reject_body,
    decode,
    encode_body,
    event_message,
    execution_report_body,
    execution_report_bytes,
    fix_decimal,
    fix_time,
    reject_report,
)
from simulators.exchange.model import (
    CancelOrder,
    CancelReject,
    CxlRejReason,
    CxlRejResponseTo,
    ExecType,
    ExecutionReport,
    NewOrder,
    OrdRejReason,
    OrdStatus,
    OrdType,
    ReplaceOrder,
    Side,
    StatusRequest,
    TimeInForce,
)

NOW = datetime(2026, 11, 30, 0, 1, 2, 345678, tzinfo=UTC)


def message(msg_type: str, *pairs: tuple[int, str], poss_dup: bool = False) -> simplefix.FixMessage:
    msg = simplefix.FixMessage()
    msg.append_pair(8, "FIX.4.4", header=True)
    msg.append_pair(35, msg_type, header=True)
    if poss_dup:
        msg.append_pair(43, "Y", header=True)
    for tag, value in pairs:
        msg.append_pair(tag, value)
    return msg


def new_order(*extra: tuple[int, str], poss_dup: bool = False) -> simplefix.FixMessage:
    base = [(11, "c1"), (1, "ACC"), (55, "7203"), (54, "1"), (38, "200"), (40, "2"), (44, "2500.5")]
    return message("D", *base, *extra, poss_dup=poss_dup)


def test_limit_order_becomes_new_order_with_decimal_price() -> None:
    cmd = decode(new_order((59, "3")), "S")
    assert cmd == NewOrder(
        session="S",
        cl_ord_id="c1",
        symbol="7203",
        side=Side.BUY,
        ord_type=OrdType.LIMIT,
        quantity=200,
        price=Decimal("2500.5"),
        time_in_force=TimeInForce.IOC,
        poss_dup=False,
        account="ACC",
    )


def test_missing_time_in_force_means_day() -> None:
    cmd = decode(new_order(), "S")
    assert isinstance(cmd, NewOrder) and cmd.time_in_force is TimeInForce.DAY


def test_possdup_flag_reaches_the_engine() -> None:
    cmd = decode(new_order(poss_dup=True), "S")
    assert isinstance(cmd, NewOrder) and cmd.poss_dup


def test_market_order_has_no_price() -> None:
    msg = message("D", (11, "m"), (55, "7203"), (54, "2"), (38, "100"), (40, "1"))
    cmd = decode(msg, "S")
    assert isinstance(cmd, NewOrder) and cmd.price is None and cmd.ord_type is OrdType.MARKET


def test_gtc_is_refused_as_unsupported_characteristic() -> None:
    with pytest.raises(MappingError) as info:
        decode(new_order((59, "1")), "S")
    assert info.value.reason == OrdRejReason.UNSUPPORTED_ORDER_CHARACTERISTIC.value
    assert info.value.text.startswith("time_in_force_not_allowed")


def test_fractional_quantity_is_refused_as_incorrect_quantity() -> None:
    msg = message("D", (11, "c"), (55, "7203"), (54, "1"), (38, "100.5"), (40, "1"))
    with pytest.raises(MappingError) as info:
        decode(msg, "S")
    assert info.value.reason == OrdRejReason.INCORRECT_QUANTITY.value


@pytest.mark.parametrize("qty", [str(10**30), "1" + "0" * 8 + "1", "1E+30"])
def test_unreasonable_quantity_is_refused_as_incorrect_quantity(qty: str) -> None:
    msg = message("D", (11, "c"), (55, "7203"), (54, "1"), (38, qty), (40, "1"))
    with pytest.raises(MappingError) as info:
        decode(msg, "S")
    assert info.value.reason == OrdRejReason.INCORRECT_QUANTITY.value
    assert info.value.rule == "quantity_too_large"
    report = reject_report(msg, "S", info.value, "R1", NOW)
    assert isinstance(report, ExecutionReport) and report.ord_status is OrdStatus.REJECTED
    assert report.text and "OrderQty(38)" in report.text


def test_largest_reasonable_quantity_is_taken() -> None:
    msg = message(
        "D", (11, "c"), (55, "7203"), (54, "1"), (38, str(fixmap.MAX_ORDER_QTY)), (40, "1")
    )
    cmd = decode(msg, "S")
    assert isinstance(cmd, NewOrder) and cmd.quantity == fixmap.MAX_ORDER_QTY


def test_overlong_cl_ord_id_is_refused_on_every_order_message() -> None:
    long_id = "x" * 10_000
    for msg in (
        message("D", (11, long_id), (55, "7203"), (54, "1"), (38, "100"), (40, "1")),
        message("F", (11, long_id), (41, "c0"), (55, "7203"), (54, "1")),
        message("G", (11, "c2"), (41, long_id), (38, "100"), (40, "2"), (44, "2500")),
    ):
        with pytest.raises(MappingError) as info:
            decode(msg, "S")
        assert info.value.rule == "id_too_long"
    ok = "y" * fixmap.MAX_ID_LENGTH
    assert decode(message("D", (11, ok), (55, "7203"), (54, "1"), (38, "100"), (40, "1")), "S")


def test_unparseable_price_is_refused() -> None:
    with pytest.raises(MappingError, match="Price"):
        decode(
            message("D", (11, "c"), (55, "X"), (54, "1"), (38, "100"), (40, "2"), (44, "1e")), "S"
        )


def test_cancel_request_maps_orig_cl_ord_id() -> None:
    msg = message("F", (41, "c1"), (37, "O1"), (11, "c2"), (55, "7203"), (54, "1"), (38, "100"))
    assert decode(msg, "S") == CancelOrder("S", "c2", "c1", "O1", "7203", Side.BUY)


def test_replace_request_maps_new_quantity_and_price() -> None:
    msg = message(
        "G", (41, "c1"), (11, "c2"), (55, "7203"), (54, "1"), (38, "300"), (40, "2"), (44, "2501")
    )
    cmd = decode(msg, "S")
    assert isinstance(cmd, ReplaceOrder)
    assert (cmd.quantity, cmd.price, cmd.orig_cl_ord_id) == (300, Decimal("2501"), "c1")


def test_status_request_maps_cl_ord_id() -> None:
    assert decode(message("H", (11, "c1"), (55, "7203"), (54, "2")), "S") == StatusRequest(
        "S", "c1", None, "7203", Side.SELL
    )


def test_possdup_cancel_carries_the_flag() -> None:
    msg = message("F", (41, "c1"), (11, "c2"), (55, "7203"), (54, "1"), (38, "100"), poss_dup=True)
    cmd = decode(msg, "S")
    assert isinstance(cmd, CancelOrder) and cmd.poss_dup


def report(**changes: object) -> ExecutionReport:
    base: dict[str, object] = dict(
        session="S",
        order_id="O1",
        cl_ord_id="c1",
        orig_cl_ord_id=None,
        exec_id="E1",
        exec_type=ExecType.TRADE,
        ord_status=OrdStatus.PARTIALLY_FILLED,
        symbol="7203",
        side=Side.BUY,
        ord_type=OrdType.LIMIT,
        time_in_force=TimeInForce.DAY,
        order_qty=300,
        price=Decimal("2500.0"),
        cum_qty=100,
        leaves_qty=200,
        avg_px=Decimal("2499.500000"),
        transact_time=NOW,
        last_qty=100,
        last_px=Decimal("2499.5"),
    )
    base.update(changes)
    return ExecutionReport(**base)  # type: ignore[arg-type]


def test_trade_report_carries_fill_fields_in_fix_order() -> None:
    body = execution_report_body(report())
    tags = [t for t, _ in body]
    assert tags == [37, 11, 17, 150, 39, 55, 54, 38, 40, 44, 59, 32, 31, 151, 14, 6, 60]
    values = dict(body)
    assert (values[150], values[39], values[32], values[31]) == ("F", "1", "100", "2499.5")
    assert (values[151], values[14], values[6]) == ("200", "100", "2499.5")
    assert values[60] == "20261130-00:01:02.345"


def test_new_report_has_no_last_qty_or_last_px() -> None:
    body = dict(execution_report_body(report(exec_type=ExecType.NEW, ord_status=OrdStatus.NEW)))
    assert 32 not in body and 31 not in body


def test_reject_report_carries_reason_and_text() -> None:
    er = report(
        exec_type=ExecType.REJECTED,
        ord_status=OrdStatus.REJECTED,
        ord_rej_reason=OrdRejReason.UNKNOWN_SYMBOL,
        text="unknown_symbol: 9999",
    )
    body = dict(execution_report_body(er))
    assert body[103] == "1" and body[58] == "unknown_symbol: 9999"


def test_cancel_reject_body_has_every_required_field() -> None:
    cr = CancelReject(
        "S",
        "NONE",
        "c2",
        "c1",
        OrdStatus.REJECTED,
        CxlRejResponseTo.CANCEL,
        CxlRejReason.UNKNOWN_ORDER,
        "order_not_found: c1",
        NOW,
    )
    assert event_message(cr)[0] == "9"
    assert dict(cancel_reject_body(cr)) == {
        37: "NONE",
        11: "c2",
        41: "c1",
        39: "8",
        60: "20261130-00:01:02.345",
        434: "1",
        102: "1",
        58: "order_not_found: c1",
    }


@pytest.mark.parametrize(
    ("value", "wire"),
    [
        ("1500", "1500"),
        ("1500.000000", "1500"),
        ("0.5", "0.5"),
        ("2499.50", "2499.5"),
        ("1E+3", "1000"),
        ("0", "0"),
    ],
)
def test_prices_go_out_in_plain_notation(value: str, wire: str) -> None:
    assert fix_decimal(Decimal(value)) == wire


def test_transact_time_of_a_tokyo_time_is_written_in_utc() -> None:
    from zoneinfo import ZoneInfo

    tokyo = datetime(2026, 11, 30, 9, 0, 0, tzinfo=ZoneInfo("Asia/Tokyo"))
    assert fix_time(tokyo) == "20261130-00:00:00.000"


def test_refused_new_order_is_answered_with_rejected_execution_report() -> None:
    msg = new_order((59, "1"))
    with pytest.raises(MappingError) as info:
        decode(msg, "S")
    answer = reject_report(msg, "S", info.value, "X1", NOW)
    assert isinstance(answer, ExecutionReport)
    assert (answer.exec_type, answer.ord_status, answer.cl_ord_id) == (
        ExecType.REJECTED,
        OrdStatus.REJECTED,
        "c1",
    )
    assert answer.ord_rej_reason is OrdRejReason.UNSUPPORTED_ORDER_CHARACTERISTIC


def test_refused_replace_is_answered_with_cancel_reject_for_replace() -> None:
    msg = message("G", (41, "c1"), (11, "c2"), (55, "7203"), (54, "1"), (38, "1.5"), (40, "2"))
    with pytest.raises(MappingError) as info:
        decode(msg, "S")
    answer = reject_report(msg, "S", info.value, "X1", NOW)
    assert isinstance(answer, CancelReject)
    assert answer.response_to is CxlRejResponseTo.REPLACE and answer.orig_cl_ord_id == "c1"


@pytest.mark.parametrize(
    "changes",
    [
        {},
        {"exec_type": ExecType.NEW, "ord_status": OrdStatus.NEW, "last_qty": 0, "last_px": None},
        {"orig_cl_ord_id": "c0", "account": "ACC", "text": "replaced"},
        {
            "exec_type": ExecType.REJECTED,
            "ord_status": OrdStatus.REJECTED,
            "ord_rej_reason": OrdRejReason.UNKNOWN_SYMBOL,
            "order_id": "NONE",
            "price": None,
            "text": "unknown_symbol: 9999",
        },
        {"price": Decimal("2850.50"), "avg_px": Decimal("2851.333333"), "last_px": Decimal("1E+3")},
    ],
)
def test_fast_execution_report_encoding_equals_the_reference(changes: dict[str, object]) -> None:
    er = report(**changes)
    assert execution_report_bytes(er) == encode_body(execution_report_body(er))


# --- properties ----------------------------------------------------------------------------


_values = st.one_of(
    st.sampled_from(
        [
            "",
            "0",
            "1",
            "2",
            "3",
            "4",
            "7",
            "9",
            "100",
            "0100",
            "2850",
            "2850.5",
            "-1",
            "1e3",
            "NaN",
            "Infinity",
            "1.5",
            "7203",
            "ü",
            " 1",
        ]
    ),
    st.text(max_size=8),
)


@settings(max_examples=400, deadline=None)
@given(
    st.dictionaries(st.sampled_from([1, 11, 38, 40, 43, 44, 54, 55, 59]), _values, max_size=9),
)
def test_any_new_order_fields_decode_or_raise_mapping_error(values: dict[int, str]) -> None:
    msg = message(
        "D", *[(t, v) for t, v in values.items() if t != 43], poss_dup=values.get(43) == "Y"
    )
    try:
        cmd = decode(msg, "S")
    except MappingError:
        return
    assert isinstance(cmd, NewOrder) and cmd.quantity > 0
    assert cmd.price is None or (cmd.price.is_finite() and cmd.price > 0)


@settings(max_examples=300, deadline=None)
@given(
    qty=st.integers(min_value=1, max_value=10**7),
    price=st.decimals(min_value=Decimal("0.1"), max_value=Decimal("99999999"), places=1),
    side=st.sampled_from(["1", "2"]),
    ord_type=st.sampled_from(["1", "2"]),
    tif=st.sampled_from(["0", "2", "3", "4", "7"]),
    poss_dup=st.booleans(),
)
def test_fast_and_careful_new_order_decoding_agree(
    qty: int, price: Decimal, side: str, ord_type: str, tif: str, poss_dup: bool
) -> None:
    msg = message(
        "D",
        (11, "c"),
        (1, "A"),
        (55, "7203"),
        (54, side),
        (38, str(qty)),
        (40, ord_type),
        (44, str(price)),
        (59, tif),
        poss_dup=poss_dup,
    )
    fields = fixmap.fields_of(msg)
    assert fixmap._fast_new_order(fields, "S") is not None
    assert fixmap.decode_fields(fields, "S") == fixmap.decode_fields(fields, "S", fast=False)
