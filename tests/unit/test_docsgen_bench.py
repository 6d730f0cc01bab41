"""The benchmark page's figures come from bench/results/*.json, every file of it, unedited."""

import json
import shutil
from pathlib import Path

import pytest

from docsgen.bench import SECTIONS, num, render_benchmarks

RESULTS = Path(__file__).resolve().parents[2] / "bench" / "results"


def section_of(text: str, name: str) -> str:
    """The rendered section whose last line names ``name``'s file."""
    for part in text.split("\n## "):
        if f"From `bench/results/{name}`." in part:
            return part
    raise AssertionError(f"no section for {name}")


def test_every_result_file_has_a_section():
    committed = {p.name for p in RESULTS.glob("*.json")}
    assert committed == {name for name, _, _ in SECTIONS}


def test_api_figures_are_the_json_figures():
    text = section_of(render_benchmarks(RESULTS), "api.json")
    for rate in json.loads((RESULTS / "api.json").read_text())["rates"]:
        row = f"| {num(rate['offered_per_s'])} | {num(rate['accepted_per_s'])} | "
        row += f"{num(rate['p50_ms'])} | {num(rate['p99_ms'])} |"
        assert row in text


def test_fix_session_figures_are_the_json_figures():
    text = section_of(render_benchmarks(RESULTS), "fix_session.json")
    for row in json.loads((RESULTS / "fix_session.json").read_text())["rows"]:
        assert f"| {row['store']} | {num(row['orders_per_s'])} |" in text


def test_connector_figures_are_the_json_figures():
    text = section_of(render_benchmarks(RESULTS), "connector.json")
    for run in json.loads((RESULTS / "connector.json").read_text())["runs"]:
        assert f"| {num(run['stream_to_wire']['per_s'])} |" in text
        assert f"| {num(run['wire_to_redis']['per_s'])} |" in text


def test_a_new_run_changes_the_page(tmp_path):
    shutil.copytree(RESULTS, tmp_path, dirs_exist_ok=True)
    data = json.loads((tmp_path / "matching.json").read_text())
    data["rates_orders_per_cpu_s"]["mixed"] = 54321.0
    (tmp_path / "matching.json").write_text(json.dumps(data))
    assert "| `mixed` | 54,321 |" in render_benchmarks(tmp_path)


def test_a_missing_result_file_fails_naming_it(tmp_path):
    shutil.copytree(RESULTS, tmp_path, dirs_exist_ok=True)
    (tmp_path / "connector.json").unlink()
    with pytest.raises(OSError, match="connector.json"):
        render_benchmarks(tmp_path)


@pytest.mark.parametrize(
    ("value", "text"),
    [(183746.97, "183,747"), (12000, "12,000"), (99.6, "99.6"), (9.1, "9.10"), (0.2, "0.20")],
)
def test_figures_are_rounded_for_reading(value, text):
    assert num(value) == text
