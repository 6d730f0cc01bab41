"""Markdown building blocks shared by the generators."""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence

_CODE_SPAN = re.compile(r"(`+)(.+?)\1")


def cell(value: object) -> str:
    """One table cell: line breaks folded and pipes outside code spans escaped, so a value
    cannot break the table (Python-Markdown's tables keep pipes inside code spans)."""
    text = str(value).replace("\n", " ")
    out, pos = [], 0
    for m in _CODE_SPAN.finditer(text):
        out.append(text[pos : m.start()].replace("|", "\\|"))
        out.append(m.group(0))
        pos = m.end()
    out.append(text[pos:].replace("|", "\\|"))
    return "".join(out)


def code(value: object) -> str:
    """Inline code for a value (backticks inside are doubled around)."""
    text = str(value)
    return f"`` {text} ``" if "`" in text else f"`{text}`"


def table(headers: Sequence[str], rows: Iterable[Sequence[object]]) -> str:
    lines = ["| " + " | ".join(headers) + " |", "|" + "---|" * len(headers)]
    lines += ["| " + " | ".join(cell(v) for v in row) + " |" for row in rows]
    return "\n".join(lines)
