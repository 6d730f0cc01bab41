"""Typing and deprecation hygiene: redis-py's own types (no stale stubs), uvloop's supported entry
point, and a pytest configuration that hides only named third-party deprecations."""

from __future__ import annotations

import ast
import tomllib
from pathlib import Path

from support.project import PACKAGES

ROOT = Path(__file__).resolve().parents[2]
CODE = (*PACKAGES, "bench")
PYPROJECT = tomllib.loads((ROOT / "pyproject.toml").read_text())


def test_redis_stubs_for_redis_4_are_neither_required_nor_locked() -> None:
    # types-redis describes redis 4 and hides redis 5's own annotations (no ``aclose``)
    extras = PYPROJECT["project"]["optional-dependencies"]
    assert not any(dep.startswith("types-redis") for deps in extras.values() for dep in deps)
    assert "types-redis" not in (ROOT / "requirements.lock").read_text()


def deprecated_uvloop_uses(path: Path) -> list[str]:
    tree = ast.parse(path.read_text(), str(path))
    return [
        f"{path.relative_to(ROOT)}:{node.lineno} uvloop.{node.attr}"
        for node in ast.walk(tree)
        if isinstance(node, ast.Attribute)
        and isinstance(node.value, ast.Name)
        and node.value.id == "uvloop"
        and node.attr in ("install", "EventLoopPolicy")
    ]


def test_processes_start_uvloop_with_run_not_the_deprecated_policy() -> None:
    found = [
        use for pkg in CODE for f in (ROOT / pkg).rglob("*.py") for use in deprecated_uvloop_uses(f)
    ]
    assert found == []


def test_pytest_hides_only_named_deprecation_warnings() -> None:
    filters = PYPROJECT["tool"]["pytest"]["ini_options"]["filterwarnings"]
    for entry in filters:
        action, message, category, *_ = (entry.split(":") + ["", ""])[:4]
        if action == "ignore":
            assert message, f"a blanket ignore: {entry!r}"
    assert any(f.startswith("error::DeprecationWarning:") for f in filters)


def test_mypy_and_ruff_check_every_package() -> None:
    assert set(PYPROJECT["tool"]["mypy"]["files"]) >= {*PACKAGES, "docsgen"}
    makefile = (ROOT / "Makefile").read_text()
    lint_lines = [line for line in makefile.splitlines() if "/ruff " in line]
    assert len(lint_lines) >= 2
    for line in lint_lines:
        assert set(line.split()) >= {*PACKAGES, "tests", "bench", "docsgen"}, line
