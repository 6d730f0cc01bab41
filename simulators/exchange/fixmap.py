"""Pure mapping between FIX 4.4 application messages and the matching engine's commands and events.

Inbound: a parsed ``simplefix.FixMessage`` (D, F, G, H) becomes a :mod:`model` command, or a
:class:`MappingError` naming the OrdRejReason / CxlRejReason and the rule (the app answers it with
a reject report, never a session-level Reject: the session layer's dictionary has already checked
the message's form). Outbound: an engine event becomes the ordered ``(tag, value)`` body of an
ExecutionReport (8) or OrderCancelReject (9), in the field order of FIX 4.4's message layouts.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime
from decimal import Decimal, InvalidOperation
from typing import Any

from .model import (
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

Command = NewOrder | CancelOrder | ReplaceOrder | StatusRequest
Body = list[tuple[int, str]]

_SIDES = {s.value: s for s in Side}
_ORD_TYPES = {t.value: t for t in OrdType}
_TIFS = {t.value: t for t in TimeInForce}


class MappingError(ValueError):
    """An application message the engine cannot take; ``reason`` is the FIX reject reason value."""

    def __init__(self, reason: str, rule: str, text: str) -> None:
        super().__init__(f"{rule}: {text}")
        self.reason = reason
        self.rule = rule
        self.text = f"{rule}: {text}"


Fields = dict[bytes, bytes]

#: what the venue takes at all, as a real one would: more shares than this in one order, or an
#: identifier longer than this, is refused with a business reject (ExecutionReport 39=8 + Text)
MAX_ORDER_QTY = 100_000_000
MAX_ID_LENGTH = 64
_MAX_QTY_DIGITS = len(str(MAX_ORDER_QTY))
_KEY = {t: str(t).encode() for t in (1, 11, 35, 37, 38, 40, 41, 43, 44, 54, 55, 59, 122)}


def fields_of(msg: Any) -> Fields:
    """Tag -> value of a parsed message, built once (last value wins; D/F/G/H have no groups)."""
    return dict(msg.pairs)


def _get(f: Fields, tag: int) -> str | None:
    value = f.get(_KEY[tag])
    if value is None:
        return None
    return value.decode("utf-8", "replace") if isinstance(value, bytes) else str(value)


def _need(f: Fields, tag: int, name: str, reason: str) -> str:
    value = _get(f, tag)
    if value is None or value == "":
        raise MappingError(reason, "missing_field", f"{name}({tag}) is required")
    return value


def _id(f: Fields, tag: int, name: str, reason: str) -> str:
    value = _need(f, tag, name, reason)
    if len(value) > MAX_ID_LENGTH:
        raise MappingError(
            reason, "id_too_long", f"{name}({tag}) is longer than {MAX_ID_LENGTH} characters"
        )
    return value


def _qty(value: str, reason: str) -> int:
    if value.isdigit() and value[0] != "0" and len(value) < _MAX_QTY_DIGITS:
        return int(value)  # the common case, without a Decimal
    try:
        qty = Decimal(value)
    except InvalidOperation:
        raise MappingError(
            reason, "bad_quantity", f"OrderQty(38) {value!r} is not a number"
        ) from None
    if not qty.is_finite() or qty != qty.to_integral_value() or qty <= 0:
        raise MappingError(
            OrdRejReason.INCORRECT_QUANTITY.value,
            "quantity_not_multiple_of_unit",
            f"OrderQty(38) {value} is not a positive whole number of shares",
        )
    if qty > MAX_ORDER_QTY:
        raise MappingError(
            OrdRejReason.INCORRECT_QUANTITY.value,
            "quantity_too_large",
            f"OrderQty(38) {value} is more than the {MAX_ORDER_QTY} shares one order may hold",
        )
    return int(qty)


def _price(value: str | None, reason: str) -> Decimal | None:
    if value is None or value == "":
        return None
    try:
        price = Decimal(value)
    except InvalidOperation:
        raise MappingError(reason, "bad_price", f"Price(44) {value!r} is not a number") from None
    if not price.is_finite() or price <= 0:
        raise MappingError(reason, "bad_price", f"Price(44) {value} must be positive")
    return price


def _side(value: str, reason: str) -> Side:
    side = _SIDES.get(value)
    if side is None:
        raise MappingError(reason, "side_not_allowed", f"Side(54)={value} (only 1 buy, 2 sell)")
    return side


def _ord_type(value: str, reason: str) -> OrdType:
    ord_type = _ORD_TYPES.get(value)
    if ord_type is None:
        raise MappingError(
            OrdRejReason.UNSUPPORTED_ORDER_CHARACTERISTIC.value
            if reason == OrdRejReason.OTHER.value
            else reason,
            "order_type_not_allowed",
            f"OrdType(40)={value} (only 1 market, 2 limit)",
        )
    return ord_type


def _tif(value: str | None, reason: str) -> TimeInForce:
    if value is None or value == "":
        return TimeInForce.DAY
    tif = _TIFS.get(value)
    if tif is None:
        raise MappingError(
            OrdRejReason.UNSUPPORTED_ORDER_CHARACTERISTIC.value
            if reason == OrdRejReason.OTHER.value
            else reason,
            "time_in_force_not_allowed",
            f"TimeInForce(59)={value} (0 day, 2 at the open, 3 IOC, 4 FOK, 7 at the close)",
        )
    return tif


def poss_dup(msg: Any) -> bool:
    """PossDupFlag(43)=Y in the header."""
    return fields_of(msg).get(b"43") == b"Y"


def decode(msg: Any, session: str) -> Command:
    """The engine command for an inbound D, F, G or H; :class:`MappingError` if it cannot be."""
    return decode_fields(fields_of(msg), session)


_SIDE_B = {s.value.encode(): s for s in Side}
_ORD_TYPE_B = {t.value.encode(): t for t in OrdType}
_TIF_B = {t.value.encode(): t for t in TimeInForce}
_PLAIN_PRICE = re.compile(rb"[0-9]{1,12}(?:\.[0-9]{1,8})?")
_prices: dict[bytes, Decimal] = {}


def _fast_new_order(f: Fields, session: str) -> NewOrder | None:
    """The common, well-formed NewOrderSingle without the per-field checks; None otherwise (the
    careful path then names the problem)."""
    cl = f.get(b"11")
    symbol = f.get(b"55")
    side = _SIDE_B.get(f.get(b"54", b""))
    ord_type = _ORD_TYPE_B.get(f.get(b"40", b""))
    tif = _TIF_B.get(f.get(b"59", b"0"))
    qty = f.get(b"38", b"")
    if not (
        cl
        and len(cl) <= MAX_ID_LENGTH
        and symbol
        and side
        and ord_type
        and tif
        and qty.isdigit()
        and qty[0] != 48
        and len(qty) < _MAX_QTY_DIGITS
    ):
        return None  # the careful path names the problem
    raw_px = f.get(b"44")
    price = None
    if raw_px is not None:
        price = _prices.get(raw_px)
        if price is None:
            if not _PLAIN_PRICE.fullmatch(raw_px):
                return None
            price = Decimal(raw_px.decode())
            if price <= 0:
                return None
            if len(_prices) < 100_000:
                _prices[raw_px] = price
    account = f.get(b"1")
    return NewOrder(
        session,
        cl.decode("utf-8", "replace"),
        symbol.decode("utf-8", "replace"),
        side,
        ord_type,
        int(qty),
        price,
        tif,
        f.get(b"43") == b"Y",
        account.decode("utf-8", "replace") if account is not None else None,
    )


def decode_fields(msg: Fields, session: str, fast: bool = True) -> Command:
    """:func:`decode` on the fields of a message (see :func:`fields_of`); ``fast=False`` skips
    the NewOrderSingle fast path (the tests compare the two)."""
    if fast and msg.get(b"35") == b"D":
        order = _fast_new_order(msg, session)
        if order is not None:
            return order
    msg_type = _get(msg, 35)
    if msg_type == "D":
        bad = OrdRejReason.OTHER.value
        return NewOrder(
            session=session,
            cl_ord_id=_id(msg, 11, "ClOrdID", bad),
            symbol=_need(msg, 55, "Symbol", OrdRejReason.UNKNOWN_SYMBOL.value),
            side=_side(_need(msg, 54, "Side", bad), bad),
            ord_type=_ord_type(_need(msg, 40, "OrdType", bad), bad),
            quantity=_qty(_need(msg, 38, "OrderQty", bad), bad),
            price=_price(_get(msg, 44), bad),
            time_in_force=_tif(_get(msg, 59), bad),
            poss_dup=msg.get(b"43") == b"Y",
            account=_get(msg, 1),
        )
    cxl = CxlRejReason.OTHER.value
    if msg_type == "F":
        side = _get(msg, 54)
        return CancelOrder(
            session=session,
            cl_ord_id=_id(msg, 11, "ClOrdID", cxl),
            orig_cl_ord_id=_id(msg, 41, "OrigClOrdID", cxl),
            order_id=_get(msg, 37),
            symbol=_get(msg, 55),
            side=_SIDES.get(side) if side else None,
            poss_dup=msg.get(b"43") == b"Y",
        )
    if msg_type == "G":
        side = _get(msg, 54)
        return ReplaceOrder(
            session=session,
            cl_ord_id=_id(msg, 11, "ClOrdID", cxl),
            orig_cl_ord_id=_id(msg, 41, "OrigClOrdID", cxl),
            quantity=_qty(_need(msg, 38, "OrderQty", cxl), cxl),
            price=_price(_get(msg, 44), cxl),
            order_id=_get(msg, 37),
            ord_type=_ord_type(_get(msg, 40) or OrdType.LIMIT.value, cxl),
            symbol=_get(msg, 55),
            side=_SIDES.get(side) if side else None,
            poss_dup=msg.get(b"43") == b"Y",
        )
    if msg_type == "H":
        side = _get(msg, 54)
        return StatusRequest(
            session=session,
            cl_ord_id=_need(msg, 11, "ClOrdID", OrdRejReason.UNKNOWN_ORDER.value),
            order_id=_get(msg, 37),
            symbol=_get(msg, 55) or "",
            side=_SIDES.get(side or "", Side.BUY),
        )
    raise MappingError(OrdRejReason.OTHER.value, "unsupported_message", f"MsgType(35)={msg_type}")


# --- outbound ----------------------------------------------------------------------------


_last_second: list[Any] = [None, ""]


def fix_time(at: datetime) -> str:
    """UTCTimestamp with milliseconds: ``YYYYMMDD-HH:MM:SS.sss`` (formatted once per second).

    A naive datetime is taken as UTC. The milliseconds come from ``at.microsecond``, which no
    time zone offset changes; the cache key is the local second (no offset lookups on a hit).
    """
    key = (at.second, at.minute, at.hour, at.day, at.month, at.year, at.tzinfo, at.fold)
    if key != _last_second[0]:
        utc = at.astimezone(UTC) if at.tzinfo is not None else at
        _last_second[0], _last_second[1] = key, utc.strftime("%Y%m%d-%H:%M:%S")
    return f"{_last_second[1]}.{at.microsecond // 1000:03d}"


def fix_decimal(value: Decimal) -> str:
    """A price on the wire: plain notation, no exponent, no trailing zeros (``1500``, ``0.5``)."""
    text = format(value, "f")
    if "." in text:
        text = text.rstrip("0").rstrip(".")
    return text or "0"


def execution_report_body(er: ExecutionReport) -> Body:
    """ExecutionReport (8) body fields in FIX 4.4 order."""
    body: Body = [(37, er.order_id)]
    if er.cl_ord_id:
        body.append((11, er.cl_ord_id))
    if er.orig_cl_ord_id:
        body.append((41, er.orig_cl_ord_id))
    body += [(17, er.exec_id), (150, str(er.exec_type)), (39, str(er.ord_status))]
    if er.ord_rej_reason is not None:
        body.append((103, str(er.ord_rej_reason)))
    if er.account:
        body.append((1, er.account))
    body += [(55, er.symbol), (54, str(er.side))]
    if er.order_qty:
        body.append((38, str(er.order_qty)))
    if er.ord_type:
        body.append((40, str(er.ord_type)))
    if er.price is not None:
        body.append((44, fix_decimal(er.price)))
    if er.time_in_force:
        body.append((59, str(er.time_in_force)))
    if er.exec_type == ExecType.TRADE:
        body.append((32, str(er.last_qty)))
        if er.last_px is not None:
            body.append((31, fix_decimal(er.last_px)))
    body += [
        (151, str(er.leaves_qty)),
        (14, str(er.cum_qty)),
        (6, fix_decimal(er.avg_px)),
        (60, fix_time(er.transact_time)),
    ]
    if er.text:
        body.append((58, er.text))
    return body


def encode_body(body: Body) -> bytes:
    """``tag=value<SOH>`` for each pair (values are text, UTF-8 on the wire)."""
    return b"".join([b"%d=%b\x01" % (tag, value.encode()) for tag, value in body])


def cancel_reject_body(cr: CancelReject) -> Body:
    """OrderCancelReject (9) body fields in FIX 4.4 order."""
    return [
        (37, cr.order_id),
        (11, cr.cl_ord_id),
        (41, cr.orig_cl_ord_id),
        (39, str(cr.ord_status)),
        (60, fix_time(cr.transact_time)),
        (434, str(cr.response_to)),
        (102, str(cr.reason)),
        (58, cr.text),
    ]


def event_message(event: ExecutionReport | CancelReject) -> tuple[str, Body]:
    """``(MsgType, body)`` of the FIX message an engine event becomes."""
    if isinstance(event, ExecutionReport):
        return "8", execution_report_body(event)
    return "9", cancel_reject_body(event)


# --- rejects the app builds itself (before or around the engine) --------------------------


def reject_report(
    message: Any, session: str, error: MappingError, exec_id: str, now: datetime
) -> ExecutionReport | CancelReject:
    """The answer to an inbound message that :func:`decode` (or the app's own checks) refused.

    D and H get an ExecutionReport with OrdStatus=Rejected; F and G an OrderCancelReject. Fields
    the message did carry are echoed as they came, so the peer can match the answer.
    """
    msg = fields_of(message)
    msg_type = _get(msg, 35)
    cl_ord_id = _get(msg, 11) or "NONE"
    if msg_type in ("F", "G"):
        return CancelReject(
            session=session,
            order_id=_get(msg, 37) or "NONE",
            cl_ord_id=cl_ord_id,
            orig_cl_ord_id=_get(msg, 41) or "NONE",
            ord_status=OrdStatus.REJECTED,
            response_to=CxlRejResponseTo.CANCEL if msg_type == "F" else CxlRejResponseTo.REPLACE,
            reason=CxlRejReason(error.reason)
            if error.reason in CxlRejReason._value2member_map_
            else CxlRejReason.OTHER,
            text=error.text,
            transact_time=now,
        )
    qty = _get(msg, 38) or "0"
    return ExecutionReport(
        session=session,
        order_id="NONE",
        cl_ord_id=cl_ord_id,
        orig_cl_ord_id=None,
        exec_id=exec_id,
        exec_type=ExecType.ORDER_STATUS if msg_type == "H" else ExecType.REJECTED,
        ord_status=OrdStatus.REJECTED,
        symbol=_get(msg, 55) or "NONE",
        side=_get(msg, 54) or "1",  # type: ignore[arg-type]  # echoed as it came
        ord_type=_get(msg, 40) or "",  # type: ignore[arg-type]
        time_in_force=_get(msg, 59) or "",  # type: ignore[arg-type]
        order_qty=int(qty) if qty.isdigit() else 0,
        price=None,
        cum_qty=0,
        leaves_qty=0,
        avg_px=Decimal(0),
        transact_time=now,
        ord_rej_reason=OrdRejReason(error.reason)
        if error.reason in OrdRejReason._value2member_map_
        else OrdRejReason.OTHER,
        text=error.text,
        account=_get(msg, 1),
    )


# --- hot path: the same bodies as bytes, without the intermediate pairs ------------------

_last_time: list[Any] = [None, b""]
_decimals: dict[Decimal, bytes] = {}


def _time_b(at: datetime) -> bytes:
    # the engine stamps every event of one call with the same datetime object
    if at is _last_time[0]:
        return _last_time[1]  # type: ignore[no-any-return]
    value = fix_time(at).encode()
    _last_time[0], _last_time[1] = at, value
    return value


def _dec_b(value: Decimal) -> bytes:
    out = _decimals.get(value)
    if out is None:
        out = fix_decimal(value).encode()  # equal Decimals print alike, so caching by value is safe
        if len(_decimals) < 100_000:
            _decimals[value] = out
    return out


_ER_TRADE = (
    b"37=%b\x0111=%b\x0117=%b\x01150=F\x0139=%b\x0155=%b\x0154=%b\x0138=%d\x0140=%b\x0144=%b"
    b"\x0159=%b\x0132=%d\x0131=%b\x01151=%d\x0114=%d\x016=%b\x0160=%b\x01"
)
_ER_PLAIN = (
    b"37=%b\x0111=%b\x0117=%b\x01150=%b\x0139=%b\x0155=%b\x0154=%b\x0138=%d\x0140=%b\x0144=%b"
    b"\x0159=%b\x01151=%d\x0114=%d\x016=%b\x0160=%b\x01"
)
_TRADE = ExecType.TRADE


def execution_report_bytes(er: ExecutionReport) -> bytes:
    """``encode(execution_report_body(er))``, faster (checked equal by the unit tests)."""
    if (
        er.cl_ord_id
        and er.orig_cl_ord_id is None
        and er.ord_rej_reason is None
        and not er.account
        and not er.text
        and er.order_qty
        and er.ord_type
        and er.time_in_force
        and er.price is not None
        and (er.exec_type is not _TRADE or er.last_px is not None)
    ):  # the common report, one template
        if er.exec_type is _TRADE:
            return _ER_TRADE % (
                er.order_id.encode(),
                er.cl_ord_id.encode(),
                er.exec_id.encode(),
                er.ord_status.encode(),
                er.symbol.encode(),
                er.side.encode(),
                er.order_qty,
                er.ord_type.encode(),
                _dec_b(er.price),
                er.time_in_force.encode(),
                er.last_qty,
                _dec_b(er.last_px),  # type: ignore[arg-type]
                er.leaves_qty,
                er.cum_qty,
                _dec_b(er.avg_px),
                _time_b(er.transact_time),
            )
        return _ER_PLAIN % (
            er.order_id.encode(),
            er.cl_ord_id.encode(),
            er.exec_id.encode(),
            er.exec_type.encode(),
            er.ord_status.encode(),
            er.symbol.encode(),
            er.side.encode(),
            er.order_qty,
            er.ord_type.encode(),
            _dec_b(er.price),
            er.time_in_force.encode(),
            er.leaves_qty,
            er.cum_qty,
            _dec_b(er.avg_px),
            _time_b(er.transact_time),
        )
    p = [b"37=", er.order_id.encode(), b"\x01"]
    if er.cl_ord_id:
        p += (b"11=", er.cl_ord_id.encode(), b"\x01")
    if er.orig_cl_ord_id:
        p += (b"41=", er.orig_cl_ord_id.encode(), b"\x01")
    p += (
        b"17=",
        er.exec_id.encode(),
        b"\x01150=",
        er.exec_type.encode(),
        b"\x0139=",
        er.ord_status.encode(),
        b"\x01",
    )
    if er.ord_rej_reason is not None:
        p += (b"103=", er.ord_rej_reason.encode(), b"\x01")
    if er.account:
        p += (b"1=", er.account.encode(), b"\x01")
    p += (b"55=", er.symbol.encode(), b"\x0154=", er.side.encode(), b"\x01")
    if er.order_qty:
        p += (b"38=%d\x01" % er.order_qty,)
    if er.ord_type:
        p += (b"40=", er.ord_type.encode(), b"\x01")
    if er.price is not None:
        p += (b"44=", _dec_b(er.price), b"\x01")
    if er.time_in_force:
        p += (b"59=", er.time_in_force.encode(), b"\x01")
    if er.exec_type == ExecType.TRADE:
        p.append(b"32=%d\x01" % er.last_qty)
        if er.last_px is not None:
            p += (b"31=", _dec_b(er.last_px), b"\x01")
    p += (
        b"151=%d\x0114=%d\x016=" % (er.leaves_qty, er.cum_qty),
        _dec_b(er.avg_px),
        b"\x0160=",
        _time_b(er.transact_time),
        b"\x01",
    )
    if er.text:
        p += (b"58=", er.text.encode(), b"\x01")
    return b"".join(p)
