"""``ordergate trail ORDER_ID``: an order's end-to-end trail, read straight from Redis."""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
from typing import Any

from gateway.cli_args import redis_url
from gateway.config import ConfigError, GatewayConfig, redact_url
from gateway.errors import OrderError

EXIT_CODES = {
    0: "printed the trail",
    1: "no such order, or Redis unreachable",
    2: "bad flag or configuration",
}


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("order_id", help="the order id the API returned")
    parser.add_argument("--redis", type=redis_url, help="Redis URL (default: from the config)")
    parser.add_argument("--config", help="config file (TOML or JSON); default $OG_CONFIG")
    parser.add_argument("--json", action="store_true", help="print JSON instead of a table")


async def _trail(args: argparse.Namespace, config: GatewayConfig) -> tuple[Any, list[Any]]:
    import redis.asyncio as aioredis

    from gateway.orders import OrderGateway
    from gateway.refdata import ReferenceData

    url = args.redis or config.redis_url
    timeout = config.redis_timeout_ms / 1000  # a hung Redis ends the command, not hangs it
    kwargs: dict[str, Any] = {"socket_timeout": timeout, "socket_connect_timeout": timeout}
    client: Any = (
        aioredis.RedisCluster.from_url(url, **kwargs)
        if config.redis_cluster
        else aioredis.Redis.from_url(url, **kwargs)
    )
    try:
        gw = OrderGateway(client, config, ReferenceData.load(config.refdata_path))
        order = await gw.get(args.order_id, accounts=None)
        return order, await gw.trail(args.order_id, accounts=None)
    finally:
        await client.aclose()


def run(args: argparse.Namespace) -> int:
    from redis.exceptions import RedisError

    try:
        config = GatewayConfig.load(args.config)
    except ConfigError as exc:
        print(f"ordergate trail: {exc}", file=sys.stderr)
        return 2
    try:
        order, steps = asyncio.run(_trail(args, config))
    except OrderError as exc:
        print(f"ordergate trail: {exc.code.value}: {exc.message}", file=sys.stderr)
        return 1
    except (OSError, RedisError) as exc:  # e.g. a cluster that is not one
        url = redact_url(args.redis or config.redis_url)
        print(f"ordergate trail: Redis at {url}: {type(exc).__name__}: {exc}", file=sys.stderr)
        return 1
    if args.json:
        print(
            json.dumps({"order": order.to_json(), "steps": [s.to_json() for s in steps]}, indent=2)
        )
        return 0
    print(
        f"{order.order_id}  {order.account} {order.side.value} {order.quantity} {order.symbol} "
        f"@ {order.price or 'market'} on {order.venue}: {order.status.value}, "
        f"filled {order.cum_qty} avg {order.avg_px}"
    )
    for s in steps:
        detail = " ".join(f"{k}={v}" for k, v in sorted(s.detail.items()))
        print(f"{s.at}  {s.step:<18} {s.component:<10} {s.process:<16} {detail}")
    return 0
