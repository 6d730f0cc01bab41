"""``ordergate simulator``: one exchange simulator process (FIX acceptor + matching + control API).

Flags give one session (``--sender-comp-id`` / ``--target-comp-id``); ``--config FILE`` gives
several (see :mod:`simulators.exchange.config`). Flags given on the command line override the
file; ``--reset-on-logon``, ``--heartbeat-check`` and ``--cancel-on-disconnect`` apply to every
session. Runs in the foreground on uvloop until SIGINT / SIGTERM; needs no Redis.
"""

from __future__ import annotations

import argparse
import dataclasses
import sys

from gateway import logs
from gateway.cli_args import add_log_level, port

from .config import ConfigError, SessionConfig, SimulatorConfig, load_config

PHASES = ("pre_open", "continuous", "lunch", "closing_auction", "closed")
EXIT_CODES = {
    0: "stopped by SIGTERM / Ctrl-C",
    2: "bad flag or configuration, or a port it cannot listen on",
}


def add_arguments(parser: argparse.ArgumentParser) -> None:
    # defaults are None so that only flags really given override the config file
    parser.add_argument(
        "--venue", help="venue code from gateway/data/venues.json: TSE, JNX (default TSE)"
    )
    parser.add_argument("--host", help="FIX listen address (default 127.0.0.1)")
    parser.add_argument("--port", type=port, help="FIX listen port (default 9878)")
    parser.add_argument("--sender-comp-id", help="our SenderCompID (default: the venue)")
    parser.add_argument("--target-comp-id", help="the initiator's CompID (default ORDERGATE)")
    parser.add_argument("--control-host", help="control API address (default 127.0.0.1)")
    parser.add_argument("--control-port", type=port, help="control API port (default 9879)")
    parser.add_argument("--config", help="TOML file: several sessions, settings, behaviour")
    parser.add_argument(
        "--reset-on-logon",
        action="store_true",
        default=None,
        help="both sequence numbers back to 1 at each Logon",
    )
    parser.add_argument(
        "--heartbeat-check",
        action="store_true",
        default=None,
        help="watch the peer's heartbeats: TestRequest when silent, disconnect if unanswered",
    )
    parser.add_argument(
        "--cancel-on-disconnect",
        action="store_true",
        default=None,
        help="cancel a session's resting orders when it drops (reported at the next logon)",
    )
    parser.add_argument(
        "--clock", help="'real' (default), '<ISO time>' fixed, or '<ISO time>x<speed>'"
    )
    parser.add_argument("--phase", choices=PHASES, help="pin the market phase")
    parser.add_argument(
        "--liquidity", action="store_true", default=None, help="keep resting liquidity"
    )
    parser.add_argument("--seed", type=int, help="seed of the liquidity random walk")
    parser.add_argument(
        "--book", help='JSON book to load at start and after a reset: {"books": {"7203": ...}}'
    )
    parser.add_argument("--reference-data", help="reference data file (default: the gateway's)")
    parser.add_argument(
        "--message-log",
        help="directory for every session's FIX message log (QuickFIX FileLogPath)",
    )
    add_log_level(parser, "info")


def build_config(args: argparse.Namespace) -> SimulatorConfig:
    """Merge the config file (if any) and the flags; raise :class:`ConfigError` on conflicts."""
    cfg = load_config(args.config) if getattr(args, "config", None) else SimulatorConfig()
    overrides = {
        key: getattr(args, key)
        for key in (
            "venue",
            "host",
            "port",
            "control_host",
            "control_port",
            "phase",
            "clock",
            "liquidity",
            "seed",
            "reference_data",
            "book",
        )
        if getattr(args, key, None) is not None
    }
    cfg = dataclasses.replace(cfg, **overrides)
    sessions = list(cfg.sessions)
    sender = getattr(args, "sender_comp_id", None)
    target = getattr(args, "target_comp_id", None)
    if sessions and (sender or target):
        raise ConfigError(
            "give the sessions either in the config file or with --sender-comp-id/"
            "--target-comp-id, not both"
        )
    if not sessions:
        sessions = [SessionConfig(sender or cfg.venue, target or "ORDERGATE")]
    flags: dict[str, object] = {}
    if getattr(args, "reset_on_logon", None):
        flags["ResetOnLogon"] = True
    if getattr(args, "message_log", None):
        flags["FileLogPath"] = args.message_log
    cancel = bool(getattr(args, "cancel_on_disconnect", None))
    check = bool(getattr(args, "heartbeat_check", None))
    sessions = [
        dataclasses.replace(
            s,
            settings={**s.settings, **flags},  # type: ignore[dict-item]
            cancel_on_disconnect=s.cancel_on_disconnect or cancel,
            heartbeat_check=s.heartbeat_check or check,
        )
        for s in sessions
    ]
    return dataclasses.replace(cfg, sessions=tuple(sessions))


def run(args: argparse.Namespace) -> int:
    logs.configure(args.log_level)
    try:
        cfg = build_config(args)
    except ConfigError as exc:
        print(f"ordergate simulator: {exc}", file=sys.stderr)
        return 2
    from .server import serve_forever  # the FIX engine is imported only to run

    return serve_forever(cfg)
