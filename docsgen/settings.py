"""Every setting of every component, rendered from the settings dataclasses and command parsers.

Names, types and defaults are read from the code; only the one-line descriptions live here. A
field with no description, or a description for a field that no longer exists, raises
``ValueError``, which fails the documentation build: a new setting cannot go undocumented.
"""

from __future__ import annotations

import argparse
from collections.abc import Callable
from dataclasses import MISSING, Field, dataclass, field, fields
from typing import Any

from docsgen.markdown import code, table


@dataclass(frozen=True)
class Group:
    """One table of settings: the fields of ``cls`` (minus ``skip``), described by ``docs``."""

    title: str
    intro: str
    cls: type
    docs: dict[str, str]
    key: Callable[[str], str] = lambda name: name
    env: dict[str, str] = field(default_factory=dict)
    flags: dict[str, str] = field(default_factory=dict)
    skip: frozenset[str] = frozenset()
    default_text: dict[str, str] = field(default_factory=dict)


def check_described(group: Group) -> list[Field[Any]]:
    """The fields to document; ``ValueError`` naming any undocumented or stale one."""
    documented = [f for f in fields(group.cls) if f.name not in group.skip]
    names = {f.name for f in documented}
    missing = sorted(names - set(group.docs))
    stale = sorted(set(group.docs) - names)
    if missing or stale:
        raise ValueError(
            f"{group.cls.__module__}.{group.cls.__qualname__}: "
            f"settings without a description: {missing}; descriptions of no setting: {stale}"
        )
    return documented


def documented_keys(group: Group) -> dict[str, Field[Any]]:
    """Each documented setting as it is spelled in the file -> its field."""
    return {group.key(f.name): f for f in check_described(group)}


def default_of(f: Field[Any], group: Group) -> str:
    if f.name in group.default_text:
        return group.default_text[f.name]
    if f.default is not MISSING:
        value = f.default
    elif f.default_factory is not MISSING:
        value = f.default_factory()
    else:
        return "required"
    if value is None or value == "" or value == () or value == {}:
        return "none"
    if isinstance(value, bool):
        return code(str(value).lower())
    return code(value)


def render_group(group: Group) -> str:
    headers = ["setting", "type", "default"]
    if group.env:
        headers.append("environment")
    if group.flags:
        headers.append("flag")
    headers.append("meaning")
    rows = []
    for key, f in documented_keys(group).items():
        row = [code(key), code(f.type), default_of(f, group)]
        if group.env:
            row.append(code(group.env[f.name]) if f.name in group.env else "")
        if group.flags:
            row.append(code(group.flags[f.name]) if f.name in group.flags else "")
        rows.append([*row, group.docs[f.name]])
    return "\n".join([f"### {group.title}", "", group.intro, "", table(headers, rows)])


# --- the command parsers -------------------------------------------------------------------


def subcommand_parsers() -> dict[str, argparse.ArgumentParser]:
    """Each ``ordergate`` subcommand's parser, built the way ``ordergate`` builds it."""
    from gateway.cli import SUBCOMMANDS, subcommand_parser

    return {name: subcommand_parser(name) for name in SUBCOMMANDS}


def flags_by_dest(parser: argparse.ArgumentParser) -> dict[str, str]:
    """dest -> the option's longest spelling (``--sender-comp-id``)."""
    return {
        a.dest: max(a.option_strings, key=len)
        for a in parser._actions
        if a.option_strings and a.dest != "help"
    }


def render_options(name: str, help_text: str, parser: argparse.ArgumentParser) -> str:
    rows = []
    for a in parser._actions:
        if a.dest == "help":
            continue
        spelled = ", ".join(a.option_strings) or a.dest.upper()
        if a.choices and not isinstance(a, argparse._SubParsersAction):
            spelled += " {" + ",".join(str(c) for c in a.choices) + "}"
        default = a.default
        if default in (None, False, argparse.SUPPRESS) or isinstance(a, argparse._StoreTrueAction):
            default_cell = ""
        else:
            default_cell = code(default)
        rows.append((code(spelled), default_cell, (a.help or "").replace("%%", "%")))
    return "\n".join(
        [f"#### `ordergate {name}`", "", help_text, "", table(("option", "default", "help"), rows)]
    )


def render_commands() -> str:
    from gateway.cli import SUBCOMMANDS

    out = [
        "### Command-line options",
        "",
        "Every `ordergate` subcommand's options, read from its parser (`ordergate COMMAND "
        "--help` prints the same). A flag overrides the config file and the environment.",
    ]
    for name, parser in subcommand_parsers().items():
        out += ["", render_options(name, SUBCOMMANDS[name][1], parser)]
    return "\n".join(out)


# --- the groups ----------------------------------------------------------------------------


def groups() -> list[Group]:
    from connector.config import ConnectorConfig
    from fixengine.settings import SessionSettings
    from gateway.config import GatewayConfig, JwtSettings, RiskLimits
    from simulators.exchange.config import SessionConfig, SimulatorConfig

    parsers = subcommand_parsers()
    connector_flags = flags_by_dest(parsers["connector"])
    connector_flags["host"] = connector_flags["connect"]
    gateway_keys = {
        "redis_url": "redis.url",
        "redis_cluster": "redis.cluster",
        "wait_replicas": "redis.wait_replicas",
        "wait_timeout_ms": "redis.wait_timeout_ms",
        "redis_timeout_ms": "redis.timeout_ms",
        "events_maxlen": "events.maxlen",
        "refdata_path": "refdata",
        "routing_path": "routing",
    }
    session_keys = {
        "sender_comp_id": "SenderCompID",
        "target_comp_id": "TargetCompID",
        "password": "Password",
        "username": "Username",
        "settings": "(any other QuickFIX name)",
    }
    return [
        Group(
            "Gateway (`gateway/config.py`, `GatewayConfig`)",
            "The top level of the file and its `[redis]` and `[events]` tables; every process "
            "that touches Redis reads them. `OG_CONFIG` names the file.",
            GatewayConfig,
            GATEWAY_DOCS,
            key=lambda name: gateway_keys.get(name, name),
            env={
                "environment": "OG_ENVIRONMENT",
                "partitions": "OG_PARTITIONS",
                "redis_url": "OG_REDIS_URL",
                "redis_cluster": "OG_REDIS_CLUSTER",
                "wait_replicas": "OG_WAIT_REPLICAS",
                "wait_timeout_ms": "OG_WAIT_TIMEOUT_MS",
                "redis_timeout_ms": "OG_REDIS_TIMEOUT_MS",
            },
            skip=frozenset({"risk", "account_risk", "jwt", "extra"}),
        ),
        Group(
            "Risk limits (`[risk]`, `RiskLimits`)",
            "Checked inside the submit script, per account. `[risk.accounts.<ACCOUNT>]` takes the "
            "same keys and overrides them for one account.",
            RiskLimits,
            RISK_DOCS,
            key=lambda name: f"risk.{name}",
        ),
        Group(
            "Tokens (`[jwt]`, `JwtSettings`)",
            "How the API verifies bearer tokens and `ordergate token` signs them.",
            JwtSettings,
            JWT_DOCS,
            key=lambda name: f"jwt.{name}",
            env={"secret": "OG_JWT_SECRET"},
            default_text={"secret": "the built-in development secret"},
        ),
        Group(
            "FIX connector (`[connector]`, `connector/config.py`, `ConnectorConfig`)",
            "The `[connector]` table of the gateway file; `ordergate connector`'s flags override "
            "it. `redis_url`, `partitions` and `events_maxlen` come from the gateway settings "
            "above.",
            ConnectorConfig,
            CONNECTOR_DOCS,
            key=lambda name: "connect" if name == "host" else name,
            flags=connector_flags,
            skip=frozenset({"port"}),  # one setting with host: connect = "HOST:PORT"
            default_text={
                "host": "`127.0.0.1:9878`",
                "message_log": "`$XDG_STATE_HOME/ordergate/fix`",
            },
        ),
        Group(
            "FIX session (`fixengine/settings.py`, `SessionSettings`)",
            "QuickFIX names; *(ours)* marks settings QuickFIX does not have. The connector "
            "takes them from `[connector] extra_settings`, the simulator from `[defaults]` and "
            "`[[session]]`; `load_quickfix_cfg` reads a QuickFIX `.cfg`.",
            SessionSettings,
            SESSION_DOCS,
            skip=frozenset({"extra"}),
        ),
        Group(
            "Exchange simulator (`[simulator]`, `simulators/exchange/config.py`)",
            "The simulator's own file (`ordergate simulator --config FILE`); its flags "
            "override it.",
            SimulatorConfig,
            SIMULATOR_DOCS,
            flags=flags_by_dest(parsers["simulator"]),
            skip=frozenset({"sessions"}),
        ),
        Group(
            "Simulator sessions (`[[session]]`, `SessionConfig`)",
            "One table per FIX session the simulator accepts. Upper-case keys are FIX session "
            "settings (above); `[defaults]` gives them for every session.",
            SessionConfig,
            SIM_SESSION_DOCS,
            key=lambda name: session_keys.get(name, name),
        ),
    ]


def render_settings() -> str:
    out = [render_group(g) for g in groups()]
    out.append(ARCHIVE_TABLE)
    out.append(render_commands())
    return "\n\n".join(out) + "\n"


ARCHIVE_TABLE = """### Audit archive (`[archive]`, read by `operations/archive_cli.py`)

| setting | default | meaning |
|---|---|---|
| `archive.bucket` | none | S3 bucket; `{environment}` becomes the configured environment (`--bucket`) |
| `archive.prefix` | `""` | key prefix, e.g. `audit/` (`--prefix`) |"""

GATEWAY_DOCS = {
    "environment": "`development`, `staging`, `production`...: fills `{environment}` in "
    "references; `production` refuses the development JWT secret",
    "partitions": "order partitions P (`{p}` = CRC-32(account) mod P); every process must agree",
    "redis_url": "Redis URL, or a reference (`env:`, `file:`, `ssm:`, `secretsmanager:`)",
    "redis_cluster": "talk to a Redis Cluster",
    "wait_replicas": "after each submit, `WAIT` for this many replicas (0: off)",
    "wait_timeout_ms": "how long that `WAIT` may take",
    "redis_timeout_ms": "every API Redis call's time limit (1100-60000 ms): a hung Redis is a 503, "
    "never a hung request",
    "events_maxlen": "approximate cap (`MAXLEN ~`) of each partition's event stream",
    "refdata_path": "symbols file (default `gateway/data/symbols.json`)",
    "routing_path": "routing file (default `gateway/data/routing.json`)",
}
RISK_DOCS = {
    "max_order_quantity": "shares per order",
    "max_order_notional": "yen per order (price × quantity; a market order at the upper limit)",
    "max_open_orders": "open orders per account",
    "max_daily_buy_notional": "yen of buys submitted per account per Tokyo trading day",
    "orders_per_second": "token bucket refill rate per account (`rate_limited` when empty)",
    "burst": "token bucket size",
}
JWT_DOCS = {
    "algorithm": "`HS256` (shared secret) or `RS256` (keys from `jwks_url`)",
    "secret": "HS256 secret, or a reference to it",
    "jwks_url": "RS256: the JWKS address (e.g. a Cognito user pool's)",
    "issuer": "required `iss` claim, when set",
    "audience": "required `aud` claim, when set",
    "resource_server": "prefix a scope may carry (`<resource_server>/ops`); scopes match exactly "
    "otherwise",
}
CONNECTOR_DOCS = {
    "venue": "venue of the session and of the command streams",
    "host": "the venue's FIX acceptor, `HOST:PORT`",
    "sender_comp_id": "our SenderCompID",
    "target_comp_id": "the venue's CompID (none: the venue's name)",
    "redis_url": "Redis URL (normally the gateway's `redis.url`)",
    "partitions": "partitions of the command streams (normally the gateway's)",
    "events_maxlen": "event stream cap (normally the gateway's `events.maxlen`)",
    "username": "Username(553) sent at Logon",
    "password": "Password(554), by reference only: `env:NAME` or `file:/path`",
    "heartbeat": "HeartBtInt, seconds",
    "hours": "`venue` (the venue's window, Asia/Tokyo, Mon–Fri, no holidays), `always`, "
    "or `HH:MM-HH:MM`",
    "throttle_rate": "messages per second to the venue (none: no throttle)",
    "throttle_burst": "throttle bucket size (default rate/10)",
    "lease_ttl": "leader lease TTL, seconds; a standby takes over within TTL + TTL/3",
    "batch": "entries per stream per XREADGROUP, and per processing chunk",
    "reconcile": "OrderStatusRequest for in-flight orders after each logon",
    "message_log": "FIX message log directory (one file per session); `off` disables it",
    "reconnect_interval": "initiator backoff start, seconds",
    "max_reconnect_interval": "initiator backoff cap, seconds",
    "extra_settings": "any FIX session setting by its QuickFIX name (table below)",
}
SESSION_DOCS = {
    "SenderCompID": "our CompID; the session is `FIX.4.4:SENDER->TARGET`",
    "TargetCompID": "the counterparty's CompID",
    "BeginString": "FIX version",
    "ConnectionType": "`initiator` or `acceptor`",
    "SocketConnectHost": "initiator: where to connect",
    "SocketConnectPort": "initiator: where to connect",
    "SocketAcceptHost": "acceptor: where to listen",
    "SocketAcceptPort": "acceptor: where to listen",
    "HeartBtInt": "seconds (the acceptor adopts the initiator's)",
    "CheckPeerHeartbeats": "N: never send a TestRequest nor drop a silent peer (the simulator's "
    "default, its `heartbeat_check`)",
    "TestRequestDelayMultiplier": "inbound silence beyond HeartBtInt, as a fraction of it, "
    "before a TestRequest",
    "ResetOnLogon": "both sequence numbers back to 1 at each Logon",
    "ResetOnLogout": "reset after a Logout exchange",
    "ResetOnDisconnect": "reset on every disconnect",
    "ResetOnSessionStart": "*(ours)* reset at the start of each scheduled window (daily)",
    "CheckCompID": "reject messages with wrong CompIDs",
    "CheckLatency": "reject messages whose SendingTime is off by more than MaxLatency",
    "MaxLatency": "seconds",
    "UseDataDictionary": "validate inbound messages against the dictionary",
    "DataDictionary": "QuickFIX-format XML dictionary; empty: `fixengine/spec/FIX44.xml`",
    "ValidateFieldsOutOfOrder": "reject header / body / trailer fields out of place",
    "ValidateUserDefinedFields": "check user-defined tags (>= 5000) against the dictionary",
    "LogonTimeout": "seconds to wait for the Logon (both roles)",
    "LogoutTimeout": "seconds to wait for the Logout reply",
    "ReconnectInterval": "initiator: first reconnect delay, doubling up to MaxReconnectInterval",
    "MaxReconnectInterval": "*(ours)* cap of the reconnect backoff (QuickFIX: fixed 30)",
    "Username": "Username(553) sent by the initiator / required by the acceptor",
    "Password": "Password(554) sent by the initiator / required by the acceptor",
    "StartTime": "window start `HH:MM:SS` in TimeZone (none: always in session)",
    "EndTime": "window end; a window may cross midnight",
    "TimeZone": "time zone of the schedule",
    "Weekdays": "`Mon,Tue,...` (none: every day)",
    "Holidays": "*(ours)* `YYYY-MM-DD,...` in TimeZone: no window opens on these days",
    "PersistMessages": "store outbound application messages for resend (`N`: numbers only, "
    "resends are gap-filled)",
    "FileLogPath": "message log directory (`<session>.messages.log`; passwords as `***`)",
    "SocketUseSSL": "TLS (`ssl_context_from_settings`)",
    "ServerCertificateFile": "acceptor TLS certificate",
    "ServerCertificateKeyFile": "acceptor TLS key",
    "ClientCertificateFile": "initiator TLS client certificate",
    "ClientCertificateKeyFile": "initiator TLS client key",
    "CertificateAuthoritiesFile": "CA bundle to verify the peer",
    "WriteHighWaterMark": "*(ours)* bytes buffered before the writer awaits drain",
}
SIMULATOR_DOCS = {
    "venue": "venue whose hours, order rules and symbols apply (`TSE`, `JNX`)",
    "host": "FIX listen address",
    "port": "FIX listen port",
    "control_host": "control API address (keep it on loopback: no authentication)",
    "control_port": "control API port",
    "phase": "pin `pre_open`, `continuous`, `lunch`, `closing_auction` or `closed` "
    "(none: follow the clock)",
    "clock": "`real` (none), `<ISO time>` (fixed) or `<ISO time>x<speed>` (compressed)",
    "liquidity": "keep resting random-walk liquidity in every book",
    "seed": "seed of that random walk",
    "reference_data": "symbols and base prices (default `gateway/data/symbols.json`)",
    "book": "deterministic books from a JSON file, at start and after every reset",
}
SIM_SESSION_DOCS = {
    "sender_comp_id": "the simulator's CompID in this session (required)",
    "target_comp_id": "the initiator's CompID (required)",
    "settings": "FIX session settings for this session, over `[defaults]`",
    "password": "the Logon must carry this Password(554)",
    "username": "the Logon must carry this Username(553)",
    "cancel_on_disconnect": "cancel the session's open orders when it drops",
    "self_trade_prevention": "cancel the newer order instead of trading with the same session",
    "heartbeat_check": "TestRequest a silent peer and drop it if it stays silent",
    "max_order_value": "yen per order, a decimal string (none: no limit)",
    "max_value_per_second": "yen per rolling second (none: no limit)",
    "symbols": "symbols the session may trade (none: every symbol of the venue)",
}
