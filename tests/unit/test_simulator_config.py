"""The simulator's TOML config file: sessions, QuickFIX-named settings, behaviour, errors."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

import pytest

from simulators.exchange.config import ConfigError, load_config, parse_config

EXAMPLE = """
[simulator]
venue = "PTS"
port = 9880
control_port = 9881
phase = "continuous"

[defaults]
HeartBtInt = 5
ResetOnLogon = "Y"

[[session]]
SenderCompID = "PTS"
TargetCompID = "OG1"
Password = "s3cret"
cancel_on_disconnect = true
max_order_value = "50000000"

[[session]]
SenderCompID = "PTS"
TargetCompID = "OG2"
HeartBtInt = 30
self_trade_prevention = true
symbols = ["7203"]
"""


def test_example_file_loads(tmp_path: Path) -> None:
    path = tmp_path / "sim.toml"
    path.write_text(EXAMPLE)
    cfg = load_config(path)
    assert (cfg.venue, cfg.port, cfg.control_port, cfg.phase) == ("PTS", 9880, 9881, "continuous")
    one, two = cfg.sessions
    assert one.name == "FIX.4.4:PTS->OG1"
    assert one.password == "s3cret" and "Password" not in one.settings
    assert one.cancel_on_disconnect and not one.self_trade_prevention
    assert one.max_order_value == Decimal("50000000")
    assert one.settings == {"HeartBtInt": 5, "ResetOnLogon": "Y"}


def test_session_setting_overrides_the_default() -> None:
    cfg = parse_config(
        {
            "defaults": {"HeartBtInt": 5},
            "session": [{"SenderCompID": "A", "TargetCompID": "B", "HeartBtInt": 30}],
        }
    )
    assert cfg.sessions[0].settings["HeartBtInt"] == 30


def test_hard_limits_are_off_unless_configured() -> None:
    cfg = parse_config({"session": [{"SenderCompID": "A", "TargetCompID": "B"}]})
    s = cfg.sessions[0]
    assert s.max_order_value is None and s.max_value_per_second is None
    assert not s.cancel_on_disconnect and not s.self_trade_prevention


def test_missing_comp_id_is_an_error_naming_the_session() -> None:
    with pytest.raises(ConfigError, match=r"\[\[session\]\] #1: TargetCompID is required"):
        parse_config({"session": [{"SenderCompID": "A"}]})


def test_unknown_lower_case_key_is_an_error() -> None:
    with pytest.raises(ConfigError, match="unknown key 'cancel_on_disconect'"):
        parse_config(
            {"session": [{"SenderCompID": "A", "TargetCompID": "B", "cancel_on_disconect": True}]}
        )


def test_unknown_simulator_key_is_an_error() -> None:
    with pytest.raises(ConfigError, match="unknown key 'prot'"):
        parse_config({"simulator": {"prot": 1}})


def test_unknown_table_is_an_error() -> None:
    with pytest.raises(ConfigError, match="unknown table 'sessions'"):
        parse_config({"sessions": []})


def test_float_money_is_refused() -> None:
    with pytest.raises(ConfigError, match="no floats"):
        parse_config(
            {"session": [{"SenderCompID": "A", "TargetCompID": "B", "max_order_value": 1.5}]}
        )


def test_wrong_type_is_an_error() -> None:
    with pytest.raises(ConfigError, match="port must be int"):
        parse_config({"simulator": {"port": "9878"}})


def test_bool_is_not_taken_for_a_port() -> None:
    with pytest.raises(ConfigError, match="port must be int"):
        parse_config({"simulator": {"port": True}})


def test_same_session_twice_is_an_error() -> None:
    s = {"SenderCompID": "A", "TargetCompID": "B"}
    with pytest.raises(ConfigError, match="configured twice"):
        parse_config({"session": [s, dict(s)]})


def test_invalid_toml_names_the_file(tmp_path: Path) -> None:
    path = tmp_path / "bad.toml"
    path.write_text("[simulator\nport = 1")
    with pytest.raises(ConfigError, match="bad.toml: not valid TOML"):
        load_config(path)


def test_missing_file_names_the_file(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="nope.toml: cannot read"):
        load_config(tmp_path / "nope.toml")
