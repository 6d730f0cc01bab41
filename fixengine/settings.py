"""Session settings, named after QuickFIX's so operators who know QuickFIX feel at home.

``SessionSettings.from_dict`` takes a config-file section (strings like ``"Y"``/``"30"`` or
native values) and raises :class:`SettingsError` naming every bad key and why.
"""

from __future__ import annotations

import dataclasses
import difflib
import re
from dataclasses import dataclass, field, fields
from typing import Any

_TIME = re.compile(r"^([01]\d|2[0-3]):([0-5]\d):([0-5]\d)$")
# QuickFIX settings that configure things this engine does differently (file store, screen log,
# socket options): accepted in a QuickFIX .cfg and kept in ``extra`` rather than rejected.
QUICKFIX_IGNORED = frozenset(
    {
        "FileStorePath",
        "FileStoreSync",
        "ScreenLogShowIncoming",
        "ScreenLogShowOutgoing",
        "ScreenLogShowEvents",
        "SocketNodelay",
        "SocketReuseAddress",
        "SendRedundantResendRequests",
        "RefreshOnLogon",
        "ResetOnError",
        "ValidateLengthAndChecksum",
        "TransportDataDictionary",
        "AppDataDictionary",
        "MillisecondsInTimeStamp",
        "TimeStampPrecision",
        "SSLProtocol",
        "SSLCipherSuite",
    }
)
WEEKDAYS = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")


class SettingsError(ValueError):
    """A session configuration problem; ``problems`` lists one precise message per bad key."""

    def __init__(self, problems: list[str]) -> None:
        super().__init__("; ".join(problems))
        self.problems = problems


@dataclass(frozen=True)
class SessionSettings:
    """One FIX session. Field names are QuickFIX setting names (ours are marked in the README)."""

    SenderCompID: str
    TargetCompID: str
    BeginString: str = "FIX.4.4"
    ConnectionType: str = "initiator"  # initiator | acceptor
    SocketConnectHost: str = "127.0.0.1"
    SocketConnectPort: int = 0
    SocketAcceptHost: str = "0.0.0.0"
    SocketAcceptPort: int = 0
    HeartBtInt: int = 30
    # Silence (fraction of HeartBtInt beyond it) before a TestRequest is sent.
    TestRequestDelayMultiplier: float = 0.2
    # ours: N = never TestRequest a silent peer nor drop it (an exchange simulator's choice)
    CheckPeerHeartbeats: bool = True
    ResetOnLogon: bool = False
    ResetOnLogout: bool = False
    ResetOnDisconnect: bool = False
    # ours: reset both sequence numbers at the start of each scheduled session (daily reset)
    ResetOnSessionStart: bool = False
    CheckCompID: bool = True
    CheckLatency: bool = True
    MaxLatency: int = 120
    UseDataDictionary: bool = True
    DataDictionary: str = ""  # empty: the project's own fixengine/spec/FIX44.xml
    ValidateFieldsOutOfOrder: bool = True
    ValidateUserDefinedFields: bool = True
    LogonTimeout: float = 10.0
    LogoutTimeout: float = 2.0
    ReconnectInterval: float = 1.0  # first reconnect delay; doubles up to MaxReconnectInterval
    MaxReconnectInterval: float = 30.0  # ours: cap of the exponential backoff
    Username: str | None = None
    Password: str | None = None
    StartTime: str | None = None  # HH:MM:SS in TimeZone; None = always in session
    EndTime: str | None = None
    TimeZone: str = "Asia/Tokyo"
    Weekdays: tuple[str, ...] = ()  # empty = every day
    # ours: dates (YYYY-MM-DD in TimeZone) on which no window opens (exchange holidays)
    Holidays: tuple[str, ...] = ()
    PersistMessages: bool = True
    FileLogPath: str | None = None
    SocketUseSSL: bool = False
    ServerCertificateFile: str | None = None
    ServerCertificateKeyFile: str | None = None
    ClientCertificateFile: str | None = None
    ClientCertificateKeyFile: str | None = None
    CertificateAuthoritiesFile: str | None = None
    WriteHighWaterMark: int = 256 * 1024  # ours: bytes buffered before awaiting drain
    extra: dict[str, str] = field(default_factory=dict)

    @property
    def session_id(self) -> str:
        """``FIX.4.4:SENDER->TARGET``, as QuickFIX names sessions (and gateway.keys uses)."""
        return f"{self.BeginString}:{self.SenderCompID}->{self.TargetCompID}"

    @property
    def is_initiator(self) -> bool:
        return self.ConnectionType == "initiator"

    def replace(self, **changes: Any) -> SessionSettings:
        return dataclasses.replace(self, **changes)

    @classmethod
    def from_dict(cls, raw: dict[str, Any]) -> SessionSettings:
        """Build from a config section; every problem is reported, none silently defaulted."""
        problems: list[str] = []
        known = {f.name: f for f in fields(cls) if f.name != "extra"}
        values: dict[str, Any] = {}
        extra: dict[str, str] = {}
        for key, value in raw.items():
            f = known.get(key)
            if f is None and key in QUICKFIX_IGNORED:
                extra[key] = str(value)
                continue
            if f is None:
                hint = difflib.get_close_matches(key, list(known), n=1)
                problems.append(
                    f"unknown setting {key!r}" + (f" (did you mean {hint[0]!r}?)" if hint else "")
                )
                continue
            try:
                values[key] = _convert(key, str(f.type), value)
            except ValueError as exc:
                problems.append(str(exc))
        for required in ("SenderCompID", "TargetCompID"):
            if required not in raw:
                problems.append(f"{required} is required")
        if not problems:
            try:
                result = cls(**values, extra=extra)
                result.check()
                return result
            except SettingsError as exc:
                problems.extend(exc.problems)
        raise SettingsError(problems)

    def check(self) -> None:
        """Cross-field checks; raises :class:`SettingsError`."""
        problems: list[str] = []
        if not self.SenderCompID:
            problems.append("SenderCompID must not be empty")
        if not self.TargetCompID:
            problems.append("TargetCompID must not be empty")
        if self.ConnectionType not in ("initiator", "acceptor"):
            problems.append(
                f"ConnectionType must be 'initiator' or 'acceptor', got {self.ConnectionType!r}"
            )
        if self.HeartBtInt < 0:
            problems.append(f"HeartBtInt must be >= 0, got {self.HeartBtInt}")
        for name in ("LogonTimeout", "LogoutTimeout", "ReconnectInterval", "MaxLatency"):
            if getattr(self, name) <= 0:
                problems.append(f"{name} must be > 0, got {getattr(self, name)}")
        if self.MaxReconnectInterval < self.ReconnectInterval:
            problems.append("MaxReconnectInterval must be >= ReconnectInterval")
        for name in ("StartTime", "EndTime"):
            v = getattr(self, name)
            if v is not None and not _TIME.match(v):
                problems.append(f"{name} must be HH:MM:SS, got {v!r}")
        if (self.StartTime is None) != (self.EndTime is None):
            problems.append("StartTime and EndTime must be set together")
        for d in self.Weekdays:
            if d not in WEEKDAYS:
                problems.append(f"Weekdays: {d!r} is not one of {','.join(WEEKDAYS)}")
        for d in self.Holidays:
            if not _is_iso_date(d):
                problems.append(f"Holidays: {d!r} is not a date (YYYY-MM-DD)")
        try:
            from zoneinfo import ZoneInfo

            ZoneInfo(self.TimeZone)
        except Exception:
            problems.append(f"TimeZone {self.TimeZone!r} is not a known IANA time zone")
        if (self.Username is None) != (self.Password is None):
            problems.append("Username and Password must be set together")
        if problems:
            raise SettingsError(problems)


def _convert(key: str, type_name: str, value: Any) -> Any:
    if "bool" in type_name:
        if isinstance(value, bool):
            return value
        s = str(value).strip().upper()
        if s in ("Y", "YES", "TRUE", "1"):
            return True
        if s in ("N", "NO", "FALSE", "0"):
            return False
        raise ValueError(f"{key} must be Y or N, got {value!r}")
    if "tuple" in type_name:
        if isinstance(value, list | tuple):
            return tuple(str(v).strip() for v in value)
        return tuple(p.strip() for p in str(value).split(",") if p.strip())
    if type_name.startswith("int"):
        if isinstance(value, bool) or not re.fullmatch(r"-?\d+", str(value).strip()):
            raise ValueError(f"{key} must be an integer, got {value!r}")
        return int(str(value).strip())
    if type_name.startswith("float"):
        try:
            if isinstance(value, bool):
                raise ValueError
            return float(str(value).strip())
        except ValueError:
            raise ValueError(f"{key} must be a number, got {value!r}") from None
    if value is None:
        if "None" in type_name:
            return None
        raise ValueError(f"{key} must not be empty")
    return str(value)


def load_quickfix_cfg(text: str) -> list[SessionSettings]:
    """Sessions of a QuickFIX-style ``.cfg`` (``[DEFAULT]`` then one ``[SESSION]`` per session).

    Every session section inherits ``[DEFAULT]``; problems are reported per session number.
    """
    default: dict[str, str] = {}
    sessions: list[dict[str, str]] = []
    current: dict[str, str] | None = None
    problems: list[str] = []
    for lineno, line in enumerate(text.splitlines(), 1):
        line = line.strip()
        if not line or line.startswith(("#", ";")):
            continue
        if line.startswith("[") and line.endswith("]"):
            name = line[1:-1].strip().upper()
            if name == "DEFAULT":
                current = default
            elif name == "SESSION":
                current = {}
                sessions.append(current)
            else:
                problems.append(f"line {lineno}: unknown section [{line[1:-1]}]")
                current = None
            continue
        key, sep, value = line.partition("=")
        if not sep or current is None:
            problems.append(f"line {lineno}: expected key=value inside [DEFAULT] or [SESSION]")
            continue
        current[key.strip()] = value.strip()
    if not sessions:
        problems.append("no [SESSION] section")
    result = []
    for i, sec in enumerate(sessions, 1):
        try:
            result.append(SessionSettings.from_dict({**default, **sec}))
        except SettingsError as exc:
            problems.extend(f"session {i}: {p}" for p in exc.problems)
    if problems:
        raise SettingsError(problems)
    return result


def _is_iso_date(value: str) -> bool:
    from datetime import date

    try:
        date.fromisoformat(value)
    except ValueError:
        return False
    return len(value) == 10
