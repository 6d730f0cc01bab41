"""Order ids that carry their partition, so any process finds the record from the id alone.

Layout (20 characters of ``0-9A-Z``, valid as a FIX ClOrdID)::

    TTTTTTTTT PP NNNN SSSSS
    |         |  |    +-- per-process sequence (base 36, 5 chars)
    |         |  +------- per-process random node id (base 36, 4 chars)
    |         +---------- partition (base 36, 2 chars: up to 1296 partitions)
    +-------------------- milliseconds since the Unix epoch (base 36, 9 chars: until year 5138)

Digits sort before upper-case letters in ASCII, so ids sort by time as strings. Within one
process the (time, sequence) pair never repeats; across processes the node id separates them
(and the submit script refuses an id that already exists, so a collision costs a retry, never
an overwrite).
"""

from __future__ import annotations

import os
import re
import threading
import time

ALPHABET = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ"
ID_LENGTH = 20
MAX_PARTITIONS = 36**2
_ID_RE = re.compile(r"^[0-9A-Z]{20}$")
_SEQ_SPACE = 36**5


_PAIRS = [a + b for a in ALPHABET for b in ALPHABET]  # 0..1295 as two base-36 digits
_ALPHABET = tuple(ALPHABET)


def _b36(n: int, width: int) -> str:
    """``n`` in base 36, ``width`` digits (two digits per table lookup: this is on every submit)."""
    if n < 0 or n >= 36**width:
        raise ValueError("value does not fit")
    out = ""
    while n:
        n, r = divmod(n, 1296)
        out = _PAIRS[r] + out
    return out.rjust(width, "0")[-width:]


class _Generator:
    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._reseed()
        # a forked child must not reuse the parent's node id: reseed in the child at the fork
        # (checking os.getpid() per id was a system call per order)
        os.register_at_fork(after_in_child=self._after_fork)

    def _after_fork(self) -> None:
        self._lock = threading.Lock()  # a lock some parent thread held stays held in the child
        self._reseed()

    def _reseed(self) -> None:
        self.node = _b36(int.from_bytes(os.urandom(4), "big") % 36**4, 4)
        self.last_ms = 0
        self.ms_text = _b36(0, 9)
        self.seq = int.from_bytes(os.urandom(2), "big")  # random start: less to collide on

    def next(self, p: int) -> str:
        if not 0 <= p < MAX_PARTITIONS:
            raise ValueError(f"partition {p} outside 0..{MAX_PARTITIONS - 1}")
        with self._lock:
            now = time.time_ns() // 1_000_000
            if now > self.last_ms:
                self.last_ms = now
                self.ms_text = _b36(now, 9)  # encoded once per millisecond, not per id
            self.seq += 1
            if self.seq >= _SEQ_SPACE:  # sequence wrapped within one ms: borrow the next ms
                self.seq = 0
                self.last_ms += 1
                self.ms_text = _b36(self.last_ms, 9)
            seq = self.seq
            return (
                self.ms_text
                + _PAIRS[p]
                + self.node
                + _ALPHABET[seq // 1_679_616]  # 36**4
                + _PAIRS[seq // 1296 % 1296]
                + _PAIRS[seq % 1296]
            )


_GEN = _Generator()


def new_order_id(p: int) -> str:
    """A fresh, time-ordered order id for partition ``p``."""
    return _GEN.next(p)


def time_prefix(ms: int) -> str:
    """The first 9 characters of every order id created at ``ms`` (Unix milliseconds): the
    lexical bound that turns a time range into a ``ZRANGE BYLEX`` range over order ids."""
    return _b36(min(max(ms, 0), 36**9 - 1), 9)


def partition_of_order_id(order_id: str) -> int:
    """The partition embedded in ``order_id``; ``ValueError`` if it is not one of ours."""
    if not isinstance(order_id, str) or not _ID_RE.match(order_id):
        raise ValueError("not an order id")
    return int(order_id[9:11], 36)


def is_order_id(text: str) -> bool:
    return isinstance(text, str) and bool(_ID_RE.match(text))


def base_order_id(cl_ord_id: str) -> str:
    """The order id a ClOrdID was derived from (an order id, or an order id plus a suffix the
    connector appended for a cancel / replace); ``ValueError`` if it carries none."""
    if isinstance(cl_ord_id, str) and len(cl_ord_id) >= ID_LENGTH:
        head = cl_ord_id[:ID_LENGTH]
        if _ID_RE.match(head):
            return head
    raise ValueError("not derived from an order id")
