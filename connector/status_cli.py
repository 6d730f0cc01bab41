"""``ordergate status``: per FIX session its leader, state, next in/out sequence numbers, stream
lag and pending entries per partition, in-flight orders; and the audited admin commands
(``--logout``, ``--reset-seq --yes``, ``--resend FROM-TO``).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
from typing import Any

from gateway import keys
from gateway.cli_args import redis_url
from gateway.config import redact_url
from gateway.ids import MAX_PARTITIONS
from gateway.session_status import collect

EXIT_CODES = {
    0: "printed the status, or asked the leader",
    1: "Redis unreachable, or it refused a command",
    2: "bad flag",
}


def _partitions(text: str) -> int:
    """``--partitions``: as many as the API writes to (1 to ``MAX_PARTITIONS``)."""
    digits = text.isascii() and text.isdigit() and len(text) <= len(str(MAX_PARTITIONS))
    if not digits or not 1 <= int(text) <= MAX_PARTITIONS:
        raise argparse.ArgumentTypeError(
            f"must be an integer from 1 to {MAX_PARTITIONS}, got {text!r}"
        )
    return int(text)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--redis",
        dest="redis_url",
        type=redis_url,
        default="redis://127.0.0.1:6379/0",
        help="Redis URL (default redis://127.0.0.1:6379/0)",
    )
    parser.add_argument("--venue", default="TSE", help="venue of the session (default TSE)")
    parser.add_argument(
        "--sender-comp-id",
        default="ORDERGATE",
        help="our SenderCompID in the session (default ORDERGATE)",
    )
    parser.add_argument(
        "--target-comp-id", default=None, help="the venue's CompID (default: the venue)"
    )
    parser.add_argument(
        "--partitions",
        type=_partitions,
        default=keys.DEFAULT_PARTITIONS,
        help="partitions of the command streams, as the API writes them "
        f"(default {keys.DEFAULT_PARTITIONS})",
    )
    parser.add_argument("--json", action="store_true", help="machine-readable output")
    parser.add_argument("--logout", action="store_true", help="ask the leader to log out and stop")
    parser.add_argument(
        "--reset-seq",
        action="store_true",
        help="ask the leader to reset sequence numbers (next Logon with 141=Y); needs --yes",
    )
    parser.add_argument(
        "--resend",
        metavar="FROM-TO",
        default=None,
        help="ask the venue to resend its messages FROM..TO (ResendRequest); the reports that "
        "come back are applied again (deduplicated by ExecID)",
    )
    parser.add_argument("--yes", action="store_true", help="confirm a sequence reset")
    parser.add_argument("--by", default="ops", help="who asks (recorded in the session's trail)")


def parse_range(text: str) -> tuple[int, int]:
    """``FROM-TO`` (inbound sequence numbers, 1 <= FROM <= TO); ``ValueError`` otherwise."""
    first, sep, last = text.strip().partition("-")
    if not sep or not first.isdigit() or not last.isdigit():
        raise ValueError(f"--resend wants FROM-TO (two sequence numbers), not {text!r}")
    a, b = int(first), int(last)
    if not 1 <= a <= b:
        raise ValueError(f"--resend range {a}-{b}: need 1 <= FROM <= TO")
    return a, b


def render(info: dict[str, Any]) -> str:
    lines = [
        f"session   {info['session']}",
        f"leader    {info['leader'] or '-'} (token {info['fencing_token']}, "
        f"lease {info['lease_ms_left']} ms left)",
        f"state     {info['state']}",
        f"seq       next out {info['next_out_seq']}, next in {info['next_in_seq']}",
        f"in flight {info['in_flight_orders']} orders; stream lag {info['total_lag']}, "
        f"pending {info['total_pending']}",
        "partition  length     lag  pending",
    ]
    for r in info["streams"]:
        if r["length"] or r["pending"]:
            lag = "-" if r["lag"] is None else str(r["lag"])
            lines.append(f"{r['partition']:>9} {r['length']:>7} {lag:>7} {r['pending']:>8}")
    return "\n".join(lines)


async def _main(args: argparse.Namespace) -> int:
    import redis.asyncio as aioredis

    session = keys.session_id(args.sender_comp_id, args.target_comp_id or args.venue)
    client = aioredis.from_url(args.redis_url, socket_timeout=5)
    try:
        if args.logout or args.reset_seq or args.resend is not None:
            if args.reset_seq and not args.yes:
                print("ordergate status: --reset-seq needs --yes", file=sys.stderr)
                return 2
            extra: dict[str, str] = {}
            if args.logout:
                action = "logout"
            elif args.reset_seq:
                action = "reset"
            else:
                try:
                    first, last = parse_range(args.resend)
                except ValueError as exc:
                    print(f"ordergate status: {exc}", file=sys.stderr)
                    return 2
                action = "resend"
                extra = {"from": str(first), "to": str(last)}
            await client.rpush(  # audited first: the leader may act at once
                keys.fix_audit(session),
                json.dumps(
                    {"step": f"admin_{action}_requested", "process": args.by, "detail": extra}
                ),
            )
            fields: dict[Any, Any] = {"action": action, "by": args.by, **extra}
            await client.xadd(keys.fix_admin(session), fields)
            what = f"resend {extra['from']}-{extra['to']}" if extra else action
            print(f"asked the leader of {session} to {what}")
            return 0
        info = await collect(client, args.venue, session, args.partitions)
    finally:
        await client.aclose()  # type: ignore[attr-defined]
    print(json.dumps(info, indent=2) if args.json else render(info))
    return 0


def run(args: argparse.Namespace) -> int:
    from redis.exceptions import RedisError

    try:
        return asyncio.run(_main(args))
    except (OSError, RedisError) as exc:  # redis-py's ConnectionError is not an OSError
        print(
            f"ordergate status: Redis at {redact_url(args.redis_url)}: {type(exc).__name__}: {exc}",
            file=sys.stderr,
        )
        return 1
