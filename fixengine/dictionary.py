"""FIX data dictionary in QuickFIX's XML format, and the validator the session runs on inbound messages.

Why our own: the session must answer a malformed message with the same Reject(3) a reference
engine would send (SessionRejectReason, RefTagID), and a venue's customised QuickFIX dictionary
must drop in unchanged. Loading flattens components into per-message tables (allowed tags,
required tags, repeating groups with their delimiters, a compiled format check and enum set per
field) so that :meth:`DataDictionary.validate` is one pass over the fields with set and dict
look-ups only.

Rules, in the order a message meets them (the first violation found is returned):

* 8, 9, 35 must be the first three fields and 10 the last (14, always checked);
* MsgType: empty (4); not a FIX message type at all (11); a valid FIX type that the dictionary
  does not define, or a user-defined ``U...`` type: ``business_reject=True`` (answer
  BusinessMessageReject(j) with BusinessRejectReason(380)=3);
* per field: tag not a positive integer (0), no value (4), tag repeated (13), tag unknown to the
  dictionary (0; user-defined tags >= 5000 are skipped when ``check_user_defined_fields`` is
  false), header field after the body or body field after the trailer (14, when
  ``check_fields_out_of_order``), tag not defined for the message type (2), wrong format (6),
  value not among the enums (5);
* repeating groups: NumInGroup not a count (6), first field of an instance not the delimiter (15),
  instances counted differently from NumInGroup (16), member repeated inside one instance (13),
  required member missing (1);
* required fields of header, body and trailer (1).
"""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from enum import IntEnum
from functools import cache
from pathlib import Path
from typing import Any

SPEC_DIR = Path(__file__).parent / "spec"
DEFAULT_PATH = SPEC_DIR / "FIX44.xml"

#: Tags at or above this number are user-defined (FIX 4.4 Volume 1, "User Defined Fields").
USER_DEFINED_TAG_MIN = 5000


class SessionRejectReason(IntEnum):
    """SessionRejectReason(373) values of FIX 4.4 that the validator and the session use."""

    INVALID_TAG_NUMBER = 0
    REQUIRED_TAG_MISSING = 1
    TAG_NOT_DEFINED_FOR_MESSAGE_TYPE = 2
    UNDEFINED_TAG = 3
    TAG_SPECIFIED_WITHOUT_VALUE = 4
    VALUE_INCORRECT = 5
    INCORRECT_DATA_FORMAT = 6
    COMPID_PROBLEM = 9
    SENDING_TIME_ACCURACY_PROBLEM = 10
    INVALID_MSG_TYPE = 11
    TAG_APPEARS_MORE_THAN_ONCE = 13
    TAG_OUT_OF_REQUIRED_ORDER = 14
    REPEATING_GROUP_FIELDS_OUT_OF_ORDER = 15
    INCORRECT_NUM_IN_GROUP_COUNT = 16
    OTHER = 99


#: BusinessRejectReason(380) for an unsupported message type.
BUSINESS_REJECT_UNSUPPORTED_MESSAGE_TYPE = 3


@dataclass(frozen=True)
class Violation:
    """Why a message is rejected: what goes into Reject(3), or a BusinessMessageReject(j).

    ``business_reject`` is true for a message type the dictionary does not support: the session
    answers BusinessMessageReject(j) with BusinessRejectReason(380)=3 instead of Reject(3).
    """

    session_reject_reason: int
    ref_tag_id: int | None
    text: str
    business_reject: bool = False


class DictionaryError(ValueError):
    """The XML file is not a usable QuickFIX-format data dictionary (the message says where)."""


# --- value formats --------------------------------------------------------------------------

_INT = re.compile(rb"-?[0-9]+")
_UINT = re.compile(rb"[0-9]+")
_FLOAT = re.compile(rb"-?(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)")
_DATE = rb"[0-9]{4}(?:0[1-9]|1[0-2])(?:0[1-9]|[12][0-9]|3[01])"
_TIME = rb"(?:[01][0-9]|2[0-3]):[0-5][0-9]:(?:[0-5][0-9]|60)(?:\.[0-9]{1,9})?"
_UTC_TIMESTAMP = re.compile(_DATE + rb"-" + _TIME)
_UTC_TIME_ONLY = re.compile(_TIME)
_DATE_ONLY = re.compile(_DATE)
_MONTH_YEAR = re.compile(rb"[0-9]{4}(?:0[1-9]|1[0-2])(?:0[1-9]|[12][0-9]|3[01]|w[1-5])?")
_TZ_TIME = rb"(?:[01][0-9]|2[0-3]):[0-5][0-9](?::(?:[0-5][0-9]|60))?(?:\.[0-9]{1,9})?(?:Z|[+-](?:[01][0-9]|2[0-3])(?::[0-5][0-9])?)"
_TZ_TIME_ONLY = re.compile(_TZ_TIME)
_TZ_TIMESTAMP = re.compile(_DATE + rb"-" + _TZ_TIME)


def _any(_: bytes) -> bool:
    return True


_char = re.compile(rb"[^\x01 ]").fullmatch  # one character, not the delimiter or a space
_boolean = re.compile(rb"[YN]").fullmatch


def _day_of_month(value: bytes) -> bool:
    return _UINT.fullmatch(value) is not None and 1 <= int(value) <= 31


def _matcher(pattern: re.Pattern[bytes]) -> Callable[[bytes], object]:
    """The pattern's ``fullmatch``: truthy when the value is well formed (one C call, no wrapper)."""
    return pattern.fullmatch


_FORMATS: dict[str, Callable[[bytes], object]] = {
    "INT": _matcher(_INT),
    "LENGTH": bytes.isdigit,  # ASCII digits only, and False for b""
    "SEQNUM": bytes.isdigit,
    "NUMINGROUP": bytes.isdigit,
    "DAYOFMONTH": _day_of_month,
    "FLOAT": _matcher(_FLOAT),
    "PRICE": _matcher(_FLOAT),
    "QTY": _matcher(_FLOAT),
    "AMT": _matcher(_FLOAT),
    "PRICEOFFSET": _matcher(_FLOAT),
    "PERCENTAGE": _matcher(_FLOAT),
    "CHAR": _char,
    "BOOLEAN": _boolean,
    "UTCTIMESTAMP": _matcher(_UTC_TIMESTAMP),
    "TIME": _matcher(_UTC_TIMESTAMP),
    "UTCTIMEONLY": _matcher(_UTC_TIME_ONLY),
    "UTCDATEONLY": _matcher(_DATE_ONLY),
    "UTCDATE": _matcher(_DATE_ONLY),
    "DATE": _matcher(_DATE_ONLY),
    "LOCALMKTDATE": _matcher(_DATE_ONLY),
    "MONTHYEAR": _matcher(_MONTH_YEAR),
    "TZTIMEONLY": _matcher(_TZ_TIME_ONLY),
    "TZTIMESTAMP": _matcher(_TZ_TIMESTAMP),
}
#: Types whose every non-empty value is well formed (STRING, DATA, CURRENCY, EXCHANGE, ...).
_FREE_FORM = {
    "STRING",
    "MULTIPLEVALUESTRING",
    "MULTIPLESTRINGVALUE",
    "MULTIPLECHARVALUE",
    "CURRENCY",
    "EXCHANGE",
    "COUNTRY",
    "LANGUAGE",
    "DATA",
    "XMLDATA",
}
_MULTI = {"MULTIPLEVALUESTRING", "MULTIPLESTRINGVALUE", "MULTIPLECHARVALUE"}

KNOWN_TYPES = frozenset(_FORMATS) | frozenset(_FREE_FORM)

#: Regex fragments per type for the shape cache: the same language as the checks above.
_FRAGMENTS: dict[str, bytes] = {
    "INT": _INT.pattern,
    "LENGTH": rb"[0-9]+",
    "SEQNUM": rb"[0-9]+",
    "DAYOFMONTH": rb"0*(?:[1-9]|[12][0-9]|3[01])",
    "FLOAT": _FLOAT.pattern,
    "PRICE": _FLOAT.pattern,
    "QTY": _FLOAT.pattern,
    "AMT": _FLOAT.pattern,
    "PRICEOFFSET": _FLOAT.pattern,
    "PERCENTAGE": _FLOAT.pattern,
    "CHAR": rb"[^\x01 ]",
    "BOOLEAN": rb"[YN]",
    "UTCTIMESTAMP": _UTC_TIMESTAMP.pattern,
    "TIME": _UTC_TIMESTAMP.pattern,
    "UTCTIMEONLY": _UTC_TIME_ONLY.pattern,
    "UTCDATEONLY": _DATE_ONLY.pattern,
    "UTCDATE": _DATE_ONLY.pattern,
    "DATE": _DATE_ONLY.pattern,
    "LOCALMKTDATE": _DATE_ONLY.pattern,
    "MONTHYEAR": _MONTH_YEAR.pattern,
    "TZTIMEONLY": _TZ_TIME_ONLY.pattern,
    "TZTIMESTAMP": _TZ_TIMESTAMP.pattern,
}
#: Tag sequences remembered per message type (see ``DataDictionary._learn_shape``).
SHAPES_PER_TYPE = 16


def check_format(type_name: str, value: bytes) -> bool:
    """Whether ``value`` is well formed for the FIX type ``type_name`` (unknown types: any)."""
    return bool(_FORMATS.get(type_name, _any)(value))


# --- dictionary structures ------------------------------------------------------------------


@dataclass(frozen=True)
class FieldDef:
    """One field of the ``<fields>`` section, with its compiled format check and enums."""

    number: int
    name: str
    type: str
    enums: frozenset[bytes] | None = None
    multi: bool = False
    check: Callable[[bytes], object] = field(default=_any, compare=False, repr=False)


@dataclass
class Scope:
    """Tags allowed at one level (header, a message body, a trailer or a group instance)."""

    tags: set[int] = field(default_factory=set)
    required: list[int] = field(default_factory=list)
    groups: dict[int, GroupDef] = field(default_factory=dict)
    order: list[int] = field(default_factory=list)


@dataclass
class GroupDef:
    """A repeating group: its NumInGroup tag, its delimiter (first field) and its members."""

    count_tag: int
    delimiter: int
    scope: Scope


@dataclass
class MessageDef:
    msg_type: str
    name: str
    admin: bool
    body: Scope


def _text_of(tag: int, fields: dict[int, FieldDef]) -> str:
    f = fields.get(tag)
    return f"{tag} ({f.name})" if f else str(tag)


class DataDictionary:
    """A loaded dictionary: field definitions and per-message-type validation tables."""

    def __init__(
        self,
        *,
        version: str,
        fields: dict[int, FieldDef],
        header: Scope,
        trailer: Scope,
        messages: dict[str, MessageDef],
        path: Path | None = None,
    ) -> None:
        self.version = version
        self.path = path
        self.fields = fields
        self.header = header
        self.trailer = trailer
        self.messages = messages
        self._by_name = {f.name: f for f in fields.values()}
        self._messages_b = {k.encode(): v for k, v in messages.items()}
        msg_type = self._by_name.get("MsgType")
        #: Every FIX message type the dictionary's MsgType(35) field lists (defined or not).
        self.valid_msg_types: frozenset[bytes] = (
            msg_type.enums if msg_type is not None and msg_type.enums else frozenset()
        ) | frozenset(self._messages_b)
        self._tag_cache: dict[bytes, int] = {str(t).encode(): t for t in fields}
        self._header_tags = frozenset(header.tags)
        self._trailer_tags = frozenset(trailer.tags)
        self._fast = {k.encode(): self._fast_table(m) for k, m in messages.items()}
        self._shapes: dict[bytes, list[Callable[[bytes], re.Match[bytes] | None]]] = {}
        self._shape_tries: dict[bytes, int] = {}

    def _fast_table(self, mdef: MessageDef) -> _FastTable:
        """Per message type, the tables of the fast path (see :func:`_fast_ok`)."""
        header = {str(t).encode() for t in self.header.tags} - {b"8", b"9", b"35"}
        body = {str(t).encode() for t in mdef.body.tags if t not in mdef.body.groups}
        trailer = {str(t).encode() for t in self.trailer.tags} - {b"10"}
        checks: dict[bytes, Callable[[bytes], object]] = {}
        for scope in (self.header, mdef.body, self.trailer):
            for tag in scope.tags:
                f = self.fields[tag]
                if f.enums is not None:
                    # a multi-valued enum field is left to the precise walk
                    checks[str(tag).encode()] = _never if f.multi else f.enums.__contains__
                elif f.type not in _FREE_FORM:
                    checks[str(tag).encode()] = f.check
        required = frozenset(
            str(t).encode() for s in (self.header, mdef.body, self.trailer) for t in s.required
        )
        return _FastTable(
            allowed=frozenset(header | body | trailer | {b"8", b"9", b"35", b"10"}),
            header=frozenset(header),
            not_last=frozenset(header | trailer),
            trailer=frozenset(trailer),
            required=required,
            checks=checks,
        )

    # -- construction ---------------------------------------------------------------------

    @classmethod
    def load(cls, path: str | Path) -> DataDictionary:
        """Read a QuickFIX-format XML data dictionary; :class:`DictionaryError` says what is wrong."""
        p = Path(path)
        try:
            root = ET.parse(p).getroot()
        except (OSError, ET.ParseError) as exc:
            raise DictionaryError(f"{p}: cannot read dictionary: {exc}") from exc
        return _Loader(root, p).build()

    @classmethod
    def from_string(cls, xml: str) -> DataDictionary:
        try:
            root = ET.fromstring(xml)
        except ET.ParseError as exc:
            raise DictionaryError(f"cannot parse dictionary: {exc}") from exc
        return _Loader(root, None).build()

    @classmethod
    def default(cls) -> DataDictionary:
        """The project's own FIX 4.4 dictionary (``fixengine/spec/FIX44.xml``), loaded once."""
        return _default()

    # -- queries --------------------------------------------------------------------------

    def field_by_name(self, name: str) -> FieldDef | None:
        return self._by_name.get(name)

    def is_admin(self, msg_type: str) -> bool:
        m = self.messages.get(msg_type)
        return bool(m and m.admin)

    def supports(self, msg_type: str) -> bool:
        return msg_type in self.messages

    # -- validation -----------------------------------------------------------------------

    def validate(
        self,
        msg: Any,
        raw: bytes | None = None,
        *,
        check_fields_out_of_order: bool = True,
        check_user_defined_fields: bool = True,
    ) -> Violation | None:
        """The first rule ``msg`` (a ``simplefix.FixMessage``) breaks, or ``None`` if it is valid.

        ``raw``, when given, must be the wire bytes ``msg`` was parsed from. It enables the shape
        cache: a message whose exact tag sequence was seen valid before is checked with one
        compiled regex over ``raw`` (see :meth:`_learn_shape`).
        """
        pairs: Sequence[tuple[bytes, bytes]] = msg.pairs
        if raw is not None and len(pairs) > 3:
            shapes = self._shapes.get(pairs[2][1])
            if shapes:
                for match in shapes:
                    if match(raw) is not None:
                        return None
        v = self.validate_pairs(
            pairs,
            check_fields_out_of_order=check_fields_out_of_order,
            check_user_defined_fields=check_user_defined_fields,
        )
        if (
            v is None
            and raw is not None
            and check_fields_out_of_order
            and check_user_defined_fields
        ):
            self._learn_shape(pairs, raw)
        return v

    def _learn_shape(self, pairs: Sequence[tuple[bytes, bytes]], raw: bytes) -> None:
        """Remember the tag sequence of a message found valid under the strictest settings.

        For a fixed tag sequence every structural rule (known tags, no repeats, required tags,
        order, group layout) has the same answer, so only the values remain to check: one regex,
        field by field, with each field's enum alternation or format pattern, NumInGroup values
        literal. A message valid under the strictest settings is valid under any. Up to
        ``SHAPES_PER_TYPE`` shapes per message type; shapes with raw data (which may hold SOH) or
        multi-valued enums are not cached.
        """
        msg_type = pairs[2][1]
        shapes = self._shapes.setdefault(msg_type, [])
        tries = self._shape_tries.get(msg_type, 0)
        if len(shapes) >= SHAPES_PER_TYPE or tries >= 4 * SHAPES_PER_TYPE:
            return  # bounded memory, and bounded compiling for shapes that cannot be cached
        self._shape_tries[msg_type] = tries + 1
        parts = []
        for i, (tag_b, value) in enumerate(pairs):
            tag = self._tag(tag_b)
            f = self.fields.get(tag) if tag is not None else None
            if f is None or f.type in ("DATA", "XMLDATA") or (f.multi and f.enums):
                return
            if i in (0, 1) or tag == 10:
                frag = rb"[^\x01]+"
            elif i == 2:
                frag = re.escape(value)  # MsgType: the shapes are kept per type
            elif f.type == "NUMINGROUP":
                frag = re.escape(value)
            elif f.enums is not None:
                frag = rb"(?:" + b"|".join(re.escape(e) for e in sorted(f.enums)) + rb")"
            else:
                frag = _FRAGMENTS.get(f.type, rb"[^\x01]+")
            parts.append(tag_b + b"=" + frag + b"\x01")
        pattern = re.compile(b"".join(parts))
        if pattern.fullmatch(raw) is not None:
            shapes.append(pattern.fullmatch)

    def validate_pairs(
        self,
        pairs: Sequence[tuple[bytes, bytes]],
        *,
        check_fields_out_of_order: bool = True,
        check_user_defined_fields: bool = True,
    ) -> Violation | None:
        n = len(pairs)
        if (
            n > 3
            and pairs[0][0] == b"8"
            and pairs[1][0] == b"9"
            and pairs[2][0] == b"35"
            and pairs[n - 1][0] == b"10"
        ):
            fast = self._fast.get(pairs[2][1])
            if fast is not None and _fast_ok(fast, pairs, n):
                return None
        return self._validate_walk(pairs, check_fields_out_of_order, check_user_defined_fields)

    def _validate_walk(
        self,
        pairs: Sequence[tuple[bytes, bytes]],
        check_fields_out_of_order: bool,
        check_user_defined_fields: bool,
    ) -> Violation | None:
        fields = self.fields
        n = len(pairs)
        # Structure: 8, 9, 35 first, 10 last. These are checked regardless of configuration.
        for pos, expected in enumerate((8, 9, 35)):
            if pos >= n or self._tag(pairs[pos][0]) != expected:
                return Violation(
                    SessionRejectReason.TAG_OUT_OF_REQUIRED_ORDER,
                    expected,
                    f"Tag specified out of required order: {_text_of(expected, fields)} must be field {pos + 1}",
                )
        if self._tag(pairs[n - 1][0]) != 10:
            return Violation(
                SessionRejectReason.TAG_OUT_OF_REQUIRED_ORDER,
                10,
                "Tag specified out of required order: 10 (CheckSum) must be the last field",
            )
        msg_type = pairs[2][1]
        mdef = self._messages_b.get(msg_type)
        if mdef is None:
            return self._unknown_msg_type(msg_type)

        body = mdef.body
        body_tags = body.tags
        body_groups = body.groups
        header_tags = self._header_tags
        trailer_tags = self._trailer_tags
        header_groups = self.header.groups
        seen: set[int] = {8, 9, 35}
        section = 0  # 0 header, 1 body, 2 trailer
        i = 3
        last = n - 1
        while i <= last:
            tag_b, value = pairs[i]
            tag = self._tag(tag_b)
            if tag is None:
                return Violation(
                    SessionRejectReason.INVALID_TAG_NUMBER,
                    _signed_int(tag_b),  # 0 and -1 are named too, as QuickFIX does (case 14a)
                    f"Invalid tag number: {tag_b[:20]!r}",
                )
            if not value:
                return Violation(
                    SessionRejectReason.TAG_SPECIFIED_WITHOUT_VALUE,
                    tag,
                    f"Tag specified without a value: {_text_of(tag, fields)}",
                )
            if tag in seen:
                return Violation(
                    SessionRejectReason.TAG_APPEARS_MORE_THAN_ONCE,
                    tag,
                    f"Tag appears more than once: {_text_of(tag, fields)}",
                )
            seen.add(tag)
            fdef = fields.get(tag)
            if fdef is None:
                if tag >= USER_DEFINED_TAG_MIN and not check_user_defined_fields:
                    i += 1
                    continue
                return Violation(
                    SessionRejectReason.INVALID_TAG_NUMBER, tag, f"Invalid tag number: {tag}"
                )
            if tag >= USER_DEFINED_TAG_MIN and not check_user_defined_fields:
                i += 1
                continue
            group: GroupDef | None = None
            if tag in header_tags:
                if section != 0 and check_fields_out_of_order:
                    return Violation(
                        SessionRejectReason.TAG_OUT_OF_REQUIRED_ORDER,
                        tag,
                        f"Tag specified out of required order: header field {_text_of(tag, fields)} after the body",
                    )
                group = header_groups.get(tag)
            elif tag in trailer_tags:
                if i != last and tag == 10:
                    return Violation(
                        SessionRejectReason.TAG_OUT_OF_REQUIRED_ORDER,
                        tag,
                        "Tag specified out of required order: 10 (CheckSum) must be the last field",
                    )
                section = 2
            else:
                if section == 2 and check_fields_out_of_order:
                    return Violation(
                        SessionRejectReason.TAG_OUT_OF_REQUIRED_ORDER,
                        tag,
                        f"Tag specified out of required order: body field {_text_of(tag, fields)} after the trailer",
                    )
                section = 1
                if tag not in body_tags:
                    return Violation(
                        SessionRejectReason.TAG_NOT_DEFINED_FOR_MESSAGE_TYPE,
                        tag,
                        f"Tag not defined for this message type: {_text_of(tag, fields)} in MsgType {mdef.msg_type}",
                    )
                group = body_groups.get(tag)
            bad = self._check_value(fdef, value)
            if bad is not None:
                return bad
            i += 1
            if group is not None:
                end_or_violation = self._walk_group(
                    pairs, i, last, group, int(value), check_user_defined_fields
                )
                if isinstance(end_or_violation, Violation):
                    return end_or_violation
                i = end_or_violation

        for scope in (self.header, body, self.trailer):
            for tag in scope.required:
                if tag not in seen:
                    return Violation(
                        SessionRejectReason.REQUIRED_TAG_MISSING,
                        tag,
                        f"Required tag missing: {_text_of(tag, fields)}",
                    )
        return None

    # -- helpers --------------------------------------------------------------------------

    def _tag(self, tag_b: bytes) -> int | None:
        tag = self._tag_cache.get(tag_b)
        if tag is not None:
            return tag
        if not tag_b.isdigit() or tag_b[:1] == b"0" or len(tag_b) > 9:
            return None
        return int(tag_b)

    def _unknown_msg_type(self, msg_type: bytes) -> Violation:
        if not msg_type:
            return Violation(
                SessionRejectReason.TAG_SPECIFIED_WITHOUT_VALUE,
                35,
                "Tag specified without a value: 35 (MsgType)",
            )
        shown = msg_type[:20].decode("ascii", "replace")
        if msg_type in self.valid_msg_types or msg_type[:1] == b"U":
            return Violation(
                SessionRejectReason.INVALID_MSG_TYPE,
                35,
                f"Unsupported Message Type: {shown}",
                business_reject=True,
            )
        # no RefTagID, as QuickFIX answers (tests/interop/test_dictionary_vs_quickfix.py)
        return Violation(SessionRejectReason.INVALID_MSG_TYPE, None, f"Invalid MsgType: {shown}")

    def _check_value(self, fdef: FieldDef, value: bytes) -> Violation | None:
        if not fdef.check(value):
            return Violation(
                SessionRejectReason.INCORRECT_DATA_FORMAT,
                fdef.number,
                f"Incorrect data format for value: {fdef.number} ({fdef.name}) is not a valid {fdef.type}",
            )
        enums = fdef.enums
        if enums is not None:
            if fdef.multi:
                ok = all(v in enums for v in value.split(b" ") if v)
            else:
                ok = value in enums
            if not ok:
                return Violation(
                    SessionRejectReason.VALUE_INCORRECT,
                    fdef.number,
                    f"Value is incorrect (out of range) for this tag: {fdef.number} ({fdef.name})",
                )
        return None

    def _walk_group(
        self,
        pairs: Sequence[tuple[bytes, bytes]],
        i: int,
        last: int,
        group: GroupDef,
        count: int,
        check_user_defined_fields: bool,
    ) -> int | Violation:
        """Consume the instances of ``group`` starting at ``pairs[i]``; return the next index."""
        fields = self.fields
        scope = group.scope
        members = scope.tags
        delimiter = group.delimiter
        instances = 0
        inst_seen: set[int] = set()
        while i < last:
            tag_b, value = pairs[i]
            tag = self._tag(tag_b)
            if tag is None or tag not in members:
                break
            if not value:
                return Violation(
                    SessionRejectReason.TAG_SPECIFIED_WITHOUT_VALUE,
                    tag,
                    f"Tag specified without a value: {_text_of(tag, fields)}",
                )
            if tag == delimiter:
                if instances:
                    missing = self._missing(scope, inst_seen)
                    if missing is not None:
                        return missing
                instances += 1
                inst_seen = {tag}
            elif not instances:
                return Violation(
                    SessionRejectReason.REPEATING_GROUP_FIELDS_OUT_OF_ORDER,
                    tag,
                    f"Repeating group fields out of order: {_text_of(tag, fields)} before the "
                    f"delimiter {_text_of(delimiter, fields)} of group {_text_of(group.count_tag, fields)}",
                )
            elif tag in inst_seen:
                return Violation(
                    SessionRejectReason.TAG_APPEARS_MORE_THAN_ONCE,
                    tag,
                    f"Tag appears more than once: {_text_of(tag, fields)} in one instance of group "
                    f"{_text_of(group.count_tag, fields)}",
                )
            else:
                inst_seen.add(tag)
            fdef = fields[tag]
            bad = self._check_value(fdef, value)
            if bad is not None:
                return bad
            i += 1
            nested = scope.groups.get(tag)
            if nested is not None:
                end = self._walk_group(
                    pairs, i, last, nested, int(value), check_user_defined_fields
                )
                if isinstance(end, Violation):
                    return end
                i = end
        if instances:
            missing = self._missing(scope, inst_seen)
            if missing is not None:
                return missing
        if instances != count:
            return Violation(
                SessionRejectReason.INCORRECT_NUM_IN_GROUP_COUNT,
                group.count_tag,
                f"Incorrect NumInGroup count for repeating group: {_text_of(group.count_tag, fields)} "
                f"says {count}, found {instances}",
            )
        return i

    def _missing(self, scope: Scope, seen: set[int]) -> Violation | None:
        for tag in scope.required:
            if tag not in seen:
                return Violation(
                    SessionRejectReason.REQUIRED_TAG_MISSING,
                    tag,
                    f"Required tag missing: {_text_of(tag, self.fields)} in a repeating group",
                )
        return None


def _signed_int(tag_b: bytes) -> int | None:
    """A tag that is a number but not a valid tag (``0``, ``-1``, ``007``) for RefTagID(371)."""
    digits = tag_b[1:] if tag_b[:1] == b"-" else tag_b
    return int(tag_b) if digits.isdigit() and len(digits) <= 9 else None


@dataclass(frozen=True)
class _FastTable:
    allowed: frozenset[bytes]  # every tag the message may carry outside repeating groups
    header: frozenset[bytes]  # header tags but 8, 9, 35
    not_last: frozenset[bytes]  # header and trailer tags (none may follow the body ... )
    trailer: frozenset[bytes]  # trailer tags but 10
    required: frozenset[bytes]
    checks: dict[bytes, Callable[[bytes], object]]  # tag -> truthy when the value is valid


def _never(_: bytes) -> bool:
    return False


def _fast_ok(t: _FastTable, pairs: Sequence[tuple[bytes, bytes]], n: int) -> bool:
    """True only if the message is certainly valid; False means "ask the precise walk".

    Set operations in C check known tags, repeats and required tags; then one short loop calls
    each value's check, itself C code: a compiled regex, an enum set's ``__contains__``,
    ``bytes.isdigit``, or ``bool`` for free text (``bool(b"")`` is False: tag without value).
    """
    tags = [p[0] for p in pairs]
    seen = set(tags)
    if len(seen) != n or not seen <= t.allowed or not t.required <= seen:
        return False
    if not t.trailer.isdisjoint(seen):
        return False  # trailer fields besides CheckSum: rare, let the walk place them
    # header fields (after 8, 9, 35) form one run; none may appear once the body started
    k = 3
    header = t.header
    while k < n and tags[k] in header:
        k += 1
    if not header.isdisjoint(tags[k:]):
        return False
    get = t.checks.get
    for tag_b, value in pairs:
        if not get(tag_b, bool)(value):
            return False
    return True


@cache
def _default() -> DataDictionary:
    return DataDictionary.load(DEFAULT_PATH)


# --- XML loading ----------------------------------------------------------------------------


class _Loader:
    """Turns the XML tree into flat tables; components are inlined where they are used."""

    def __init__(self, root: ET.Element, path: Path | None) -> None:
        self.root = root
        self.where = str(path) if path else "dictionary"
        self.path = path

    def error(self, text: str) -> DictionaryError:
        return DictionaryError(f"{self.where}: {text}")

    def build(self) -> DataDictionary:
        root = self.root
        if root.tag != "fix":
            raise self.error(f"root element is <{root.tag}>, expected <fix>")
        version = f"{root.get('type', 'FIX')}.{root.get('major', '?')}.{root.get('minor', '?')}"
        self.fields = self._fields(self._section("fields"))
        self.field_by_name = {f.name: f for f in self.fields.values()}
        self.components = {}
        comps = root.find("components")
        for c in comps if comps is not None else ():
            name = c.get("name")
            if c.tag != "component" or not name:
                raise self.error("every child of <components> must be <component name=...>")
            if name in self.components:
                raise self.error(f"component {name!r} defined twice")
            self.components[name] = c
        header = self._scope(self._section("header"), "header", (), required_ctx=True)
        trailer = self._scope(self._section("trailer"), "trailer", (), required_ctx=True)
        messages: dict[str, MessageDef] = {}
        for m in self._section("messages"):
            if m.tag != "message":
                raise self.error(f"unexpected <{m.tag}> in <messages>")
            msg_type, name = m.get("msgtype"), m.get("name")
            if not msg_type or not name:
                raise self.error("<message> needs name and msgtype attributes")
            if msg_type in messages:
                raise self.error(f"message type {msg_type!r} defined twice")
            body = self._scope(m, f"message {name}", (), required_ctx=True)
            messages[msg_type] = MessageDef(msg_type, name, m.get("msgcat") == "admin", body)
        return DataDictionary(
            version=version,
            fields=self.fields,
            header=header,
            trailer=trailer,
            messages=messages,
            path=self.path,
        )

    def _section(self, name: str) -> ET.Element:
        el = self.root.find(name)
        if el is None:
            raise self.error(f"missing <{name}> section")
        return el

    def _fields(self, section: ET.Element) -> dict[int, FieldDef]:
        out: dict[int, FieldDef] = {}
        names: set[str] = set()
        for f in section:
            if f.tag != "field":
                raise self.error(f"unexpected <{f.tag}> in <fields>")
            number_s, name, type_name = f.get("number"), f.get("name"), f.get("type")
            if not number_s or not name or not type_name:
                raise self.error("every <field> in <fields> needs number, name and type")
            try:
                number = int(number_s)
            except ValueError:
                raise self.error(f"field {name!r} has a non-numeric number {number_s!r}") from None
            if number <= 0:
                raise self.error(f"field {name!r} has a non-positive number {number}")
            if number in out:
                raise self.error(f"field number {number} defined twice")
            if name in names:
                raise self.error(f"field name {name!r} defined twice")
            names.add(name)
            type_name = type_name.upper()
            values = [v.get("enum") for v in f if v.tag == "value"]
            if any(v is None for v in values):
                raise self.error(f"a <value> of field {name!r} has no enum attribute")
            enums = frozenset(v.encode() for v in values if v is not None) or None
            out[number] = FieldDef(
                number=number,
                name=name,
                type=type_name,
                enums=enums,
                multi=type_name in _MULTI,
                check=_FORMATS.get(type_name, _any),
            )
        return out

    def _scope(
        self,
        el: ET.Element,
        where: str,
        stack: tuple[str, ...],
        *,
        required_ctx: bool,
        scope: Scope | None = None,
    ) -> Scope:
        """Flatten ``el``'s fields, groups and components into ``scope``.

        ``required_ctx`` is false inside an optional component: its required fields are then
        required only if the component is present, which (as QuickFIX does) is not enforced.
        """
        scope = scope if scope is not None else Scope()
        for child in el:
            kind, name = child.tag, child.get("name")
            if kind not in ("field", "group", "component"):
                continue
            if not name:
                raise self.error(f"<{kind}> without a name in {where}")
            required = child.get("required", "N").upper() == "Y"
            if kind == "component":
                comp = self.components.get(name)
                if comp is None:
                    raise self.error(f"{where} uses undefined component {name!r}")
                if name in stack:
                    raise self.error(f"component {name!r} includes itself")
                self._scope(
                    comp,
                    f"component {name}",
                    stack + (name,),
                    required_ctx=required_ctx and required,
                    scope=scope,
                )
                continue
            fdef = self.field_by_name.get(name)
            if fdef is None:
                raise self.error(f"{where} uses undefined field {name!r}")
            tag = fdef.number
            if tag in scope.tags:
                raise self.error(f"{where} lists field {name!r} twice")
            scope.tags.add(tag)
            scope.order.append(tag)
            if required and required_ctx:
                scope.required.append(tag)
            if kind == "group":
                if fdef.type != "NUMINGROUP" and fdef.type not in ("INT", "LENGTH"):
                    raise self.error(f"group {name!r} in {where} is not a NUMINGROUP field")
                inner = self._scope(child, f"group {name}", stack, required_ctx=True)
                if not inner.order:
                    raise self.error(f"group {name!r} in {where} has no fields")
                scope.groups[tag] = GroupDef(tag, inner.order[0], inner)
        return scope

    components: dict[str, ET.Element]
    fields: dict[int, FieldDef]
    field_by_name: dict[str, FieldDef]


def tags_of(dd: DataDictionary, names: Iterable[str]) -> list[int]:
    """Field numbers of ``names`` (for tests and tools that speak in field names)."""
    out = []
    for n in names:
        f = dd.field_by_name(n)
        if f is None:
            raise KeyError(n)
        out.append(f.number)
    return out
