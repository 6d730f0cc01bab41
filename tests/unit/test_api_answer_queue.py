"""Answer order on one connection (``stateless_api.fastpath.AnswerQueue``): pure, no sockets."""

from __future__ import annotations

from stateless_api.fastpath import AnswerQueue, Slot


def _ready(data: bytes, close: bool = False) -> Slot:
    slot = Slot()
    slot.data, slot.close = data, close
    return slot


def test_answers_ready_out_of_order_leave_in_request_order_and_together() -> None:
    q = AnswerQueue()
    first, second, third = q.push(Slot()), q.push(Slot()), q.push(Slot())
    third.data = b"c"
    second.data = b"b"
    assert q.take() == ([], False, None)  # the first is not decided: nothing may leave
    first.data = b"a"
    assert q.take() == ([b"a", b"b", b"c"], False, None)
    assert len(q) == 0


def test_a_uvicorn_request_starts_only_after_the_answers_before_it_and_holds_those_after() -> None:
    q = AnswerQueue()
    q.push(_ready(b"a"))
    job = q.push(Slot(job="cycle"))
    q.push(_ready(b"c"))
    assert q.waiting_job()
    assert q.take() == ([b"a"], False, "cycle")  # write a, then start the cycle
    assert not q.waiting_job()
    assert q.take() == ([], False, None)  # c waits while the cycle answers
    assert job.running
    q.job_done()
    assert q.take() == ([b"c"], False, None)


def test_nothing_after_a_closing_answer_is_sent() -> None:
    q = AnswerQueue()
    q.push(_ready(b"a", close=True))
    q.push(_ready(b"b"))
    assert q.take() == ([b"a"], True, None)
    assert len(q) == 0


def test_job_done_without_a_running_job_changes_nothing() -> None:
    q = AnswerQueue()
    waiting = q.push(Slot())
    q.job_done()
    assert q.is_head(waiting)
