"""The ``ordergate`` command: the composition root.

Each subcommand lives in its component's own ``cli`` module, which exposes
``add_arguments(parser)``, ``run(args) -> int`` and ``EXIT_CODES`` (shown at the end of its
``--help``). The module is imported only when its subcommand is parsed, so ``gateway`` keeps no
import-time dependency on the components. Whatever a subcommand raises ends as one line on
stderr and exit 1 (``OG_TRACEBACK=1`` shows the traceback), Ctrl-C as exit 130.
"""

from __future__ import annotations

import argparse
import importlib
import importlib.metadata
import os
import sys
from collections.abc import Sequence
from typing import NoReturn

from gateway.cli_args import EXIT_CODES, EXIT_FAILED, EXIT_USAGE, exit_codes_text

#: what ``ordergate COMMAND`` exits with when interrupted by Ctrl-C (128 + SIGINT)
EXIT_INTERRUPTED = 130

DESCRIPTION = "An order-routing gateway: HTTP API, Redis streams, FIX 4.4 connectors."

# subcommand -> (module that implements it, one-line help: what it does, starting with a verb)
SUBCOMMANDS: dict[str, tuple[str, str]] = {
    "up": (
        "operations.stack",
        "run the whole stack on one machine (Redis, simulator, connector, API)",
    ),
    "api": ("stateless_api.cli", "serve the HTTP API (one or more worker processes)"),
    "token": ("stateless_api.token_cli", "print a development token for accounts and scopes"),
    "connector": ("connector.cli", "run the FIX connector of one exchange session"),
    "status": (
        "connector.status_cli",
        "show a FIX session's state, sequence numbers and lag; log out, reset, resend",
    ),
    "simulator": ("simulators.exchange.cli", "run an exchange simulator (a FIX acceptor)"),
    "simulator-ctl": ("simulators.exchange.ctl", "drive a running simulator's control API"),
    "loadtest": ("simulators.loadgen.cli", "send open-loop load to an API and report latencies"),
    "trail": ("operations.trail_cli", "show an order's end-to-end trail"),
    "archive": ("operations.archive_cli", "archive order events to S3"),
    "console": ("console.cli", "serve the operations console (a web page)"),
    "schedule": (
        "operations.schedule_cli",
        "print the scale windows around market hours (KEDA cron triggers)",
    ),
}


def _load(module_name: str):  # type: ignore[no-untyped-def]
    try:
        return importlib.import_module(module_name)
    except ModuleNotFoundError as exc:
        if exc.name and module_name.startswith(exc.name):
            return None
        raise


class _Parser(argparse.ArgumentParser):
    """argparse with its error as one line (argparse prints the whole usage first)."""

    def error(self, message: str) -> NoReturn:
        self.exit(EXIT_USAGE, f"{self.prog}: {message} (see {self.prog} --help)\n")


def version() -> str:
    """The installed distribution's version (what ``pip`` installed, not a copy in the code)."""
    try:
        return importlib.metadata.version("ordergate")
    except importlib.metadata.PackageNotFoundError:
        return "unknown (not installed: run pip install .)"


def build_parser(argv: Sequence[str]) -> argparse.ArgumentParser:
    parser = _Parser(
        prog="ordergate",
        description=DESCRIPTION,
        epilog=exit_codes_text(EXIT_CODES)
        + "\n(each COMMAND --help lists its own; Ctrl-C exits 130)",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument(
        "--version",
        action="version",
        version=f"%(prog)s {version()}",
        help="print the installed version and exit",
    )
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    chosen = next((a for a in argv if not a.startswith("-")), None)
    for name, (module_name, help_text) in SUBCOMMANDS.items():
        p = sub.add_parser(name, help=help_text, description=help_text)
        if name == chosen:
            module = _load(module_name)
            if module is not None:
                module.add_arguments(p)
                _set_epilog(p, exit_codes_text(getattr(module, "EXIT_CODES", EXIT_CODES)))
    return parser


def _set_epilog(parser: argparse.ArgumentParser, epilog: str) -> None:
    """The exit codes at the end of ``--help``, also of a subcommand's own actions."""
    parser.epilog = epilog
    parser.formatter_class = argparse.RawDescriptionHelpFormatter
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for child in action.choices.values():
                _set_epilog(child, epilog)


def subcommand_parser(name: str) -> argparse.ArgumentParser:
    """``ordergate NAME``'s parser, built as ``main`` builds it (for the docs and the tests)."""
    for action in build_parser([name])._actions:
        if isinstance(action, argparse._SubParsersAction):
            return action.choices[name]
    raise KeyError(name)


def main(argv: Sequence[str] | None = None) -> int:
    args_list = list(sys.argv[1:] if argv is None else argv)
    parser = build_parser(args_list)
    args = parser.parse_args(args_list)
    if not args.command:
        parser.print_help()
        return EXIT_USAGE
    module = _load(SUBCOMMANDS[args.command][0])
    if module is None:
        print(f"ordergate {args.command}: not built yet in this version", file=sys.stderr)
        return EXIT_USAGE
    try:
        return int(module.run(args) or 0)
    except KeyboardInterrupt:
        return EXIT_INTERRUPTED
    except Exception as exc:  # noqa: BLE001 - the last line of defence: one line, no traceback
        if os.environ.get("OG_TRACEBACK") == "1":
            raise
        print(f"ordergate {args.command}: {type(exc).__name__}: {exc}", file=sys.stderr)
        return EXIT_FAILED


if __name__ == "__main__":
    sys.exit(main())
