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
import os
import sys
from collections.abc import Sequence
from typing import NoReturn

from gateway.cli_args import EXIT_CODES, EXIT_FAILED, EXIT_USAGE, exit_codes_text

#: what ``ordergate COMMAND`` exits with when interrupted by Ctrl-C (128 + SIGINT)
EXIT_INTERRUPTED = 130

# subcommand -> (module that implements it, one-line help)
SUBCOMMANDS: dict[str, tuple[str, str]] = {
    "up": ("operations.stack", "the whole stack on one machine (Redis, simulator, connector, API)"),
    "api": ("stateless_api.cli", "one API worker process"),
    "token": ("stateless_api.token_cli", "mint a development token for an account"),
    "connector": ("connector.cli", "one FIX connector for one exchange session"),
    "status": ("connector.status_cli", "streams, lag, connector session state, sequence numbers"),
    "simulator": ("simulators.exchange.cli", "one exchange simulator (FIX acceptor)"),
    "simulator-ctl": ("simulators.exchange.ctl", "drive a running simulator's control API"),
    "loadtest": ("simulators.loadgen.cli", "open-loop load against an API"),
    "trail": ("operations.trail_cli", "an order's end-to-end trail"),
    "archive": ("operations.archive_cli", "archive order events to S3"),
    "console": ("console.cli", "the operations console in the browser"),
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


def build_parser(argv: Sequence[str]) -> argparse.ArgumentParser:
    parser = _Parser(
        prog="ordergate",
        description=__doc__.splitlines()[0],
        epilog=exit_codes_text(EXIT_CODES)
        + "\n(each COMMAND --help lists its own; Ctrl-C exits 130)",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    chosen = next((a for a in argv if not a.startswith("-")), None)
    for name, (module_name, help_text) in SUBCOMMANDS.items():
        p = sub.add_parser(name, help=help_text, description=help_text)
        if name == chosen:
            module = _load(module_name)
            if module is not None:
                module.add_arguments(p)
                p.epilog = exit_codes_text(getattr(module, "EXIT_CODES", EXIT_CODES))
                p.formatter_class = argparse.RawDescriptionHelpFormatter
    return parser


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
