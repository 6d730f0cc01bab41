"""What the image installs is what the suite tested: ``ordergate`` installed alone (no test
extras, no system site-packages) with ``requirements.lock`` as constraints, as the Dockerfile
does, gets exactly the locked versions and serves ``/v1/ws`` (uvicorn's WebSocket support comes
from a runtime dependency, not from the test extras)."""

from __future__ import annotations

import asyncio
import json
import subprocess
import sys
import venv
from collections.abc import Iterator
from pathlib import Path

import pytest
import websockets
from support.api import ROOT, ApiProcess, bearer
from support.procs import RedisServer

pytestmark = [pytest.mark.e2e, pytest.mark.runtime_install]

LOCK = ROOT / "requirements.lock"


def pip(python: Path, *args: str, timeout: float = 600) -> str:
    """This interpreter's pip acting on the virtualenv of ``python`` (no pip inside it)."""
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "--python",
            str(python),
            "--disable-pip-version-check",
            *args,
        ],
        capture_output=True,
        text=True,
        timeout=timeout,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    return done.stdout


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


@pytest.fixture(scope="module")
def runtime_venv(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A fresh virtualenv with only ``ordergate`` (a wheel built once) and its runtime
    dependencies, constrained by the lock, from the local pip cache / the registry."""
    root = tmp_path_factory.mktemp("runtime")
    venv.EnvBuilder(system_site_packages=False, with_pip=False).create(root / "venv")
    python = root / "venv" / "bin" / "python"
    pip(python, "wheel", "--no-deps", "-q", "-w", str(root / "dist"), str(ROOT))
    (wheel,) = (root / "dist").glob("ordergate-*.whl")
    pip(python, "install", "-q", "-c", str(LOCK), str(wheel))
    return python


def test_a_runtime_install_gets_exactly_the_locked_versions(runtime_venv: Path) -> None:
    pins = locked()
    installed = {}
    for line in pip(runtime_venv, "freeze").splitlines():
        name, _, ver = line.partition(" @ " if " @ " in line else "==")
        installed[canonical(name)] = ver
    assert ".whl" in installed.pop("ordergate")  # ours, from the wheel built above
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
