"""The README stays a one-or-two-screen entry point whose links and commands work; the docs
site lists every page and fails its strict build on what would otherwise render wrong."""

import re
from pathlib import Path
from types import SimpleNamespace

import pytest
import yaml
from mkdocs.exceptions import PluginError

from docsgen.hooks import on_page_markdown, separate_lists, unescape_code_pipes

ROOT = Path(__file__).resolve().parents[2]
README = ROOT / "README.md"
DOCS = ROOT / "docs"
LINK = re.compile(r"\[[^\]]*\]\(([^)\s]+)\)")
MAKEFILE = (ROOT / "Makefile").read_text()


def relative_links(page: Path) -> list[str]:
    text = re.sub(r"```.*?```", "", page.read_text(), flags=re.DOTALL)  # not inside code
    return [
        target
        for target in LINK.findall(text)
        if not re.match(r"^[a-z]+:", target) and not target.startswith("#")
    ]


def recipe(target: str) -> str:
    """The commands of a Makefile target."""
    m = re.search(rf"^{re.escape(target)}:.*\n((?:\t.*\n)+)", MAKEFILE, re.MULTILINE)
    assert m, f"no target {target} in the Makefile"
    return m.group(1)


def test_readme_fits_on_two_screens():
    assert len(README.read_text().splitlines()) <= 200


@pytest.mark.parametrize("page", [README, *sorted(DOCS.rglob("*.md"))], ids=lambda p: p.name)
def test_every_relative_link_resolves(page):
    for target in relative_links(page):
        path = (page.parent / target.split("#", 1)[0]).resolve()
        assert path.exists(), f"{page.name}: {target}"


def test_readme_commands_are_the_makefile_targets():
    block = README.read_text().split("## The two commands", 1)[1].split("```sh\n", 1)[1]
    commands = [line.split("#", 1)[0].strip() for line in block.split("```", 1)[0].splitlines()]
    assert commands == ["make test", "make demo"]
    assert "ordergate up --demo" in recipe("demo")  # what tests/e2e/test_stack_up.py runs


def test_make_test_installs_mkdocs_and_builds_the_site_strict():
    assert "'.[test,embedded,docs]'" in MAKEFILE
    test = recipe("test")
    assert "mkdocs build --strict" in test
    assert "--quiet" not in test  # quiet hides the warnings the strict build counts


def test_every_docs_page_is_in_the_navigation():
    config = yaml.safe_load((ROOT / "mkdocs.yml").read_text())

    def pages(nav):
        for entry in nav:
            for value in entry.values():
                yield from pages(value) if isinstance(value, list) else [value]

    assert set(pages(config["nav"])) == {str(p.relative_to(DOCS)) for p in DOCS.rglob("*.md")}


def test_an_unknown_generated_marker_fails_the_build():
    page = SimpleNamespace(file=SimpleNamespace(src_path="x.md"))
    with pytest.raises(PluginError, match="nonesuch"):
        on_page_markdown("<!-- generated: nonesuch -->\n", page=page)


def test_escaped_pipes_in_table_code_spans_render_as_pipes():
    row = r"| `a\|b` | x \| y |"
    assert unescape_code_pipes(row) == r"| `a|b` | x \| y |"
    assert unescape_code_pipes(r"not a row `a\|b`") == r"not a row `a\|b`"


def test_a_list_right_after_a_paragraph_line_gets_its_blank_line():
    assert separate_lists("Options:\n- a\n- b") == "Options:\n\n- a\n- b"
    assert separate_lists("1. one\n  2. nested") == "1. one\n  2. nested"
    assert separate_lists("```\ntext\n- not a list\n```") == "```\ntext\n- not a list\n```"
