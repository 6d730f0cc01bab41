"""What every ``ordergate`` subcommand's command line shares: argparse types that refuse a bad
value with argparse's own one-line error (exit 2) instead of a traceback later, and the exit
code table that ends each subcommand's ``--help``.

The convention: 0 done (or stopped by SIGTERM / Ctrl-C), 1 could not do it at run time (a
dependency unreachable, a refusal), 2 a bad flag, argument or configuration. A subcommand adds
its own codes (``EXIT_CODES`` of its module, shown by ``ordergate COMMAND --help``).
"""

from __future__ import annotations

import argparse
from collections.abc import Mapping

from gateway.config import redis_url_problem

EXIT_OK = 0
EXIT_FAILED = 1
EXIT_USAGE = 2

#: the convention; a subcommand's ``EXIT_CODES`` says what each code means for it
EXIT_CODES: dict[int, str] = {
    EXIT_OK: "done",
    EXIT_FAILED: "failed at run time (a dependency unreachable, a refusal)",
    EXIT_USAGE: "bad flag, argument or configuration",
}

LOG_LEVELS = ("debug", "info", "warning", "error", "critical")


def exit_codes_text(codes: Mapping[int, str]) -> str:
    """The ``--help`` epilog listing ``codes``."""
    return "exit codes:\n" + "\n".join(f"  {code}  {meaning}" for code, meaning in codes.items())


def port(text: str) -> int:
    """A TCP port 0-65535 (0: any free port); a larger number is not wrapped around."""
    if not (text.isascii() and text.isdigit()) or len(text) > 5 or int(text) > 65535:
        raise argparse.ArgumentTypeError(f"must be a TCP port from 0 to 65535, got {text!r}")
    return int(text)


def log_level(text: str) -> str:
    """A logging level name, lower case (uvicorn's spelling; ``logging`` takes it upper)."""
    level = text.lower()
    if level not in LOG_LEVELS:
        raise argparse.ArgumentTypeError(f"must be one of {', '.join(LOG_LEVELS)}, got {text!r}")
    return level


def add_log_level(parser: argparse.ArgumentParser, default: str) -> None:
    """``--log-level``: the shared type, its choices shown in ``--help``, the default said."""
    parser.add_argument(
        "--log-level",
        type=log_level,
        choices=LOG_LEVELS,
        default=default,
        help=f"how much to log (default {default})",
    )


def redis_url(text: str) -> str:
    """A ``--redis`` flag: a URL of one of redis-py's schemes."""
    problem = redis_url_problem(text)
    if problem:
        raise argparse.ArgumentTypeError(problem)
    return text
