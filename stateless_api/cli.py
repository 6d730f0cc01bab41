"""``ordergate api``: one API process (or ``--workers N`` of them) on uvicorn with uvloop.

Runs in the foreground; SIGTERM / Ctrl-C stop it (uvicorn drains open requests first).
"""

from __future__ import annotations

import argparse
import logging
import os
import sys

from gateway.auth import check_production_safety
from gateway.config import ConfigError

from . import server
from .fastpath import FastHttpToolsProtocol
from .settings import load_settings


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--host", default="127.0.0.1", help="address to listen on")
    parser.add_argument("--port", type=int, default=8080, help="TCP port (default 8080)")
    parser.add_argument(
        "--redis",
        default=None,
        help="Redis URL (default: the config's, else redis://127.0.0.1:6379/0)",
    )
    parser.add_argument(
        "--redis-cluster",
        action="store_true",
        help="the Redis URL names one node of a Redis Cluster",
    )
    parser.add_argument(
        "--config", default=None, help="TOML/JSON config file (default: $OG_CONFIG)"
    )
    parser.add_argument("--workers", type=int, default=1, help="number of processes (default 1)")
    parser.add_argument(
        "--log-level", default="warning", help="uvicorn log level (default warning)"
    )
    parser.add_argument(
        "--access-log", action="store_true", help="log every request (off: it costs throughput)"
    )
    parser.add_argument(
        "--keep-alive",
        type=float,
        default=5.0,
        metavar="SECONDS",
        help="close a keep-alive connection idle this long (default 5)",
    )


def run(args: argparse.Namespace) -> int:
    logging.basicConfig(level=args.log_level.upper(), format="%(asctime)s %(name)s %(message)s")
    try:
        settings = load_settings(args.config)
        check_production_safety(settings.environment, settings.auth)
    except (ConfigError, OSError, RuntimeError) as exc:
        print(f"ordergate api: {exc}", file=sys.stderr)
        return 2
    if args.workers < 1:
        print("ordergate api: --workers must be at least 1", file=sys.stderr)
        return 2
    if not args.keep_alive > 0:
        print("ordergate api: --keep-alive must be a positive number of seconds", file=sys.stderr)
        return 2
    # Each worker builds its own context from these (uvicorn's factory runs in every process).
    if args.config:
        os.environ[server.ENV_CONFIG] = args.config
    os.environ[server.ENV_REDIS] = args.redis or settings.redis_url
    if args.redis_cluster:
        os.environ[server.ENV_CLUSTER] = "1"

    import uvicorn

    uvicorn.run(
        "stateless_api.server:app_from_env",
        factory=True,
        host=args.host,
        port=args.port,
        workers=args.workers,
        loop="uvloop",
        http=FastHttpToolsProtocol,  # httptools with the submit fast path (see fastpath.py)
        log_level=args.log_level,
        access_log=args.access_log,
        timeout_graceful_shutdown=5,
        timeout_keep_alive=args.keep_alive,  # type: ignore[arg-type]  # a float works
        server_header=False,
        # nothing here reads the client address; the X-Forwarded-* rewrite cost ~2 % per order
        proxy_headers=False,
    )
    return 0
