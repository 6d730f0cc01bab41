"""The one place that uses redis-py internals.

``gateway.resp_pipe`` reads replies with its own hiredis reader and must raise for an error reply
the same exception redis-py would (``NOSCRIPT`` -> ``NoScriptError``, ...), which redis-py
decides in its private ``redis._parsers.base.BaseParser.parse_error``. :func:`problems` says
whether the installed redis-py still works that way; ``ordergate api`` checks it at start-up and
a unit test on every upgrade.
"""

from __future__ import annotations

import inspect
from importlib.metadata import version

from redis import exceptions as rexc

try:
    from redis._parsers.base import BaseParser
except ImportError:  # pragma: no cover - an incompatible redis-py; problems() says so
    BaseParser = None  # type: ignore[assignment,misc]

#: the redis-py major versions resp_pipe was written and tested against
SUPPORTED_MAJOR = (5,)

#: error replies and the exception redis-py raises for each (what callers catch)
EXPECTED_ERRORS: tuple[tuple[str, type[Exception]], ...] = (
    ("NOSCRIPT No matching script.", rexc.NoScriptError),
    ("LOADING Redis is loading the dataset in memory", rexc.BusyLoadingError),
    ("WRONGPASS invalid username-password pair", rexc.AuthenticationError),
    ("READONLY You can't write against a read only replica.", rexc.ReadOnlyError),
    ("ERR something else", rexc.ResponseError),
)


def _checkout_args() -> tuple[str, ...]:
    """What ``ConnectionPool.get_connection`` needs: redis-py 5.3 deprecates its command name
    argument (and then runs the warnings machinery on every call: ~3 % of a submit batch),
    earlier 5.x require it."""
    from redis.asyncio.connection import ConnectionPool

    param = inspect.signature(ConnectionPool.get_connection).parameters.get("command_name")
    required = param is not None and param.default is inspect.Parameter.empty
    return ("EVALSHA",) if required else ()


#: the arguments to check a connection out of a redis-py asyncio pool with
CHECKOUT_ARGS = _checkout_args()


def reply_error(message: str) -> Exception:
    """An error reply as the exception redis-py gives for it (NOSCRIPT -> NoScriptError, ...)."""
    if BaseParser is None:  # pragma: no cover
        return rexc.ResponseError(message)
    error: Exception = BaseParser.parse_error(message)
    return error


def problems(redis_version: str | None = None) -> list[str]:
    """What this redis-py lacks of what resp_pipe relies on (empty: compatible)."""
    found = redis_version or version("redis")
    out: list[str] = []
    if not found.split(".")[0].isdigit() or int(found.split(".")[0]) not in SUPPORTED_MAJOR:
        out.append(f"redis-py {found} is not a version resp_pipe was tested with (5.x)")
    if BaseParser is None or not callable(getattr(BaseParser, "parse_error", None)):
        return [*out, "redis._parsers.base.BaseParser.parse_error is gone"]
    for message, cls in EXPECTED_ERRORS:
        got = reply_error(message)
        if not isinstance(got, cls):
            out.append(
                f"the error reply {message.split()[0]} gives {type(got).__name__}, not {cls.__name__}"
            )
    return out
