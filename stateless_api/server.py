"""Process start-up: settings, Redis client, gateway, the app, uvicorn (uvloop + httptools).

``app_from_env`` is the uvicorn factory (``--workers N`` starts N such processes, each building
its own context). After start-up the process freezes the objects it has allocated so far
(``gc.freeze``) and raises the collection threshold: the garbage collector then has little to
walk on the hot path, which removes the tail latency a full collection causes.
"""

from __future__ import annotations

import asyncio
import contextlib
import gc
import logging
import os
import socket
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from starlette.applications import Starlette

from gateway.auth import TokenVerifier, check_production_safety
from gateway.errors import OrderError

from .app import build_app
from .context import ApiContext
from .settings import ApiSettings, load_settings

log = logging.getLogger("ordergate.api")

ENV_CONFIG = "ORDERGATE_API_CONFIG"
ENV_REDIS = "ORDERGATE_API_REDIS"
ENV_CLUSTER = "ORDERGATE_API_REDIS_CLUSTER"
GC_THRESHOLD = (50_000, 50, 100)
READY_RETRY_SECONDS = 0.5
#: Redis connections of one API process (event streams each hold one while they block)
REDIS_MAX_CONNECTIONS = 1024


def process_name() -> str:
    return f"api@{socket.gethostname()}:{os.getpid()}"


def connect_redis(url: str, cluster: bool, timeout: float) -> Any:
    """A redis-py asyncio client (a cluster client when ``cluster``; any node's URL will do)
    whose every connect and reply waits at most ``timeout`` seconds: a hung Redis (stopped,
    partitioned) answers 503 on every route instead of holding requests forever. The
    batcher's own connection (``gateway.resp_pipe``) takes the same timeouts from it.

    A single node's pool is a ``BlockingConnectionPool``: redis-py's default pool connects a
    new connection (and runs its handshake) while holding the pool's lock, so with a hung
    Redis the requests queued behind one another, each waiting its own timeout in turn. This
    one connects outside the lock, caps the connections, and waits ``timeout`` at most for a
    free one."""
    kwargs: dict[str, Any] = {"socket_timeout": timeout, "socket_connect_timeout": timeout}
    if cluster:
        from redis.asyncio.cluster import RedisCluster

        return RedisCluster.from_url(url, **kwargs)
    import redis.asyncio as aioredis

    pool: Any = aioredis.BlockingConnectionPool.from_url(
        url, max_connections=REDIS_MAX_CONNECTIONS, timeout=timeout, **kwargs
    )
    # the client owns (and closes) the pool; from_pool is redis 5's, unknown to types-redis 4
    return aioredis.Redis.from_pool(pool)  # type: ignore[attr-defined]


def build_context(
    settings: ApiSettings, redis_url: str, cluster: bool = False
) -> tuple[ApiContext, Any]:
    from gateway.orders import OrderGateway
    from gateway.refdata import ReferenceData

    check_production_safety(settings.environment, settings.auth)
    redis = connect_redis(
        redis_url,
        cluster or settings.redis_cluster,
        settings.gateway_config.redis_timeout_ms / 1000,
    )
    refdata = ReferenceData.load()
    gateway = OrderGateway(redis, settings.gateway_config, refdata)
    ctx = ApiContext(
        gateway=gateway,
        refdata=refdata,
        verifier=TokenVerifier(settings.auth),
        environment=settings.environment,
        process=process_name(),
    )
    return ctx, redis


async def _load_scripts_until_ready(ctx: ApiContext) -> None:
    """Keep trying until Redis answers; ``/readyz`` says 503 meanwhile."""
    while True:
        try:
            await ctx.gateway.load_scripts()
            ctx.ready = True
            log.info("scripts loaded; ready")
            return
        except (OrderError, OSError, ConnectionError) as exc:
            log.warning("not ready yet: %s", exc)
        except Exception as exc:  # redis-py raises its own ConnectionError family
            log.warning("not ready yet: %s", exc)
        await asyncio.sleep(READY_RETRY_SECONDS)


def create_app(settings: ApiSettings, redis_url: str, cluster: bool = False) -> Any:
    ctx, redis = build_context(settings, redis_url, cluster)

    @asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        if ctx.verifier.jwks is not None:
            try:
                await ctx.verifier.jwks.refresh()
            except OSError as exc:
                log.warning("JWKS not reachable at start-up (%s); will retry on demand", exc)
        loader = asyncio.create_task(_load_scripts_until_ready(ctx))
        with contextlib.suppress(asyncio.TimeoutError):
            await asyncio.wait_for(asyncio.shield(loader), 5.0)
        gc.collect()
        gc.freeze()
        gc.set_threshold(*GC_THRESHOLD)
        log.info("%s serving (environment %s)", ctx.process, ctx.environment)
        try:
            yield
        finally:
            loader.cancel()
            with contextlib.suppress(Exception):
                await ctx.gateway.batcher.aclose()  # its own connection, not the client's
                await redis.aclose()

    return build_app(ctx, lifespan=lifespan)


def app_from_env() -> Any:
    """uvicorn factory: settings from the environment the CLI prepared."""
    settings = load_settings(os.environ.get(ENV_CONFIG) or None)
    redis_url = os.environ.get(ENV_REDIS) or settings.redis_url
    cluster = os.environ.get(ENV_CLUSTER) == "1"
    return create_app(settings, redis_url, cluster)
