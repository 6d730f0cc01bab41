"""The Lua scripts that change order state: loaded once, called by SHA.

Each script in ``gateway/lua/`` is the shared prelude (``_lib.lua``, with the state machine
table and terminal set generated from ``gateway/states.py``, field names from
``gateway/fields.py``) followed by its body. ``call`` uses EVALSHA and
falls back to EVAL on NOSCRIPT (a restarted or failed-over Redis forgets loaded scripts), which
also caches the script again on that node.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
from collections.abc import Iterator, Sequence
from functools import partial
from pathlib import Path
from typing import Any, Protocol

from redis import exceptions as rexc

from gateway.calls import BY_SCRIPT
from gateway.errors import ErrorCode, OrderError
from gateway.fields import lua_constants
from gateway.redis_compat import CHECKOUT_ARGS
from gateway.resp import _pack_into, command_head, pack_commands
from gateway.resp_pipe import RespPipe
from gateway.states import lua_table, lua_terminal
from gateway.trail import lua_step

LUA_DIR = Path(__file__).parent / "lua"
NAMES = ("submit", "cancel", "replace", "apply_report")

# what a lost connection looks like from redis-py (single node and cluster)
UNAVAILABLE = (
    rexc.ConnectionError,
    rexc.TimeoutError,
    rexc.BusyLoadingError,
    rexc.ClusterDownError,
    rexc.TryAgainError,
    rexc.MasterDownError,
    rexc.ReadOnlyError,
    ConnectionError,
    OSError,
)


def prelude() -> str:
    """``_lib.lua`` with its generated parts: the state table, the terminal set, the shared
    field names, the trail-step encoder."""
    return (
        (LUA_DIR / "_lib.lua")
        .read_text()
        .replace("__STATE_TABLE__", lua_table())
        .replace("__TERMINAL__", lua_terminal())
        .replace("__FIELDS__", lua_constants())
        .replace("__TRAIL_STEP__", lua_step())
    )


def source(name: str) -> str:
    """The prelude, the named KEYS / ARGV locals of the script's layout (``gateway.calls``)
    if it has one, then its body."""
    layout = BY_SCRIPT.get(name)
    names = layout.lua_locals() + "\n" if layout is not None else ""
    return prelude() + "\n" + names + (LUA_DIR / f"{name}.lua").read_text()


class Script:
    """One Lua script, the project's only loader: its source, its SHA, its calls by SHA.

    ``Script(name)`` is one of ``gateway/lua/`` with the shared prelude; ``Script(name, dir)``
    a script of another component's own folder (``connector/lua/``), read as it is."""

    def __init__(self, name: str, lua_dir: Path | None = None) -> None:
        self.name = name
        self.source = source(name) if lua_dir is None else (lua_dir / f"{name}.lua").read_text()
        self.sha = hashlib.sha1(self.source.encode()).hexdigest()
        self._heads: dict[tuple[int, int], bytes] = {}

    def evalsha(self, keys: Sequence[Any], args: Sequence[Any]) -> list[Any]:
        """The EVALSHA command as a list, for ``pipeline``."""
        return ["EVALSHA", self.sha, len(keys), *keys, *args]

    def eval(self, keys: Sequence[Any], args: Sequence[Any]) -> list[Any]:
        """The EVAL command as a list (after NOSCRIPT: runs the script and caches it again)."""
        return ["EVAL", self.source, len(keys), *keys, *args]

    async def load(self, redis: Any) -> None:
        """SCRIPT LOAD, checking Redis hashed the source as we did."""
        sha = await redis.script_load(self.source)
        if isinstance(sha, bytes):
            sha = sha.decode()
        if sha != self.sha:
            raise RuntimeError(f"Redis hashed {self.name}.lua differently: {sha} != {self.sha}")

    def evalsha_head(self, n_keys: int, n_args: int) -> bytes:
        """RESP of ``*<3+n> EVALSHA <sha> <n_keys>``: what precedes the keys and arguments."""
        head = self._heads.get((n_keys, n_args))
        if head is None:
            head = command_head(3 + n_keys + n_args, "EVALSHA", self.sha, n_keys)
            self._heads[(n_keys, n_args)] = head
        return head

    async def __call__(self, redis: Any, keys: Sequence[str], args: Sequence[Any]) -> Any:
        try:
            return await redis.evalsha(self.sha, len(keys), *keys, *args)
        except rexc.NoScriptError:
            return await redis.eval(self.source, len(keys), *keys, *args)

    async def call_and_wait(
        self, redis: Any, keys: Sequence[str], args: Sequence[Any], replicas: int, timeout_ms: int
    ) -> tuple[Any, int]:
        """The script, then ``WAIT replicas timeout_ms`` on the SAME connection (WAIT counts the
        replication offset of its own connection's writes). Single Redis only."""
        for cmd, first in (("EVALSHA", self.sha), ("EVAL", self.source)):
            pipe = redis.pipeline(transaction=False)
            pipe.execute_command(cmd, first, len(keys), *keys, *args)
            pipe.execute_command("WAIT", replicas, timeout_ms)
            res, acked = await pipe.execute(raise_on_error=False)
            if isinstance(res, rexc.NoScriptError):
                continue
            if isinstance(res, Exception):
                raise res
            if isinstance(acked, Exception):
                raise acked
            return res, int(acked)
        raise RuntimeError("script missing right after EVAL")  # cannot happen


class Scripts:
    """All scripts by name; ``await load(redis)`` puts them in the script cache up front."""

    def __init__(self) -> None:
        self.by_name = {n: Script(n) for n in NAMES}
        self.submit = self.by_name["submit"]
        self.cancel = self.by_name["cancel"]
        self.replace = self.by_name["replace"]
        self.apply_report = self.by_name["apply_report"]

    async def load(self, redis: Any) -> None:
        with redis_errors():
            for s in self.by_name.values():
                await s.load(redis)


@contextlib.contextmanager
def redis_errors() -> Iterator[None]:
    """Turn "Redis is not there" into ``OrderError(redis_unavailable)``."""
    try:
        yield
    except OrderError:
        raise
    except UNAVAILABLE as exc:
        raise unavailable(exc) from exc


def unavailable(exc: BaseException) -> BaseException:
    """``exc`` as ``redis_errors`` raises it: "Redis is not there" becomes
    ``OrderError(redis_unavailable)``, anything else stays itself (for callbacks that hold the
    exception rather than catch it)."""
    if isinstance(exc, UNAVAILABLE) and not isinstance(exc, OrderError):
        return OrderError(
            ErrorCode.redis_unavailable, f"Redis is unavailable: {exc.__class__.__name__}"
        )
    return exc


def pack_script_calls(calls: Sequence[tuple[Script, Sequence[Any], Sequence[Any]]]) -> bytes:
    """``pack_commands`` of ``EVALSHA sha numkeys *keys *args`` per call, the constant head
    (command name, SHA, key count) packed once per script and shape."""
    out: list[bytes] = []
    for script, keys, args in calls:
        out.append(script.evalsha_head(len(keys), len(args)))
        _pack_into(out, keys)
        _pack_into(out, args)
    return b"".join(out)


def packs_itself(redis: Any) -> bool:
    """True for a single-node client: ``pipeline`` writes RESP it packed itself."""
    return getattr(redis, "connection_pool", None) is not None and (
        getattr(redis, "connection", None) is None
    )


async def pipeline(
    redis: Any, commands: Sequence[Sequence[Any]], packed: bytes | None = None
) -> list[Any]:
    """Send ``commands`` in one write on one connection and read every reply; an error reply
    comes back as its exception in its place. A connection error raises (after disconnecting
    the connection: its replies can no longer be matched). Cluster clients use redis-py's
    cluster pipeline, which routes each command to its slot's node."""
    pool = getattr(redis, "connection_pool", None)
    if pool is None or getattr(redis, "connection", None) is not None:
        pipe = redis.pipeline(transaction=False)
        for args in commands:
            pipe.execute_command(*args)
        return list(await pipe.execute(raise_on_error=False))
    conn = await pool.get_connection(*CHECKOUT_ARGS)
    try:
        await conn.send_packed_command(packed if packed is not None else pack_commands(commands))
        replies: list[Any] = []
        for _ in commands:
            try:
                replies.append(await conn.read_response())
            except rexc.ResponseError as exc:
                replies.append(exc)
        return replies
    except BaseException:
        await conn.disconnect(nowait=True)
        raise
    finally:
        await pool.release(conn)


class ReplySink(Protocol):
    """Who gets one batched call's reply: an ``asyncio.Future`` (``call_soon``), or any object
    with the same three methods that acts at once (``call_into``: the HTTP fast path answers
    from inside the Redis read, with no future, done-callback or extra loop turn). Its
    ``set_result`` / ``set_exception`` must not raise: the rest of the batch is behind it."""

    def done(self) -> bool: ...

    def set_result(self, result: Any, /) -> None: ...

    def set_exception(self, exception: BaseException, /) -> None: ...


_Call = tuple[Script, Sequence[Any], Sequence[Any], ReplySink]


class Batcher:
    """Auto-pipelining: script calls made in the same event-loop iteration go to Redis as one
    pipeline (one connection, one write, one read), each call still its own atomic script.

    Under load many requests are in flight at once and redis-py's per-command cost (pool,
    packing, parsing) dominated the submit path; batching pays it once per batch. With
    ``wait_replicas`` the batch ends with one ``WAIT`` on the same connection, covering every
    write in it. Results come back per call, in order; a NOSCRIPT call is sent again after
    loading its script (a restarted Redis, SCRIPT FLUSH).

    A single-node client's batches go on a :class:`~gateway.resp_pipe.RespPipe` (one write, the
    callers' futures resolved as the replies are parsed: no task, no pool); any other client
    (cluster, unix socket, TLS) goes through redis-py (:func:`pipeline`, a task per batch).
    """

    def __init__(
        self, redis: Any, max_batch: int = 256, wait_replicas: int = 0, wait_timeout_ms: int = 100
    ) -> None:
        self.redis = redis
        self.max_batch = max_batch
        self.wait_replicas = wait_replicas
        self.wait_timeout_ms = wait_timeout_ms
        self.pipe = RespPipe.for_client(redis)
        self._queue: list[_Call] = []
        self._scheduled = False
        self._tasks: set[asyncio.Task[None]] = set()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._wait_packed = pack_commands(self._wait())
        self._wait_slack = wait_timeout_ms / 1000 if wait_replicas else 0.0

    async def call(
        self, script: Script, keys: Sequence[str], args: Sequence[Any]
    ) -> tuple[Any, int]:
        """The script's result and how many replicas acknowledged (0 when not waiting)."""
        result: tuple[Any, int] = await self.call_soon(script, keys, args)
        return result

    def call_soon(
        self, script: Script, keys: Sequence[Any], args: Sequence[Any]
    ) -> asyncio.Future[Any]:
        """``call`` without a coroutine: a future of ``(result, acked)``, for callers that
        continue in a done-callback (the HTTP fast path: no task per request)."""
        loop = self._loop
        if loop is None or not loop.is_running():
            loop = self._running_loop()
        fut: asyncio.Future[Any] = loop.create_future()
        self._enqueue(loop, (script, keys, args, fut))
        return fut

    def call_into(
        self, script: Script, keys: Sequence[Any], args: Sequence[Any], sink: ReplySink
    ) -> None:
        """``call_soon`` handing ``(result, acked)`` (or the exception) straight to ``sink``."""
        loop = self._loop
        if loop is None or not loop.is_running():
            loop = self._running_loop()
        self._enqueue(loop, (script, keys, args, sink))

    def _enqueue(self, loop: asyncio.AbstractEventLoop, call: _Call) -> None:
        self._queue.append(call)
        if len(self._queue) >= self.max_batch:
            self._flush()
        elif not self._scheduled:
            self._scheduled = True
            loop.call_soon(self._flush)

    def _running_loop(self) -> asyncio.AbstractEventLoop:
        """The loop, looked up only when the cached one stopped running: on Python 3.11
        ``get_running_loop`` costs a ``getpid`` syscall per call. A caller runs on a running
        loop and only one loop runs per thread, so a cached loop that is not running means
        another loop (tests run one after another): what was queued on the old one is dead."""
        loop = asyncio.get_running_loop()
        if loop is not self._loop:
            self._loop = loop
            self._queue = []
            self._scheduled = False
        return loop

    def _wait(self) -> list[Sequence[Any]]:
        return [["WAIT", self.wait_replicas, self.wait_timeout_ms]] if self.wait_replicas else []

    def _flush(self) -> None:
        self._scheduled = False
        if not self._queue:
            return
        batch, self._queue = self._queue, []
        if self.pipe is not None:
            self._send(batch)
            return
        task = asyncio.get_running_loop().create_task(self._run(batch))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    # --- single Redis: the RESP pipe ---------------------------------------------------------

    def _send(self, batch: list[_Call]) -> None:
        """One write; :meth:`_replied` resolves the futures when the replies are in."""
        assert self.pipe is not None and self._loop is not None
        packed = pack_script_calls([(script, keys, args) for script, keys, args, _ in batch])
        self.pipe.send(
            self._loop,
            packed + self._wait_packed if self.wait_replicas else packed,
            len(batch) + (1 if self.wait_replicas else 0),
            partial(self._replied, batch, 0),
            self._wait_slack,
        )

    def _replied(
        self,
        batch: list[_Call],
        skip: int,
        replies: list[Any] | BaseException,
    ) -> None:
        """Each caller's reply (``skip`` replies of SCRIPT LOADs first); NOSCRIPT calls are sent
        again behind a SCRIPT LOAD, unless this already was that second try."""
        if isinstance(replies, BaseException):
            for *_, fut in batch:
                if not fut.done():
                    fut.set_exception(replies)
            return
        acked = 0
        if self.wait_replicas:
            last = replies.pop()
            acked = 0 if isinstance(last, Exception) else int(last)
        again = []
        for call, res in zip(batch, replies[skip:] if skip else replies, strict=True):
            fut = call[3]
            if fut.done():  # the caller went away; its script ran or not, like any timeout
                continue
            if isinstance(res, Exception):
                if isinstance(res, rexc.NoScriptError) and not skip:
                    again.append(call)
                else:
                    fut.set_exception(res)
            else:
                fut.set_result((res, acked))
        if again:
            self._load_and_send(again)

    def _load_and_send(self, batch: list[_Call]) -> None:
        """After NOSCRIPT (a restarted or failed-over Redis, SCRIPT FLUSH): SCRIPT LOAD, then
        the calls again, in one write on the same connection (Redis runs them in order)."""
        assert self.pipe is not None and self._loop is not None
        scripts = list(dict.fromkeys(script for script, *_ in batch))
        loads = pack_commands([("SCRIPT", "LOAD", s.source) for s in scripts])
        calls = pack_script_calls([(script, keys, args) for script, keys, args, _ in batch])
        self.pipe.send(
            self._loop,
            loads + calls + (self._wait_packed if self.wait_replicas else b""),
            len(scripts) + len(batch) + (1 if self.wait_replicas else 0),
            partial(self._replied, batch, len(scripts)),
            self._wait_slack,
        )

    async def aclose(self) -> None:
        """Close the pipe's connection (the redis-py client's ``aclose`` does not know it)."""
        if self.pipe is not None:
            self.pipe.close()

    # --- any other client: redis-py ----------------------------------------------------------

    async def _run(self, batch: list[_Call]) -> None:
        try:
            wait = self._wait()
            if packs_itself(self.redis):  # packed here; ``commands`` only counts the replies
                packed: bytes | None = pack_script_calls(
                    [(script, keys, args) for script, keys, args, _ in batch]
                ) + pack_commands(wait)
                commands: list[Sequence[Any]] = [()] * (len(batch) + len(wait))
            else:
                packed = None
                commands = [script.evalsha(keys, args) for script, keys, args, _ in batch]
                commands += wait
            results = await pipeline(self.redis, commands, packed)
        except BaseException as exc:  # connection lost, cancelled: every caller hears it
            for *_, fut in batch:
                if not fut.done():
                    fut.set_exception(exc)
            if not isinstance(exc, Exception):
                raise
            return
        acked = 0
        if self.wait_replicas:
            last = results.pop()
            acked = 0 if isinstance(last, Exception) else int(last)
        for (script, keys, args, fut), res in zip(batch, results, strict=True):
            if fut.done():  # the caller went away; its script ran or not, like any timeout
                continue
            if isinstance(res, rexc.NoScriptError):
                try:
                    if packs_itself(self.redis):  # args may hold RespBulk: resend as packed
                        res, acked_one = await self._load_and_resend(script, keys, args)
                    elif self.wait_replicas:
                        res, acked_one = await script.call_and_wait(
                            self.redis, keys, args, self.wait_replicas, self.wait_timeout_ms
                        )
                    else:
                        res, acked_one = await script(self.redis, keys, args), 0
                except Exception as exc:
                    if not fut.done():
                        fut.set_exception(exc)
                    continue
                if not fut.done():
                    fut.set_result((res, acked_one))
            elif isinstance(res, Exception):
                fut.set_exception(res)
            else:
                fut.set_result((res, acked))

    async def _load_and_resend(
        self, script: Script, keys: Sequence[Any], args: Sequence[Any]
    ) -> tuple[Any, int]:
        """After NOSCRIPT (a restarted or failed-over Redis): load the script, send the call
        again (and its WAIT on the same connection)."""
        await script.load(self.redis)
        wait = self._wait()
        replies = await pipeline(
            self.redis,
            [()] * (1 + len(wait)),
            pack_script_calls([(script, keys, args)]) + pack_commands(wait),
        )
        res = replies[0]
        if isinstance(res, Exception):
            raise res
        acked = 0
        if wait:
            acked = 0 if isinstance(replies[1], Exception) else int(replies[1])
        return res, acked
