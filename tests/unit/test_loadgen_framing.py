"""Cutting pipelined HTTP/1.1 answers off a buffer (``simulators.loadgen.framing``)."""

from __future__ import annotations

from simulators.loadgen.framing import next_answer

A = b'HTTP/1.1 202 Accepted\r\ncontent-type: application/json\r\ncontent-length: 13\r\n\r\n{"order":"x"}'
B = b"HTTP/1.1 409 Conflict\r\nContent-Length: 2\r\nX-A: b\r\n\r\n{}"
C = b"HTTP/1.1 204 No Content\r\ndate: now\r\n\r\n"


def test_pipelined_answers_come_off_in_order_with_their_bodies() -> None:
    buf = bytearray(A + B + C)
    got = []
    pos = 0
    while (answer := next_answer(buf, pos)) is not None:
        status, body, pos = answer
        got.append((status, bytes(buf[body:pos])))
    assert got == [(202, b'{"order":"x"}'), (409, b"{}"), (204, b"")]
    assert pos == len(buf)


def test_an_answer_not_all_in_yet_is_none_at_every_cut() -> None:
    for cut in range(len(A)):
        assert next_answer(A[:cut], 0) is None, cut
    assert next_answer(A, 0) == (202, A.index(b"{"), len(A))
