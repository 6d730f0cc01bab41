"""Gateway configuration: a TOML or JSON file, then environment variables on top.

With no file the development defaults apply; they are generous on purpose (load tests and demos
must not be throttled by accident). Every bad value is reported with its dotted path.

File layout (TOML; JSON has the same shape)::

    environment = "production"
    partitions = 16
    [redis]
    url = "redis://cache:6379/0"
    cluster = false
    wait_replicas = 1          # WAIT for this many replicas after each submit (0: off)
    wait_timeout_ms = 50
    timeout_ms = 2000          # every Redis call: connect and answer within this (else 503)
    [risk]                     # per account; every field optional
    max_order_quantity = 1000000
    [risk.accounts.A1]         # overrides for one account
    max_open_orders = 50
    [jwt]
    secret = "..."             # HS256 (development); or algorithm = "RS256" + jwks_url
    [events]
    maxlen = 1000000           # approximate length cap of each partition's event stream

Top-level tables owned by other components (``api``, ``connector``, ``simulator``, ``archive``,
``aws``) are kept as-is in ``extra``. Environment variables: ``OG_CONFIG`` (file path),
``OG_ENVIRONMENT``, ``OG_PARTITIONS``, ``OG_REDIS_URL``, ``OG_REDIS_CLUSTER``,
``OG_WAIT_REPLICAS``, ``OG_WAIT_TIMEOUT_MS``, ``OG_REDIS_TIMEOUT_MS``, ``OG_JWT_SECRET``.

``redis.url`` and ``jwt.secret`` (file or environment) may be references, resolved at load:
``env:NAME``, ``file:/path``, ``ssm:/ordergate/{environment}/redis_url``,
``secretsmanager:ordergate/{environment}/jwt#secret`` (see ``gateway/references.py``).
"""

from __future__ import annotations

import json
import os
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field, fields, replace
from pathlib import Path
from typing import Any

from gateway.ids import MAX_PARTITIONS
from gateway.model import MAX_EXACT_YEN
from gateway.references import UnresolvedReference, resolve

DEV_JWT_SECRET = "ordergate-development-secret-do-not-use-in-production"
OTHER_SECTIONS = frozenset({"api", "connector", "simulator", "archive", "aws", "loadgen"})


class ConfigError(ValueError):
    """A configuration value is missing or wrong; the message names it by dotted path."""


@dataclass(frozen=True, slots=True)
class RiskLimits:
    max_order_quantity: int = 100_000_000  # shares per order
    max_order_notional: int = 10_000_000_000  # yen per order (price x quantity)
    max_open_orders: int = 100_000  # open orders per account
    max_daily_buy_notional: int = 10_000_000_000  # yen of buy orders per account per day
    orders_per_second: float = 1_000.0  # token bucket refill rate per account
    burst: int = 2_000  # token bucket size


@dataclass(frozen=True, slots=True)
class JwtSettings:
    algorithm: str = "HS256"
    secret: str = DEV_JWT_SECRET
    jwks_url: str | None = None
    issuer: str | None = None
    audience: str | None = None
    #: a token scope ``<resource_server>/<scope>`` (Cognito's form) counts as ``<scope>``
    resource_server: str = "ordergate"

    @property
    def is_development_secret(self) -> bool:
        return self.algorithm == "HS256" and self.secret == DEV_JWT_SECRET


@dataclass(frozen=True, slots=True)
class GatewayConfig:
    environment: str = "development"
    partitions: int = 16
    redis_url: str = "redis://127.0.0.1:6379/0"
    redis_cluster: bool = False
    wait_replicas: int = 0
    wait_timeout_ms: int = 100
    #: connect and reply timeout of every Redis call (a hung Redis answers 503, not never)
    redis_timeout_ms: int = 2000
    risk: RiskLimits = field(default_factory=RiskLimits)
    account_risk: dict[str, RiskLimits] = field(default_factory=dict)
    jwt: JwtSettings = field(default_factory=JwtSettings)
    events_maxlen: int = 1_000_000
    refdata_path: str | None = None
    routing_path: str | None = None
    extra: dict[str, Any] = field(default_factory=dict)

    def risk_for(self, account: str) -> RiskLimits:
        return self.account_risk.get(account, self.risk)

    @staticmethod
    def load(path: str | Path | None = None, env: Mapping[str, str] | None = None) -> GatewayConfig:
        """Defaults, then the file (``path`` or ``$OG_CONFIG``), then environment variables."""
        env = os.environ if env is None else env
        path = path or env.get("OG_CONFIG") or None
        data: dict[str, Any] = {}
        if path:
            data = _read_file(Path(path))
        return from_dict(data, env)


def _read_file(path: Path) -> dict[str, Any]:
    try:
        raw = path.read_bytes()
    except OSError as exc:
        raise ConfigError(f"cannot read config file {path}: {exc.strerror}") from None
    try:
        if path.suffix == ".json":
            data = json.loads(raw)
        else:
            data = tomllib.loads(raw.decode("utf-8"))
    except (ValueError, UnicodeDecodeError) as exc:
        raise ConfigError(f"config file {path} is not valid: {exc}") from None
    if not isinstance(data, dict):
        raise ConfigError(f"config file {path}: the top level must be a table")
    return data


#: bounds of ``redis.timeout_ms``: above the 1 s an event stream's XREAD blocks for
REDIS_TIMEOUT_MS = (1100, 60_000)


def _int(where: str, value: Any, minimum: int = 0, maximum: int | None = None) -> int:
    if isinstance(value, str) and value.strip().lstrip("-").isdigit():
        value = int(value)
    if isinstance(value, bool) or not isinstance(value, int):
        raise ConfigError(f"{where}: must be an integer, got {value!r}")
    if value < minimum or (maximum is not None and value > maximum):
        bound = f"between {minimum} and {maximum}" if maximum is not None else f">= {minimum}"
        raise ConfigError(f"{where}: must be {bound}, got {value}")
    return value


def _num(where: str, value: Any) -> float:
    if isinstance(value, str):
        try:
            value = float(value)
        except ValueError:
            pass
    if isinstance(value, bool) or not isinstance(value, int | float) or not value > 0:
        raise ConfigError(f"{where}: must be a positive number, got {value!r}")
    return float(value)


def _bool(where: str, value: Any) -> bool:
    if isinstance(value, str) and value.lower() in ("1", "true", "yes", "0", "false", "no"):
        return value.lower() in ("1", "true", "yes")
    if not isinstance(value, bool):
        raise ConfigError(f"{where}: must be true or false, got {value!r}")
    return value


def _resolved(where: str, value: str, env: Mapping[str, str], environment: str) -> str:
    try:
        out = resolve(value, env, environment)
    except UnresolvedReference as exc:
        raise ConfigError(f"{where}: {exc}") from None
    if not out:
        raise ConfigError(f"{where}: {value} resolved to an empty value")
    return out


def _str(where: str, value: Any) -> str:
    if not isinstance(value, str) or not value:
        raise ConfigError(f"{where}: must be a non-empty string, got {value!r}")
    return value


REDIS_SCHEMES = ("redis://", "rediss://", "unix://")


def redis_url_problem(url: str) -> str | None:
    """Why ``url`` is not a Redis URL redis-py takes (password hidden), or None."""
    if not url.startswith(REDIS_SCHEMES):
        return f"{redact_url(url)!r} is not a Redis URL (use {', '.join(REDIS_SCHEMES)})"
    return None


def redact_url(url: str) -> str:
    """``url`` with any password replaced by ``***``: safe to log or print."""
    from urllib.parse import urlsplit, urlunsplit

    try:
        parts = urlsplit(url)
    except ValueError:
        return "<unparseable url>"
    if parts.password is None:
        return url
    user = parts.username or ""
    host = parts.hostname or ""
    port = f":{parts.port}" if parts.port else ""
    return urlunsplit(parts._replace(netloc=f"{user}:***@{host}{port}"))


def _table(where: str, value: Any, allowed: set[str]) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise ConfigError(f"{where}: must be a table")
    unknown = sorted(set(value) - allowed)
    if unknown:
        raise ConfigError(f"{where}.{unknown[0]}: unknown setting (allowed: {sorted(allowed)})")
    return value


_MAX_YEN = int(MAX_EXACT_YEN)


def _risk(where: str, value: Any, base: RiskLimits) -> RiskLimits:
    names = {f.name for f in fields(RiskLimits)}
    t = _table(where, value, names | ({"accounts"} if where == "risk" else set()))
    out: dict[str, Any] = {}
    for name in names & set(t):
        w = f"{where}.{name}"
        if name == "orders_per_second":
            out[name] = _num(w, t[name])
        elif name in ("max_order_notional", "max_daily_buy_notional"):
            out[name] = _int(w, t[name], 1, _MAX_YEN)
        else:
            out[name] = _int(w, t[name], 1)
    return replace(base, **out)


def from_dict(data: Mapping[str, Any], env: Mapping[str, str] | None = None) -> GatewayConfig:
    """Build a config from a parsed file (and environment); ``ConfigError`` on any bad value."""
    env = env or {}
    top = {"environment", "partitions", "redis", "risk", "jwt", "events", "refdata", "routing"}
    data = dict(data)
    extra = {k: data.pop(k) for k in list(data) if k in OTHER_SECTIONS}
    _table("config", data, top)
    cfg: dict[str, Any] = {"extra": extra}
    if "environment" in data:
        cfg["environment"] = _str("environment", data["environment"])
    if "partitions" in data:
        cfg["partitions"] = _int("partitions", data["partitions"], 1, MAX_PARTITIONS)
    if "redis" in data:
        r = _table(
            "redis",
            data["redis"],
            {"url", "cluster", "wait_replicas", "wait_timeout_ms", "timeout_ms"},
        )
        if "url" in r:
            cfg["redis_url"] = _str("redis.url", r["url"])
        if "cluster" in r:
            cfg["redis_cluster"] = _bool("redis.cluster", r["cluster"])
        if "wait_replicas" in r:
            cfg["wait_replicas"] = _int("redis.wait_replicas", r["wait_replicas"], 0, 16)
        if "wait_timeout_ms" in r:
            cfg["wait_timeout_ms"] = _int("redis.wait_timeout_ms", r["wait_timeout_ms"], 1)
        if "timeout_ms" in r:
            cfg["redis_timeout_ms"] = _int("redis.timeout_ms", r["timeout_ms"], *REDIS_TIMEOUT_MS)
    risk = RiskLimits()
    if "risk" in data:
        risk = _risk("risk", data["risk"], risk)
        accounts = data["risk"].get("accounts", {})
        if not isinstance(accounts, dict):
            raise ConfigError("risk.accounts: must be a table of account -> limits")
        cfg["account_risk"] = {
            str(a): _risk(f"risk.accounts.{a}", v, risk) for a, v in accounts.items()
        }
    cfg["risk"] = risk
    if "jwt" in data:
        j = _table("jwt", data["jwt"], {f.name for f in fields(JwtSettings)})
        jwt_fields = {k: _str(f"jwt.{k}", v) for k, v in j.items()}
        if jwt_fields.get("algorithm", "HS256") not in ("HS256", "RS256"):
            raise ConfigError(f"jwt.algorithm: must be HS256 or RS256, got {j['algorithm']!r}")
        cfg["jwt"] = JwtSettings(**jwt_fields)
    if "events" in data:
        e = _table("events", data["events"], {"maxlen"})
        if "maxlen" in e:
            cfg["events_maxlen"] = _int("events.maxlen", e["maxlen"], 1000)
    if "refdata" in data:
        cfg["refdata_path"] = _str("refdata", data["refdata"])
    if "routing" in data:
        cfg["routing_path"] = _str("routing", data["routing"])

    # environment variables win over the file
    if "OG_ENVIRONMENT" in env:
        cfg["environment"] = _str("OG_ENVIRONMENT", env["OG_ENVIRONMENT"])
    if "OG_PARTITIONS" in env:
        cfg["partitions"] = _int("OG_PARTITIONS", env["OG_PARTITIONS"], 1, MAX_PARTITIONS)
    if "OG_REDIS_URL" in env:
        cfg["redis_url"] = _str("OG_REDIS_URL", env["OG_REDIS_URL"])
    if "OG_REDIS_CLUSTER" in env:
        cfg["redis_cluster"] = _bool("OG_REDIS_CLUSTER", env["OG_REDIS_CLUSTER"])
    if "OG_WAIT_REPLICAS" in env:
        cfg["wait_replicas"] = _int("OG_WAIT_REPLICAS", env["OG_WAIT_REPLICAS"], 0, 16)
    if "OG_WAIT_TIMEOUT_MS" in env:
        cfg["wait_timeout_ms"] = _int("OG_WAIT_TIMEOUT_MS", env["OG_WAIT_TIMEOUT_MS"], 1)
    if "OG_REDIS_TIMEOUT_MS" in env:
        cfg["redis_timeout_ms"] = _int(
            "OG_REDIS_TIMEOUT_MS", env["OG_REDIS_TIMEOUT_MS"], *REDIS_TIMEOUT_MS
        )
    if "OG_JWT_SECRET" in env:
        base = cfg.get("jwt", JwtSettings())
        cfg["jwt"] = replace(base, secret=_str("OG_JWT_SECRET", env["OG_JWT_SECRET"]))
    # values given by reference (env:, file:, ssm:, secretsmanager:) resolved once, here
    environment = cfg.get("environment", "development")
    if "redis_url" in cfg:
        cfg["redis_url"] = _resolved("redis.url", cfg["redis_url"], env, environment)
    if "jwt" in cfg:
        j = cfg["jwt"]
        cfg["jwt"] = replace(j, secret=_resolved("jwt.secret", j.secret, env, environment))
    config = GatewayConfig(**cfg)
    problem = redis_url_problem(config.redis_url)
    if problem:
        raise ConfigError(f"redis.url: {problem}")
    if config.redis_cluster and config.wait_replicas:
        raise ConfigError("redis.wait_replicas: not supported with redis.cluster (use AOF)")
    if config.environment == "production" and config.jwt.is_development_secret:
        raise ConfigError("jwt.secret: production refuses the built-in development secret")
    return config
