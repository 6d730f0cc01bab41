"""The status hash the connector publishes (``status.status_fields``, pure)."""

from __future__ import annotations

from connector.status import Stats, status_fields


def test_counters_and_outcomes_are_published_as_text() -> None:
    stats = Stats(sent=3, applied=2)
    stats.outcomes["applied"] = 2
    stats.outcomes["wrong_account"] = 1
    f = status_fields("leader", "h:1:ab", 7, stats, None, "2026-11-27T00:00:00Z")
    assert f["role"] == "leader" and f["holder"] == "h:1:ab" and f["token"] == "7"
    assert (f["sent"], f["applied"], f["outcome_applied"], f["outcome_wrong_account"]) == (
        "3", "2", "2", "1",
    )  # fmt: skip
    assert "outcomes" not in f
    assert all(isinstance(v, str) for v in f.values())


def test_without_a_session_no_session_state_is_claimed() -> None:
    f = status_fields("standby", "h", 0, Stats(), None, "t")
    assert not {"state", "next_out", "next_in", "last_disconnect"} & set(f)


def test_in_a_term_the_sessions_state_and_next_numbers_are_published() -> None:
    from connector.config import ConnectorConfig
    from fixengine import Application, FixSession, MemoryStore

    session = FixSession(
        ConnectorConfig(hours="always").session_settings(), store=MemoryStore(), app=Application()
    )  # never connected: no socket
    f = status_fields("leader", "h", 1, Stats(), session, "t")
    assert (f["state"], f["next_out"], f["next_in"], f["last_disconnect"]) == (
        session.state.value, "1", "1", "",
    )  # fmt: skip
