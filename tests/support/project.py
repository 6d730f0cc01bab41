"""The project's own packages, as pyproject installs them, and what a module imports, read with
``ast`` (no import runs): for the tests that check the layout (the layering, the FIX engine
standing alone, the Dockerfile)."""

from __future__ import annotations

import ast
import tomllib
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
_FIND = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["setuptools"]["packages"]
#: the installed packages (pyproject's ``packages.find`` patterns without their ``*``)
PACKAGES: tuple[str, ...] = tuple(p.rstrip("*") for p in _FIND["find"]["include"])


@dataclass(frozen=True, slots=True)
class Import:
    """One imported module: ``from a.b import c`` gives ``a.b`` and ``a.b.c`` (``c`` may be a
    module or a name); a relative import is made absolute."""

    module: str
    line: int
    in_function: bool  # runs only when the function is called
    type_only: bool  # under ``if TYPE_CHECKING:``: seen by the type checker only


def module_name(path: Path, root: Path = ROOT) -> str:
    parts = path.resolve().with_suffix("").relative_to(root).parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _absolute(path: Path, root: Path, node: ast.ImportFrom) -> str:
    if node.level == 0:
        return node.module or ""
    here = module_name(path, root).split(".")
    package = here if path.name == "__init__.py" else here[:-1]
    base = package[: len(package) - (node.level - 1)]
    return ".".join([*base, node.module] if node.module else base)


def _is_type_checking(test: ast.expr) -> bool:
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING"
    )


def imports_of(path: Path, root: Path = ROOT) -> list[Import]:
    """Every import statement of the module at ``path``, wherever it sits."""
    found: list[Import] = []

    def visit(node: ast.AST, in_function: bool, type_only: bool) -> None:
        if isinstance(node, ast.Import):
            found.extend(Import(a.name, node.lineno, in_function, type_only) for a in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = _absolute(path, root, node)
            found.append(Import(base, node.lineno, in_function, type_only))
            found.extend(
                Import(f"{base}.{a.name}", node.lineno, in_function, type_only)
                for a in node.names
                if a.name != "*"
            )
        if isinstance(node, ast.If) and _is_type_checking(node.test):
            for child in node.body:
                visit(child, in_function, True)
            for child in node.orelse:
                visit(child, in_function, type_only)
            return
        inner = in_function or isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef)
        for child in ast.iter_child_nodes(node):
            visit(child, inner, type_only)

    visit(ast.parse(path.read_text(), str(path)), False, False)
    return found


def modules_of(package: str, root: Path = ROOT) -> list[Path]:
    return sorted((root / package).rglob("*.py"))
