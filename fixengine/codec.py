"""Encoding FIX messages: simplefix for the general case, precompiled templates for hot ones.

simplefix builds its output by repeated concatenation (fine, but ~55k msgs/s here); the session
hot path instead joins header and body bytes once and computes CheckSum in C
(:func:`fixengine.framing.checksum`). :class:`Template` precompiles the fixed part of a hot
message (NewOrderSingle, ExecutionReport) so filling it is one ``bytes %`` operation; tests verify
every template byte for byte against ``simplefix.FixMessage.encode()``.
"""

from __future__ import annotations

import time
from collections.abc import Iterable, Sequence
from decimal import Decimal

import simplefix

from fixengine.framing import checksum

SOH = b"\x01"
BEGIN_STRING = b"FIX.4.4"

# Header tags the session writes itself, in this order, after BeginString/BodyLength.
SESSION_HEADER_TAGS = frozenset({b"8", b"9", b"35", b"49", b"56", b"34", b"52", b"10"})


def to_bytes(value: object) -> bytes:
    """A FIX value as bytes: bytes as is, str UTF-8, bool as Y/N, numbers/Decimal via ``str``."""
    if type(value) is bytes:
        return value
    if type(value) is str:
        return value.encode()
    if isinstance(value, bool):
        return b"Y" if value else b"N"
    if isinstance(value, float):
        raise TypeError("float values are not allowed on the wire: use Decimal or str")
    if isinstance(value, int | Decimal):
        return str(value).encode()
    if isinstance(value, bytes | bytearray | memoryview):
        return bytes(value)
    return str(value).encode()


def frame(body: bytes, begin_string: bytes = BEGIN_STRING) -> bytes:
    """Wrap ``body`` (``35=...<SOH>`` up to, not including, CheckSum) with 8, 9 and 10."""
    head = b"8=" + begin_string + b"\x019=" + str(len(body)).encode() + SOH
    msg = head + body
    return msg + b"10=%03d\x01" % checksum(msg)


def encode_pairs(
    pairs: Iterable[tuple[bytes, bytes]], skip: frozenset[bytes] = frozenset()
) -> bytes:
    """``tag=value<SOH>`` for each pair, leaving out tags in ``skip``."""
    return b"".join([t + b"=" + v + SOH for t, v in pairs if t not in skip])


def encode(msg: simplefix.FixMessage) -> bytes:
    """simplefix's own encoding (the reference the fast paths are checked against)."""
    return bytes(msg.encode())


_TIME_CACHE: list[object] = [-1, b""]


def sending_time(now: float) -> bytes:
    """UTCTimestamp with milliseconds (``YYYYMMDD-HH:MM:SS.sss``) for epoch seconds ``now``.

    The second-resolution prefix is cached: formatting a datetime costs more than the rest of
    the header.
    """
    sec = int(now)
    if _TIME_CACHE[0] != sec:
        _TIME_CACHE[0] = sec
        _TIME_CACHE[1] = time.strftime("%Y%m%d-%H:%M:%S", time.gmtime(sec)).encode()
    ms = int((now - sec) * 1000)
    return _TIME_CACHE[1] + b".%03d" % ms  # type: ignore[operator]


def parse_utc_timestamp(value: bytes) -> float | None:
    """Epoch seconds of a FIX UTCTimestamp (``YYYYMMDD-HH:MM:SS[.s...]``); ``None`` if malformed."""
    import calendar

    if len(value) < 17 or value[8:9] != b"-" or value[11:12] != b":" or value[14:15] != b":":
        return None
    try:
        digits = value[:8] + value[9:11] + value[12:14] + value[15:17]
        if not digits.isdigit():
            return None
        y, mo, d = int(value[0:4]), int(value[4:6]), int(value[6:8])
        h, mi, s = int(value[9:11]), int(value[12:14]), int(value[15:17])
        if not (1 <= mo <= 12 and 1 <= d <= 31 and h <= 23 and mi <= 59 and s <= 60):
            return None
        frac = 0.0
        if len(value) > 17:
            if value[17:18] != b"." or not value[18:].isdigit() or len(value) > 27:
                return None
            frac = int(value[18:]) / (10 ** (len(value) - 18))
        return calendar.timegm((y, mo, d, h, mi, s, 0, 0, 0)) + frac
    except (ValueError, OverflowError):
        return None


class Template:
    """A precompiled message: fixed tags, values filled in order.

    ``body(*values)`` gives the application part (``11=..<SOH>55=..<SOH>...``) for
    ``Session.send_body``; ``encode(sender, target, seq, now, *values)`` the whole message with
    the standard header (35, 49, 56, 34, 52), identical to simplefix's output for the same fields.
    """

    __slots__ = ("msg_type", "tags", "_fmt", "_n", "begin_string")

    def __init__(
        self, msg_type: str | bytes, tags: Sequence[int], begin_string: bytes = BEGIN_STRING
    ) -> None:
        self.msg_type = to_bytes(msg_type)
        self.tags = tuple(tags)
        self._fmt = b"".join(b"%d=%%b\x01" % t for t in self.tags)
        self._n = len(self.tags)
        self.begin_string = begin_string

    def body(self, *values: object) -> bytes:
        if len(values) != self._n:
            raise ValueError(
                f"template {self.msg_type!r} takes {self._n} values, got {len(values)}"
            )
        try:
            return self._fmt % values  # all bytes already: the hot path
        except TypeError:
            return self._fmt % tuple([to_bytes(v) for v in values])

    def encode(
        self, sender: str | bytes, target: str | bytes, seq: int, now: float, *values: object
    ) -> bytes:
        head = b"35=%b\x0149=%b\x0156=%b\x0134=%d\x0152=%b\x01" % (
            self.msg_type,
            to_bytes(sender),
            to_bytes(target),
            seq,
            sending_time(now),
        )
        return frame(head + self.body(*values), self.begin_string)


# Hot messages of the project (order entry and its reports).
NEW_ORDER_SINGLE = Template("D", (11, 1, 55, 207, 54, 60, 38, 40, 44, 59))
EXECUTION_REPORT = Template("8", (37, 11, 17, 150, 39, 55, 54, 38, 44, 32, 31, 151, 14, 6, 60))
