"""The versioned msgpack wire format of commands (API -> connector) and events (-> push, archive).

A stream entry carries one field, ``m``, whose value is a msgpack map with ``v`` (format version)
and ``k`` (kind). Decoders accept any version up to ``VERSION`` and ignore unknown keys, so a new
field is a compatible change; an incompatible change bumps ``VERSION``. Prices are strings,
quantities integers. Events are also written by the Lua scripts (``cmsgpack``) in this format.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from typing import Any

import msgpack

from gateway.model import PX_SCALE

VERSION = 1
FIELD = "m"  # the one field of a stream entry


class CodecError(ValueError):
    """Bytes that are not a command / event this version understands."""


@dataclass(frozen=True, slots=True)
class NewOrderCommand:
    order_id: str
    account: str
    client_order_id: str
    symbol: str
    side: str
    type: str
    quantity: int
    price: str | None
    time_in_force: str
    venue: str
    at: str
    kind: str = "new"


@dataclass(frozen=True, slots=True)
class CancelCommand:
    order_id: str
    account: str
    symbol: str
    side: str
    quantity: int
    venue: str
    at: str
    kind: str = "cancel"


@dataclass(frozen=True, slots=True)
class ReplaceCommand:
    order_id: str
    account: str
    symbol: str
    side: str
    type: str
    quantity: int
    price: str | None
    time_in_force: str
    venue: str
    at: str
    kind: str = "replace"


Command = NewOrderCommand | CancelCommand | ReplaceCommand
_COMMANDS: dict[str, type[NewOrderCommand] | type[CancelCommand] | type[ReplaceCommand]] = {
    "new": NewOrderCommand,
    "cancel": CancelCommand,
    "replace": ReplaceCommand,
}


@dataclass(frozen=True, slots=True)
class OrderUpdate:
    """An order changed: the event the push channels and the archive see."""

    order_id: str
    account: str
    symbol: str
    side: str
    status: str
    event: str
    quantity: int
    price: str | None
    cum_qty: int
    leaves_qty: int
    avg_px: str
    at: str
    last_qty: int = 0
    last_px: str | None = None
    exec_id: str | None = None
    reason: str | None = None
    kind: str = "order"

    def to_json(self) -> dict[str, Any]:
        return {k: v for k, v in _fields(self).items() if k != "kind"}


def _fields(obj: Any) -> dict[str, Any]:
    """Dataclass fields without ``asdict``'s deep copy (it dominated the submit profile)."""
    return {name: getattr(obj, name) for name in obj.__dataclass_fields__}


def _pack(kind: str, fields: dict[str, Any]) -> bytes:
    body: dict[str, Any] = {"v": VERSION, "k": kind}
    for k, v in fields.items():
        if k != "kind" and v is not None:
            body[k] = v
    return msgpack.packb(body, use_bin_type=True)


def _unpack(data: bytes) -> dict[str, Any]:
    try:
        body = msgpack.unpackb(data, raw=False, strict_map_key=True)
    except Exception as exc:  # msgpack raises several types for garbage
        raise CodecError(f"not msgpack: {exc}") from None
    if not isinstance(body, dict) or not isinstance(body.get("v"), int):
        raise CodecError("not a versioned map")
    if body["v"] > VERSION or body["v"] < 1:
        raise CodecError(f"unsupported version {body['v']}")
    return body


def encode_command(cmd: Command) -> bytes:
    return _pack(cmd.kind, _fields(cmd))


def decode_command(data: bytes) -> Command:
    body = _unpack(data)
    cls = _COMMANDS.get(body.get("k", ""))
    if cls is None:
        raise CodecError(f"unknown command kind {body.get('k')!r}")
    names = cls.__dataclass_fields__
    if "price" in names:
        body.setdefault("price", None)  # market orders: None is not sent
    try:
        return cls(**{k: v for k, v in body.items() if k in names and k != "kind"})
    except TypeError as exc:
        raise CodecError(f"bad {cls.__name__}: {exc}") from None


def encode_event(event: OrderUpdate) -> bytes:
    return _pack(event.kind, _fields(event))


_PACKER = msgpack.Packer(use_bin_type=True)
_put = _PACKER.pack  # one value's msgpack bytes


def _packed(*items: Any) -> bytes:
    """The msgpack bytes of ``items`` one after the other (a map's keys and values)."""
    return b"".join(_put(x) for x in items)


# The direct encoders below write a map as its header, then each key and value packed in
# turn: the constant keys (and values) are packed once here, only the order's own values per
# call. msgpack writes a map exactly so, which a unit test holds byte for byte.
_SIDES = {side: _put(side) for side in ("buy", "sell")}
_CMD_HEADER = (_PACKER.pack_map_header(12), _PACKER.pack_map_header(13))  # without / with price
_CMD_HEAD = _packed("v", VERSION, "k", "new", "order_id")
_EVT_HEADER = (_PACKER.pack_map_header(14), _PACKER.pack_map_header(15))
_EVT_HEAD = _packed("v", VERSION, "k", "order", "order_id")
_EVT_STATUS = _packed("status", "pending_new", "event", "submitted", "quantity")
_EVT_FILLED = _packed("cum_qty", 0, "leaves_qty")
_EVT_AVG_AT = _packed("avg_px", "0", "at")
_EVT_LAST = _packed("last_qty", 0)
_K_ACCOUNT, _K_CID, _K_SYMBOL, _K_SIDE, _K_TYPE, _K_QUANTITY = map(
    _put, ("account", "client_order_id", "symbol", "side", "type", "quantity")
)
_K_PRICE, _K_TIF, _K_VENUE, _K_AT = map(_put, ("price", "time_in_force", "venue", "at"))


def encode_new_order(
    order_id: str,
    account: str,
    client_order_id: str,
    symbol: str,
    side: str,
    type: str,
    quantity: int,
    price: str | None,
    time_in_force: str,
    venue: str,
    at: str,
) -> bytes:
    """``encode_command(NewOrderCommand(...))`` byte for byte, without the dataclass or a
    dict on the submit hot path (a unit test holds the two equal)."""
    return b"".join(
        (
            _CMD_HEADER[price is not None],
            _CMD_HEAD,
            _put(order_id),
            _K_ACCOUNT,
            _put(account),
            _K_CID,
            _put(client_order_id),
            _K_SYMBOL,
            _put(symbol),
            _K_SIDE,
            _SIDES.get(side) or _put(side),
            _K_TYPE,
            _put(type),
            _K_QUANTITY,
            _put(quantity),
            b"" if price is None else _K_PRICE + _put(price),
            _K_TIF,
            _put(time_in_force),
            _K_VENUE,
            _put(venue),
            _K_AT,
            _put(at),
        )
    )


def encode_submitted(
    order_id: str, account: str, symbol: str, side: str, quantity: int, price: str | None, at: str
) -> bytes:
    """``encode_event`` of the ``submitted`` / ``pending_new`` update, byte for byte."""
    qty = _put(quantity)
    return b"".join(
        (
            _EVT_HEADER[price is not None],
            _EVT_HEAD,
            _put(order_id),
            _K_ACCOUNT,
            _put(account),
            _K_SYMBOL,
            _put(symbol),
            _K_SIDE,
            _SIDES.get(side) or _put(side),
            _EVT_STATUS,
            qty,
            b"" if price is None else _K_PRICE + _put(price),
            _EVT_FILLED,
            qty,
            _EVT_AVG_AT,
            _put(at),
            _EVT_LAST,
        )
    )


def avg_px_from(notional_scaled: int, cum_qty: int) -> str:
    if not cum_qty:
        return "0"
    avg = (Decimal(notional_scaled) / PX_SCALE / cum_qty).quantize(Decimal("0.0001"))
    return format(avg.normalize(), "f")


def decode_event(data: bytes) -> OrderUpdate:
    """Decode an event; events written by Lua carry ``notional`` (1/PX_SCALE yen) instead of
    ``avg_px``, which is derived here."""
    body = _unpack(data)
    if body.get("k") != "order":
        raise CodecError(f"unknown event kind {body.get('k')!r}")
    if "avg_px" not in body:
        body["avg_px"] = avg_px_from(int(body.get("notional", 0)), int(body.get("cum_qty", 0)))
    names = OrderUpdate.__dataclass_fields__
    body.setdefault("price", None)
    try:
        return OrderUpdate(**{k: v for k, v in body.items() if k in names and k != "kind"})
    except TypeError as exc:
        raise CodecError(f"bad OrderUpdate: {exc}") from None
