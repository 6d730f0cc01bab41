"""What the image installs is what the suite tested: ``ordergate`` installed alone (the runtime
and the embedded server; no test extras, no system site-packages) with ``requirements.lock`` as constraints, as the Dockerfile
does, gets exactly the locked versions and serves ``/v1/ws`` (uvicorn's WebSocket support comes
from a runtime dependency, not from the test extras)."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Iterator
from pathlib import Path

import pytest
import websockets
from support.api import ApiProcess, bearer
from support.procs import RedisServer
from support.runtime_venv import LOCK, pip

pytestmark = [pytest.mark.e2e, pytest.mark.runtime_install]


def locked() -> dict[str, str]:
    pins = {}
    for line in LOCK.read_text().splitlines():
        spec = line.split("#", 1)[0].strip()
        if "==" in spec:
            name, ver = spec.split("==")
            pins[canonical(name)] = ver.strip()
    return pins


def canonical(name: str) -> str:
    return name.strip().lower().replace("_", "-").replace(".", "-")


def test_a_runtime_install_gets_exactly_the_locked_versions(runtime_venv: Path) -> None:
    pins = locked()
    installed = {}
    for line in pip(runtime_venv, "freeze").splitlines():
        name, _, ver = line.partition(" @ " if " @ " in line else "==")
        installed[canonical(name)] = ver
    assert ".whl" in installed.pop("ordergate")  # ours, from the wheel the fixture built
    assert {n: v for n, v in installed.items() if pins.get(n) != v} == {}
    for runtime in ("starlette", "uvicorn", "redis", "websockets", "httptools", "uvloop"):
        assert runtime in installed, runtime


@pytest.fixture(scope="module")
def installed_api(runtime_venv: Path, redis_server: RedisServer) -> Iterator[ApiProcess]:
    ordergate = [str(runtime_venv.parent / "ordergate")]
    proc = ApiProcess(redis_server.url, ordergate=ordergate).start()
    yield proc
    proc.stop()


def test_the_installed_api_runs_outside_the_source_tree(installed_api: ApiProcess) -> None:
    assert installed_api.proc is not None
    cmdline = Path(f"/proc/{installed_api.proc.pid}/cmdline").read_bytes().split(b"\0")
    assert cmdline[1].endswith(b"/venv/bin/ordergate")


async def test_the_installed_api_serves_a_websocket_on_v1_ws(installed_api: ApiProcess) -> None:
    url = f"ws://127.0.0.1:{installed_api.port}/v1/ws"
    async with websockets.connect(url, additional_headers=bearer()) as ws:
        hello = json.loads(await asyncio.wait_for(ws.recv(), 10))
    assert hello["type"] == "subscribed"
