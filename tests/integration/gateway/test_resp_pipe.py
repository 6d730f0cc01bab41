"""The batcher's RESP pipe on a real redis-server: FIFO replies, NOSCRIPT, a lost or hung Redis."""

from __future__ import annotations

import asyncio
import hashlib
import time
from collections.abc import Iterator
from typing import Any

import pytest
import redis.asyncio as aioredis
import uvloop
from redis import exceptions as rexc
from support.gateway_orders import REFDATA, Clock, commands, order
from support.procs import RedisServer, async_wait_until, redis_ready

from gateway.config import GatewayConfig
from gateway.errors import ErrorCode, OrderError
from gateway.orders import OrderGateway
from gateway.resp_pipe import RespPipe, pipe_settings
from gateway.scripts import Batcher, Script, unavailable

pytestmark = pytest.mark.integration


@pytest.fixture(params=["asyncio", "uvloop"])
def event_loop_policy(request: pytest.FixtureRequest) -> asyncio.AbstractEventLoopPolicy:
    """Every async test on both loops: the API runs on uvloop, whose transports differ."""
    if request.param == "uvloop":
        return uvloop.EventLoopPolicy()
    return asyncio.DefaultEventLoopPolicy()


@pytest.fixture
def own_redis() -> Iterator[RedisServer]:
    """A redis-server of the test's own: it is paused, killed or given a password."""
    server = RedisServer().start()
    yield server
    server.stop()


def _script(source: str) -> Script:
    """A script with a test body (``Script`` reads its body from ``gateway/lua``)."""
    s = Script.__new__(Script)
    s.name, s.source, s._heads = "test", source, {}
    s.sha = hashlib.sha1(source.encode()).hexdigest()
    return s


async def _gateway(url: str, **client: Any) -> tuple[OrderGateway, aioredis.Redis]:
    redis = aioredis.Redis.from_url(url, **client)
    gw = OrderGateway(redis, GatewayConfig(), REFDATA, Clock())
    assert gw.batcher.pipe is not None, "a single-node TCP client must use the pipe"
    await gw.load_scripts()
    return gw, redis


async def _close(gw: OrderGateway, redis: aioredis.Redis) -> None:
    await gw.batcher.aclose()
    await redis.aclose()


async def test_each_request_gets_its_own_replies_in_order_error_replies_in_place(redis_client):
    pipe = RespPipe.for_client(redis_client)
    assert pipe is not None
    await redis_client.set("str", "x")
    loop = asyncio.get_running_loop()
    futs = []
    for i in range(400):
        if i % 9 == 4:  # an error reply between the others
            futs.append(pipe.execute(loop, [["HGET", "str", f"f{i}"]]))
        elif i % 9 == 7:  # a request of several commands, one of them an error
            futs.append(pipe.execute(loop, [["INCR", f"k{i}"], ["LPOP", "str"], ["ECHO", i]]))
        else:
            futs.append(pipe.execute(loop, [["INCRBY", f"k{i}", i + 1]]))
    replies = await asyncio.gather(*futs)
    for i, got in enumerate(replies):
        if i % 9 == 4:
            assert len(got) == 1 and type(got[0]) is rexc.ResponseError
            assert str(got[0]).startswith("WRONGTYPE")
        elif i % 9 == 7:
            assert got[0] == 1 and isinstance(got[1], rexc.ResponseError)
            assert got[2] == str(i).encode()
        else:
            assert got == [i + 1]
    pipe.close()


async def test_requests_made_while_the_socket_is_full_wait_and_keep_their_order(redis_client):
    pipe = RespPipe.for_client(redis_client)
    assert pipe is not None
    loop = asyncio.get_running_loop()
    await pipe.execute(loop, [["PING"]])  # connected
    big = b"x" * 200_000
    futs = [
        pipe.execute(loop, [["SET", f"k{i}", big + b"%d" % i], ["STRLEN", f"k{i}"]])
        for i in range(200)
    ]
    assert pipe._proto is not None and pipe._proto._backlog, "the transport paused writing"
    replies = await asyncio.gather(*futs)
    assert all(r == [b"OK", len(big) + len(str(i))] for i, r in enumerate(replies))
    assert await redis_client.get("k199") == big + b"199"
    pipe.close()


async def test_batcher_callers_each_get_their_own_result_or_error(redis_client):
    batcher = Batcher(redis_client, max_batch=256)
    script = _script(
        "if ARGV[1] == 'fail' then return redis.error_reply('BOOM ' .. KEYS[1]) end "
        "return redis.call('INCRBY', KEYS[1], ARGV[2])"
    )
    calls = [
        batcher.call_soon(script, [f"k{i}"], ["fail" if i % 7 == 3 else "ok", i])
        for i in range(600)
    ]  # more than max_batch: several batches, in flight together
    results = await asyncio.gather(*calls, return_exceptions=True)
    for i, res in enumerate(results):
        if i % 7 == 3:
            assert type(res) is rexc.ResponseError and str(res) == f"BOOM k{i}"
        else:
            assert res == (i, 0)
    await batcher.aclose()


class _Sink:
    """A ReplySink that records what it was handed (the HTTP fast path answers from here)."""

    def __init__(self) -> None:
        self.got: list[Any] = []

    def done(self) -> bool:
        return bool(self.got)

    def set_result(self, result: Any) -> None:
        self.got.append(("result", result))

    def set_exception(self, exception: BaseException) -> None:
        self.got.append(("error", exception))


async def test_call_into_hands_each_sink_its_reply_in_batches_shared_with_futures(own_redis):
    redis = aioredis.Redis.from_url(own_redis.url)
    batcher = Batcher(redis, max_batch=64)
    script = _script(
        "if ARGV[1] == 'fail' then return redis.error_reply('BOOM ' .. KEYS[1]) end "
        "return redis.call('INCRBY', KEYS[1], ARGV[2])"
    )
    sinks: dict[int, _Sink] = {}
    futs = {}
    for i in range(300):  # sinks and futures interleaved, over several batches
        args = ["fail" if i % 11 == 5 else "ok", i]
        if i % 2:
            sinks[i] = _Sink()
            batcher.call_into(script, [f"k{i}"], args, sinks[i])
        else:
            futs[i] = batcher.call_soon(script, [f"k{i}"], args)
    await asyncio.gather(*futs.values(), return_exceptions=True)
    await async_wait_until(_async(lambda: all(s.got for s in sinks.values())), 5, "sinks")
    for i, sink in sinks.items():
        assert len(sink.got) == 1, i
        kind, value = sink.got[0]
        if i % 11 == 5:
            assert kind == "error" and str(value) == f"BOOM k{i}"
        else:
            assert (kind, value) == ("result", (i, 0))
    own_redis.kill()  # now every sink of a batch hears that Redis is gone
    down = [_Sink() for _ in range(3)]
    for i, sink in enumerate(down):
        batcher.call_into(script, [f"d{i}"], ["ok", 1], sink)
    await async_wait_until(_async(lambda: all(s.got for s in down)), 10, "down sinks")
    for sink in down:
        kind, value = sink.got[0]
        err = unavailable(value)
        assert kind == "error" and isinstance(err, OrderError)
        assert err.code is ErrorCode.redis_unavailable
    await batcher.aclose()
    await redis.aclose()


async def test_noscript_after_script_flush_loads_the_script_and_the_submits_succeed(own_redis):
    gw, redis = await _gateway(own_redis.url)
    assert (await gw.submit(order(client_order_id="before"), process="w1")).created
    await redis.script_flush()
    assert await redis.script_exists(gw.scripts.submit.sha) == [False]
    outs = await asyncio.gather(
        *(gw.submit(order(client_order_id=f"after-{i}"), process="w1") for i in range(5))
    )
    assert all(o.created for o in outs)
    assert await redis.script_exists(gw.scripts.submit.sha) == [True]
    assert len(await commands(redis)) == 6
    await _close(gw, redis)


async def test_redis_killed_with_calls_pending_fails_them_unavailable_then_reconnects(own_redis):
    gw, redis = await _gateway(own_redis.url)
    assert (await gw.submit(order(client_order_id="before"), process="w1")).created
    await redis.execute_command("CLIENT", "PAUSE", 30000, "ALL")  # nothing is answered now
    futs = [
        gw.send_submit(gw.prepare_submit(order(client_order_id=f"c{i}"), process="w1"))
        for i in range(5)
    ]
    pipe = gw.batcher.pipe
    assert pipe is not None
    await async_wait_until(_async(lambda: pipe.pending == 1), 5, "the batch written")
    assert not any(f.done() for f in futs)
    own_redis.kill()
    done, _ = await asyncio.wait(futs, timeout=5)
    assert len(done) == 5
    for f in futs:
        err = unavailable(f.exception())  # type: ignore[arg-type]
        assert isinstance(err, OrderError) and err.code is ErrorCode.redis_unavailable
    own_redis.start()  # the same port
    assert (await gw.submit(order(client_order_id="after"), process="w1")).created
    await _close(gw, redis)


async def test_a_submit_while_redis_is_down_is_redis_unavailable(own_redis):
    gw, redis = await _gateway(own_redis.url, socket_connect_timeout=0.5)
    await gw.submit(order(client_order_id="before"), process="w1")
    own_redis.stop()
    with pytest.raises(OrderError) as ei:
        await gw.submit(order(client_order_id="during"), process="w1")
    assert ei.value.code is ErrorCode.redis_unavailable
    await _close(gw, redis)


async def test_password_and_acl_user_and_db_come_from_the_client(own_redis):
    admin = aioredis.Redis.from_url(own_redis.url)
    await admin.execute_command("ACL", "SETUSER", "og", "on", ">pw2", "~*", "&*", "+@all")
    await admin.config_set("requirepass", "s3cret")
    await admin.aclose()
    port = own_redis.port
    gw, redis = await _gateway(f"redis://:s3cret@127.0.0.1:{port}/0")
    assert (await gw.submit(order(), process="w1")).created
    assert len(await commands(redis)) == 1
    await _close(gw, redis)

    gw, redis = await _gateway(f"redis://og:pw2@127.0.0.1:{port}/2")
    assert (await gw.submit(order(client_order_id="in-db-2"), process="w1")).created
    assert [c.client_order_id for c in await commands(redis)] == ["in-db-2"]  # db 2 only
    await _close(gw, redis)


async def test_a_wrong_password_is_redis_unavailable(own_redis):
    admin = aioredis.Redis.from_url(own_redis.url)
    await admin.config_set("requirepass", "s3cret")
    await admin.aclose()
    redis = aioredis.Redis.from_url(f"redis://:wrong@127.0.0.1:{own_redis.port}/0")
    gw = OrderGateway(redis, GatewayConfig(), REFDATA, Clock())
    with pytest.raises(OrderError) as ei:
        await gw.submit(order(), process="w1")
    assert ei.value.code is ErrorCode.redis_unavailable
    await _close(gw, redis)


async def test_a_redis_that_does_not_answer_fails_the_calls_after_the_timeout(own_redis):
    gw, redis = await _gateway(own_redis.url, socket_timeout=0.3)
    assert (await gw.submit(order(client_order_id="before"), process="w1")).created
    await redis.execute_command("CLIENT", "PAUSE", 1500, "ALL")
    started = time.monotonic()
    with pytest.raises(OrderError) as ei:
        await gw.submit(order(client_order_id="during"), process="w1")
    took = time.monotonic() - started
    assert ei.value.code is ErrorCode.redis_unavailable
    assert 0.25 <= took < 1.0, took
    await async_wait_until(
        _async(lambda: redis_ready(own_redis.port)), 5, "the pause over"
    )  # the next call on the same gateway works (on a new connection)
    assert (await gw.submit(order(client_order_id="after"), process="w1")).created
    await _close(gw, redis)


def test_one_gateway_over_several_event_loops(redis_server):
    async def submit(gw: OrderGateway, coid: str) -> bool:
        return (await gw.submit(order(client_order_id=coid), process="w1")).created

    redis = aioredis.Redis.from_url(redis_server.url)
    gw = OrderGateway(redis, GatewayConfig(), REFDATA, Clock())
    loops = [asyncio.new_event_loop, uvloop.new_event_loop, asyncio.new_event_loop]
    for i, new_loop in enumerate(loops):  # a new loop each time: the pipe connects again
        with asyncio.Runner(loop_factory=new_loop) as runner:
            assert runner.run(_fresh(redis, submit(gw, f"loop-{i}"), flush=i == 0))


async def _fresh(redis: aioredis.Redis, work: Any, flush: bool) -> Any:
    """``work``, then drop redis-py's pooled connections (they cannot outlive their loop; the
    pipe's connection is left open on purpose: the next loop must replace it)."""
    if flush:
        await redis.flushall()
    try:
        return await work
    finally:
        await redis.connection_pool.disconnect()


def test_clients_the_pipe_does_not_serve_fall_back_to_redis_py(tmp_path):
    assert pipe_settings(aioredis.Redis.from_url("redis://127.0.0.1:1/3")) is not None
    assert pipe_settings(aioredis.Redis(unix_socket_path=str(tmp_path / "s"))) is None
    assert pipe_settings(aioredis.Redis.from_url("rediss://127.0.0.1:1/0")) is None
    assert pipe_settings(aioredis.Redis(protocol=3)) is None
    assert Batcher(aioredis.Redis(unix_socket_path=str(tmp_path / "s"))).pipe is None


def _async(predicate: Any) -> Any:
    async def check() -> bool:
        return bool(predicate())

    return check
