"""Connector settings: command-line flags, then the ``[connector]`` table of the config file.

With no file the connector starts from its flags alone (development defaults). The password is
given by reference, never inline: ``password = "env:NAME"`` or ``"file:/path"``.

```toml
partitions = 16                   # shared with the API (gateway config)
[connector]
venue = "TSE"
connect = "10.0.0.5:9878"
sender_comp_id = "ORDERGATE"
target_comp_id = "TSE"
username = "og1"
password = "env:OG_FIX_PASSWORD"
heartbeat = 30                    # HeartBtInt, seconds
hours = "venue"                   # "venue" (the venue's window, Asia/Tokyo) | "always" | "08:00-15:30"
throttle_rate = 500               # messages per second (absent: no throttle)
throttle_burst = 50
lease_ttl = 3.0                   # seconds
batch = 300                       # stream entries per XREADGROUP
reconcile = true                  # OrderStatusRequest for in-flight orders after logon
message_log = "/var/log/ordergate"  # FIX message log directory; "off" disables it
```

The FIX message log is on by default: every inbound and outbound message goes to
``$XDG_STATE_HOME/ordergate/fix`` (``~/.local/state/ordergate/fix`` when unset), one file per
session, Password(554) redacted.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass, field, fields, replace
from pathlib import Path
from typing import Any

from fixengine import SessionSettings
from gateway import keys
from gateway.config import ConfigError, GatewayConfig

VENUES_FILE = Path(__file__).resolve().parents[1] / "gateway" / "data" / "venues.json"
WEEKDAY_NAMES = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")
MESSAGE_LOG_OFF = ("off", "none")


def default_message_log_dir() -> str:
    """Where the FIX message log goes when no directory is configured (XDG state directory)."""
    state = os.environ.get("XDG_STATE_HOME") or os.path.join(
        os.path.expanduser("~"), ".local", "state"
    )
    return os.path.join(state, "ordergate", "fix")


@dataclass(frozen=True)
class ConnectorConfig:
    venue: str = "TSE"
    host: str = "127.0.0.1"
    port: int = 9878
    sender_comp_id: str = keys.OUR_COMP_ID
    target_comp_id: str = ""  # default: the venue
    redis_url: str = "redis://127.0.0.1:6379/0"
    partitions: int = keys.DEFAULT_PARTITIONS
    events_maxlen: int = 1_000_000
    username: str = ""
    password: str = ""  # resolved value (from a reference)
    heartbeat: int = 30
    hours: str = "venue"
    throttle_rate: float | None = None
    throttle_burst: float | None = None
    lease_ttl: float = 3.0
    batch: int = 300
    reconcile: bool = True
    message_log: str = field(default_factory=default_message_log_dir)  # "off": no log
    reconnect_interval: float = 1.0
    max_reconnect_interval: float = 5.0
    extra_settings: dict[str, str] = field(default_factory=dict)  # raw QuickFIX-name settings

    @property
    def target(self) -> str:
        return self.target_comp_id or self.venue

    @property
    def session_id(self) -> str:
        return keys.session_id(self.sender_comp_id, self.target)

    @property
    def group(self) -> str:
        """Consumer group on the command streams: one per venue session."""
        return f"connector:{self.session_id}"

    def streams(self) -> list[str]:
        return [keys.cmd_stream(p, self.venue) for p in range(self.partitions)]

    def session_window(self) -> tuple[str, str, list[str], list[str]] | None:
        """(StartTime, EndTime, weekdays, holidays) in Asia/Tokyo, or None for around the
        clock. An explicit HH:MM-HH:MM window keeps the venue's holidays when it knows them."""
        if self.hours == "always":
            return None
        if self.hours == "venue":
            return venue_window(self.venue)
        start, sep, end = self.hours.partition("-")
        if not sep:
            raise ConfigError(
                f"connector.hours: {self.hours!r} is not always, venue or HH:MM-HH:MM"
            )
        return (
            _hms(start, "connector.hours"),
            _hms(end, "connector.hours"),
            list(WEEKDAY_NAMES[:5]),
            venue_holidays(self.venue),
        )

    def session_settings(self) -> SessionSettings:
        raw: dict[str, Any] = {
            "SenderCompID": self.sender_comp_id,
            "TargetCompID": self.target,
            "ConnectionType": "initiator",
            "SocketConnectHost": self.host,
            "SocketConnectPort": str(self.port),
            "HeartBtInt": str(self.heartbeat),
            "ReconnectInterval": str(self.reconnect_interval),
            "MaxReconnectInterval": str(self.max_reconnect_interval),
            "TimeZone": "Asia/Tokyo",
        }
        window = self.session_window()
        if window is not None:
            raw["StartTime"], raw["EndTime"], days, holidays = window
            raw["Weekdays"] = ",".join(days)
            raw["Holidays"] = ",".join(holidays)
        if self.username:
            raw["Username"] = self.username
        if self.password:
            raw["Password"] = self.password
        if self.message_log and self.message_log.lower() not in MESSAGE_LOG_OFF:
            raw["FileLogPath"] = self.message_log
        raw.update(self.extra_settings)
        try:
            return SessionSettings.from_dict(raw)
        except Exception as exc:
            raise ConfigError(f"connector session settings: {exc}") from None


def _hms(text: str, where: str) -> str:
    parts = text.strip().split(":")
    if len(parts) == 2:
        parts.append("00")
    try:
        h, m, s = (int(p) for p in parts)
    except ValueError:
        raise ConfigError(f"{where}: {text!r} is not HH:MM") from None
    if not (0 <= h <= 23 and 0 <= m <= 59 and 0 <= s <= 59):
        raise ConfigError(f"{where}: {text!r} is not a time of day")
    return f"{h:02d}:{m:02d}:{s:02d}"


def _venue_data(venue: str) -> dict[str, Any]:
    data = json.loads(VENUES_FILE.read_text())
    v: dict[str, Any] | None = data["venues"].get(venue)
    if v is None:
        raise ConfigError(f"connector.venue: unknown venue {venue!r}")
    return v


def venue_window(venue: str) -> tuple[str, str, list[str], list[str]]:
    """The venue's trading window (first session start to last session end) on business days,
    and its holidays (no logon on those days)."""
    v = _venue_data(venue)
    sessions = v["sessions"]
    days = [WEEKDAY_NAMES[d] for d in v.get("business_days", range(5))]
    return (
        _hms(sessions[0]["start"], "venue"),
        _hms(sessions[-1]["end"], "venue"),
        days,
        venue_holidays(venue),
    )


def venue_holidays(venue: str) -> list[str]:
    """The venue's holidays from ``gateway/data/venues.json`` (none for an unknown venue)."""
    try:
        return [str(d) for d in _venue_data(venue).get("holidays", [])]
    except ConfigError:
        return []


def resolve_secret(ref: str, env: dict[str, str] | os._Environ[str] | None = None) -> str:
    """``env:NAME`` or ``file:/path``; anything else is refused (no inline passwords)."""
    env = os.environ if env is None else env
    if ref.startswith("env:"):
        name = ref[4:]
        if name not in env:
            raise ConfigError(f"connector.password: environment variable {name} is not set")
        return env[name]
    if ref.startswith("file:"):
        try:
            return Path(ref[5:]).read_text().strip()
        except OSError as exc:
            raise ConfigError(f"connector.password: {exc}") from None
    raise ConfigError("connector.password: give a reference (env:NAME or file:/path), not a value")


_NUM = {"port": int, "heartbeat": int, "batch": int, "partitions": int, "events_maxlen": int}
_FLOAT = {
    "throttle_rate",
    "throttle_burst",
    "lease_ttl",
    "reconnect_interval",
    "max_reconnect_interval",
}


def from_table(base: ConnectorConfig, table: dict[str, Any]) -> ConnectorConfig:
    """Apply a ``[connector]`` table; every bad key or value is a ``ConfigError``."""
    names = {f.name for f in fields(ConnectorConfig)} | {"connect"}
    changes: dict[str, Any] = {}
    for k, v in table.items():
        where = f"connector.{k}"
        if k not in names:
            raise ConfigError(f"{where}: unknown setting")
        if k == "connect":
            host, port = parse_connect(str(v))
            changes["host"], changes["port"] = host, port
        elif k == "password":
            changes["password"] = resolve_secret(str(v))
        elif k in _NUM:
            if not isinstance(v, int) or isinstance(v, bool) or v <= 0:
                raise ConfigError(f"{where}: must be a positive integer")
            changes[k] = v
        elif k in _FLOAT:
            if not isinstance(v, int | float) or isinstance(v, bool) or v <= 0:
                raise ConfigError(f"{where}: must be a positive number")
            changes[k] = float(v)
        elif k == "reconcile":
            if not isinstance(v, bool):
                raise ConfigError(f"{where}: must be true or false")
            changes[k] = v
        elif k == "extra_settings":
            if not isinstance(v, dict):
                raise ConfigError(f"{where}: must be a table")
            changes[k] = {str(a): str(b) for a, b in v.items()}
        else:
            if not isinstance(v, str):
                raise ConfigError(f"{where}: must be a string")
            changes[k] = v
    cfg = replace(base, **changes)
    cfg.session_window()  # validate hours now
    return cfg


def parse_connect(text: str) -> tuple[str, int]:
    host, sep, port = text.rpartition(":")
    if not sep or not host or not port.isdigit() or not 0 < int(port) < 65536:
        raise ConfigError(f"--connect: {text!r} is not HOST:PORT")
    return host, int(port)


def load(path: str | None, flags: dict[str, Any]) -> ConnectorConfig:
    """Defaults, then the config file (gateway settings + ``[connector]``), then flags."""
    cfg = ConnectorConfig()
    if path or os.environ.get("OG_CONFIG"):
        g = GatewayConfig.load(path)
        cfg = replace(
            cfg, redis_url=g.redis_url, partitions=g.partitions, events_maxlen=g.events_maxlen
        )
        table = g.extra.get("connector") or {}
        if not isinstance(table, dict):
            raise ConfigError("connector: must be a table")
        cfg = from_table(cfg, table)
    given = {k: v for k, v in flags.items() if v is not None}
    if "connect" in given:
        given["host"], given["port"] = parse_connect(given.pop("connect"))
    return from_table(cfg, {}) if not given else replace(cfg, **given)
