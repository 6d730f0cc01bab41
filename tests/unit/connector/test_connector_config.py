"""Connector settings: flags alone (development defaults), the [connector] table, passwords by
reference, session hours."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from connector import config
from connector.config import ConnectorConfig
from fixengine import SessionSchedule
from gateway.config import ConfigError


def test_starts_from_flags_alone_with_development_defaults() -> None:
    cfg = config.load(None, {"connect": "10.0.0.5:9878", "hours": "always", "venue": None})
    assert (cfg.host, cfg.port, cfg.venue) == ("10.0.0.5", 9878, "TSE")
    assert cfg.session_id == "FIX.4.4:ORDERGATE->TSE"
    assert cfg.throttle_rate is None  # no throttle unless configured
    s = cfg.session_settings()
    assert s.StartTime in ("", None) and s.SocketConnectPort == 9878


def test_venue_hours_are_the_venue_window_in_tokyo_on_business_days() -> None:
    s = ConnectorConfig(hours="venue").session_settings()
    assert (s.StartTime, s.EndTime, s.TimeZone) == ("08:00:00", "15:30:00", "Asia/Tokyo")
    assert list(s.Weekdays) == ["Mon", "Tue", "Wed", "Thu", "Fri"]


def test_explicit_hours_window() -> None:
    s = ConnectorConfig(hours="08:30-15:45").session_settings()
    assert (s.StartTime, s.EndTime) == ("08:30:00", "15:45:00")


@pytest.mark.parametrize("hours", ["sometimes", "25:00-26:00", "8-9"])
def test_bad_hours_are_refused(hours: str) -> None:
    with pytest.raises(ConfigError, match="connector.hours"):
        ConnectorConfig(hours=hours).session_settings()


def test_password_is_given_by_reference_only(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv("OG_TEST_FIX_PW", "s3cret")
    assert config.resolve_secret("env:OG_TEST_FIX_PW") == "s3cret"
    f = tmp_path / "pw"
    f.write_text("from-file\n")
    assert config.resolve_secret(f"file:{f}") == "from-file"
    with pytest.raises(ConfigError, match="reference"):
        config.resolve_secret("plain-text-password")
    with pytest.raises(ConfigError, match="not set"):
        config.resolve_secret("env:OG_TEST_NOT_SET_ANYWHERE")


def test_config_file_connector_table(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OG_TEST_FIX_PW", "pw")
    path = tmp_path / "og.toml"
    path.write_text(
        'partitions = 8\n[redis]\nurl = "redis://r:6379/0"\n[connector]\n'
        'connect = "fix.example:9000"\nthrottle_rate = 200\npassword = "env:OG_TEST_FIX_PW"\n'
        'username = "u1"\nhours = "always"\n'
    )
    cfg = config.load(str(path), {})
    assert (cfg.partitions, cfg.redis_url, cfg.host, cfg.port) == (
        8,
        "redis://r:6379/0",
        "fix.example",
        9000,
    )
    assert cfg.throttle_rate == 200.0 and cfg.password == "pw"
    s = cfg.session_settings()
    assert (s.Username, s.Password) == ("u1", "pw")


@pytest.mark.parametrize(
    ("table", "where"),
    [
        ({"nope": 1}, "connector.nope"),
        ({"batch": 0}, "connector.batch"),
        ({"throttle_rate": "fast"}, "connector.throttle_rate"),
        ({"connect": "x"}, "HOST:PORT"),
    ],
)
def test_bad_settings_name_the_setting(table: dict[str, object], where: str) -> None:
    with pytest.raises(ConfigError, match=where):
        config.from_table(ConnectorConfig(), table)


def test_venue_hours_skip_the_venues_holidays() -> None:
    s = ConnectorConfig(hours="venue").session_settings()
    assert "2027-01-11" in s.Holidays  # Coming of Age Day, from gateway/data/venues.json
    assert "2026-12-31" in s.Holidays  # the year-end closure
    at = datetime(2027, 1, 11, 9, tzinfo=ZoneInfo("Asia/Tokyo")).timestamp()
    assert not SessionSchedule.from_settings(s).in_session(at)
    assert SessionSchedule.from_settings(s).in_session(at + 86_400)
