"""``ordergate token``: mint a development bearer token (HS256) and print it as the last line.

With no ``--config`` it signs with the built-in development secret, which ``ordergate api``
accepts when it runs without a config file too. With a config it signs with the configured
HS256 secret; a config that uses RS256 (JWKS) has no secret to sign with, so this refuses.
"""

from __future__ import annotations

import argparse
import sys

from gateway.auth import CONSOLE_SCOPES, DEFAULT_TOKEN_SCOPES, SCOPES, mint_token

from .settings import load_settings

#: the longest ``--ttl``: a year (a development token; the API refuses an exp past year 9999)
MAX_TTL_SECONDS = 366 * 86_400
EXIT_CODES = {
    0: "printed the token (last line of stdout)",
    2: "bad flag or configuration (or the configuration uses RS256)",
}


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--account",
        action="append",
        default=None,
        help="account the token grants (repeat for several; may be left out for a token "
        "of ops scopes only, e.g. for Prometheus to scrape /metrics or for the console)",
    )
    parser.add_argument(
        "--scope",
        action="append",
        default=None,
        help=f"scope to grant: {', '.join(SCOPES)} (repeat or space-separate; "
        f"default: {' '.join(DEFAULT_TOKEN_SCOPES)})",
    )
    parser.add_argument("--sub", default=None, help="subject (default: dev-<first account>)")
    parser.add_argument(
        "--ttl", type=int, default=86_400, help="lifetime in seconds (default 1 day)"
    )
    parser.add_argument("--config", default=None, help="config file whose JWT secret to sign with")


def run(args: argparse.Namespace) -> int:
    scopes: list[str] = []
    for item in args.scope or list(DEFAULT_TOKEN_SCOPES):
        scopes += item.replace(",", " ").split()
    unknown = [s for s in scopes if s not in SCOPES]
    if unknown:
        print(
            f"ordergate token: unknown scope {unknown[0]!r} (use {', '.join(SCOPES)})",
            file=sys.stderr,
        )
        return 2
    accounts: list[str] = args.account or []
    if not accounts and set(scopes) - {"ops", *CONSOLE_SCOPES}:
        print(
            "ordergate token: --account is required unless the only scopes are ops ones "
            f"(ops, {', '.join(CONSOLE_SCOPES)})",
            file=sys.stderr,
        )
        return 2
    if not 0 < args.ttl <= MAX_TTL_SECONDS:
        print(
            f"ordergate token: --ttl must be from 1 to {MAX_TTL_SECONDS} seconds", file=sys.stderr
        )
        return 2
    try:
        settings = load_settings(args.config)
    except (OSError, ValueError) as exc:
        print(f"ordergate token: {exc}", file=sys.stderr)
        return 2
    if settings.auth.algorithm != "HS256":
        print(
            "ordergate token: the configuration uses RS256 (JWKS); mint tokens with the identity "
            "provider instead",
            file=sys.stderr,
        )
        return 2
    sub = args.sub or (f"dev-{accounts[0]}" if accounts else "dev-ops")
    token = mint_token(sub, accounts, scopes, secret=settings.auth.secret, ttl_seconds=args.ttl)
    print(
        f"# {settings.environment} token for {sub}: accounts={','.join(accounts) or '-'} "
        f"scope={' '.join(scopes)} ttl={args.ttl}s",
        file=sys.stderr,
    )
    print(token)
    return 0
