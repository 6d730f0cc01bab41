"""``ordergate simulator-ctl``: drive a running simulator's control API from a shell.

    ordergate simulator-ctl state
    ordergate simulator-ctl orders
    ordergate simulator-ctl book 7203
    ordergate simulator-ctl fault drop_outbound count=2 [--session ORDERGATE]
    ordergate simulator-ctl kill-switch [--session S] [--off]
    ordergate simulator-ctl cancel-on-disconnect [--session S] [--off]
    ordergate simulator-ctl phase continuous          (or "clock" to follow the clock again)
    ordergate simulator-ctl reset

Prints the JSON answer; exits 0 on success, 1 when the simulator refused (HTTP 4xx/5xx, the error
printed on stderr) and 2 when it cannot be reached. Standard library only (urllib).
"""

from __future__ import annotations

import argparse
import json
import sys
import urllib.error
import urllib.parse
import urllib.request
from typing import Any

from gateway.cli_args import port

EXIT_CODES = {
    0: "done (the JSON answer printed)",
    1: "the simulator refused (HTTP 4xx/5xx, the error on stderr)",
    2: "it cannot be reached, or a bad flag or argument",
}


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--url", help="control API base URL (default http://HOST:PORT)")
    parser.add_argument("--host", default="127.0.0.1", help="control API host (default 127.0.0.1)")
    parser.add_argument("--port", type=port, default=9879, help="control API port (default 9879)")
    parser.add_argument("--timeout", type=float, default=10.0, help="seconds (default 10)")
    sub = parser.add_subparsers(dest="action", metavar="ACTION", required=True)
    sub.add_parser("state", help="phase, clock, sessions, counters, faults")
    sub.add_parser("orders", help="every order message received, by ClOrdID")
    book = sub.add_parser("book", help="one symbol's book")
    book.add_argument("symbol", help="security code, e.g. 7203")
    fault = sub.add_parser("fault", help="inject a fault: NAME [key=value ...]")
    fault.add_argument("name", help="disconnect, refuse_logons, delay_outbound, drop_outbound, ...")
    fault.add_argument("params", nargs="*", help="key=value (integers), e.g. count=2")
    fault.add_argument("--session", help="session (needed when there are several; * for all)")
    kill = sub.add_parser("kill-switch", help="cancel all and refuse new orders of a session")
    kill.add_argument("--session", help="session (needed when there are several)")
    kill.add_argument("--off", action="store_true", help="release the kill switch")
    cod = sub.add_parser("cancel-on-disconnect", help="cancel a session's orders when it drops")
    cod.add_argument("--session", help="session (needed when there are several)")
    cod.add_argument("--off", action="store_true", help="turn it off")
    phase = sub.add_parser("phase", help="pin a phase ('clock' follows the clock again)")
    phase.add_argument(
        "phase", help="pre_open, continuous, lunch, closing_auction, closed, or clock"
    )
    sub.add_parser("reset", help="empty books, forget orders, lift faults and kill switches")


def fault_body(name: str, params: list[str], session: str | None) -> dict[str, Any]:
    """``drop_outbound count=2`` as the JSON body of POST /faults (values as JSON when they parse)."""
    body: dict[str, Any] = {"fault": name}
    for item in params:
        key, sep, value = item.partition("=")
        if not sep or not key:
            raise ValueError(f"parameter {item!r} is not key=value")
        try:
            body[key] = json.loads(value)
        except ValueError:
            body[key] = value
    if session:
        body["session"] = session
    return body


def request(args: argparse.Namespace) -> tuple[str, str, dict[str, Any] | None]:
    """``(method, path, body)`` for the chosen action."""
    action = args.action
    if action in ("state", "orders"):
        return "GET", f"/{action}", None
    if action == "book":
        return "GET", f"/books/{urllib.parse.quote(args.symbol, safe='')}", None
    if action == "fault":
        return "POST", "/faults", fault_body(args.name, args.params, args.session)
    if action in ("kill-switch", "cancel-on-disconnect"):
        body: dict[str, Any] = {"active": not args.off}
        if args.session:
            body["session"] = args.session
        return "POST", f"/{action}", body
    if action == "phase":
        return "POST", "/phase", {"phase": None if args.phase == "clock" else args.phase}
    if action == "reset":
        return "POST", "/reset", {}
    raise ValueError(f"unknown action {action!r}")


def run(args: argparse.Namespace) -> int:
    base = (args.url or f"http://{args.host}:{args.port}").rstrip("/")
    try:
        method, path, body = request(args)
    except ValueError as exc:
        print(f"ordergate simulator-ctl: {exc}", file=sys.stderr)
        return 2
    data = None if body is None else json.dumps(body).encode()
    if not base.startswith(("http://", "https://")):
        print(f"ordergate simulator-ctl: --url {base!r}: not an http(s) URL", file=sys.stderr)
        return 2
    req = urllib.request.Request(base + path, data=data, method=method)
    req.add_header("Content-Type", "application/json")
    try:
        with urllib.request.urlopen(req, timeout=args.timeout) as resp:
            print(json.dumps(json.loads(resp.read() or b"null"), indent=2))
            return 0
    except urllib.error.HTTPError as exc:
        text = exc.read().decode("utf-8", "replace")
        print(f"ordergate simulator-ctl: HTTP {exc.code}: {text}", file=sys.stderr)
        return 1
    except (urllib.error.URLError, OSError) as exc:
        print(f"ordergate simulator-ctl: cannot reach {base}: {exc}", file=sys.stderr)
        return 2
