"""Fast FIX parser: one framed message in, the same ``simplefix.FixMessage`` simplefix yields.

simplefix's own parser re-slices its buffer for every field (quadratic on a full socket buffer);
this one splits a message already framed and verified by :mod:`fixengine.framing` with a
``replace`` and one ``split`` in C. Length-prefixed data fields (RawData 95/96 and friends, which may
contain SOH) take a careful slow path. It never raises: malformed input gives ``None``.
"""

from __future__ import annotations

import simplefix
from simplefix.data import RAW_DATA_TAGS, RAW_LEN_TAGS

_RAW_LEN_TAGS_B = frozenset(str(t).encode() for t in RAW_LEN_TAGS)
_RAW_PAIRS = {
    str(ln).encode(): str(dt).encode() for ln, dt in zip(RAW_LEN_TAGS, RAW_DATA_TAGS, strict=True)
}

_fix_tag = simplefix.message.fix_tag
_TAG_CACHE: dict[object, bytes] = {}


class ParsedFixMessage(simplefix.FixMessage):  # type: ignore[misc]
    """A ``simplefix.FixMessage`` (same pairs, same behaviour) whose ``get`` skips simplefix's
    per-call tag conversion: application code calls ``get`` several times per message."""

    def get(self, tag: object, nth: int = 1) -> bytes | None:
        t = _TAG_CACHE.get(tag)
        if t is None:
            t = _fix_tag(tag)
            if len(_TAG_CACHE) < 4096 and type(tag) in (int, str, bytes):
                _TAG_CACHE[tag] = t
        if nth != 1:
            return super().get(t, nth)  # type: ignore[no-any-return]
        for k, v in self.pairs:
            if k == t:
                return v  # type: ignore[no-any-return]
        return None


_new = simplefix.FixMessage.__new__
_FixMessage = ParsedFixMessage


def _make(pairs: list[tuple[bytes, bytes]]) -> simplefix.FixMessage | None:
    # BeginString, BodyLength, MsgType must be the first three fields: anything else is garbled
    # (FIX 4.4 Vol. 2 test case 2t: ignored, no Reject, MsgSeqNum not consumed)
    if len(pairs) < 3 or pairs[0][0] != b"8" or pairs[1][0] != b"9" or pairs[2][0] != b"35":
        return None
    m = _new(_FixMessage)
    m.begin_string = pairs[0][1]
    m.message_type = pairs[2][1]
    m.pairs = pairs
    m.header_index = 0
    return m


def parse(raw: bytes) -> simplefix.FixMessage | None:
    """Parse one complete message (``8=...`` through ``10=nnn<SOH>``); ``None`` if malformed,
    including a message whose first three fields are not 8, 9, 35 in that order.

    Tags stay as the bytes on the wire (``b"35"``) exactly like simplefix's parser. Fast path:
    when every field holds exactly one ``=`` and no length-prefixed data field is present, one
    ``replace`` + ``split`` in C gives tags and values alternately. Anything else (a ``=`` inside
    a value, RawData and friends, a field without ``=``) takes the careful field-by-field path.
    """
    parts = raw.replace(b"=", b"\x01").split(b"\x01")
    if len(parts) == 2 * raw.count(b"\x01") + 1 and not parts[-1]:
        parts.pop()
        if _RAW_LEN_TAGS_B.isdisjoint(parts[0::2]):
            it = iter(parts)
            return _make(list(zip(it, it, strict=False)))
    return _parse_careful(raw)


def _parse_careful(raw: bytes) -> simplefix.FixMessage | None:
    """Field by field, honouring length-prefixed data fields."""
    pairs: list[tuple[bytes, bytes]] = []
    pos = 0
    n = len(raw)
    data_len: tuple[bytes, int] | None = None
    while pos < n:
        eq = raw.find(b"=", pos)
        if eq < 0:
            return None
        tag = raw[pos:eq]
        if b"\x01" in tag:
            return None
        if data_len is not None and tag == data_len[0]:
            end = eq + 1 + data_len[1]
            if end >= n or raw[end] != 1:
                return None
            data_len = None
        else:
            end = raw.find(b"\x01", eq + 1)
            if end < 0:
                return None
        value = raw[eq + 1 : end]
        pairs.append((tag, value))
        data_tag = _RAW_PAIRS.get(tag)
        if data_tag is not None and value.isdigit():
            data_len = (data_tag, int(value))
        pos = end + 1
    return _make(pairs)


class StreamParser:
    """Framing plus parsing, for tests and tools that hold a byte stream."""

    def __init__(self) -> None:
        from fixengine.framing import FrameSplitter

        self.splitter = FrameSplitter()
        self.malformed = 0

    def feed(self, data: bytes) -> list[simplefix.FixMessage]:
        out = []
        for raw in self.splitter.feed(data):
            msg = parse(raw)
            if msg is None:
                self.malformed += 1
            else:
                out.append(msg)
        return out
