"""``ordergate up``: the whole stack on one machine, in the foreground.

Redis (the one at ``--redis``, else a private server with AOF ``appendfsync always``: the
system's ``redis-server``, or the embedded one of the ``embedded`` extra; see ``redis_server``),
one exchange simulator (continuous phase pinned, so it trades at any hour), one connector
(``--hours always``), N API workers on consecutive ports and the operations console (a free
port). It waits until each is ready, prints
the API address, a dev token and example curl commands, and supervises: Ctrl-C / SIGTERM stops
everything; a child that dies stops the stack (exit 1, naming the child and its last log lines).
``--demo`` runs a short order flow through the API and then stops (exit 0 only if it completed).

Modules: ``plan`` (pure: command lines, ports, banner), ``supervisor`` (processes, readiness,
signals), ``demo`` (the flow over HTTP). The components run as ``ordergate`` subprocesses, so this
package imports none of them.
"""

from __future__ import annotations

import argparse
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from gateway.config import redact_url
from operations.stack.plan import (
    ChildSpec,
    Ports,
    StackOptions,
    api_ports,
    banner,
    children,
    token_argv,
    validate,
)
from operations.stack.redis_server import RedisServerNotFound, find_redis_server
from operations.stack.supervisor import (
    Child,
    StackError,
    Supervisor,
    free_port,
    http_ok,
    port_free,
    port_open,
    redis_answers,
    simulator_session,
)

DEFAULT_START_TIMEOUT = 60.0
EXIT_CODES = {
    0: "stopped by SIGTERM / Ctrl-C, or --demo completed",
    1: "a component failed to start or died (named, with its last log lines)",
    2: "bad flag, or a port or Redis it cannot use",
}
DEFAULT_API_PORT = 8000


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--redis",
        dest="redis_url",
        help="use this Redis (default: a private one, AOF on: redis-server from the PATH, "
        "else the embedded valkey-server of the 'embedded' extra)",
    )
    parser.add_argument(
        "--api-workers", type=int, default=1, help="API processes (default 1), on consecutive ports"
    )
    parser.add_argument(
        "--api-port",
        type=int,
        default=None,
        help="port of the first API worker; the next workers take the next ports; 0 picks "
        "free ports (default 8000, or free ports when 8000 and the next are taken)",
    )
    parser.add_argument(
        "--venue", default="TSE", help="venue to simulate and connect to (TSE, JNX)"
    )
    parser.add_argument(
        "--demo", action="store_true", help="run the demo order flow once ready, then stop"
    )
    parser.add_argument(
        "--config", help="gateway config file for the API workers and the connector (TOML/JSON)"
    )
    parser.add_argument(
        "--data-dir",
        help="directory for logs and the private Redis's AOF (default: a new temporary "
        "directory, removed after a clean exit)",
    )
    parser.add_argument(
        "--start-timeout",
        type=float,
        default=DEFAULT_START_TIMEOUT,
        help=f"seconds for the whole stack to become ready (default {DEFAULT_START_TIMEOUT:.0f})",
    )


def _err(message: str) -> None:
    print(f"ordergate up: {message}", file=sys.stderr, flush=True)


def _check_options(opts: StackOptions) -> str | None:
    problem = validate(opts)
    if problem:
        return problem
    from gateway.venues import get_venue

    if get_venue(opts.venue) is None:
        return f"--venue {opts.venue}: unknown venue (see gateway/data/venues.json)"
    if opts.config and not Path(opts.config).is_file():
        return f"--config {opts.config}: no such file"
    if opts.redis_url is None:
        try:
            find_redis_server()
        except RedisServerNotFound as exc:
            return str(exc)
    if opts.redis_url is not None:
        import redis

        try:
            redis.Redis.from_url(opts.redis_url, socket_connect_timeout=2, socket_timeout=2).ping()
        except Exception as exc:  # redis-py raises several types (connection, auth, URL)
            return f"--redis {redact_url(opts.redis_url)}: cannot reach it ({exc.__class__.__name__}: {exc})"
    return None


def _private_redis(opts: StackOptions) -> str:
    """The server binary for the private Redis (said once, so a user knows which one runs)."""
    if opts.redis_url is not None:
        return "redis-server"  # not started
    server = find_redis_server()
    _say(f"ordergate up: private Redis: {server.path} (from {server.source}), AOF always")
    return server.path


def _choose_ports(opts: StackOptions, port_given: bool) -> Ports:
    wanted = api_ports(opts.api_port, opts.api_workers)
    if wanted is not None and not port_given and not all(port_free(p) for p in wanted):
        _say(f"ordergate up: port {wanted[0]} or the next is taken; the API takes free ports")
        wanted = None
    if wanted is None:
        api = tuple(free_port() for _ in range(opts.api_workers))
    else:
        busy = [p for p in wanted if not port_free(p)]
        if busy:
            raise StackError(
                f"--api-port: port {busy[0]} is in use (workers need ports "
                f"{wanted[0]}-{wanted[-1]}; pick another --api-port, or 0 for free ports)"
            )
        api = tuple(wanted)
    return Ports(
        redis=free_port(), fix=free_port(), control=free_port(), api=api, console=free_port()
    )


def _mint_token(opts: StackOptions) -> str | None:
    """The dev token, from ``ordergate token`` (None when the config uses RS256)."""
    out = subprocess.run(
        token_argv(opts, sys.executable), capture_output=True, text=True, timeout=60
    )
    if out.returncode != 0:
        if "RS256" in out.stderr:
            return None
        raise StackError(f"ordergate token failed ({out.returncode}): {out.stderr.strip()}")
    return out.stdout.strip().splitlines()[-1]


def _readiness(spec: ChildSpec, opts: StackOptions, ports: Ports) -> tuple[Callable[[], bool], str]:
    if spec.ready == "redis":
        return (lambda: redis_answers(spec.port)), f"PING answered on port {spec.port}"
    if spec.ready == "simulator":
        return (
            lambda: http_ok(f"http://127.0.0.1:{ports.control}/state") and port_open(ports.fix)
        ), f"control API on {ports.control} and FIX port {ports.fix} open"
    if spec.ready == "logon":

        def logged_on() -> bool:
            s = simulator_session(ports.control, opts.venue)
            return bool(s and s.get("logged_on"))

        return logged_on, "FIX logon at the simulator"
    return (
        lambda: http_ok(f"http://127.0.0.1:{spec.port}/readyz")
    ), f"GET /readyz answering 200 on port {spec.port}"


def _start_stack(
    sup: Supervisor, specs: list[ChildSpec], opts: StackOptions, ports: Ports, deadline: float
) -> None:
    """Redis, then the simulator, then the connector and the API workers together."""
    for stage in (("redis",), ("simulator",), ("logon", "http")):
        batch = [(sup.start(s), s) for s in specs if s.ready in stage]
        for child, spec in batch:
            ready, what = _readiness(spec, opts, ports)
            sup.wait_ready(child, ready, deadline, what)


def run(args: argparse.Namespace) -> int:
    opts = StackOptions(
        redis_url=args.redis_url,
        api_workers=args.api_workers,
        api_port=DEFAULT_API_PORT if args.api_port is None else args.api_port,
        venue=args.venue,
        config=args.config,
        demo=args.demo,
    )
    problem = _check_options(opts)
    if problem:
        _err(problem)
        return 2
    if args.start_timeout <= 0:
        _err("--start-timeout must be positive")
        return 2
    own_dir = args.data_dir is None
    data_dir = Path(args.data_dir or tempfile.mkdtemp(prefix="ordergate-up-")).resolve()
    (data_dir / "redis").mkdir(parents=True, exist_ok=True)
    (data_dir / "logs").mkdir(parents=True, exist_ok=True)

    sup = Supervisor(log_dir=data_dir / "logs")
    sup.install_signals()
    code = 1
    began = time.monotonic()
    try:
        try:
            ports = _choose_ports(opts, port_given=args.api_port is not None)
        except StackError as exc:
            _err(str(exc))
            return 2
        token = _mint_token(opts)
        specs = children(opts, ports, str(data_dir), sys.executable, _private_redis(opts))
        _start_stack(sup, specs, opts, ports, began + args.start_timeout)
        pids = {c.name: c.pid for c in sup.children}
        print(banner(opts, ports, token, str(data_dir), pids, time.monotonic() - began), flush=True)
        if opts.demo:
            if token is None:
                raise StackError("--demo needs a dev token: the config uses RS256")
            from operations.stack.demo import Demo

            print("", flush=True)

            def abort() -> str | None:
                if sup.stop_requested:
                    return f"stopped by signal {sup.stop_requested}"
                dead = sup.first_dead()
                return None if dead is None else f"{dead.name} (pid {dead.pid}) exited"

            api_url = f"http://127.0.0.1:{ports.api[0]}"
            console_url = f"http://127.0.0.1:{ports.console}" if ports.console else None
            code = Demo(
                api_url, token, opts.venue, _say, abort=abort, console_url=console_url
            ).run()
            dead = sup.first_dead()
            if dead is not None:
                raise StackError(_died(dead))
            _say("\nordergate up: demo done, stopping the stack")
        else:
            dead = sup.watch()
            if dead is not None:
                raise StackError(_died(dead))
            _say(f"\nordergate up: signal {sup.stop_requested}, stopping the stack")
            code = 0
    except StackError as exc:
        _err(str(exc))
        code = 1
    finally:
        sup.stop_all()
        sup.restore_signals()
    if code == 0 and own_dir:
        shutil.rmtree(data_dir, ignore_errors=True)
    elif code != 0:
        _err(f"logs kept in {data_dir / 'logs'}")
    return code


def _say(text: str) -> None:
    print(text, flush=True)


def _died(child: Child) -> str:
    return (
        f"{child.name} (pid {child.pid}) exited with status {child.exited()}; the stack stops "
        f"(it does not restart children); last lines of {child.log_path}:\n{child.log_tail()}"
    )
