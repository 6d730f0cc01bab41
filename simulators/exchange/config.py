"""The simulator's configuration: several FIX sessions, their settings and behaviour, from a file.

The file is TOML (stdlib ``tomllib``)::

    [simulator]                  # every key optional; command-line flags override
    venue = "TSE"
    host = "127.0.0.1"
    port = 9878
    control_host = "127.0.0.1"
    control_port = 9879
    phase = "continuous"         # pin a phase; omit to follow the clock
    clock = "2026-11-30T08:59:00+09:00x60"
    liquidity = false
    seed = 1
    reference_data = "path/to/reference.json"
    book = "path/to/book.json"   # deterministic mode: this book at start and after a reset

    [defaults]                   # QuickFIX-named session settings applied to every session
    HeartBtInt = 30

    [[session]]
    SenderCompID = "TSE"         # ours
    TargetCompID = "ORDERGATE"   # the initiator's
    Password = "secret"          # the Logon must carry it (tag 554); omit to accept any
    ResetOnLogon = "Y"           # any other QuickFIX-named setting, as a string, number or bool
    cancel_on_disconnect = true  # behaviour keys are lower case
    heartbeat_check = true       # TestRequest a silent peer, disconnect if it stays silent
    self_trade_prevention = false
    max_order_value = "100000000"        # yen per order; omit for no limit
    max_value_per_second = "1000000000"  # yen per rolling second; omit for no limit
    symbols = ["7203", "6758"]           # symbols the session may trade; omit for all

Keys that start with an upper-case letter are QuickFIX settings and go to the FIX engine, which
checks them; lower-case keys are the simulator's own behaviour, checked here. Any mistake is a
:class:`ConfigError` naming the file, the table and the key.
"""

from __future__ import annotations

import tomllib
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Any

SettingValue = str | int | bool


class ConfigError(ValueError):
    """The configuration is wrong; the message says where and why."""


@dataclass(frozen=True)
class SessionConfig:
    """One FIX session the simulator accepts, with its exchange-side behaviour."""

    sender_comp_id: str
    target_comp_id: str
    settings: dict[str, SettingValue] = field(default_factory=dict)  # QuickFIX names
    password: str | None = None
    username: str | None = None
    cancel_on_disconnect: bool = False
    self_trade_prevention: bool = False
    heartbeat_check: bool = False
    max_order_value: Decimal | None = None
    max_value_per_second: Decimal | None = None
    symbols: tuple[str, ...] | None = None

    @property
    def name(self) -> str:
        """Canonical session id, as QuickFIX writes it (and ``gateway.keys.session_id``)."""
        return f"FIX.4.4:{self.sender_comp_id}->{self.target_comp_id}"

    def aliases(self) -> tuple[str, ...]:
        """Names an operator may use for this session in the control API."""
        return (self.name, f"{self.sender_comp_id}->{self.target_comp_id}", self.target_comp_id)


@dataclass(frozen=True)
class SimulatorConfig:
    venue: str = "TSE"
    host: str = "127.0.0.1"
    port: int = 9878
    control_host: str = "127.0.0.1"
    control_port: int = 9879
    phase: str | None = None
    clock: str | None = None
    liquidity: bool = False
    seed: int = 1
    reference_data: str | None = None
    book: str | None = None
    sessions: tuple[SessionConfig, ...] = ()


_SIM_KEYS: dict[str, type | tuple[type, ...]] = {
    "venue": str,
    "host": str,
    "port": int,
    "control_host": str,
    "control_port": int,
    "phase": str,
    "clock": str,
    "liquidity": bool,
    "seed": int,
    "reference_data": str,
    "book": str,
}
_BEHAVIOUR_KEYS = {
    "cancel_on_disconnect",
    "heartbeat_check",
    "self_trade_prevention",
    "max_order_value",
    "max_value_per_second",
    "symbols",
}
_SESSION_REQUIRED = ("SenderCompID", "TargetCompID")


def _check_type(where: str, key: str, value: Any, kind: type | tuple[type, ...]) -> None:
    kinds = kind if isinstance(kind, tuple) else (kind,)
    if isinstance(value, bool) and bool not in kinds:
        ok = False
    else:
        ok = isinstance(value, kinds)
    if not ok:
        names = " or ".join(k.__name__ for k in kinds)
        raise ConfigError(f"{where}: {key} must be {names}, got {value!r}")


def _money(where: str, key: str, value: Any) -> Decimal:
    if isinstance(value, bool) or not isinstance(value, str | int):
        raise ConfigError(f"{where}: {key} must be a decimal string or an integer (no floats)")
    try:
        amount = Decimal(str(value))
    except InvalidOperation:
        raise ConfigError(f"{where}: {key} is not a number: {value!r}") from None
    if not amount.is_finite() or amount <= 0:
        raise ConfigError(f"{where}: {key} must be positive, got {value!r}")
    return amount


def _settings(where: str, table: dict[str, Any]) -> dict[str, SettingValue]:
    out: dict[str, SettingValue] = {}
    for key, value in table.items():
        if not key[:1].isupper():
            raise ConfigError(f"{where}: unknown key {key!r} (QuickFIX settings start upper-case)")
        if not isinstance(value, str | int | bool):
            raise ConfigError(f"{where}: {key} must be a string, integer or boolean")
        out[key] = value
    return out


def parse_session(where: str, table: Any, defaults: dict[str, SettingValue]) -> SessionConfig:
    if not isinstance(table, dict):
        raise ConfigError(f"{where}: must be a table")
    settings = dict(defaults)
    behaviour: dict[str, Any] = {}
    for key, value in table.items():
        if key in _BEHAVIOUR_KEYS:
            behaviour[key] = value
        elif key[:1].isupper():
            settings.update(_settings(where, {key: value}))
        else:
            allowed = ", ".join(sorted(_BEHAVIOUR_KEYS))
            raise ConfigError(f"{where}: unknown key {key!r} (behaviour keys: {allowed})")
    for key in _SESSION_REQUIRED:
        value = settings.pop(key, None)
        if not isinstance(value, str) or not value:
            raise ConfigError(f"{where}: {key} is required (a non-empty string)")
        behaviour[key] = value
    password = settings.pop("Password", None)
    username = settings.pop("Username", None)
    for key, value in (("Password", password), ("Username", username)):
        if value is not None and not isinstance(value, str):
            raise ConfigError(f"{where}: {key} must be a string")
    for key in ("cancel_on_disconnect", "self_trade_prevention", "heartbeat_check"):
        if key in behaviour:
            _check_type(where, key, behaviour[key], bool)
    symbols = behaviour.get("symbols")
    if symbols is not None and (
        not isinstance(symbols, list) or not all(isinstance(s, str) and s for s in symbols)
    ):
        raise ConfigError(f"{where}: symbols must be a list of non-empty strings")
    return SessionConfig(
        sender_comp_id=behaviour["SenderCompID"],
        target_comp_id=behaviour["TargetCompID"],
        settings=settings,
        password=password if isinstance(password, str) else None,
        username=username if isinstance(username, str) else None,
        cancel_on_disconnect=bool(behaviour.get("cancel_on_disconnect", False)),
        self_trade_prevention=bool(behaviour.get("self_trade_prevention", False)),
        heartbeat_check=bool(behaviour.get("heartbeat_check", False)),
        max_order_value=(
            _money(where, "max_order_value", behaviour["max_order_value"])
            if "max_order_value" in behaviour
            else None
        ),
        max_value_per_second=(
            _money(where, "max_value_per_second", behaviour["max_value_per_second"])
            if "max_value_per_second" in behaviour
            else None
        ),
        symbols=tuple(symbols) if symbols is not None else None,
    )


def parse_config(data: dict[str, Any], source: str = "config") -> SimulatorConfig:
    """Build a :class:`SimulatorConfig` from the parsed TOML document ``data``."""
    unknown = sorted(set(data) - {"simulator", "defaults", "session"})
    if unknown:
        raise ConfigError(f"{source}: unknown table {unknown[0]!r} (simulator, defaults, session)")
    sim = data.get("simulator", {})
    if not isinstance(sim, dict):
        raise ConfigError(f"{source}: [simulator] must be a table")
    kwargs: dict[str, Any] = {}
    for key, value in sim.items():
        if key not in _SIM_KEYS:
            raise ConfigError(
                f"{source} [simulator]: unknown key {key!r} (keys: {', '.join(_SIM_KEYS)})"
            )
        _check_type(f"{source} [simulator]", key, value, _SIM_KEYS[key])
        kwargs[key] = value
    for key in ("port", "control_port"):
        if key in kwargs and not 0 <= kwargs[key] <= 65535:
            raise ConfigError(f"{source} [simulator]: {key} must be 0..65535")
    defaults_table = data.get("defaults", {})
    if not isinstance(defaults_table, dict):
        raise ConfigError(f"{source}: [defaults] must be a table")
    defaults = _settings(f"{source} [defaults]", defaults_table)
    raw_sessions = data.get("session", [])
    if not isinstance(raw_sessions, list):
        raise ConfigError(f"{source}: sessions are [[session]] tables")
    sessions = tuple(
        parse_session(f"{source} [[session]] #{i + 1}", table, defaults)
        for i, table in enumerate(raw_sessions)
    )
    names = [s.name for s in sessions]
    dupes = sorted({n for n in names if names.count(n) > 1})
    if dupes:
        raise ConfigError(f"{source}: session {dupes[0]} is configured twice")
    return SimulatorConfig(sessions=sessions, **kwargs)


def load_config(path: str | Path) -> SimulatorConfig:
    """Read and check a TOML config file."""
    p = Path(path)
    try:
        data = tomllib.loads(p.read_text(encoding="utf-8"))
    except OSError as exc:
        raise ConfigError(f"{p}: cannot read: {exc.strerror}") from None
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{p}: not valid TOML: {exc}") from None
    return parse_config(data, str(p))
