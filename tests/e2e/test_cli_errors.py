"""Every ``ordergate`` subcommand, given a bad flag or an unreachable dependency, as a real
process: one clear line on stderr, no traceback, and the exit code its ``--help`` documents."""

from __future__ import annotations

import subprocess
import sys

import pytest
from support.procs import free_port

from gateway.cli import SUBCOMMANDS
from gateway.ids import new_order_id

pytestmark = pytest.mark.e2e

NOBODY = free_port()  # nothing listens there: an unreachable Redis, API or simulator
UNREACHABLE_REDIS = f"redis://127.0.0.1:{NOBODY}/0"


def ordergate(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "gateway.cli", *args],
        capture_output=True,
        text=True,
        timeout=60,
        env={"PATH": "/usr/bin:/bin", "OG_CONFIG": ""},  # no config, no AWS credentials
    )


CASES = [
    (["status", "--redis", UNREACHABLE_REDIS], 1),
    (["status", "--redis", "localhost:6379"], 2),
    (["status", "--partitions", "0"], 2),
    (["api", "--log-level", "verbose"], 2),
    (["api", "--port", "99999"], 2),
    (["api", "--redis", "bogus://x"], 2),
    (["api", "--config", "/nonexistent/api.toml"], 2),
    (["token", "--account", "A1", "--ttl", "1" + "0" * 30], 2),
    (["token", "--account", "A1", "--scope", "evil/ops"], 2),
    (["trail", new_order_id(3), "--redis", UNREACHABLE_REDIS], 1),
    (["trail", new_order_id(3), "--config", "/nonexistent/og.toml"], 2),
    (["connector", "--log-level", "loud"], 2),
    (["connector", "--redis", "bogus://x"], 2),
    (["connector", "--connect", "nowhere"], 2),
    (["simulator", "--port", "70000"], 2),
    (["simulator", "--config", "/nonexistent/sim.toml"], 2),
    (["simulator", "--log-level", "verbose"], 2),
    (["simulator-ctl", "--port", str(NOBODY), "state"], 2),
    (["simulator-ctl", "--url", "nope", "state"], 2),
    (["loadtest", "--url", f"http://127.0.0.1:{NOBODY}", "--duration", "1"], 1),
    (["loadtest", "--url", "http://127.0.0.1:1", "--rate", "nan"], 2),
    (["archive", "--log-level", "loud"], 2),
    (["archive", "--once", "--bucket", "ab-c", "--redis", "bogus://x"], 2),
    (["console", "--port", "99999"], 2),
    (["console", "--redis", "bogus://x"], 2),
    (["console", "--log-level", "loud"], 2),
    (["console", "--simulator", "ftp://x"], 2),
    (["up", "--redis", UNREACHABLE_REDIS], 2),
    (["schedule", "--days", "0"], 2),
    (["schedule", "--from", "2099-12-20"], 1),  # past the holiday calendar
    (["up", "--api-workers", "0"], 2),
    (["no-such-command"], 2),
]


@pytest.mark.parametrize(("argv", "code"), CASES, ids=[" ".join(a)[:60] for a, _ in CASES])
def test_bad_input_or_unreachable_dependency_gives_one_line_and_the_documented_code(
    argv: list[str], code: int
) -> None:
    out = ordergate(*argv)
    assert "Traceback" not in out.stderr, out.stderr
    lines = out.stderr.strip().splitlines()
    assert len(lines) == 1, out.stderr
    assert lines[0].startswith("ordergate"), out.stderr
    assert out.returncode == code, out.stderr


def test_every_subcommand_was_tried() -> None:
    tried = {argv[0] for argv, _ in CASES}
    assert set(SUBCOMMANDS) <= tried


@pytest.mark.parametrize("command", sorted(SUBCOMMANDS))
def test_every_subcommand_documents_its_exit_codes_in_its_help(command: str) -> None:
    out = ordergate(command, "--help")
    assert out.returncode == 0, out.stderr
    epilog = out.stdout.split("exit codes:\n", 1)[1]
    codes = [line.split()[0] for line in epilog.splitlines() if line.strip()]
    assert codes[0] == "0" and "2" in codes, out.stdout


def test_the_top_level_help_states_the_convention() -> None:
    out = ordergate("--help")
    assert "exit codes:" in out.stdout and "130" in out.stdout
