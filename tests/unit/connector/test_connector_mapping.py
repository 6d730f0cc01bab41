"""The pure mapping: commands -> FIX messages, venue reports -> order events."""

from __future__ import annotations

from decimal import Decimal

import pytest

from connector import mapping
from gateway.codec import CancelCommand, NewOrderCommand, ReplaceCommand
from gateway.ids import base_order_id, new_order_id
from gateway.model import OrderStatus
from gateway.states import OrderEvent

TT = b"20261127-01:02:03.456"


def fields(body: bytes) -> dict[bytes, bytes]:
    return dict(p.split(b"=", 1) for p in body.split(b"\x01") if p)


def new(oid: str, **kw: object) -> NewOrderCommand:
    base: dict[str, object] = dict(
        order_id=oid,
        account="A1",
        client_order_id="c-1",
        symbol="7203",
        side="buy",
        type="limit",
        quantity=100,
        price="2500.50",
        time_in_force="day",
        venue="TSE",
        at="t",
    )
    base.update(kw)
    return NewOrderCommand(**base)  # type: ignore[arg-type]


def test_new_order_clordid_is_the_order_id_and_fields_map() -> None:
    oid = new_order_id(3)
    out = mapping.command_to_fix(new(oid), "1-0", TT)
    f = fields(out.body)
    assert out.msg_type == b"D" and out.cl_ord_id == oid
    assert f == {
        b"11": oid.encode(),
        b"1": b"A1",
        b"55": b"7203",
        b"54": b"1",
        b"60": TT,
        b"38": b"100",
        b"40": b"2",
        b"44": b"2500.5",
        b"59": b"0",
    }


def test_market_order_carries_no_price() -> None:
    out = mapping.command_to_fix(
        new(new_order_id(0), type="market", price=None, side="sell"), "1-0", TT
    )
    f = fields(out.body)
    assert b"44" not in f and f[b"40"] == b"1" and f[b"54"] == b"2"


@pytest.mark.parametrize(
    ("tif", "code"),
    [("day", b"0"), ("at_open", b"2"), ("ioc", b"3"), ("fok", b"4"), ("at_close", b"7")],
)
def test_time_in_force_codes(tif: str, code: bytes) -> None:
    out = mapping.command_to_fix(new(new_order_id(0), time_in_force=tif), "1-0", TT)
    assert fields(out.body)[b"59"] == code


def test_cancel_gets_fresh_clordid_derived_from_order_and_entry() -> None:
    oid = new_order_id(7)
    cmd = CancelCommand(oid, "A1", "7203", "buy", 100, "TSE", "t")
    out = mapping.command_to_fix(cmd, "1795818354626-3", TT)
    f = fields(out.body)
    assert out.msg_type == b"F"
    assert f[b"41"] == oid.encode()  # OrigClOrdID: the current one (the order id)
    assert out.cl_ord_id != oid and base_order_id(out.cl_ord_id) == oid
    assert mapping.cl_ord_id_kind(out.cl_ord_id) == "cancel"
    # deterministic: the same stream entry always gives the same ClOrdID
    assert mapping.command_to_fix(cmd, "1795818354626-3", TT).cl_ord_id == out.cl_ord_id
    assert mapping.command_to_fix(cmd, "1795818354626-4", TT).cl_ord_id != out.cl_ord_id


def test_replace_uses_current_clordid_as_orig() -> None:
    oid = new_order_id(7)
    current = mapping.derived_cl_ord_id(oid, "replace", "5-0")
    cmd = ReplaceCommand(oid, "A1", "7203", "sell", "limit", 300, "2600", "day", "TSE", "t")
    out = mapping.command_to_fix(cmd, "9-1", TT, current_cl_ord_id=current)
    f = fields(out.body)
    assert out.msg_type == b"G"
    assert f[b"41"] == current.encode() and f[b"38"] == b"300" and f[b"44"] == b"2600"
    assert mapping.cl_ord_id_kind(out.cl_ord_id) == "replace"


@pytest.mark.parametrize(
    "bad",
    [
        dict(side="short"),
        dict(type="stop"),
        dict(time_in_force="gtc"),
        dict(quantity=0),
        dict(price=None),
        dict(price="-1"),
        dict(price="abc"),
    ],
)
def test_unsendable_command_is_a_precise_mapping_error(bad: dict[str, object]) -> None:
    with pytest.raises(mapping.MappingError):
        mapping.command_to_fix(new(new_order_id(0), **bad), "1-0", TT)


def er(cl: str, exec_type: bytes, **extra: bytes) -> dict[bytes, bytes]:
    f = {
        b"35": b"8",
        b"11": cl.encode(),
        b"17": b"E1",
        b"150": exec_type,
        b"39": b"0",
        b"37": b"V1",
    }
    f.update({k.encode(): v for k, v in extra.items()})  # type: ignore[attr-defined]
    return f


@pytest.mark.parametrize(
    ("exec_type", "event"),
    [
        (b"0", OrderEvent.accepted),
        (b"4", OrderEvent.canceled),
        (b"C", OrderEvent.expired),
        (b"8", OrderEvent.rejected),
    ],
)
def test_execution_report_maps_to_event(exec_type: bytes, event: OrderEvent) -> None:
    oid = new_order_id(1)
    r = mapping.inbound(b"8", er(oid, exec_type), 5).report
    assert r is not None and r.order_id == oid and r.event is event and r.exec_id == "E1"
    assert r.detail["in_seq"] == 5


def test_trade_carries_last_qty_and_decimal_price() -> None:
    oid = new_order_id(1)
    f = er(oid, b"F")
    f[b"32"], f[b"31"] = b"200", b"2850.5"
    r = mapping.inbound(b"8", f).report
    assert r is not None and r.event is OrderEvent.partial_fill
    assert r.last_qty == 200 and r.last_px == Decimal("2850.5")


def test_fill_with_bad_quantity_is_ignored_not_guessed() -> None:
    f = er(new_order_id(1), b"F")
    f[b"32"], f[b"31"] = b"x", b"1"
    what = mapping.inbound(b"8", f)
    assert what.report is None and "LastQty" in what.ignored


def test_replaced_report_names_the_new_clordid() -> None:
    oid = new_order_id(2)
    cl = mapping.derived_cl_ord_id(oid, "replace", "3-0")
    r = mapping.inbound(b"8", er(cl, b"5")).report
    assert (
        r is not None and r.event is OrderEvent.replaced and r.cl_ord_id == cl and r.order_id == oid
    )


def test_rejected_cancel_by_execution_report_is_cancel_rejected() -> None:
    cl = mapping.derived_cl_ord_id(new_order_id(2), "cancel", "3-0")
    r = mapping.inbound(b"8", er(cl, b"8")).report
    assert r is not None and r.event is OrderEvent.cancel_rejected


def test_order_cancel_reject_deduplicates_by_its_clordid() -> None:
    oid = new_order_id(2)
    cl = mapping.derived_cl_ord_id(oid, "replace", "3-0")
    f = {b"11": cl.encode(), b"41": oid.encode(), b"434": b"2", b"58": b"too late"}
    r = mapping.inbound(b"9", f).report
    assert r is not None and r.event is OrderEvent.replace_rejected and r.exec_id == f"CXLREJ:{cl}"
    assert "too late" in r.reason


def test_business_reject_of_status_request_switches_to_resend_reconciliation() -> None:
    assert mapping.inbound(b"j", {b"372": b"H", b"45": b"9"}).status_request_refused


def test_business_reject_of_an_order_names_it_by_ref_id_or_seq() -> None:
    oid = new_order_id(4)
    r = mapping.inbound(b"j", {b"372": b"D", b"379": oid.encode(), b"58": b"no"}).report
    assert r is not None and r.event is OrderEvent.rejected and r.exec_id == f"BMR:{oid}"
    what = mapping.inbound(b"j", {b"372": b"D", b"45": b"17"})
    assert what.report is None and what.ref_seq == 17


def test_session_reject_maps_through_the_stored_outbound_message() -> None:
    oid = new_order_id(4)
    raw = b"8=FIX.4.4\x019=10\x0135=D\x0134=17\x0111=" + oid.encode() + b"\x0110=000\x01"
    r = mapping.refused_by_reference(raw, "bad tag", "REJ").report
    assert r is not None and r.event is OrderEvent.rejected and r.order_id == oid


def test_reports_for_foreign_clordids_are_ignored() -> None:
    assert mapping.inbound(b"8", er("SOMEONE-ELSE", b"0")).report is None


def test_status_report_settles_only_in_flight_orders() -> None:
    oid = new_order_id(1)
    f = er(oid, b"I")
    f[b"39"] = b"4"
    r = mapping.reconcile(OrderStatus.pending_new, f)
    assert r is not None and r.event is OrderEvent.canceled
    assert mapping.reconcile(OrderStatus.new, f) is None
    f[b"39"] = b"0"
    r = mapping.reconcile(OrderStatus.pending_new, f)
    assert r is not None and r.event is OrderEvent.accepted
    assert mapping.reconcile(OrderStatus.pending_cancel, f) is None  # the cancel's answer decides


def test_unknown_order_status_answer_changes_nothing() -> None:
    f = er(new_order_id(1), b"I")
    f[b"39"], f[b"103"] = b"8", b"5"
    assert mapping.reconcile(OrderStatus.pending_new, f) is None
