"""Imports point one way (docs/architecture.md, "Layout"): each package imports only the packages
below it, the composition root reaches the components by name only, and no module-level import
closes a circle. Read from the source with ``ast``; tests, bench and docsgen may import anything."""

from __future__ import annotations

import re
import textwrap
from collections.abc import Iterable
from pathlib import Path

import pytest
from support.project import PACKAGES, ROOT, imports_of, module_name, modules_of

from gateway.cli import SUBCOMMANDS

# package -> the project packages it may import (the standard library and third parties aside)
RULES: dict[str, frozenset[str]] = {
    "fixengine": frozenset(),
    "gateway": frozenset(),
    "stateless_api": frozenset({"gateway"}),
    "connector": frozenset({"gateway", "fixengine"}),
    "simulators": frozenset({"gateway", "fixengine"}),
    "console": frozenset({"gateway"}),
    "operations": frozenset({"gateway"}),
}
# roots that are ours: a production module importing any of them outside its rule is a violation
OURS = frozenset(PACKAGES) | {"docsgen", "bench", "tests", "support"}


def violations(package: str, rules: dict[str, frozenset[str]], root: Path = ROOT) -> list[str]:
    allowed = rules[package] | {package}
    return [
        f"{path.relative_to(root)}:{imp.line} imports {imp.module}"
        for path in modules_of(package, root)
        for imp in imports_of(path, root)
        if imp.module.split(".")[0] in OURS - allowed
    ]


def test_every_installed_package_has_a_rule() -> None:
    assert set(RULES) == set(PACKAGES)


@pytest.mark.parametrize("package", sorted(RULES))
def test_package_imports_only_the_packages_below_it(package: str) -> None:
    assert len(modules_of(package)) > 1  # the walk found the package
    assert violations(package, RULES) == []


def test_nothing_in_production_imports_the_simulators() -> None:
    assert not any("simulators" in allowed for allowed in RULES.values())


def test_the_composition_root_names_each_component_only_in_its_table() -> None:
    # gateway/cli.py is under gateway's rule (no static import of a component, checked above);
    # its table names a module of an installed package for every subcommand
    for name, (module, _) in SUBCOMMANDS.items():
        path = ROOT / Path(*module.split("."))
        assert path.with_suffix(".py").is_file() or (path / "__init__.py").is_file(), name
        assert module.split(".")[0] in RULES, name


def test_the_architecture_page_states_the_same_rules() -> None:
    page = (ROOT / "docs" / "architecture.md").read_text()
    table = page.split("| package | imports of the project |\n|---|---|\n", 1)[1].split("\n\n")[0]
    stated = {
        pkg: frozenset(re.findall(r"`(\w+)`", may.split("(")[0]))
        for pkg, may in re.findall(r"^\| `(\w+)` \| (.*?) \|$", table, re.M)
    }
    assert stated == RULES


# --- no circle ------------------------------------------------------------------------------


# type-only imports that name the object owning the importer, and may point back: an
# Application's callbacks and a session's Faults are handed the FixSession they belong to
OWNER_HINTS = {
    ("fixengine.application", "fixengine.transport"),
    ("fixengine.faults", "fixengine.transport"),
}


def module_graph(
    packages: Iterable[str], root: Path = ROOT, owner_hints: set[tuple[str, str]] = OWNER_HINTS
) -> dict[str, set[str]]:
    """module -> the project modules it imports at module level, ``if TYPE_CHECKING:`` blocks
    included (the type checker follows them), except ``owner_hints``; function-level imports
    are left out (they run after every module is loaded)."""
    paths = [p for pkg in packages for p in modules_of(pkg, root)]
    names = {module_name(p, root) for p in paths}
    graph = {}
    for path in paths:
        me = module_name(path, root)
        graph[me] = {
            i.module
            for i in imports_of(path, root)
            if not i.in_function and i.module in names - {me} and (me, i.module) not in owner_hints
        }
    return graph


def circles(graph: dict[str, set[str]]) -> list[list[str]]:
    """The strongly connected components of more than one module (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    found: list[list[str]] = []

    def connect(v: str) -> None:
        index[v] = low[v] = len(index)
        stack.append(v)
        for w in graph[v]:
            if w not in index:
                connect(w)
                low[v] = min(low[v], low[w])
            elif w in stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            component = []
            while True:
                w = stack.pop()
                component.append(w)
                if w == v:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    for v in graph:
        if v not in index:
            connect(v)
    return found


def test_no_module_level_import_closes_a_circle() -> None:
    graph = module_graph(PACKAGES)
    assert len(graph) > 100
    assert circles(graph) == []


def test_each_owner_hint_is_a_type_only_import_that_exists() -> None:
    for importer, imported in OWNER_HINTS:
        path = ROOT / Path(*importer.split(".")).with_suffix(".py")
        hints = [i for i in imports_of(path) if i.module == imported]
        assert hints and all(i.type_only for i in hints), (importer, imported)


# --- the checker itself, on a made-up tree ----------------------------------------------------


def write(root: Path, files: dict[str, str]) -> None:
    for rel, text in files.items():
        (root / rel).parent.mkdir(parents=True, exist_ok=True)
        (root / rel).write_text(textwrap.dedent(text))


def test_a_lower_package_importing_a_higher_one_is_reported_wherever_the_import_sits(
    tmp_path: Path,
) -> None:
    write(
        tmp_path,
        {
            "gateway/__init__.py": "",
            "gateway/a.py": "from connector import x\n",
            "gateway/b.py": "def f():\n    import stateless_api.app\n",
            "gateway/c.py": "from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n"
            "    from console.reads import y\n",
            "gateway/d.py": "from . import a\nfrom .a import x\nimport json, redis\n",
        },
    )
    assert violations("gateway", RULES, tmp_path) == [
        "gateway/a.py:1 imports connector",
        "gateway/a.py:1 imports connector.x",
        "gateway/b.py:2 imports stateless_api.app",
        "gateway/c.py:3 imports console.reads",
        "gateway/c.py:3 imports console.reads.y",
    ]


def test_a_circle_through_a_type_checking_import_is_found_and_a_function_level_one_is_not(
    tmp_path: Path,
) -> None:
    write(
        tmp_path,
        {
            "p/__init__.py": "",
            "p/app.py": "from .stream import feed\n",
            "p/stream.py": "from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n"
            "    from .app import Ctx\n",
            "p/x.py": "from p import y\n",
            "p/y.py": "def f():\n    from p import x\n",
        },
    )
    assert circles(module_graph(["p"], tmp_path)) == [["p.app", "p.stream"]]
    assert circles(module_graph(["p"], tmp_path, {("p.stream", "p.app")})) == []
