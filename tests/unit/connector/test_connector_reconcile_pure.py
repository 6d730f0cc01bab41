"""Which order records reconciliation asks the venue about (``reconcile.awaiting_answer``)."""

from __future__ import annotations

from connector.reconcile import ORDER_FIELDS, awaiting_answer


def _row(status: str | None, venue: str = "TSE", oid: str = "o1") -> list[bytes | None]:
    values = {"order_id": oid, "status": status, "venue": venue, "symbol": "7203",
              "side": "buy", "clordid": oid}  # fmt: skip
    return [None if values[k] is None else str(values[k]).encode() for k in ORDER_FIELDS]


def test_only_this_venues_orders_waiting_for_an_answer_are_asked_about() -> None:
    rows = [
        _row("pending_new", oid="a"),
        _row("pending_cancel", oid="b"),
        _row("pending_replace", oid="c"),
        _row("new", oid="d"),  # answered
        _row("filled", oid="e"),  # final
        _row("pending_new", venue="PTS", oid="f"),  # another session's venue
    ]
    assert [d["order_id"] for d in awaiting_answer(rows, "TSE")] == ["a", "b", "c"]


def test_a_record_that_is_gone_is_left_out() -> None:
    assert awaiting_answer([[None] * len(ORDER_FIELDS)], "TSE") == []


def test_the_record_comes_back_as_text_with_its_current_clordid() -> None:
    (d,) = awaiting_answer([_row("pending_cancel", oid="o9")], "TSE")
    assert d == {"order_id": "o9", "status": "pending_cancel", "venue": "TSE",
                 "symbol": "7203", "side": "buy", "clordid": "o9"}  # fmt: skip
