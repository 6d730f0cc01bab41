"""``operations.stack.plan``: what ``ordergate up`` starts, as data (no processes)."""

from __future__ import annotations

from gateway.cli import build_parser
from operations.stack.plan import (
    Ports,
    StackOptions,
    api_ports,
    banner,
    children,
    tail,
    token_argv,
    validate,
)

PORTS = Ports(redis=7001, fix=7002, control=7003, api=(8000, 8001))
PY = "/venv/bin/python"


def names(opts: StackOptions) -> list[str]:
    return [c.name for c in children(opts, PORTS, "/data", PY)]


def by_name(opts: StackOptions, name: str) -> tuple[str, ...]:
    return next(c.argv for c in children(opts, PORTS, "/data", PY) if c.name == name)


def test_private_redis_is_started_first_with_aof_fsync_always() -> None:
    opts = StackOptions(api_workers=2)
    assert names(opts) == ["redis", "simulator", "connector", "api-1", "api-2"]
    argv = " ".join(by_name(opts, "redis"))
    assert "--appendonly yes" in argv and "--appendfsync always" in argv
    assert "--port 7001" in argv and "--bind 127.0.0.1" in argv and "--dir /data/redis" in argv


def test_given_redis_is_used_and_none_is_started() -> None:
    opts = StackOptions(redis_url="redis://10.0.0.1:6379/2")
    assert "redis" not in names(opts)
    for name in ("connector", "api-1"):
        argv = by_name(opts, name)
        assert argv[argv.index("--redis") + 1] == "redis://10.0.0.1:6379/2"


def test_children_share_the_private_redis_url() -> None:
    for name in ("connector", "api-1", "api-2"):
        argv = by_name(StackOptions(api_workers=2), name)
        assert argv[argv.index("--redis") + 1] == "redis://127.0.0.1:7001/0"


def test_simulator_pins_the_continuous_phase_and_mirrors_the_comp_ids() -> None:
    sim = by_name(StackOptions(venue="JNX"), "simulator")
    assert sim[sim.index("--phase") + 1] == "continuous"
    assert sim[sim.index("--sender-comp-id") + 1] == "JNX"
    assert sim[sim.index("--target-comp-id") + 1] == "ORDERGATE"
    assert sim[sim.index("--port") + 1] == "7002" and sim[sim.index("--control-port") + 1] == "7003"


def test_connector_trades_around_the_clock_against_the_simulator() -> None:
    conn = by_name(StackOptions(venue="JNX"), "connector")
    assert conn[conn.index("--hours") + 1] == "always"
    assert conn[conn.index("--connect") + 1] == "127.0.0.1:7002"
    assert conn[conn.index("--target-comp-id") + 1] == "JNX"
    assert conn[conn.index("--venue") + 1] == "JNX"


def test_api_workers_get_consecutive_ports_from_the_base() -> None:
    assert api_ports(8000, 3) == [8000, 8001, 8002]
    assert api_ports(0, 3) is None
    argv = by_name(StackOptions(api_workers=2), "api-2")
    assert argv[argv.index("--port") + 1] == "8001"


def test_config_goes_to_the_api_connector_and_token_but_not_the_simulator() -> None:
    opts = StackOptions(config="/etc/og.toml")
    for name in ("connector", "api-1"):
        assert "/etc/og.toml" in by_name(opts, name)
    assert "--config" not in by_name(opts, "simulator")
    assert "/etc/og.toml" in token_argv(opts, PY)


def test_every_child_command_is_an_existing_ordergate_subcommand_with_known_flags() -> None:
    for spec in children(StackOptions(api_workers=2, config="c.toml"), PORTS, "/d", PY):
        if spec.name == "redis":
            continue
        assert spec.argv[:3] == (PY, "-m", "gateway.cli")
        args = list(spec.argv[3:])
        build_parser(args).parse_args(args)  # SystemExit on an unknown flag


def test_stop_order_puts_api_and_connector_before_simulator_before_redis() -> None:
    order = {c.name: c.stop_order for c in children(StackOptions(), PORTS, "/d", PY)}
    assert order["api-1"] < order["connector"] < order["simulator"] < order["redis"]


def test_banner_prints_pasteable_api_url_and_token_lines() -> None:
    text = banner(StackOptions(api_workers=2), PORTS, "tok.en", "/d", {"redis": 1}, 1.23)
    lines = text.splitlines()
    assert "API_URL=http://127.0.0.1:8000" in lines and "TOKEN=tok.en" in lines
    assert "http://127.0.0.1:8001" in text and "curl" in text


def test_banner_metrics_example_mints_an_ops_token_with_the_stacks_config() -> None:
    plain = banner(StackOptions(), PORTS, "tok.en", "/d", {}, 1.0)
    line = next(x for x in plain.splitlines() if "/metrics" in x)
    assert "ordergate token --scope ops |" in line  # /metrics needs the ops scope
    configured = banner(StackOptions(config="/etc/og.toml"), PORTS, "tok.en", "/d", {}, 1.0)
    assert "--scope ops --config /etc/og.toml" in configured


def test_banner_without_a_token_says_why() -> None:
    text = banner(StackOptions(), PORTS, None, "/d", {}, 1.0)
    assert "TOKEN=" not in text and "RS256" in text


def test_bad_options_are_named() -> None:
    assert validate(StackOptions(api_workers=0)) == "--api-workers must be at least 1"
    assert "65535" in (validate(StackOptions(api_port=65535, api_workers=2)) or "")
    assert "--redis" in (validate(StackOptions(redis_url="localhost:6379")) or "")
    assert "--venue" in (validate(StackOptions(venue="T S E")) or "")
    assert validate(StackOptions()) is None


def test_tail_keeps_the_last_lines_indented() -> None:
    assert tail("a\nb\nc\n", 2) == "    | b\n    | c"
    assert tail("", 3) == "    | (empty log)"


def test_connector_writes_its_fix_message_log_into_the_stack_data_dir() -> None:
    argv = by_name(StackOptions(), "connector")
    assert argv[argv.index("--message-log") + 1] == "/data/logs/fix"


def test_private_redis_runs_the_binary_it_is_given() -> None:
    spec = children(StackOptions(), PORTS, "/d", PY, "/wheel/bin/valkey-server")[0]
    assert spec.name == "redis" and spec.argv[0] == "/wheel/bin/valkey-server"


CONSOLE_PORTS = Ports(redis=7001, fix=7002, control=7003, api=(8000,), console=7004)


def test_console_reads_the_stack_redis_and_drives_its_simulator_and_session() -> None:
    specs = children(StackOptions(venue="JNX"), CONSOLE_PORTS, "/data", PY)
    console = next(c for c in specs if c.name == "console")
    argv = console.argv
    assert argv[argv.index("console") - 1] == "gateway.cli"
    assert argv[argv.index("--port") + 1] == "7004" and console.port == 7004
    assert argv[argv.index("--redis") + 1] == "redis://127.0.0.1:7001/0"
    assert argv[argv.index("--simulator") + 1] == "http://127.0.0.1:7003"
    assert argv[argv.index("--session") + 1] == "JNX=FIX.4.4:ORDERGATE->JNX"
    assert console.ready == "http"


def test_no_console_port_means_no_console() -> None:
    assert "console" not in names(StackOptions())


def test_banner_prints_the_console_url_and_how_to_get_an_ops_token() -> None:
    text = banner(StackOptions(), CONSOLE_PORTS, "tok", "/data", {"console": 42}, 1.0)
    assert "\nCONSOLE_URL=http://127.0.0.1:7004\n" in text
    assert "ordergate token --scope 'ops:read ops:halt sim:control'" in text
    assert "CONSOLE_URL" not in banner(StackOptions(), PORTS, "tok", "/data", {}, 1.0)
