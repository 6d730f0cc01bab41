"""The ``ordergate api`` process: several workers, and a clean stop of all of them."""

from __future__ import annotations

import os

import httpx
import pytest
from support.api import ApiProcess
from support.procs import RedisServer, wait_until

pytestmark = pytest.mark.e2e


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return True


def test_workers_option_serves_from_several_processes_and_sigterm_stops_them_all(
    redis_server: RedisServer,
) -> None:
    api = ApiProcess(redis_server.url, extra=["--workers", "2"]).start()
    seen: set[str] = set()
    try:

        def two_processes_answered() -> bool:
            # a new connection each time: the kernel hands it to either worker
            seen.add(httpx.get(f"{api.url}/healthz", timeout=5).json()["process"])
            return len(seen) >= 2

        wait_until(two_processes_answered, 15, "answers from two worker processes")
    finally:
        api.stop()
    pids = [int(name.rsplit(":", 1)[1]) for name in seen]
    wait_until(lambda: not any(_alive(p) for p in pids), 15, "every worker gone")
