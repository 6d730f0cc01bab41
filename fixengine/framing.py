"""Split a TCP byte stream into complete, verified FIX messages.

A message is ``8=...|9=<len>|...|10=<sum>|``. BodyLength and CheckSum are checked here, so the
parser and the session only ever see well-framed bytes. Garbled input (no BeginString, bad
BodyLength, bad CheckSum) is dropped, counted and reported to ``on_garbled``; it never raises,
as the FIX session spec asks ("ignore garbled messages, do not increment the sequence number").
"""

from __future__ import annotations

import zlib
from collections import Counter
from collections.abc import Callable

SOH = 0x01
_BEGIN = b"8=FIX"
# Longest BodyLength value we accept before deciding the length field itself is garbage.
_MAX_LEN_DIGITS = 9


def checksum(data: bytes | bytearray | memoryview) -> int:
    """FIX CheckSum: the byte sum mod 256, computed in C via Adler-32's running sum.

    Adler-32's low half is ``1 + sum(bytes) mod 65521``; over at most 257 bytes the sum cannot
    reach 65521, so each 256-byte chunk yields its exact byte sum.
    """
    mv = memoryview(data)
    n = len(mv)
    if n <= 256:
        return ((zlib.adler32(mv) & 0xFFFF) - 1) & 0xFF
    total = 0
    for i in range(0, n, 256):
        total += (zlib.adler32(mv[i : i + 256]) & 0xFFFF) - 1
    return total & 0xFF


GarbledHook = Callable[[str, bytes], None]


class FrameSplitter:
    """Feed bytes, get complete raw messages (each ending with ``10=nnn<SOH>``)."""

    __slots__ = ("_buf", "garbled", "reasons", "max_message_size", "on_garbled")

    def __init__(
        self, max_message_size: int = 1 << 20, on_garbled: GarbledHook | None = None
    ) -> None:
        self._buf = b""
        self.garbled = 0
        self.reasons: Counter[str] = Counter()
        self.max_message_size = max_message_size
        self.on_garbled = on_garbled

    @property
    def buffered(self) -> int:
        """Bytes held waiting for the rest of a message."""
        return len(self._buf)

    def reset(self) -> None:
        self._buf = b""

    def _drop(self, reason: str, data: bytes) -> None:
        self.garbled += 1
        self.reasons[reason] += 1
        if self.on_garbled is not None:
            try:
                self.on_garbled(reason, data)
            except Exception:  # a logging hook must never stop the stream
                pass

    def feed(self, data: bytes) -> list[bytes]:
        buf = self._buf + data if self._buf else bytes(data)
        n = len(buf)
        pos = 0
        out: list[bytes] = []
        find = buf.find
        mv = memoryview(buf)
        adler32 = zlib.adler32
        while pos < n:
            if not buf.startswith(_BEGIN, pos):
                nxt = find(_BEGIN, pos + 1)
                if nxt < 0:
                    # keep a tail that may be the start of "8=FIX"
                    keep = n
                    for k in range(min(len(_BEGIN) - 1, n - pos), 0, -1):
                        if buf.endswith(_BEGIN[:k]):
                            keep = n - k
                            break
                    if keep > pos:
                        self._drop("no BeginString", buf[pos:keep])
                    pos = keep
                    break
                self._drop("no BeginString", buf[pos:nxt])
                pos = nxt
                continue
            soh1 = find(b"\x01", pos)
            if soh1 < 0:
                if n - pos > 64:
                    pos = self._skip("bad BeginString", buf, pos)
                    continue
                break
            if n - soh1 < 3:
                break
            if buf[soh1 + 1 : soh1 + 3] != b"9=":
                pos = self._skip("no BodyLength", buf, pos)
                continue
            soh2 = find(b"\x01", soh1 + 3, soh1 + 4 + _MAX_LEN_DIGITS)
            if soh2 < 0:
                if n - soh1 > 3 + _MAX_LEN_DIGITS:
                    pos = self._skip("bad BodyLength", buf, pos)
                    continue
                break
            length_field = buf[soh1 + 3 : soh2]
            if not length_field.isdigit():
                pos = self._skip("bad BodyLength", buf, pos)
                continue
            body_end = soh2 + 1 + int(length_field)
            end = body_end + 7
            if end - pos > self.max_message_size:
                pos = self._skip("message too large", buf, pos)
                continue
            if end > n:
                break
            if buf[body_end : body_end + 3] != b"10=" or buf[end - 1] != SOH:
                pos = self._skip("bad BodyLength", buf, pos)
                continue
            sum_field = buf[body_end + 3 : end - 1]
            if body_end - pos <= 256:  # one Adler-32 run is exact (see checksum())
                total = ((adler32(mv[pos:body_end]) & 0xFFFF) - 1) & 0xFF
            else:
                total = checksum(mv[pos:body_end])
            if not sum_field.isdigit() or int(sum_field) != total:
                self._drop("bad CheckSum", buf[pos:end])
                pos = end
                continue
            out.append(buf[pos:end])
            pos = end
        self._buf = buf[pos:] if pos < n else b""
        return out

    def _skip(self, reason: str, buf: bytes, pos: int) -> int:
        """Drop from ``pos`` up to the next BeginString (or everything buffered)."""
        nxt = buf.find(_BEGIN, pos + 1)
        end = nxt if nxt >= 0 else len(buf)
        self._drop(reason, buf[pos:end])
        return end
