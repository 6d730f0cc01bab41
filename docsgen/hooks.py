"""MkDocs hook: replaces ``<!-- generated: NAME -->`` markers with what docsgen renders.

Loaded by mkdocs from its path (mkdocs.yml ``hooks``), so the repository root is put on
``sys.path`` for ``docsgen`` itself; the project's packages come from the installed venv.
"""

from __future__ import annotations

import re
import sys
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from mkdocs.exceptions import PluginError  # noqa: E402

from docsgen import render  # noqa: E402

MARKER = re.compile(r"^<!-- generated: ([a-z_]+) -->$", re.MULTILINE)
TABLE_ROW = re.compile(r"^\|.*\|$", re.MULTILINE)
CODE_SPAN = re.compile(r"(`+)(.+?)\1")


def unescape_code_pipes(markdown: str) -> str:
    """``\\|`` inside a code span of a table row becomes ``|``.

    GitHub needs the backslash there (it splits rows on every unescaped pipe); Python-Markdown
    does not split inside code spans and would show the backslash."""

    def row(m: re.Match[str]) -> str:
        return CODE_SPAN.sub(lambda c: c.group(0).replace("\\|", "|"), m.group(0))

    return TABLE_ROW.sub(row, markdown)


LIST_ITEM = re.compile(r"^([-*]|\d+\.) ")


def separate_lists(markdown: str) -> str:
    """A blank line before a list that follows a paragraph line directly.

    GitHub starts a list there; Python-Markdown needs the blank line, or it shows the items as
    one run-on paragraph. Code fences are left alone."""
    out: list[str] = []
    fence = False
    for line in markdown.split("\n"):
        if line.startswith("```"):
            fence = not fence
        elif not fence and LIST_ITEM.match(line) and out:
            prev = out[-1]
            if prev.strip() and not LIST_ITEM.match(prev) and not prev.startswith((" ", "|", "#")):
                out.append("")
        out.append(line)
    return "\n".join(out)


def on_page_markdown(markdown: str, page: Any, **_: Any) -> str:
    def replace(m: re.Match[str]) -> str:
        try:
            return render(m.group(1), ROOT)
        except (KeyError, ValueError, OSError) as exc:
            raise PluginError(f"{page.file.src_path}: {m.group(0)}: {exc}") from exc

    return separate_lists(unescape_code_pipes(MARKER.sub(replace, markdown)))
