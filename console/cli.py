"""``ordergate console``: the operations console, one stateless process (run as many as needed
behind a load balancer: sessions are the signed token in a cookie, nothing is kept in memory).

``ordergate console --host H --port P --redis URL [--simulator CONTROL_URL]...``
"""

from __future__ import annotations

import argparse
import sys
from typing import Any

from gateway import logs
from gateway.auth import AuthSettings, TokenVerifier, check_production_safety
from gateway.cli_args import add_log_level, port, redis_url
from gateway.config import ConfigError, GatewayConfig

EXIT_CODES = {
    0: "stopped by SIGTERM / Ctrl-C",
    1: "failed after starting (see the log)",
    2: "bad flag or configuration",
    3: "the server could not start (address in use, unknown host)",
}


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--host", default="127.0.0.1", help="address to listen on")
    parser.add_argument("--port", type=port, default=8090, help="TCP port (default 8090)")
    parser.add_argument(
        "--redis", type=redis_url, default=None, help="Redis URL (default: from the config)"
    )
    parser.add_argument(
        "--simulator",
        action="append",
        default=[],
        metavar="CONTROL_URL",
        help="an exchange simulator's control API, e.g. http://127.0.0.1:9879 (repeat)",
    )
    parser.add_argument(
        "--session",
        action="append",
        default=[],
        metavar="VENUE=SESSION",
        help="a FIX session to show, e.g. TSE=FIX.4.4:ORDERGATE->TSE (repeat; default: the "
        "ORDERGATE->venue sessions that have state in Redis)",
    )
    parser.add_argument("--config", default=None, help="config file (TOML or JSON)")
    add_log_level(parser, "info")


def parse_sessions(items: list[str]) -> list[tuple[str, str]] | None:
    if not items:
        return None
    out = []
    for item in items:
        venue, sep, session = item.partition("=")
        if not sep or not venue or not session:
            raise ValueError(f"--session {item!r}: VENUE=SESSION, e.g. TSE=FIX.4.4:ORDERGATE->TSE")
        out.append((venue, session))
    return out


def auth_settings(config: GatewayConfig) -> AuthSettings:
    j = config.jwt
    return AuthSettings(
        algorithm=j.algorithm,
        secret=j.secret,
        jwks_url=j.jwks_url,
        issuer=j.issuer,
        audience=j.audience,
    )


async def _serve(args: argparse.Namespace, config: GatewayConfig) -> None:
    import redis.asyncio as aioredis
    import uvicorn

    from gateway.orders import OrderGateway
    from gateway.refdata import ReferenceData

    from .app import Console, build_app
    from .simctl import Simulator

    url = args.redis or config.redis_url
    client: Any = (
        aioredis.RedisCluster.from_url(url)
        if config.redis_cluster
        else aioredis.Redis.from_url(url)
    )
    console = Console(
        redis=client,
        gateway=OrderGateway(client, config, ReferenceData.load(config.refdata_path)),
        verifier=TokenVerifier(auth_settings(config)),
        simulators=[Simulator(i, u) for i, u in enumerate(args.simulator)],
        sessions=parse_sessions(args.session),
        partitions=config.partitions,
    )
    await console.gateway.load_scripts()
    server = uvicorn.Server(
        uvicorn.Config(
            build_app(console),
            host=args.host,
            port=args.port,
            access_log=False,  # tokens never travel in URLs, but keep request logs out anyway
            log_level="warning",
            lifespan="off",
        )
    )
    try:
        await server.serve()
    finally:
        await client.aclose()


def run(args: argparse.Namespace) -> int:
    logs.configure(args.log_level)
    try:
        config = GatewayConfig.load(args.config)
        check_production_safety(config.environment, auth_settings(config))
        parse_sessions(args.session)
    except (ConfigError, OSError, ValueError, RuntimeError) as exc:
        print(f"ordergate console: {exc}", file=sys.stderr)
        return 2
    for u in args.simulator:
        if not u.startswith(("http://", "https://")):
            print(f"ordergate console: --simulator {u!r}: an http:// URL", file=sys.stderr)
            return 2
    try:
        import uvloop

        uvloop.run(_serve(args, config))
    except KeyboardInterrupt:
        pass
    except OSError as exc:
        print(f"ordergate console: {exc}", file=sys.stderr)
        return 1
    return 0
