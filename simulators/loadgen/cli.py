"""``ordergate loadtest``: open-loop load against a running API, with a report.

    ordergate loadtest --url http://127.0.0.1:8080 --rate 2000 --duration 30 --profile submit \
        --processes 2 --report out/ --slo ack_p99_ms=50,errors=0

Exit codes: 0 the run completed (4xx / 5xx answers are reported, not failures), 1 it could not
run (API or simulator unreachable, token refused, a generator failed), 2 a bad argument or a
production target without ``--i-know-this-is-production``, 3 an ``--slo`` or ``--fail-on-*``
threshold missed.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import math
import os
import re
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from . import progress, rehearsal, slo
from .driver import Health, Target, Unreachable, parse_url, probe
from .htmlreport import render
from .latency import curve
from .profiles import PROFILES, RateSchedule, account_names
from .report import build_report, format_table, threshold_failures
from .runner import Coordinator, GeneratorFailed, ShardSpec

PROG = "ordergate loadtest"
ACCOUNT_PREFIX_RE = re.compile(r"^[A-Za-z0-9_.\-]{1,56}$")
RUN_ID_RE = re.compile(r"^[A-Za-z0-9_.\-]{1,40}$")
# a mixed-profile change or read targets an order submitted at least this long before (seconds)
MIN_TARGET_AGE_S = 0.2
# the development risk limit: orders per second per account
DEV_ACCOUNT_RATE = 1000
EXIT_CODES = {
    0: "the run completed (4xx / 5xx answers are reported, not failures)",
    1: "it could not run (API unreachable, token refused)",
    2: "bad flag",
    3: "a --fail-on-* threshold was exceeded",
}


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
    parser.add_argument(
        "--processes",
        type=_positive(int, "--processes"),
        default=1,
        help="generator processes, each with its share of the schedule and accounts (default 1)",
    )
    parser.add_argument(
        "--no-stream",
        dest="stream",
        action="store_false",
        help="do not watch the live update stream: time the 202 only (no ack / fill / done)",
    )
    parser.add_argument(
        "--report", default=None, metavar="DIR", help="write report.json, report.html, orders.csv"
    )
    parser.add_argument(
        "--slo",
        default=None,
        help="objectives, e.g. ack_p99_ms=10,accept_p99_ms=5,errors=0: exit 3 when one is missed",
    )
    parser.add_argument("--quiet", action="store_true", help="no progress line on stderr")
    parser.add_argument(
        "--progress",
        action="store_true",
        help="the progress line even when stderr is not a terminal",
    )
    parser.add_argument(
        "--backlog",
        type=_positive(int, "--backlog"),
        default=None,
        help="open-burst: orders queued while the venue is in pre-open, before it opens",
    )
    parser.add_argument(
        "--simulator",
        default=None,
        metavar="URL",
        help="open-burst: the exchange simulator's control API (it is put in pre-open for the "
        "backlog, then opened)",
    )
    parser.add_argument(
        "--i-know-this-is-production",
        dest="production_ok",
        action="store_true",
        help="allow a target whose /healthz says environment production",
    )


def _error(message: str, code: int) -> int:
    print(f"{PROG}: {message}", file=sys.stderr)
    return code


@dataclass(frozen=True)
class Plan:
    """The validated inputs of a run."""

    target: Target
    legs: tuple[RateSchedule, ...]
    leg_names: tuple[str, ...]
    accounts: list[str]
    run_id: str
    objectives: list[slo.Objective]


def _check(args: argparse.Namespace) -> Plan | str:
    """The validated inputs, or the message of the first bad one."""
    try:
        target = parse_url(args.url)
    except ValueError as exc:
        return str(exc)
    if not ACCOUNT_PREFIX_RE.match(args.account_prefix):
        return f"--account-prefix {args.account_prefix!r}: letters, digits, _ . - only (1-56)"
    if args.accounts > 100_000:
        return f"--accounts {args.accounts}: at most 100000"
    if args.profile == "cross" and args.accounts < 2 * args.processes:
        return "--profile cross needs 2 accounts or more per process (a buyer and a seller)"
    if args.processes > args.accounts:
        return f"--processes {args.processes}: more than --accounts {args.accounts}"
    if args.processes > 64:
        return f"--processes {args.processes}: at most 64"
    run_id = args.run_id or os.urandom(4).hex()
    if not RUN_ID_RE.match(run_id):
        return f"--run-id {run_id!r}: letters, digits, _ . - only (1-40)"
    schedule = RateSchedule.for_profile(args.profile, args.rate, args.duration)
    if schedule.total < args.processes:
        return f"--rate {args.rate:g} x --duration {args.duration:g} s gives too few requests"
    legs: tuple[RateSchedule, ...] = (schedule,)
    names: tuple[str, ...] = ("load",)
    if (args.backlog or args.simulator) and args.profile != "open-burst":
        return "--backlog and --simulator go with --profile open-burst"
    if args.backlog and not args.simulator:
        return "--backlog needs --simulator URL (the venue is put in pre-open for it)"
    if args.simulator and not args.stream:
        return "--simulator needs the live update stream (drop --no-stream)"
    if args.backlog:
        legs = (RateSchedule(args.rate, args.backlog / args.rate), schedule)
        names = ("backlog", "open")
    for path, what in ((args.json, "--json"),):
        if path and not Path(path).resolve().parent.is_dir():
            return f"{what} {path}: directory {Path(path).resolve().parent} does not exist"
    if args.report and Path(args.report).exists() and not Path(args.report).is_dir():
        return f"--report {args.report}: not a directory"
    objectives: list[slo.Objective] = []
    if args.slo is not None:
        try:
            objectives = slo.parse(args.slo)
        except ValueError as exc:
            return str(exc)
    return Plan(
        target, legs, names, account_names(args.accounts, args.account_prefix), run_id, objectives
    )


def _specs(args: argparse.Namespace, plan: Plan, token: str | None) -> list[ShardSpec]:
    """One spec per generator: accounts dealt round robin, a minted token each (or the one
    given, then one stream subscription per account)."""
    n = args.processes
    min_rate = min(s.min_rate for s in plan.legs) / n
    connections = max(1, min(math.ceil(args.connections / n), math.floor(min_rate)))
    min_age = max(1, math.ceil(args.rate / n * MIN_TARGET_AGE_S))
    specs = []
    for i in range(n):
        accounts = tuple(plan.accounts[i::n])
        if token is None:
            from gateway.auth import mint_token

            shard_token = mint_token(f"loadtest-{plan.run_id}-{i}", accounts, ("trade", "read"))
        else:
            shard_token = token
        specs.append(
            ShardSpec(
                index=i,
                count=n,
                url=args.url,
                token=shard_token,
                profile=args.profile,
                accounts=accounts,
                run_id=plan.run_id if n == 1 else f"{plan.run_id}-g{i}",
                seed=args.seed + i,
                connections=connections,
                drain_timeout=args.drain_timeout,
                legs=plan.legs,
                stream=args.stream,
                subscribe_per_account=token is not None,
                keep_orders=bool(args.report),
                min_target_age=min_age,
                leg_names=plan.leg_names,
            )
        )
    return specs


def _preflight(
    args: argparse.Namespace, plan: Plan
) -> tuple[str | None, str, Health, list[str]] | tuple[str, int]:
    """Probe the API: (token or None to mint, token note, health, notes) or (message, exit)."""
    target, accounts = plan.target, plan.accounts
    runner = asyncio.Runner()
    with runner:
        health = runner.run(probe(target, args.token or "", accounts[0]))
        if health.environment == "production" and not args.production_ok:
            return (
                f"the API at {target.base} says environment production: refusing to load it "
                "(pass --i-know-this-is-production if that is really meant)",
                2,
            )
        if args.token is None:
            if health.environment == "production":
                return (
                    f"the API at {target.base} runs in production mode: pass --token "
                    f"(a token granting {accounts[0]}..{accounts[-1]})",
                    2,
                )
            from gateway.auth import mint_token

            probe_token = mint_token(f"loadtest-{plan.run_id}", accounts[:1], ("trade", "read"))
            note = "development tokens minted for the accounts (built-in dev secret)"
        else:
            probe_token, note = args.token, "given with --token"
        health = runner.run(probe(target, probe_token, accounts[0]))
    if health.auth_status in (401, 403):
        return (
            f"the API refused the token for account {accounts[0]} ({health.auth_status}"
            f"{': ' + health.auth_detail if health.auth_detail else ''})"
            + ("" if args.token else "; pass --token if the API has its own JWT secret"),
            1,
        )
    notes = []
    per_account = args.rate / len(accounts)
    if per_account > DEV_ACCOUNT_RATE * 0.9:
        notes.append(
            f"{per_account:.0f} requests/s per account is near or above the development "
            f"limit of {DEV_ACCOUNT_RATE}/s per account: expect 429s; use more --accounts"
        )
    if args.profile == "open-burst":
        notes.append(
            f"open-burst: {args.rate / 10:g}/s rising linearly to {args.rate:g}/s over the "
            f"first {args.duration / 5:g} s, then {args.rate:g}/s"
        )
    if not args.stream:
        notes.append("--no-stream: only the 202 (accept) is timed")
    return args.token, note, health, notes


def _rehearse(args: argparse.Namespace, facts: dict[str, Any]) -> Callable[[int], None] | None:
    """Open-burst with --simulator: pre-open now, and a hook that opens the market."""
    if not args.simulator:
        return None
    facts["before"] = rehearsal.state(args.simulator)
    if args.backlog:
        rehearsal.pin_phase(args.simulator, "pre_open")

    def open_market(leg: int) -> None:
        rehearsal.pin_phase(args.simulator, "continuous")
        facts["opened_at"] = time.time()

    return open_market


def _write_report(directory: Path, report: dict[str, Any], orders: list[tuple[Any, ...]]) -> None:
    directory.mkdir(parents=True, exist_ok=True)
    (directory / "report.json").write_text(json.dumps(report, indent=2) + "\n")
    (directory / "report.html").write_text(render(report))
    with open(directory / "orders.csv", "w") as f:
        f.write("order_id,accept_ms,ack_ms,fill_ms,done_ms\n")
        for oid, *times in orders:
            f.write(
                oid
                + ","
                + ",".join("" if math.isnan(t) else f"{t * 1000:.3f}" for t in times)
                + "\n"
            )


def _setup(
    args: argparse.Namespace, plan: Plan, specs: list[ShardSpec], token_note: str, health: Health
) -> dict[str, Any]:
    return {
        "url": plan.target.base,
        "profile": args.profile,
        "rate": args.rate,
        "duration_s": args.duration,
        "backlog": args.backlog,
        "processes": args.processes,
        "connections": specs[0].connections * len(specs),
        "accounts": len(plan.accounts),
        "account_range": f"{plan.accounts[0]}..{plan.accounts[-1]}",
        "seed": args.seed,
        "run_id": plan.run_id,
        "token": token_note,
        "stream": args.stream,
        "api_environment": health.environment,
        "drain_timeout_s": args.drain_timeout,
        "started_at": datetime.now(UTC).isoformat(timespec="seconds"),
    }


def run(args: argparse.Namespace) -> int:
    plan = _check(args)
    if isinstance(plan, str):
        return _error(plan, 2)
    try:
        pre = _preflight(args, plan)
    except Unreachable as exc:
        return _error(str(exc), 1)
    if len(pre) == 2:
        return _error(*pre)
    token, token_note, health, notes = pre
    specs = _specs(args, plan, token)
    facts: dict[str, Any] = {}
    total_s = round(sum(s.duration for s in plan.legs), 3)
    show = progress.wanted(args.quiet, args.progress, sys.stderr)
    try:
        hook = _rehearse(args, facts)
        coordinator = Coordinator(
            specs, on_tick=progress.Progress(total_s) if show else None, between_legs=hook
        )
        data = coordinator.run(leg_timeout=total_s + args.drain_timeout + 60)
    except (rehearsal.SimulatorError, GeneratorFailed) as exc:
        return _error(str(exc), 1)
    except KeyboardInterrupt:
        return _error("interrupted: no report", 130)
    finally:
        if args.simulator and "before" in facts:
            try:
                rehearsal.restore(args.simulator, facts["before"])
            except rehearsal.SimulatorError as exc:
                notes.append(f"could not restore the simulator's phase: {exc}")
    planned = sum(s.total for s in plan.legs)
    report = build_report(data, _setup(args, plan, specs, token_note, health), planned, total_s)
    report["stage_curves"] = {s: curve(h) for s, h in data.stages.items()}
    if "opened_at" in facts:
        opened = round(facts["opened_at"] - coordinator.epochs[0], 3)
        report["market_opened_s"] = opened
        for phase in report["phases"]:
            if phase["phase"] == "backlog" and phase.get("last_fill_s") is not None:
                phase["last_fill_after_open_s"] = round(phase["last_fill_s"] - opened, 3)
            if phase["phase"] == "open":
                phase["market_opened_s"] = opened
    report["notes"] = notes
    failures = threshold_failures(report, args.fail_on_p99_ms, args.fail_on_errors)
    if plan.objectives:
        report["slo"] = slo.check(report, plan.objectives)
        failures += slo.missed(report["slo"])
    print(format_table(report))
    if args.json:
        Path(args.json).write_text(json.dumps(report, indent=2) + "\n")
    if args.report:
        _write_report(Path(args.report), report, data.orders)
    if failures:
        return _error("thresholds missed: " + "; ".join(failures), 3)
    return 0
