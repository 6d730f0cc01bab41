"""``ordergate archive``: the order events of every partition, archived to S3 (``operations.archive``).

``--once`` archives what the streams hold now and exits (tests, cron): 0 when done, 1 when the
bucket is missing or S3 / Redis cannot be reached. Without it the archiver runs as a service. It
retries S3 and Redis with backoff and a log line, and keeps anything it has not yet archived
pending. ``--bucket`` and ``--prefix`` default to the ``[archive]`` table of the config
(``bucket = "ordergate-{environment}-audit"`` works), ``--redis`` to the config's Redis URL.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
import os
import re
import signal
import sys
from typing import Any

from gateway import logs
from gateway.cli_args import add_log_level, redis_url
from gateway.config import ConfigError, GatewayConfig, redact_url
from operations.archive import (
    ArchiveError,
    Archiver,
    S3Store,
    Settings,
    normalize_prefix,
    s3_client,
)

# S3 bucket naming rules (the common subset): 3-63 of a-z 0-9 . -, letter or digit at each end
_BUCKET = re.compile(r"^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$")
log = logging.getLogger("ordergate.archive")

EXIT_CODES = {
    0: "--once: archived what was there; else stopped by SIGTERM / Ctrl-C",
    1: "--once: the bucket is missing, or S3 or Redis cannot be reached",
    2: "bad flag or configuration",
}


def _positive_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"must be an integer, got {text!r}") from None
    if not 1 <= value <= 100_000:
        raise argparse.ArgumentTypeError(f"must be between 1 and 100000, got {value}")
    return value


def _seconds(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"must be a number of seconds, got {text!r}") from None
    if not 0 < value <= 86_400:  # NaN fails this too
        raise argparse.ArgumentTypeError(f"must be > 0 and <= 86400 seconds, got {text}")
    return value


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--redis", type=redis_url, help="Redis URL (default: from the config)")
    parser.add_argument("--bucket", help="S3 bucket (default: [archive] bucket of the config)")
    parser.add_argument("--prefix", help="key prefix, e.g. audit/ (default: [archive] prefix)")
    parser.add_argument(
        "--max-events", type=_positive_int, default=1000, help="events per object (1000)"
    )
    parser.add_argument(
        "--max-age", type=_seconds, default=5.0, help="seconds an event may wait for its batch (5)"
    )
    parser.add_argument(
        "--block", type=_seconds, default=1.0, help="longest XREADGROUP block, seconds (1)"
    )
    parser.add_argument("--once", action="store_true", help="archive what is there now, then exit")
    parser.add_argument("--config", help="config file (TOML or JSON); default $OG_CONFIG")
    add_log_level(parser, "info")


def settings_from(args: argparse.Namespace, config: GatewayConfig) -> Settings:
    """Flags over the ``[archive]`` table; ``ConfigError`` with the flag's name on a bad value."""
    table: Any = config.extra.get("archive", {})
    if not isinstance(table, dict):
        raise ConfigError("archive: must be a table")
    bucket = args.bucket or table.get("bucket")
    if not bucket:
        raise ConfigError("--bucket is required (or bucket in the [archive] table of the config)")
    bucket = str(bucket).replace("{environment}", config.environment)
    if not _BUCKET.match(bucket) or ".." in bucket:
        raise ConfigError(f"--bucket: {bucket!r} is not an S3 bucket name (3-63 of a-z 0-9 . -)")
    prefix = args.prefix if args.prefix is not None else str(table.get("prefix", ""))
    try:
        prefix = normalize_prefix(prefix)
    except ValueError as exc:
        raise ConfigError(f"--prefix: {exc}, got {prefix!r}") from None
    return Settings(
        bucket=bucket,
        prefix=prefix,
        partitions=config.partitions,
        max_events=args.max_events,
        max_age=args.max_age,
        block_ms=max(1, int(args.block * 1000)),
        attempts=3 if args.once else None,
    )


def _redis_client(url: str, cluster: bool) -> Any:
    import redis.asyncio as aioredis

    if cluster:
        return aioredis.RedisCluster.from_url(url)
    return aioredis.Redis.from_url(url)


async def _wait_for_bucket(store: S3Store) -> None:
    """Service mode: a missing bucket or an unreachable S3 is logged and retried, not fatal."""
    attempt = 0
    while True:
        try:
            await store.check()
            return
        except ArchiveError as exc:
            attempt += 1
            log.warning("archive: %s; retrying", exc)
            await asyncio.sleep(min(30.0, 0.5 * 2 ** min(attempt, 6)))


async def _archive(args: argparse.Namespace, settings: Settings, url: str, cluster: bool) -> int:
    redis = _redis_client(url, cluster)
    try:
        async with s3_client(os.environ) as client:
            store = S3Store(client, settings.bucket)
            archiver = Archiver(redis, store, settings)
            if args.once:
                await store.check()
                stats = await archiver.run_once()
                print(json.dumps(stats.summary()))
                return 0
            await _wait_for_bucket(store)
            log.info(
                "archive: %d partitions -> s3://%s/%s",
                settings.partitions,
                settings.bucket,
                settings.prefix,
            )
            await archiver.run_forever()
            return 0
    finally:
        await redis.aclose()


async def _until_stopped(
    args: argparse.Namespace, settings: Settings, url: str, cluster: bool
) -> int:
    """Run until done or SIGTERM / SIGINT; what was read but not archived stays pending."""
    task = asyncio.ensure_future(_archive(args, settings, url, cluster))
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, task.cancel)
    try:
        return await task
    except asyncio.CancelledError:
        log.info("archive: stopped")
        return 0


def run(args: argparse.Namespace) -> int:
    logs.configure(args.log_level)
    try:
        config = GatewayConfig.load(args.config)
        settings = settings_from(args, config)
    except ConfigError as exc:
        print(f"ordergate archive: {exc}", file=sys.stderr)
        return 2
    url = args.redis or config.redis_url
    try:
        return asyncio.run(_until_stopped(args, settings, url, config.redis_cluster))
    except ArchiveError as exc:
        print(f"ordergate archive: {exc}", file=sys.stderr)
        return 1
    except Exception as exc:  # Redis unreachable, refused, ...: say which, without a password
        print(
            f"ordergate archive: redis {redact_url(url)}: {type(exc).__name__}: {exc}",
            file=sys.stderr,
        )
        return 1
