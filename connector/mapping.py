"""Pure mapping between the gateway's commands / order events and FIX 4.4 messages.

No I/O here: the connector's shells (``connector/pump.py``, ``connector/reports.py``) feed
commands and parsed messages in and get message bodies and :class:`gateway.reports.ExecReport`
values out.

ClOrdID mapping (documented in the README):

* a new order's ClOrdID is its order id (20 characters, ``gateway.ids``);
* a cancel or replace gets a fresh ClOrdID derived from the order id and the command's stream
  entry id: ``<order id><C|R><entry ms, base 36, 9 chars><entry seq, base 36>``. The same stream
  entry always gives the same ClOrdID, so a connector restarted after a crash recognises an entry
  it already sent (the session store records ClOrdIDs as sent) and never sends it twice;
  ``gateway.ids.base_order_id`` maps any of them back to the order;
* OrigClOrdID is the order's current ClOrdID: the order id until a replace is confirmed, then
  that replace's ClOrdID (kept in the order record's ``cl_ord_id`` field by the connector).
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal, InvalidOperation

from fixengine import Template
from gateway.codec import CancelCommand, Command, NewOrderCommand, ReplaceCommand
from gateway.ids import ALPHABET, ID_LENGTH, base_order_id, is_order_id
from gateway.model import OrderStatus
from gateway.reports import ExecReport
from gateway.states import OrderEvent

SIDE = {"buy": b"1", "sell": b"2"}
ORD_TYPE = {"market": b"1", "limit": b"2"}
TIME_IN_FORCE = {"day": b"0", "at_open": b"2", "ioc": b"3", "fok": b"4", "at_close": b"7"}

# the body fields, in FIX 4.4 order for each message (validated by the venue's dictionary)
NOS_LIMIT = Template("D", (11, 1, 55, 54, 60, 38, 40, 44, 59))
NOS_MARKET = Template("D", (11, 1, 55, 54, 60, 38, 40, 59))
CANCEL = Template("F", (41, 11, 1, 55, 54, 60, 38))
REPLACE_LIMIT = Template("G", (41, 11, 1, 55, 54, 60, 38, 40, 44, 59))
REPLACE_MARKET = Template("G", (41, 11, 1, 55, 54, 60, 38, 40, 59))
STATUS = Template("H", (11, 55, 54))

KIND_LETTER = {"cancel": "C", "replace": "R"}


class MappingError(ValueError):
    """A command that cannot become a FIX message (bad side, type, price...)."""


def _b36(n: int, width: int) -> str:
    chars = []
    for _ in range(width):
        n, r = divmod(n, 36)
        chars.append(ALPHABET[r])
    if n:
        raise MappingError("stream entry id out of range")
    return "".join(reversed(chars))


def _b36_any(n: int) -> str:
    out = ""
    while True:
        n, r = divmod(n, 36)
        out = ALPHABET[r] + out
        if not n:
            return out


def derived_cl_ord_id(order_id: str, kind: str, entry_id: str) -> str:
    """The ClOrdID of a cancel / replace: deterministic in (order, kind, stream entry)."""
    letter = KIND_LETTER.get(kind)
    if letter is None:
        raise MappingError(f"no derived ClOrdID for kind {kind!r}")
    try:
        ms_text, _, seq_text = entry_id.partition("-")
        ms, seq = int(ms_text), int(seq_text or 0)
    except ValueError:
        raise MappingError(f"bad stream entry id {entry_id!r}") from None
    if seq < 0 or ms < 0:
        raise MappingError(f"bad stream entry id {entry_id!r}")
    return f"{order_id}{letter}{_b36(ms, 9)}{_b36_any(seq)}"


def cl_ord_id_kind(cl_ord_id: str) -> str | None:
    """``new`` / ``cancel`` / ``replace`` for a ClOrdID of ours, else None."""
    if is_order_id(cl_ord_id):
        return "new"
    try:
        base_order_id(cl_ord_id)
    except ValueError:
        return None
    letter = cl_ord_id[ID_LENGTH : ID_LENGTH + 1]
    return {"C": "cancel", "R": "replace"}.get(letter)


def cl_ord_id_for(cmd: Command, entry_id: str) -> str:
    if cmd.kind == "new":
        return cmd.order_id
    return derived_cl_ord_id(cmd.order_id, cmd.kind, entry_id)


_PRICES: dict[str, bytes] = {}  # price text -> wire bytes: few distinct prices, each checked once


def _price(text: str | None) -> bytes:
    if text is not None:
        cached = _PRICES.get(text)
        if cached is not None:
            return cached
    out = _checked_price(text)
    if len(_PRICES) < 4096:
        _PRICES[text] = out  # type: ignore[index]
    return out


def _checked_price(text: str | None) -> bytes:
    if text is None or text == "":
        raise MappingError("a limit order needs a price")
    try:
        px = Decimal(text)
    except InvalidOperation:
        raise MappingError(f"bad price {text!r}") from None
    if not px.is_finite() or px <= 0:
        raise MappingError(f"bad price {text!r}")
    return format(px.normalize(), "f").encode()


def _qty(q: int) -> bytes:
    if not isinstance(q, int) or isinstance(q, bool) or q <= 0:
        raise MappingError(f"bad quantity {q!r}")
    return b"%d" % q


def _lookup(table: dict[str, bytes], value: str, what: str) -> bytes:
    try:
        return table[value]
    except KeyError:
        raise MappingError(f"bad {what} {value!r}") from None


@dataclass(frozen=True, slots=True)
class Outgoing:
    """One FIX message to send for one command."""

    msg_type: bytes
    body: bytes
    cl_ord_id: str


def command_to_fix(
    cmd: Command, entry_id: str, transact_time: bytes, current_cl_ord_id: str | None = None
) -> Outgoing:
    """The FIX message for a command. ``current_cl_ord_id``: the order's current ClOrdID
    (OrigClOrdID of a cancel / replace; the order id when None). ``MappingError`` if bad."""
    cl = cl_ord_id_for(cmd, entry_id).encode()
    side = _lookup(SIDE, cmd.side, "side")
    acct = cmd.account.encode()
    sym = cmd.symbol.encode()
    if isinstance(cmd, NewOrderCommand):
        ot = _lookup(ORD_TYPE, cmd.type, "type")
        tif = _lookup(TIME_IN_FORCE, cmd.time_in_force, "time in force")
        qty = _qty(cmd.quantity)
        if cmd.type == "limit":
            body = NOS_LIMIT.body(
                cl, acct, sym, side, transact_time, qty, ot, _price(cmd.price), tif
            )
        else:
            body = NOS_MARKET.body(cl, acct, sym, side, transact_time, qty, ot, tif)
        return Outgoing(b"D", body, cl.decode())
    orig = (current_cl_ord_id or cmd.order_id).encode()
    if isinstance(cmd, CancelCommand):
        body = CANCEL.body(orig, cl, acct, sym, side, transact_time, _qty(cmd.quantity))
        return Outgoing(b"F", body, cl.decode())
    if isinstance(cmd, ReplaceCommand):
        ot = _lookup(ORD_TYPE, cmd.type, "type")
        tif = _lookup(TIME_IN_FORCE, cmd.time_in_force, "time in force")
        qty = _qty(cmd.quantity)
        if cmd.type == "limit":
            body = REPLACE_LIMIT.body(
                orig, cl, acct, sym, side, transact_time, qty, ot, _price(cmd.price), tif
            )
        else:
            body = REPLACE_MARKET.body(orig, cl, acct, sym, side, transact_time, qty, ot, tif)
        return Outgoing(b"G", body, cl.decode())
    raise MappingError(f"unknown command {cmd!r}")


def status_request(cl_ord_id: str, symbol: str, side: str) -> bytes:
    """OrderStatusRequest (H) body for an order (its current ClOrdID)."""
    return STATUS.body(cl_ord_id.encode(), symbol.encode(), _lookup(SIDE, side, "side"))


# --- inbound ------------------------------------------------------------------------------

Fields = dict[bytes, bytes]

EXEC_TYPE_EVENT = {
    b"0": OrderEvent.accepted,
    b"8": OrderEvent.rejected,
    b"F": OrderEvent.partial_fill,  # the apply script decides partial / full from quantities
    b"4": OrderEvent.canceled,
    b"5": OrderEvent.replaced,
    b"C": OrderEvent.expired,
}
REJECT_EVENT = {
    "new": OrderEvent.rejected,
    "cancel": OrderEvent.cancel_rejected,
    "replace": OrderEvent.replace_rejected,
}
IN_FLIGHT = frozenset(
    {OrderStatus.pending_new, OrderStatus.pending_cancel, OrderStatus.pending_replace}
)


def _text(f: Fields, tag: bytes) -> str:
    return f.get(tag, b"").decode("utf-8", "replace")


@dataclass(slots=True)
class Inbound:
    """What an inbound application message means for the connector.

    ``report``: an order event to apply; ``status_report``: an ExecType=I answer to reconcile
    against the order's current status; ``status_request_refused``: the venue does not support
    OrderStatusRequest (fall back to a resend); ``cl_ord_id`` / ``ref_seq``: where to look when
    the message names the order only through the outbound message it refers to. Treated as
    immutable; not ``frozen`` because that makes ``__init__`` cost five times as much, once per
    inbound message."""

    report: ExecReport | None = None
    status_report: Fields | None = None
    ref_seq: int | None = None
    ref_kind: str = ""  # for ref_seq lookups: reject / business_reject
    status_request_refused: bool = False
    ignored: str = ""  # why nothing is applied (unknown order, unsupported ExecType...)


def _reason(f: Fields) -> str:
    text = _text(f, b"58")
    code = _text(f, b"103") or _text(f, b"102") or _text(f, b"380")
    return f"{code}: {text}" if code and text else (text or code)


def fill_px(f: Fields) -> Decimal | None:
    raw = f.get(b"31")
    if not raw:
        return None
    try:
        px = Decimal(raw.decode())
    except (InvalidOperation, UnicodeDecodeError):
        return None
    return px if px.is_finite() and px >= 0 else None


def execution_report(f: Fields, seq: int = 0) -> Inbound:
    """ExecutionReport (8) -> order event."""
    cl = _text(f, b"11")
    kind = cl_ord_id_kind(cl)
    if kind is None:
        return Inbound(ignored=f"ClOrdID {cl!r} is not one of ours")
    exec_type = f.get(b"150", b"")
    if exec_type == b"I":
        return Inbound(status_report=f)
    event = EXEC_TYPE_EVENT.get(exec_type)
    if event is None:
        return Inbound(ignored=f"ExecType {exec_type.decode(errors='replace')} changes nothing")
    if event is OrderEvent.rejected:
        event = REJECT_EVENT[kind]
    exec_id = _text(f, b"17")
    if not exec_id:
        return Inbound(ignored="ExecutionReport without ExecID")
    last_qty = 0
    last_px = None
    if event is OrderEvent.partial_fill:
        raw = f.get(b"32", b"")
        if not raw.isdigit():
            return Inbound(ignored=f"fill with bad LastQty {raw!r}")
        last_qty = int(raw)
        last_px = fill_px(f)
        if last_px is None:
            return Inbound(ignored="fill with bad LastPx")
    detail = {"in_seq": seq, "cl_ord_id": cl}
    venue_id = _text(f, b"37")
    if venue_id:
        detail["venue_order_id"] = venue_id
    reason = _reason(f) if event in REJECT_EVENT.values() or exec_type == b"4" else ""
    return Inbound(
        report=ExecReport(
            order_id=cl if kind == "new" else base_order_id(cl),
            event=event,
            exec_id=exec_id,
            last_qty=last_qty,
            last_px=last_px,
            reason=reason,
            detail=detail,
            account=_text(f, b"1") or None,
            cl_ord_id=cl if event is OrderEvent.replaced else "",
        )
    )


def cancel_reject(f: Fields, seq: int = 0) -> Inbound:
    """OrderCancelReject (9) -> cancel_rejected / replace_rejected (deduplicated by ClOrdID:
    each cancel / replace request gets one answer)."""
    cl = _text(f, b"11")
    kind = cl_ord_id_kind(cl)
    if kind is None:
        return Inbound(ignored=f"ClOrdID {cl!r} is not one of ours")
    to = f.get(b"434", b"")
    if kind == "new":  # the venue echoed the order's ClOrdID: decide by CxlRejResponseTo
        kind = "replace" if to == b"2" else "cancel"
    return Inbound(
        report=ExecReport(
            order_id=base_order_id(cl),
            event=REJECT_EVENT[kind],
            exec_id=f"CXLREJ:{cl}",
            reason=_reason(f),
            detail={"in_seq": seq, "cl_ord_id": cl},
        )
    )


def business_reject(f: Fields, seq: int = 0) -> Inbound:
    """BusinessMessageReject (j): for an OrderStatusRequest, the venue does not support it;
    otherwise the refused order message is found by BusinessRejectRefID (its ClOrdID) or
    RefSeqNum."""
    ref_type = f.get(b"372", b"")
    if ref_type == b"H":
        return Inbound(status_request_refused=True)
    cl = _text(f, b"379")
    if cl and cl_ord_id_kind(cl) is not None:
        return refused_message(cl, _reason(f), "BMR", seq)
    raw = f.get(b"45", b"")
    if raw.isdigit():
        return Inbound(ref_seq=int(raw), ref_kind="business_reject")
    return Inbound(ignored="BusinessMessageReject naming no message of ours")


def refused_message(cl: str, reason: str, prefix: str, seq: int = 0) -> Inbound:
    """An order message refused by the venue (session Reject or BusinessMessageReject)."""
    kind = cl_ord_id_kind(cl)
    if kind is None:
        return Inbound(ignored=f"ClOrdID {cl!r} is not one of ours")
    return Inbound(
        report=ExecReport(
            order_id=base_order_id(cl),
            event=REJECT_EVENT[kind],
            exec_id=f"{prefix}:{cl}",
            reason=reason,
            detail={"in_seq": seq, "cl_ord_id": cl},
        )
    )


def reconcile(status: OrderStatus, f: Fields) -> ExecReport | None:
    """What an OrderStatusRequest answer (ExecType=I) means for an order in ``status``: the
    venue's word is applied only where it settles an in-flight state; fills arrive as their own
    ExecutionReports (with ExecIDs), never guessed from CumQty."""
    if status not in IN_FLIGHT:
        return None
    cl = _text(f, b"11")
    try:
        order_id = base_order_id(cl)
    except ValueError:
        return None
    ord_status = f.get(b"39", b"")
    exec_id = _text(f, b"17")
    detail = {"reconciled": True, "cl_ord_id": cl}
    event: OrderEvent | None = None
    reason = ""
    if ord_status == b"4":
        event = OrderEvent.canceled
        reason = _text(f, b"58") or "canceled by the venue"
    elif ord_status == b"C":
        event = OrderEvent.expired
    elif ord_status == b"8":
        if f.get(b"103") == b"5":  # unknown order: nothing to settle, never guess
            return None
        event = OrderEvent.rejected if status is OrderStatus.pending_new else None
        reason = _reason(f)
    elif ord_status in (b"0", b"1") and status is OrderStatus.pending_new:
        event = OrderEvent.accepted
    if event is None or not exec_id:
        return None
    return ExecReport(order_id=order_id, event=event, exec_id=exec_id, reason=reason, detail=detail)


def inbound(msg_type: bytes, f: Fields, seq: int = 0) -> Inbound:
    if msg_type == b"8":
        return execution_report(f, seq)
    if msg_type == b"9":
        return cancel_reject(f, seq)
    if msg_type == b"j":
        return business_reject(f, seq)
    return Inbound(ignored=f"MsgType {msg_type.decode(errors='replace')} is not handled")


def refused_by_reference(raw_out: bytes, text: str, prefix: str, seq: int = 0) -> Inbound:
    """A session Reject / BusinessMessageReject naming our outbound message by RefSeqNum: the
    stored raw message tells which order message it was."""
    cl = ""
    msg_type = b""
    for pair in raw_out.split(b"\x01"):
        if pair.startswith(b"35="):
            msg_type = pair[3:]
        elif pair.startswith(b"11="):
            cl = pair[3:].decode("utf-8", "replace")
    if msg_type not in (b"D", b"F", b"G") or not cl:
        return Inbound(ignored=f"refers to a {msg_type.decode(errors='replace')} message")
    return refused_message(cl, text, prefix, seq)
