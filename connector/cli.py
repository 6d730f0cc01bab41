"""``ordergate connector``: one FIX connector for one exchange session.

Starts from its flags alone (development defaults); a second one for the same session waits as a
hot standby. SIGTERM / Ctrl-C: log out, give the lease up (a standby takes over at once), exit.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import logging
import signal
import sys

from gateway import logs
from gateway.cli_args import add_log_level, redis_url
from gateway.config import ConfigError

EXIT_CODES = {
    0: "stopped by SIGTERM / Ctrl-C (logged out, lease given up); it retries, never exits, "
    "while Redis or the venue is unreachable",
    2: "bad flag or configuration",
}


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--venue", help="venue of the session (default TSE)")
    parser.add_argument(
        "--connect", help="HOST:PORT of the venue's FIX acceptor (default 127.0.0.1:9878)"
    )
    parser.add_argument("--sender-comp-id", help="our SenderCompID (default ORDERGATE)")
    parser.add_argument("--target-comp-id", help="the venue's CompID (default: the venue)")
    parser.add_argument(
        "--redis",
        dest="redis_url",
        type=redis_url,
        help="Redis URL (default redis://127.0.0.1:6379/0)",
    )
    parser.add_argument("--config", help="config file (TOML/JSON; the [connector] table)")
    parser.add_argument(
        "--hours",
        help='"always" (tests, rehearsals), "venue" (the venue window, Asia/Tokyo: default) '
        'or "HH:MM-HH:MM"',
    )
    parser.add_argument("--heartbeat", type=int, help="HeartBtInt in seconds (default 30)")
    parser.add_argument(
        "--throttle-rate", type=float, help="max messages per second (default: none)"
    )
    parser.add_argument("--throttle-burst", type=float, help="token bucket size")
    parser.add_argument("--lease-ttl", type=float, help="leader lease TTL in seconds (default 3)")
    parser.add_argument(
        "--partitions", type=int, help="partitions of the command streams (default 16)"
    )
    parser.add_argument(
        "--message-log",
        help="directory of the FIX message log (default ~/.local/state/ordergate/fix; off: none)",
    )
    add_log_level(parser, "info")


def _flags(args: argparse.Namespace) -> dict[str, object]:
    names = (
        "venue",
        "connect",
        "sender_comp_id",
        "target_comp_id",
        "redis_url",
        "hours",
        "heartbeat",
        "throttle_rate",
        "throttle_burst",
        "lease_ttl",
        "partitions",
        "message_log",
    )
    return {n: getattr(args, n, None) for n in names}


async def _main(cfg: object) -> int:
    import redis.asyncio as aioredis

    from connector.service import Connector, tune_gc

    assert hasattr(cfg, "redis_url")
    client = aioredis.from_url(cfg.redis_url, socket_timeout=5, socket_connect_timeout=2)
    conn = Connector(cfg, client)  # type: ignore[arg-type]
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        with contextlib.suppress(NotImplementedError):
            loop.add_signal_handler(sig, conn.stop)
    tune_gc()
    try:
        await conn.run()
    finally:
        await client.aclose()
    return 0


def run(args: argparse.Namespace) -> int:
    from connector import config
    from gateway.config import redact_url

    logs.configure(args.log_level)
    try:
        cfg = config.load(args.config, _flags(args))
        cfg.session_settings()
    except ConfigError as exc:
        print(f"ordergate connector: {exc}", file=sys.stderr)
        return 2
    logging.getLogger("ordergate.connector").info(
        "connector %s -> %s:%d, redis %s, hours %s, throttle %s",
        cfg.session_id,
        cfg.host,
        cfg.port,
        redact_url(cfg.redis_url),
        cfg.hours,
        cfg.throttle_rate or "none",
    )
    import uvloop

    return uvloop.run(_main(cfg))
