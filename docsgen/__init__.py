"""Generated parts of the documentation site (docs/): rendered from the code and the benchmark
results when mkdocs builds, so the API reference, the settings and the figures cannot drift.

``render(name, root)`` is what a ``<!-- generated: NAME -->`` marker in a page becomes
(``docsgen/hooks.py``); ``python -m docsgen NAME`` prints the same Markdown.
"""

from __future__ import annotations

from pathlib import Path


def render(name: str, root: Path) -> str:
    """The Markdown for one marker; ``KeyError`` for an unknown name."""
    if name == "openapi":
        from docsgen.openapi import render_reference
        from stateless_api.openapi import openapi_document

        return render_reference(openapi_document())
    if name == "settings":
        from docsgen.settings import render_settings

        return render_settings()
    if name == "benchmarks":
        from docsgen.bench import render_benchmarks

        return render_benchmarks(root / "bench" / "results")
    raise KeyError(f"no generator named {name!r} (openapi, settings, benchmarks)")
