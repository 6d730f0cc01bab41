"""The one place that reaches into uvicorn's private httptools protocol.

``fastpath.py`` and ``http.py`` subclass uvicorn's ``HttpToolsProtocol`` and
``RequestResponseCycle`` and call members that are not uvicorn's public API. They import those
classes from here only, and :func:`problems` lists what an installed uvicorn lacks of what they
use: ``ordergate api`` runs it at start-up (the fast path refuses to start on a uvicorn it was
not made for, and says to use ``--http standard``), and a unit test runs it on every upgrade.
"""

from __future__ import annotations

import asyncio
import inspect
from importlib.metadata import version
from typing import Any

from uvicorn.protocols.http.httptools_impl import (
    STATUS_LINE,
    HttpToolsProtocol,
    RequestResponseCycle,
)

__all__ = [
    "STATUS_LINE",
    "HttpToolsProtocol",
    "RequestResponseCycle",
    "SUPPORTED",
    "problems",
]

#: the uvicorn releases the fast path was written and tested against (major, minor)
SUPPORTED = ((0, 54),)

#: protocol methods the subclasses override or call (beyond asyncio.Protocol's)
PROTOCOL_METHODS = (
    "on_message_begin",
    "on_url",
    "on_header",
    "on_headers_complete",
    "on_body",
    "on_message_complete",
    "on_response_complete",
    "_start_asgi_task",
    "_unset_keepalive_if_required",
    "timeout_keep_alive_handler",
    "send_400_response",
    "shutdown",
)
#: per-connection state the subclasses read or replace
PROTOCOL_ATTRIBUTES = (
    "app",
    "config",
    "loop",
    "parser",
    "transport",
    "flow",
    "cycle",
    "pipeline",
    "tasks",
    "connections",
    "server_state",
    "access_log",
    "limit_concurrency",
    "timeout_keep_alive",
    "timeout_keep_alive_task",
    "url",
    "headers",
    "expect_100_continue",
    "scope",
)
#: what the one-write cycle and the fast path use of a request's cycle
CYCLE_PARAMETERS = ("scope", "transport", "flow", "keep_alive", "on_response", "message_event")
CYCLE_ATTRIBUTES = ("response_started", "response_complete", "disconnected", "keep_alive")


def installed_version() -> str:
    return version("uvicorn")


def problems(
    protocol_class: type = HttpToolsProtocol, uvicorn_version: str | None = None
) -> list[str]:
    """What this uvicorn lacks of what the fast path relies on (empty: compatible)."""
    found = uvicorn_version or installed_version()
    out: list[str] = []
    try:
        major_minor = tuple(int(p) for p in found.split(".")[:2])
    except ValueError:
        major_minor = ()
    if major_minor not in SUPPORTED:
        wanted = ", ".join(f"{a}.{b}.x" for a, b in SUPPORTED)
        out.append(f"uvicorn {found} is not a version the fast path was tested with ({wanted})")
    out += [
        f"HttpToolsProtocol.{name} is gone"
        for name in PROTOCOL_METHODS
        if not callable(getattr(protocol_class, name, None))
    ]
    params = inspect.signature(RequestResponseCycle.__init__).parameters
    out += [f"RequestResponseCycle() takes no {p!r}" for p in CYCLE_PARAMETERS if p not in params]
    if STATUS_LINE.get(200, b"")[:13] != b"HTTP/1.1 200 ":
        out.append("STATUS_LINE no longer maps a status to its status line")
    out += _instance_problems(protocol_class)
    return out


def _instance_problems(protocol_class: type) -> list[str]:
    """Build one protocol object (no socket) and look for the state the subclasses use."""
    from uvicorn.config import Config
    from uvicorn.server import ServerState

    async def app(scope: Any, receive: Any, send: Any) -> None:  # pragma: no cover
        return None

    loop = asyncio.new_event_loop()
    try:
        config = Config(app=app, loop="none", lifespan="off", log_config=None)
        proto = protocol_class(config=config, server_state=ServerState(), app_state={}, _loop=loop)
        proto.on_message_begin()
    except Exception as exc:  # an incompatible constructor or callback
        return [f"HttpToolsProtocol cannot be built as before: {exc!r}"]
    finally:
        loop.close()
    out = [
        f"HttpToolsProtocol has no {name!r}"
        for name in PROTOCOL_ATTRIBUTES
        if not hasattr(proto, name)
    ]
    cycle_source = inspect.getsource(RequestResponseCycle.__init__)
    out += [
        f"RequestResponseCycle no longer sets {name!r}"
        for name in CYCLE_ATTRIBUTES
        if f"self.{name} =" not in cycle_source
    ]
    return out
