"""Request parsing: JSON bodies and query strings to the gateway's typed requests.

Pure functions. The body of a new order is parsed by ``gateway.validation.parse_new_order``
(the core owns the field rules, shared with every other entry point); this module adds the
HTTP side: JSON decoding without floats, media type, query strings, replace / halt bodies.
Every failure is an ``OrderError`` naming the field.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from gateway import ids, validation
from gateway.errors import ErrorCode, OrderError
from gateway.model import NewOrderRequest

MAX_BODY_BYTES = 16 * 1024
MAX_ID_LEN = 64
MAX_LIST_LIMIT = 500
DEFAULT_LIST_LIMIT = 100

_ID_RE = re.compile(r"^[A-Za-z0-9._:\-]{1,64}$")

REPLACE_FIELDS = frozenset({"quantity", "price"})
HALT_FIELDS = frozenset({"scope", "target", "cancel_open"})
HALT_SCOPES = ("account", "venue", "all")
LIST_STATUSES = ("open", "done", "all")


def invalid(field: str | None, message: str) -> OrderError:
    return OrderError(ErrorCode.invalid_request, message, field)


def is_json_content_type(content_type: str | None) -> bool:
    """``application/json`` (parameters such as ``charset`` allowed)."""
    if not content_type:
        return False
    media = content_type.split(";", 1)[0].strip().lower()
    return media == "application/json"


def _compact_object(text: str) -> Any:
    """The object a body of exactly one JSON object (``{`` first, ``}`` last, nothing around
    it) holds, straight from the C scanner; None for anything else, which then takes the
    decoder's full path (its whitespace handling and its error messages). Skips
    ``JSONDecoder.decode``'s two whitespace matches and method calls (~0.5 us)."""
    if not (text.startswith("{") and text.endswith("}")):
        return None
    try:
        doc, end = _SCAN(text, 0)
    except (ValueError, StopIteration, RecursionError):
        return None
    return doc if end == len(text) else None


def _encoding(body: bytes) -> str:
    """``json.detect_encoding``, answered at once for the usual body: ``{`` then a non-zero
    byte can only be UTF-8 (every BOM and UTF-16/32 body starts otherwise)."""
    if body[:1] == b"{" and body[1:2] not in (b"", b"\x00"):
        return "utf-8"
    return json.detect_encoding(body)


def parse_json_object(body: bytes) -> dict[str, Any]:
    """A JSON object, with numbers kept exact (no float), no key twice in any object (422
    ``duplicate_key``: a proxy or an audit tool reading the first of two keys would see
    another order than the one taken), and an integer too long for ``int()`` kept as a
    :class:`LongInt` for the field's own check to refuse.

    The usual body costs one ``str.count`` more than a plain decode: when the colons in the
    text are as many as the object's keys, no key can occur twice at any depth (every key
    occurrence is followed by a colon outside strings) and nothing is nested. Any other body
    is decoded again by :data:`_STRICT`, which checks every object."""
    try:
        # what json.loads does with bytes, with one decoder for the process (json.loads
        # builds a new one per call when given parse_float)
        text = body.decode(_encoding(body), "surrogatepass")
        doc = _compact_object(text)
        if doc is None:
            doc = _DECODER.decode(text)
        if type(doc) is dict and text.count(":") == len(doc):
            return doc
    except UnicodeDecodeError as exc:
        raise invalid(None, f"body is not valid JSON: {exc}") from None
    except ValueError:
        pass  # not JSON, or an integer over int()'s limit: the strict decoder tells which
    except RecursionError:
        raise invalid(None, "body is nested too deeply") from None
    return _strict_object(text)


def _strict_object(text: str) -> dict[str, Any]:
    """``parse_json_object`` for a body the fast decode could not vouch for."""
    try:
        doc = _STRICT.decode(text)
    except _DuplicateKey as dup:
        raise OrderError(
            ErrorCode.duplicate_key, f"key {dup.key!r} occurs twice in an object", dup.key
        ) from None
    except ValueError as exc:
        raise invalid(None, f"body is not valid JSON: {exc}") from None
    except RecursionError:
        raise invalid(None, "body is nested too deeply") from None
    if not isinstance(doc, dict):
        raise invalid(None, "body must be a JSON object")
    return doc


class LongInt:
    """A JSON integer with more digits than ``int()`` converts (4300 by default): neither an
    ``int`` nor a ``str``, so every field refuses it with its own message (the plain decoder
    raised ``ValueError`` naming ``sys.set_int_max_str_digits()``)."""

    __slots__ = ("digits",)

    def __init__(self, text: str) -> None:
        self.digits = len(text.lstrip("-"))

    def __repr__(self) -> str:
        return f"<integer of {self.digits} digits>"


#: digits ``int()`` converts by default; a longer JSON integer becomes a :class:`LongInt`
INT_MAX_DIGITS = 4300


def _bounded_int(text: str) -> int | LongInt:
    return int(text) if len(text) <= INT_MAX_DIGITS else LongInt(text)


class _DuplicateKey(Exception):
    def __init__(self, key: str) -> None:
        super().__init__(key)
        self.key = key


def _unique_keys(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    doc = dict(pairs)
    if len(doc) != len(pairs):
        seen: set[str] = set()
        for key, _ in pairs:
            if key in seen:
                raise _DuplicateKey(key)
            seen.add(key)
    return doc


def _reject_constant(name: str) -> Any:
    raise ValueError(f"{name} is not allowed")


_DECODER = json.JSONDecoder(parse_float=Decimal, parse_constant=_reject_constant)
# the decoder's C scanner: one JSON value at an index -> (value, end); not in the type stubs
_SCAN: Callable[[str, int], tuple[Any, int]] = _DECODER.scan_once  # type: ignore[attr-defined]
#: the slower decoder for what the fast one cannot vouch for: duplicate keys at any depth,
#: integers too long for ``int()``
_STRICT = json.JSONDecoder(
    parse_float=Decimal,
    parse_constant=_reject_constant,
    parse_int=_bounded_int,
    object_pairs_hook=_unique_keys,
)


def _reject_unknown(doc: dict[str, Any], allowed: frozenset[str]) -> None:
    for key in doc:
        if key not in allowed:
            raise invalid(key, f"unknown field {key!r}")


def parse_new_order(doc: dict[str, Any]) -> NewOrderRequest:
    """The body of ``POST /v1/orders`` (the gateway core owns the field rules)."""
    return validation.parse_new_order(doc)


@dataclass(frozen=True)
class ReplaceRequest:
    quantity: int | None
    price: Decimal | None


def parse_replace(doc: dict[str, Any]) -> ReplaceRequest:
    """The body of ``PATCH /v1/orders/{id}``: a new quantity and/or a new price."""
    _reject_unknown(doc, REPLACE_FIELDS)
    raw_quantity = doc.get("quantity")
    quantity = validation.parse_quantity(raw_quantity) if raw_quantity is not None else None
    # Neither given: the gateway answers replace_no_change.
    return ReplaceRequest(quantity, validation.parse_price(doc.get("price")))


@dataclass(frozen=True)
class HaltRequest:
    scope: str
    target: str | None
    cancel_open: bool


def parse_halt(doc: dict[str, Any], *, resume: bool = False) -> HaltRequest:
    """The body of ``POST /v1/admin/halt`` and ``/resume``."""
    _reject_unknown(doc, HALT_FIELDS if not resume else HALT_FIELDS - {"cancel_open"})
    scope = doc.get("scope")
    if scope not in HALT_SCOPES:
        raise invalid("scope", "scope must be one of account, venue, all")
    target = doc.get("target")
    if scope == "all":
        if target is not None:
            raise invalid("target", "scope 'all' takes no target")
    elif not isinstance(target, str) or not _ID_RE.match(target):
        raise invalid("target", f"scope {scope!r} needs a target ({scope} id)")
    cancel_open = doc.get("cancel_open", False)
    if not isinstance(cancel_open, bool):
        raise invalid("cancel_open", "cancel_open must be true or false")
    return HaltRequest(scope, target, cancel_open)


@dataclass(frozen=True)
class ListQuery:
    account: str
    status: str
    limit: int
    cursor: str | None


def parse_list_query(params: dict[str, str]) -> ListQuery:
    """The query of ``GET /v1/orders``."""
    account = params.get("account")
    if not account or not _ID_RE.match(account):
        raise invalid("account", "account is required")
    status = params.get("status", "all")
    if status not in LIST_STATUSES:
        raise invalid("status", "status must be one of open, done, all")
    limit = int_param(params, "limit", 1, MAX_LIST_LIMIT, DEFAULT_LIST_LIMIT)
    cursor = params.get("cursor") or None
    if cursor is not None and len(cursor) > 200:
        raise invalid("cursor", "cursor is not one this API issued")
    return ListQuery(account, status, limit, cursor)


def int_param(params: dict[str, str], name: str, low: int, high: int, default: int) -> int:
    """An integer query parameter: ASCII digits only (``str.isdigit`` also takes ``²`` and
    ``٣``, which ``int()`` then refuses or reads), at most as long as ``high``, in range."""
    raw = params.get(name)
    if raw is None:
        return default
    if len(raw) > len(str(high)) or not (raw.isascii() and raw.isdigit()):
        raise invalid(name, f"{name} must be an integer between {low} and {high}")
    value = int(raw)
    if not low <= value <= high:
        raise invalid(name, f"{name} must be an integer between {low} and {high}")
    return value


def is_order_id(value: str) -> bool:
    """Cheap shape check before asking the gateway."""
    return ids.is_order_id(value)
