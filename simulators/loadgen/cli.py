"""``ordergate loadtest``: open-loop load against a running API, with a report.

    ordergate loadtest --url http://127.0.0.1:8080 --rate 2000 --duration 30 --profile submit

Exit codes: 0 the run completed (4xx / 5xx answers are reported, not failures), 1 it could not
run (API unreachable, token refused), 2 a bad argument, 3 a ``--fail-on-*`` threshold exceeded.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import math
import os
import re
import sys
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from .driver import Target, Unreachable, parse_url, probe, run_load
from .profiles import (
    PROFILES,
    RateSchedule,
    Request,
    account_names,
    cross_profile,
    mixed_profile,
    priced_symbols,
    submit_profile,
)
from .report import build_report, format_table, threshold_failures

PROG = "ordergate loadtest"
ACCOUNT_PREFIX_RE = re.compile(r"^[A-Za-z0-9_.\-]{1,56}$")
RUN_ID_RE = re.compile(r"^[A-Za-z0-9_.\-]{1,40}$")
# a mixed-profile change or read targets an order submitted at least this long before (seconds)
MIN_TARGET_AGE_S = 0.2
# the development risk limit: orders per second per account
DEV_ACCOUNT_RATE = 1000


def _positive(kind: Callable[[str], float | int], what: str) -> Callable[[str], Any]:
    def parse(text: str) -> float | int:
        try:
            value = kind(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"must be a number, got {text!r}") from None
        if not (math.isfinite(value) and value > 0):
            raise argparse.ArgumentTypeError(f"must be > 0, got {text!r}")
        return value

    return parse


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--url", required=True, help="the API's base URL, e.g. http://127.0.0.1:8080"
    )
    parser.add_argument(
        "--rate", type=_positive(float, "--rate"), default=1000.0, help="requests/s (default 1000)"
    )
    parser.add_argument(
        "--duration", type=_positive(float, "--duration"), default=10.0, help="seconds (default 10)"
    )
    parser.add_argument(
        "--profile",
        choices=PROFILES,
        default="submit",
        help="submit: new limit orders; mixed: submits + cancels, replaces and GETs of this run's "
        "orders; open-burst: submits, the rate ramping from rate/10 to rate over the first fifth",
    )
    parser.add_argument(
        "--connections",
        type=_positive(int, "--connections"),
        default=64,
        help="keep-alive connections (default 64; never more than the lowest requests/s)",
    )
    parser.add_argument(
        "--accounts", type=_positive(int, "--accounts"), default=20, help="accounts (default 20)"
    )
    parser.add_argument(
        "--account-prefix", default="LT", help="account names: PREFIX00, PREFIX01, ... (default LT)"
    )
    parser.add_argument(
        "--token",
        default=None,
        help="bearer token granting those accounts (default: a development token minted with the "
        "built-in secret; an API in production mode needs this)",
    )
    parser.add_argument(
        "--json", default=None, metavar="PATH", help="also write the report as JSON"
    )
    parser.add_argument(
        "--seed", type=int, default=1, help="seed of the request sequence (default 1)"
    )
    parser.add_argument(
        "--run-id",
        default=None,
        help="prefix of every client_order_id (default: random, so runs never collide)",
    )
    parser.add_argument(
        "--drain-timeout",
        type=_positive(float, "--drain-timeout"),
        default=10.0,
        help="seconds to wait for answers after the last send; later ones are timeouts (default 10)",
    )
    parser.add_argument(
        "--fail-on-p99-ms",
        type=_positive(float, "--fail-on-p99-ms"),
        default=None,
        help="exit 3 if any operation's p99 latency from due exceeds this",
    )
    parser.add_argument(
        "--fail-on-errors",
        action="store_true",
        help="exit 3 on any connection error, timeout or 5xx answer",
    )


def _error(message: str, code: int) -> int:
    print(f"{PROG}: {message}", file=sys.stderr)
    return code


def _check(args: argparse.Namespace) -> tuple[Target, RateSchedule, list[str], str] | str:
    """The validated inputs, or the message of the first bad one."""
    try:
        target = parse_url(args.url)
    except ValueError as exc:
        return str(exc)
    if not ACCOUNT_PREFIX_RE.match(args.account_prefix):
        return f"--account-prefix {args.account_prefix!r}: letters, digits, _ . - only (1-56)"
    if args.accounts > 100_000:
        return f"--accounts {args.accounts}: at most 100000"
    if args.profile == "cross" and args.accounts < 2:
        return "--profile cross needs --accounts 2 or more (a buyer and a seller)"
    run_id = args.run_id or os.urandom(4).hex()
    if not RUN_ID_RE.match(run_id):
        return f"--run-id {run_id!r}: letters, digits, _ . - only (1-40)"
    schedule = RateSchedule.for_profile(args.profile, args.rate, args.duration)
    if schedule.total < 1:
        return f"--rate {args.rate:g} x --duration {args.duration:g} s gives no request"
    if args.json:
        parent = Path(args.json).resolve().parent
        if not parent.is_dir():
            return f"--json {args.json}: directory {parent} does not exist"
    return target, schedule, account_names(args.accounts, args.account_prefix), run_id


def _requests(args: argparse.Namespace, accounts: list[str], run_id: str) -> Iterator[Request]:
    from gateway import market_rules
    from gateway.refdata import ReferenceData

    on = datetime.now(ZoneInfo("Asia/Tokyo")).date()
    symbols = priced_symbols(ReferenceData.load(), on)
    unit = market_rules.trading_unit(on)
    if args.profile == "mixed":
        min_age = max(1, math.ceil(args.rate * MIN_TARGET_AGE_S))
        return mixed_profile(symbols, accounts, unit, run_id, args.seed, min_age)
    if args.profile == "cross":
        return cross_profile(symbols, accounts, unit, run_id)
    return submit_profile(symbols, accounts, unit, run_id, args.seed)


async def _run(
    args: argparse.Namespace,
    target: Target,
    schedule: RateSchedule,
    accounts: list[str],
    run_id: str,
) -> dict[str, Any] | tuple[str, int]:
    notes: list[str] = []
    token = args.token
    health = await probe(target, token or "", accounts[0])
    if token is None:
        if health.environment == "production":
            return (
                f"the API at {target.base} runs in production mode: pass --token "
                f"(a token granting {accounts[0]}..{accounts[-1]})",
                2,
            )
        from gateway.auth import mint_token

        token = mint_token(f"loadtest-{run_id}", accounts, ("trade", "read"))
        health = await probe(target, token, accounts[0])
        token_note = "development token minted for the accounts (built-in dev secret)"
    else:
        token_note = "given with --token"
    if health.auth_status in (401, 403):
        return (
            f"the API refused the token for account {accounts[0]} ({health.auth_status}"
            f"{': ' + health.auth_detail if health.auth_detail else ''})"
            + ("" if args.token else "; pass --token if the API has its own JWT secret"),
            1,
        )
    per_account = args.rate / len(accounts)
    if per_account > DEV_ACCOUNT_RATE * 0.9:
        notes.append(
            f"{per_account:.0f} requests/s per account is near or above the development "
            f"limit of {DEV_ACCOUNT_RATE}/s per account: expect 429s; use more --accounts"
        )
    connections = max(1, min(args.connections, math.floor(schedule.min_rate)))
    if connections < args.connections:
        notes.append(
            f"{connections} connections, not {args.connections}: each sees a request at "
            "least every second, so none idles into the server's keep-alive timeout"
        )
    if args.profile == "open-burst":
        notes.append(
            f"open-burst: {args.rate / 10:g}/s rising linearly to {args.rate:g}/s over the "
            f"first {args.duration / 5:g} s, then {args.rate:g}/s"
        )
    started = datetime.now(UTC).isoformat(timespec="seconds")
    data = await run_load(
        target,
        token,
        _requests(args, accounts, run_id),
        schedule,
        connections,
        args.drain_timeout,
        keep_order_ids=args.profile == "mixed",
    )
    setup = {
        "url": target.base,
        "profile": args.profile,
        "rate": args.rate,
        "duration_s": args.duration,
        "connections": connections,
        "accounts": len(accounts),
        "account_range": f"{accounts[0]}..{accounts[-1]}",
        "seed": args.seed,
        "run_id": run_id,
        "token": token_note,
        "api_environment": health.environment,
        "started_at": started,
    }
    report = build_report(data, setup, schedule.total, args.duration)
    report["notes"] = notes
    return report


def run(args: argparse.Namespace) -> int:
    checked = _check(args)
    if isinstance(checked, str):
        return _error(checked, 2)
    target, schedule, accounts, run_id = checked
    try:
        import uvloop

        runner = asyncio.Runner(loop_factory=uvloop.new_event_loop)
    except ImportError:
        runner = asyncio.Runner()
    try:
        with runner:
            outcome = runner.run(_run(args, target, schedule, accounts, run_id))
    except Unreachable as exc:
        return _error(str(exc), 1)
    if isinstance(outcome, tuple):
        return _error(*outcome)
    print(format_table(outcome))
    if args.json:
        Path(args.json).write_text(json.dumps(outcome, indent=2) + "\n")
    failures = threshold_failures(outcome, args.fail_on_p99_ms, args.fail_on_errors)
    if failures:
        return _error("thresholds exceeded: " + "; ".join(failures), 3)
    return 0
