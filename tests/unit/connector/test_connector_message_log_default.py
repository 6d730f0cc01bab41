"""The connector logs every FIX message to a file unless told not to."""

from pathlib import Path

import pytest

from connector.config import ConnectorConfig, default_message_log_dir


def test_message_log_is_on_by_default_under_the_xdg_state_dir(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("XDG_STATE_HOME", str(tmp_path))
    settings = ConnectorConfig().session_settings()
    assert settings.FileLogPath == str(tmp_path / "ordergate" / "fix")
    assert default_message_log_dir() == settings.FileLogPath


@pytest.mark.parametrize("off", ["off", "none", "OFF"])
def test_message_log_off_disables_it(off: str) -> None:
    assert ConnectorConfig(message_log=off).session_settings().FileLogPath is None


def test_a_configured_directory_is_used() -> None:
    assert (
        ConnectorConfig(message_log="/var/log/og").session_settings().FileLogPath == "/var/log/og"
    )
