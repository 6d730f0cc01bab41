"""The generated configuration reference names every setting the code reads, as the loaders
spell it, with the code's defaults; an undescribed setting fails the build."""

from dataclasses import MISSING, dataclass, fields
from typing import Any

import pytest

from connector.config import ConnectorConfig, from_table
from docsgen.settings import (
    Group,
    documented_keys,
    groups,
    render_group,
    render_settings,
    subcommand_parsers,
)
from fixengine.settings import SessionSettings
from gateway.cli import SUBCOMMANDS
from gateway.config import from_dict
from simulators.exchange.config import parse_config

GROUPS = {g.cls.__name__: g for g in groups()}


def _default(f) -> Any:
    if f.default is not MISSING:
        return f.default
    if f.default_factory is not MISSING:
        return f.default_factory()
    return None


def _sample(key: str, f) -> Any:
    """A valid value for a documented key: the code's default, else one of the field's type."""
    value = _default(f)
    if value not in (None, "", (), {}):
        return value
    kind = str(f.type)
    if kind.startswith("dict"):
        return {"ResetOnLogon": "N"}
    if "float" in kind:
        return 1.0
    if "int" in kind:
        return 1
    if "tuple" in kind:
        return ["7203"]
    if "Decimal" in kind:
        return "100000000"
    return "x"


def _nested(keys: dict[str, Any]) -> dict[str, Any]:
    """{"redis.url": v} -> {"redis": {"url": v}}."""
    out: dict[str, Any] = {}
    for dotted, f in keys.items():
        *tables, last = dotted.split(".")
        node = out
        for t in tables:
            node = node.setdefault(t, {})
        node[last] = _sample(dotted, f)
    return out


def test_every_documented_gateway_key_is_accepted_by_the_gateway_loader():
    data: dict[str, Any] = {}
    for name in ("GatewayConfig", "RiskLimits", "JwtSettings"):
        for table, values in _nested(documented_keys(GROUPS[name])).items():
            if isinstance(values, dict):
                data.setdefault(table, {}).update(values)
            else:
                data[table] = values
    cfg = from_dict(data, {})  # raises ConfigError on any key the loader does not know
    assert cfg.risk.burst == data["risk"]["burst"]


def test_every_documented_connector_key_is_accepted_by_the_connector_table(monkeypatch):
    monkeypatch.setenv("OG_DOCS_TEST_PASSWORD", "pw")
    table = {key: _sample(key, f) for key, f in documented_keys(GROUPS["ConnectorConfig"]).items()}
    table["connect"] = "10.0.0.5:9999"
    table["password"] = "env:OG_DOCS_TEST_PASSWORD"
    cfg = from_table(ConnectorConfig(), table)
    assert (cfg.host, cfg.port, cfg.password) == ("10.0.0.5", 9999, "pw")


def test_every_documented_simulator_key_is_accepted_by_the_simulator_config():
    sim = {key: _sample(key, f) for key, f in documented_keys(GROUPS["SimulatorConfig"]).items()}
    session = {
        key: _sample(key, f)
        for key, f in documented_keys(GROUPS["SessionConfig"]).items()
        if not key.startswith("(")
    }
    cfg = parse_config({"simulator": sim, "session": [session]})
    assert cfg.sessions[0].symbols == ("7203",)


def test_every_documented_session_setting_is_accepted_by_session_settings():
    raw = {
        key: _default(f)
        for key, f in documented_keys(GROUPS["SessionSettings"]).items()
        if _default(f) not in (None, "", (), {})
    }
    raw.update(SenderCompID="OG", TargetCompID="TSE")
    assert SessionSettings.from_dict(raw).session_id == "FIX.4.4:OG->TSE"


@pytest.mark.parametrize("name", sorted(GROUPS))
def test_every_field_is_documented_with_its_default_from_the_code(name):
    group = GROUPS[name]
    text = render_group(group)
    for f in fields(group.cls):
        if f.name in group.skip:
            continue
        row = next(
            line for line in text.splitlines() if line.startswith(f"| `{group.key(f.name)}`")
        )
        value = _default(f)
        if f.name not in group.default_text and value not in (None, "", (), {}):
            shown = str(value).lower() if isinstance(value, bool) else str(value)
            assert f"`{shown}`" in row, row


def test_a_setting_without_a_description_fails_the_build():
    @dataclass
    class Two:
        described: int = 1
        new_setting: int = 2

    with pytest.raises(ValueError, match="new_setting"):
        render_group(Group("t", "i", Two, {"described": "d"}))


def test_a_description_of_a_removed_setting_fails_the_build():
    @dataclass
    class One:
        described: int = 1

    with pytest.raises(ValueError, match="gone"):
        render_group(Group("t", "i", One, {"described": "d", "gone": "g"}))


def test_every_subcommand_and_each_of_its_options_is_listed():
    text = render_settings()
    parsers = subcommand_parsers()
    assert set(parsers) == set(SUBCOMMANDS)
    for name, parser in parsers.items():
        section = text.split(f"#### `ordergate {name}`", 1)[1].split("####", 1)[0]
        for action in parser._actions:
            for option in action.option_strings:
                if option not in ("-h", "--help"):
                    assert f"`{option}" in section, (name, option)
