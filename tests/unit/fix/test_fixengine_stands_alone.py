"""The FIX engine is a library: it imports the standard library, simplefix and itself, nothing
of the project (its Redis store is the connector's, ``connector.redis_store``)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from support.project import PACKAGES, imports_of

import fixengine

ENGINE = Path(fixengine.__file__).parent
ALLOWED = frozenset(sys.stdlib_module_names) | {"simplefix", "fixengine"}
PROJECT = tuple(p for p in PACKAGES if p != "fixengine")


def _imported_roots(path: Path) -> set[str]:
    return {i.module.split(".")[0] for i in imports_of(path)}


def test_engine_modules_import_only_the_stdlib_simplefix_and_the_engine() -> None:
    modules = sorted(ENGINE.rglob("*.py"))
    assert len(modules) > 10  # the walk found the package
    outside = {
        f"{m.relative_to(ENGINE)}: {root}" for m in modules for root in _imported_roots(m) - ALLOWED
    }
    assert outside == set()


def test_engine_imports_with_the_project_packages_blocked() -> None:
    # every module of the engine, imported in a fresh interpreter where importing any project
    # package fails: catches what the walk cannot see (imports by name through importlib or
    # __import__ at import time, a project module pulled in by a third-party one)
    names = sorted(
        "fixengine" + ("." + ".".join(p.with_suffix("").relative_to(ENGINE).parts))
        for p in ENGINE.rglob("*.py")
        if p.name != "__init__.py"
    )
    script = f"""
import importlib, sys
class Block:
    def find_spec(self, name, path=None, target=None):
        if name.split(".")[0] in {PROJECT!r}:
            raise ImportError("blocked: " + name)
        return None
sys.meta_path.insert(0, Block())
for name in {names!r}:
    importlib.import_module(name)
loaded = sorted(m for m in sys.modules if m.split(".")[0] in {PROJECT!r})
assert not loaded, loaded
print("ok", len({names!r}))
"""
    out = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, timeout=60, check=False
    )
    assert out.returncode == 0, out.stderr
    assert out.stdout.split() == ["ok", str(len(names))]
