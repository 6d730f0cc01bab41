"""What ``ordergate up`` starts, as data: pure functions from the options and the chosen ports to
the children's command lines and the banner. No processes, sockets or clocks here, so every rule
(who gets which flag, which port) is a plain unit test.
"""

from __future__ import annotations

import shlex
import sys
from collections.abc import Sequence
from dataclasses import dataclass, field

from gateway.config import redis_url_problem
from gateway.keys import OUR_COMP_ID

DEV_ACCOUNTS = ("DEMO-BUY", "DEMO-SELL")  # the dev token's accounts (the demo uses both)


@dataclass(frozen=True)
class StackOptions:
    """The ``ordergate up`` flags that shape the stack."""

    redis_url: str | None = None  # None: a private redis-server
    api_workers: int = 1
    api_port: int = 8000  # 0: free ports
    venue: str = "TSE"
    config: str | None = None
    demo: bool = False


@dataclass(frozen=True)
class Ports:
    """Ports chosen by the shell (free ports, or the ones asked for)."""

    redis: int
    fix: int
    control: int
    api: tuple[int, ...]
    console: int = 0  # 0: no console


@dataclass(frozen=True)
class ChildSpec:
    """One child process: a stable name (log file, messages), its argv and what 'ready' means."""

    name: str
    argv: tuple[str, ...]
    ready: str  # "redis" (PING), "simulator" (control API + FIX port), "logon", "http"
    port: int = 0
    stop_order: int = 0  # lower stops first
    env: dict[str, str] = field(default_factory=dict)


def ordergate(*args: str, python: str = sys.executable) -> tuple[str, ...]:
    """The ``ordergate`` command run by the same interpreter (no PATH lookup)."""
    return (python, "-m", "gateway.cli", *args)


def api_ports(base: int, workers: int) -> list[int] | None:
    """Consecutive ports from ``base`` for ``workers`` API processes; None when ``base`` is 0
    (the shell picks free ports)."""
    if base == 0:
        return None
    return [base + i for i in range(workers)]


def redis_url_for(opts: StackOptions, ports: Ports) -> str:
    return opts.redis_url or f"redis://127.0.0.1:{ports.redis}/0"


def redis_spec(data_dir: str, port: int, server: str = "redis-server") -> ChildSpec:
    """A private Redis (``server``: the binary, see ``redis_server.find_redis_server``): loopback
    only, AOF with fsync on every write, no RDB snapshots."""
    argv = (
        server,
        "--bind",
        "127.0.0.1",
        "--port",
        str(port),
        "--dir",
        data_dir,
        "--appendonly",
        "yes",
        "--appendfsync",
        "always",
        "--save",
        "",
        "--daemonize",
        "no",
    )
    return ChildSpec("redis", argv, "redis", port, stop_order=3)


def children(
    opts: StackOptions,
    ports: Ports,
    data_dir: str,
    python: str,
    redis_server: str = "redis-server",
) -> list[ChildSpec]:
    """Every child in start order: Redis (if private), simulator, connector, API workers."""
    specs: list[ChildSpec] = []
    if opts.redis_url is None:
        specs.append(redis_spec(f"{data_dir}/redis", ports.redis, redis_server))
    redis_url = redis_url_for(opts, ports)
    specs.append(
        ChildSpec(
            "simulator",
            ordergate(
                "simulator",
                "--venue",
                opts.venue,
                "--host",
                "127.0.0.1",
                "--port",
                str(ports.fix),
                "--sender-comp-id",
                opts.venue,
                "--target-comp-id",
                OUR_COMP_ID,
                "--control-port",
                str(ports.control),
                "--phase",
                "continuous",
                python=python,
            ),
            "simulator",
            ports.control,
            stop_order=2,
        )
    )
    config = ("--config", opts.config) if opts.config else ()
    specs.append(
        ChildSpec(
            "connector",
            ordergate(
                "connector",
                "--venue",
                opts.venue,
                "--connect",
                f"127.0.0.1:{ports.fix}",
                "--sender-comp-id",
                OUR_COMP_ID,
                "--target-comp-id",
                opts.venue,
                "--redis",
                redis_url,
                "--hours",
                "always",
                "--message-log",
                f"{data_dir}/logs/fix",
                *config,
                python=python,
            ),
            "logon",
            stop_order=1,
        )
    )
    for i, port in enumerate(ports.api):
        specs.append(
            ChildSpec(
                f"api-{i + 1}",
                ordergate(
                    "api",
                    "--host",
                    "127.0.0.1",
                    "--port",
                    str(port),
                    "--redis",
                    redis_url,
                    *config,
                    python=python,
                ),
                "http",
                port,
                stop_order=0,
            )
        )
    if ports.console:
        specs.append(console_spec(opts, ports, redis_url, python))
    return specs


def console_spec(opts: StackOptions, ports: Ports, redis_url: str, python: str) -> ChildSpec:
    """The operations console: the stack's simulator and the connector's session."""
    config = ("--config", opts.config) if opts.config else ()
    return ChildSpec(
        "console",
        ordergate(
            "console",
            "--host",
            "127.0.0.1",
            "--port",
            str(ports.console),
            "--redis",
            redis_url,
            "--simulator",
            f"http://127.0.0.1:{ports.control}",
            "--session",
            f"{opts.venue}=FIX.4.4:{OUR_COMP_ID}->{opts.venue}",
            *config,
            python=python,
        ),
        "http",
        ports.console,
        stop_order=0,
    )


def token_argv(opts: StackOptions, python: str) -> tuple[str, ...]:
    accounts = [a for acct in DEV_ACCOUNTS for a in ("--account", acct)]
    config = ("--config", opts.config) if opts.config else ()
    return ordergate("token", *accounts, "--sub", "dev-stack", *config, python=python)


def banner(
    opts: StackOptions,
    ports: Ports,
    token: str | None,
    data_dir: str,
    pids: dict[str, int],
    seconds: float,
) -> str:
    """What ``ordergate up`` prints once everything is ready. ``API_URL=`` and ``TOKEN=`` lines
    can be pasted into a shell (and are what the tests read)."""
    api = f"http://127.0.0.1:{ports.api[0]}"
    redis = redis_url_for(opts, ports)
    lines = [f"ordergate up: stack ready in {seconds:.1f} s (logs and data: {data_dir})"]
    if opts.redis_url is None:
        lines.append(
            f"  redis      {redis}  private, AOF appendfsync always  pid {pids.get('redis')}"
        )
    else:
        lines.append(f"  redis      {redis}  (given with --redis)")
    lines.append(
        f"  simulator  {opts.venue} FIX 127.0.0.1:{ports.fix}, control "
        f"http://127.0.0.1:{ports.control}, phase continuous (pinned)  pid {pids.get('simulator')}"
    )
    lines.append(
        f"  connector  FIX.4.4:{OUR_COMP_ID}->{opts.venue} logged on, hours always  "
        f"pid {pids.get('connector')}"
    )
    for i, port in enumerate(ports.api):
        lines.append(f"  api-{i + 1:<6} http://127.0.0.1:{port}  pid {pids.get(f'api-{i + 1}')}")
    if ports.console:
        lines.append(f"  console    http://127.0.0.1:{ports.console}  pid {pids.get('console')}")
    lines.append("")
    lines.append(f"API_URL={api}")
    if ports.console:
        lines.append(f"CONSOLE_URL=http://127.0.0.1:{ports.console}")
    if token is None:
        lines.append(
            "# no dev token: the config uses RS256 (mint tokens with the identity provider)"
        )
        tok = "$TOKEN"
    else:
        lines.append(f"TOKEN={token}")
        lines.append(f"# token accounts: {', '.join(DEV_ACCOUNTS)}; scopes: trade read")
        tok = "$TOKEN"
    body = (
        f'{{"account":"{DEV_ACCOUNTS[0]}","client_order_id":"c-1","symbol":"7203",'
        f'"side":"buy","type":"limit","quantity":100,"price":"2850","venue":"{opts.venue}"}}'
    )
    auth = f'-H "Authorization: Bearer {tok}"'
    cfg = f" --config {shlex.quote(opts.config)}" if opts.config else ""  # /metrics needs ops
    lines += [
        "",
        "# examples (paste the two lines above first):",
        f"curl -s -XPOST $API_URL/v1/orders {auth} -H 'Content-Type: application/json' \\",
        f"  -d {shlex.quote(body)}",
        f"curl -s $API_URL/v1/orders/ORDER_ID {auth}",
        f"curl -s $API_URL/v1/orders/ORDER_ID/trail {auth}",
        f"curl -s -XDELETE $API_URL/v1/orders/ORDER_ID {auth}",
        f"curl -sN $API_URL/v1/stream {auth}",
        f'curl -s $API_URL/metrics -H "Authorization: Bearer $(ordergate token --scope ops{cfg} | tail -1)"',
        f"curl -s http://127.0.0.1:{ports.control}/books/7203    # the simulator's book",
        *(
            [
                f"# console: open http://127.0.0.1:{ports.console} and paste a token from",
                f"ordergate token --scope 'ops:read ops:halt sim:control'{cfg} | tail -1",
            ]
            if ports.console
            else []
        ),
        "",
        "Ctrl-C (or SIGTERM) stops everything.",
    ]
    return "\n".join(lines)


def tail(text: str, lines: int = 15) -> str:
    """The last ``lines`` lines of a log, indented, for an error message."""
    kept = text.rstrip("\n").splitlines()[-lines:]
    return "\n".join(f"    | {line}" for line in kept) if kept else "    | (empty log)"


def validate(opts: StackOptions) -> str | None:
    """A precise message for options that cannot work, else None."""
    if opts.api_workers < 1:
        return "--api-workers must be at least 1"
    if opts.api_workers > 64:
        return "--api-workers must be at most 64"
    if not 0 <= opts.api_port <= 65535 or (
        opts.api_port and opts.api_port + opts.api_workers - 1 > 65535
    ):
        return f"--api-port {opts.api_port}: workers would need ports past 65535"
    if not opts.venue or not opts.venue.isalnum():
        return f"--venue {opts.venue!r}: a venue code such as TSE or JNX"
    problem = None if opts.redis_url is None else redis_url_problem(opts.redis_url)
    if problem:
        return f"--redis {problem}"
    return None


def describe(argv: Sequence[str]) -> str:
    return shlex.join(argv)
