"""HTTP/1.1 answers cut off a pipelined connection's buffer (pure: no I/O here).

Shared by the load test's driver and the API benchmark's generator: both pipeline requests and
read the answers back in order. Answers must carry ``Content-Length`` (the API's always do);
an answer without one has an empty body.
"""

from __future__ import annotations


def next_answer(buf: bytes | bytearray, pos: int) -> tuple[int, int, int] | None:
    """The answer starting at ``pos``: ``(status, body start, end)``, or None while it is not
    all in yet."""
    end = buf.find(b"\r\n\r\n", pos)
    if end < 0:
        return None
    head = bytes(buf[pos:end]).lower()
    i = head.find(b"\r\ncontent-length:")
    length = 0
    if i >= 0:
        eol = head.find(b"\r\n", i + 2)
        length = int(head[i + 17 : eol if eol >= 0 else len(head)])
    total = end + 4 + length
    if len(buf) < total:
        return None
    return int(buf[pos + 9 : pos + 12]), end + 4, total
