"""``ordergate --help`` and every ``ordergate COMMAND --help`` read as a person expects: each
subcommand says in one line what it does, every option and argument says what it is for, and
``--log-level`` shows its choices (pure: the parsers are built, nothing runs)."""

from __future__ import annotations

import argparse
import importlib.metadata
from collections.abc import Iterator

import pytest

from gateway.cli import SUBCOMMANDS, build_parser, main, subcommand_parser
from gateway.cli_args import LOG_LEVELS

#: a one-line help longer than this wraps badly in ``ordergate --help`` (80 columns)
ONE_LINE = 76


def walk(parser: argparse.ArgumentParser, prog: str) -> Iterator[tuple[str, argparse.Action]]:
    """Every (command, action) of ``parser`` and of its own subcommands (``simulator-ctl book``)."""
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for name, child in action.choices.items():
                yield from walk(child, f"{prog} {name}")
        elif action.dest != "help":
            yield prog, action


def every_action() -> list[tuple[str, argparse.Action]]:
    return [pair for name in SUBCOMMANDS for pair in walk(subcommand_parser(name), name)]


def label(pair: tuple[str, argparse.Action]) -> str:
    prog, action = pair
    return f"{prog} {'/'.join(action.option_strings) or action.dest}"


def test_every_option_and_argument_of_every_subcommand_has_help() -> None:
    missing = [label(p) for p in every_action() if not (p[1].help or "").strip()]
    assert missing == []


def test_an_option_without_help_is_found() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--bare")
    assert [a.dest for _, a in walk(parser, "x") if not a.help] == ["bare"]


@pytest.mark.parametrize("name", sorted(SUBCOMMANDS))
def test_every_subcommand_says_what_it_does_in_one_short_line(name: str) -> None:
    text = SUBCOMMANDS[name][1]
    assert text.strip() and "\n" not in text and len(text) <= ONE_LINE, text


def test_the_top_level_help_lists_every_subcommand_with_its_line() -> None:
    text = " ".join(build_parser([]).format_help().split())  # argparse wraps long lines
    for name, (_, line) in SUBCOMMANDS.items():
        assert f"{name} {line}" in text, name


def test_every_log_level_option_offers_the_shared_choices_in_its_help() -> None:
    levels = [p for p in every_action() if "--log-level" in p[1].option_strings]
    assert len(levels) >= 5  # api, connector, simulator, archive, console
    for prog, action in levels:
        assert tuple(action.choices or ()) == LOG_LEVELS, prog
        usage = subcommand_parser(prog.split()[0]).format_usage()
        assert "{" + ",".join(LOG_LEVELS) + "}" in usage, prog


def test_a_log_level_of_another_case_is_still_accepted() -> None:
    args = subcommand_parser("connector").parse_args(["--log-level", "DEBUG"])
    assert args.log_level == "debug"


def test_version_is_the_installed_distributions(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exited:
        main(["--version"])
    assert exited.value.code == 0
    assert capsys.readouterr().out.split() == ["ordergate", importlib.metadata.version("ordergate")]
