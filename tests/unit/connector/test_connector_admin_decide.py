"""What each operator command asks of the session (``admin.decide``, pure)."""

from __future__ import annotations

from connector.admin import AdminAction, decide


def test_logout_logs_out_with_the_operator_text_and_stops() -> None:
    assert decide({"action": "logout", "text": "EOD"}) == AdminAction(
        "admin_logout", logout_text="EOD", stop=True
    )
    assert decide({"action": "logout"}).logout_text == "operator logout"


def test_reset_asks_for_reset_at_the_next_logon_then_logs_out_without_stopping() -> None:
    act = decide({"action": "reset"})
    assert act.reset and act.logout_text == "operator sequence reset" and not act.stop


def test_resend_asks_for_the_inclusive_range() -> None:
    assert decide({"action": "resend", "from": "120", "to": "135"}) == AdminAction(
        "admin_resend_range", replay=(120, 135)
    )


def test_resend_without_numbers_is_refused_and_touches_nothing() -> None:
    act = decide({"action": "resend", "from": "x", "to": "3"})
    assert act.step == "admin_refused" and act.result is not None
    assert act.result.startswith("refused: ")
    assert (act.replay, act.reset, act.logout_text, act.stop) == (None, False, None, False)


def test_unknown_action_is_refused_by_name() -> None:
    act = decide({"action": "explode"})
    assert (act.step, act.result) == ("admin_refused", "unknown action 'explode'")
    assert not act.stop and act.logout_text is None
