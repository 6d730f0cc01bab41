"""The Lua scripts that change order state: loaded once, called by SHA.

Each script in ``gateway/lua/`` is the shared prelude (``_lib.lua``, with the state machine
table generated from ``gateway/states.py``) followed by its body. ``call`` uses EVALSHA and
falls back to EVAL on NOSCRIPT (a restarted or failed-over Redis forgets loaded scripts), which
also caches the script again on that node.
"""

from __future__ import annotations

import contextlib
import hashlib
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

from redis import exceptions as rexc

from gateway.errors import ErrorCode, OrderError
from gateway.states import lua_table

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


def source(name: str) -> str:
    prelude = (LUA_DIR / "_lib.lua").read_text().replace("__STATE_TABLE__", lua_table())
    return prelude + "\n" + (LUA_DIR / f"{name}.lua").read_text()


class Script:
    def __init__(self, name: str) -> None:
        self.name = name
        self.source = source(name)
        self.sha = hashlib.sha1(self.source.encode()).hexdigest()

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
                sha = await redis.script_load(s.source)
                if isinstance(sha, bytes):
                    sha = sha.decode()
                if sha != s.sha:
                    raise RuntimeError(f"Redis hashed {s.name}.lua differently: {sha} != {s.sha}")


@contextlib.contextmanager
def redis_errors() -> Iterator[None]:
    """Turn "Redis is not there" into ``OrderError(redis_unavailable)``."""
    try:
        yield
    except OrderError:
        raise
    except UNAVAILABLE as exc:
        raise OrderError(
            ErrorCode.redis_unavailable, f"Redis is unavailable: {exc.__class__.__name__}"
        ) from exc
