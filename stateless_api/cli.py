"""``ordergate api``: one API process (or ``--workers N`` of them) on uvicorn with uvloop.

Runs in the foreground; SIGTERM / Ctrl-C stop it (uvicorn drains open requests first).
"""

from __future__ import annotations

import argparse
import logging
import os
import sys

from gateway import redis_compat
from gateway.auth import check_production_safety
from gateway.cli_args import add_log_level, port, redis_url
from gateway.config import ConfigError

from . import limits, server, uvicorn_compat
from .settings import load_settings

EXIT_CODES = {
    0: "stopped by SIGTERM / Ctrl-C (open requests drained)",
    1: "failed after starting (see the log)",
    2: "bad flag or configuration",
    3: "the server could not start (address in use, unknown host)",
}
HTTP_MODES = ("fast", "standard")


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--host", default="127.0.0.1", help="address to listen on")
    parser.add_argument("--port", type=port, default=8080, help="TCP port (default 8080)")
    parser.add_argument(
        "--redis",
        type=redis_url,
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
    add_log_level(parser, "warning")
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
    parser.add_argument(
        "--request-timeout",
        type=float,
        default=limits.REQUEST_TIMEOUT,
        metavar="SECONDS",
        help="answer 408 and close when a request begun is not complete after this long (default 5)",
    )
    parser.add_argument(
        "--max-connections",
        type=int,
        default=None,
        metavar="N",
        help="open connections per process; more are answered 503 and closed "
        "(default 4096, fewer if the open-files limit is lower)",
    )
    parser.add_argument(
        "--http",
        choices=HTTP_MODES,
        default="fast",
        help="fast: the submit fast path on uvicorn's httptools protocol (default); "
        "standard: uvicorn's protocol as it is, for a uvicorn the fast path does not support",
    )


def compatibility_problems(http: str) -> list[str]:
    """What the installed libraries lack of the private APIs this mode relies on."""
    found = redis_compat.problems()
    if http == "fast":
        found += uvicorn_compat.problems()
    return found


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
    for flag, value in (
        ("--keep-alive", args.keep_alive),
        ("--request-timeout", args.request_timeout),
    ):
        if not value > 0:
            print(f"ordergate api: {flag} must be a positive number of seconds", file=sys.stderr)
            return 2
    max_connections = args.max_connections
    if max_connections is None:
        max_connections = limits.default_max_connections()
    if max_connections < 1:
        print("ordergate api: --max-connections must be at least 1", file=sys.stderr)
        return 2
    problems = compatibility_problems(args.http)
    if problems:
        hint = " (or run with --http standard)" if args.http == "fast" else ""
        print(
            "ordergate api: the installed libraries are not the ones this version was tested "
            f"with: {'; '.join(problems)}. Install the locked versions (requirements.lock)"
            f"{hint}.",
            file=sys.stderr,
        )
        return 2
    # Each worker builds its own context from these (uvicorn's factory runs in every process).
    if args.config:
        os.environ[server.ENV_CONFIG] = args.config
    os.environ[server.ENV_REDIS] = args.redis or settings.redis_url
    if args.redis_cluster:
        os.environ[server.ENV_CLUSTER] = "1"
    os.environ[limits.ENV_LIMITS] = limits.Limits(
        request_timeout=args.request_timeout,
        keep_alive=args.keep_alive,
        max_connections=max_connections,
    ).to_env()
    protocol: type = limits.GuardedHttpToolsProtocol
    if args.http == "fast":
        from .fastpath import FastHttpToolsProtocol

        protocol = FastHttpToolsProtocol

    import uvicorn

    uvicorn.run(
        "stateless_api.server:app_from_env",
        factory=True,
        host=args.host,
        port=args.port,
        workers=args.workers,
        loop="uvloop",
        http=protocol,  # httptools (with the submit fast path unless --http standard)
        log_level=args.log_level,
        access_log=args.access_log,
        timeout_graceful_shutdown=5,
        timeout_keep_alive=args.keep_alive,  # type: ignore[arg-type]  # a float works
        server_header=False,
        # nothing here reads the client address; the X-Forwarded-* rewrite cost ~2 % per order
        proxy_headers=False,
    )
    return 0
