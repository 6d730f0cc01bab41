"""``docker-compose.yml``, ``Dockerfile`` and ``deploy/ordergate.toml`` checked without a Docker
engine: services, commands that ``ordergate``'s parser accepts, ports, depends_on, healthchecks,
environment names the code actually reads, and the connector settings against the simulator."""

from __future__ import annotations

import re
import tomllib
from pathlib import Path
from typing import Any

import pytest
import yaml
from support.project import PACKAGES

from connector.config import ConnectorConfig, from_table
from gateway.cli import SUBCOMMANDS, build_parser

ROOT = Path(__file__).resolve().parents[2]
COMPOSE: dict[str, Any] = yaml.safe_load((ROOT / "docker-compose.yml").read_text())
SERVICES: dict[str, dict[str, Any]] = COMPOSE["services"]
SOURCES = "\n".join(p.read_text() for pkg in PACKAGES for p in (ROOT / pkg).rglob("*.py"))


def ordergate_services() -> dict[str, dict[str, Any]]:
    """Services that run the ordergate image with its default entrypoint."""
    return {
        n: s
        for n, s in SERVICES.items()
        if s.get("image") == "ordergate:dev" and "entrypoint" not in s
    }


def flag(argv: list[str], name: str) -> str:
    return argv[argv.index(name) + 1]


def test_the_services_design_md_names_are_there() -> None:
    names = set(SERVICES)
    assert {"redis", "aws", "aws-init", "simulator", "connector", "connector-standby"} <= names
    assert len([n for n in names if n.startswith("api-")]) >= 2


def test_redis_keeps_an_aof_fsynced_on_every_write_on_a_volume() -> None:
    redis = SERVICES["redis"]
    cmd = redis["command"]
    assert flag(cmd, "--appendonly") == "yes" and flag(cmd, "--appendfsync") == "always"
    assert any(v.endswith(":/data") for v in redis["volumes"])
    assert redis["volumes"][0].split(":")[0] in COMPOSE["volumes"]


@pytest.mark.parametrize("name", sorted(ordergate_services()))
def test_every_ordergate_command_is_accepted_by_the_parser(name: str) -> None:
    argv = [str(a) for a in SERVICES[name]["command"]]
    assert argv[0] in SUBCOMMANDS
    build_parser(argv).parse_args(argv)  # SystemExit on an unknown subcommand or flag


def test_aws_init_runs_the_seed_module() -> None:
    import importlib

    entry = SERVICES["aws-init"]["entrypoint"]
    assert entry[:2] == ["python", "-m"]
    assert callable(importlib.import_module(entry[2]).main)


def test_depends_on_names_services_and_waits_for_health_where_asked() -> None:
    for name, svc in SERVICES.items():
        for dep, how in (svc.get("depends_on") or {}).items():
            assert dep in SERVICES, f"{name} depends on unknown {dep}"
            if how["condition"] == "service_healthy":
                assert "healthcheck" in SERVICES[dep], f"{dep} has no healthcheck"
            if how["condition"] == "service_completed_successfully":
                assert SERVICES[dep].get("restart") == "no"


def test_depends_on_has_no_cycle() -> None:
    seen: dict[str, int] = {}

    def visit(n: str) -> None:
        assert seen.get(n) != 1, f"cycle through {n}"
        if seen.get(n) == 2:
            return
        seen[n] = 1
        for dep in SERVICES[n].get("depends_on") or {}:
            visit(dep)
        seen[n] = 2

    for n in SERVICES:
        visit(n)


def test_connector_and_api_start_after_redis_and_the_seeded_settings() -> None:
    for name in ("connector", "connector-standby", "api-1", "api-2"):
        deps = SERVICES[name]["depends_on"]
        assert deps["redis"]["condition"] == "service_healthy"
        assert deps["aws-init"]["condition"] == "service_completed_successfully"
    assert SERVICES["connector"]["depends_on"]["simulator"]["condition"] == "service_healthy"


def test_every_long_running_service_has_a_healthcheck() -> None:
    for name, svc in SERVICES.items():
        if name != "aws-init":
            assert svc.get("healthcheck", {}).get("test"), name


def test_api_healthcheck_and_published_port_use_the_port_it_listens_on() -> None:
    host_ports = []
    for name, svc in SERVICES.items():
        if not name.startswith("api-"):
            continue
        port = flag(svc["command"], "--port")
        assert flag(svc["command"], "--host") == "0.0.0.0"
        assert f"127.0.0.1:{port}/readyz" in " ".join(svc["healthcheck"]["test"])
        (mapping,) = svc["ports"]
        assert mapping.split(":")[-1] == port
        host_ports.append(mapping.split(":")[-2])
    assert len(host_ports) == len(set(host_ports)), "two API containers publish one host port"


def test_simulator_control_api_is_published_on_loopback_only() -> None:
    sim = SERVICES["simulator"]
    control = flag(sim["command"], "--control-port")
    assert sim["ports"] == [f"127.0.0.1:{control}:{control}"]
    assert f"127.0.0.1:{control}/state" in " ".join(sim["healthcheck"]["test"])
    assert flag(sim["command"], "--phase") == "continuous"


def test_connector_and_standby_run_the_same_session() -> None:
    a, b = SERVICES["connector"], SERVICES["connector-standby"]
    assert a["command"] == b["command"] and a["environment"] == b["environment"]


def test_connector_settings_reach_the_simulator_session() -> None:
    cfg_file = tomllib.loads((ROOT / "deploy" / "ordergate.toml").read_text())
    cfg = from_table(ConnectorConfig(), cfg_file["connector"])
    sim = [str(a) for a in SERVICES["simulator"]["command"]]
    assert cfg.host == "simulator" and cfg.port == int(flag(sim, "--port"))
    assert cfg.target == flag(sim, "--sender-comp-id") and cfg.venue == flag(sim, "--venue")
    assert cfg.sender_comp_id == flag(sim, "--target-comp-id")
    assert flag(sim, "--host") == "0.0.0.0"


def test_config_names_its_settings_by_reference_per_environment() -> None:
    cfg_file = tomllib.loads((ROOT / "deploy" / "ordergate.toml").read_text())
    assert cfg_file["redis"]["url"].startswith("ssm:/ordergate/{environment}/")
    assert cfg_file["jwt"]["secret"].startswith("secretsmanager:ordergate/{environment}/")


def test_every_environment_variable_set_is_read_by_the_code() -> None:
    for name, svc in SERVICES.items():
        if svc.get("image") != "ordergate:dev":
            continue
        for var in svc.get("environment") or {}:
            assert re.search(rf"[\"']{var}[\"']", SOURCES), f"{name}: nothing reads {var}"


def test_config_file_is_mounted_where_og_config_points() -> None:
    for name, svc in ordergate_services().items():
        target = svc["environment"]["OG_CONFIG"]
        assert f"./deploy/ordergate.toml:{target}:ro" in svc["volumes"], name


def test_dockerfile_installs_every_package_and_runs_ordergate() -> None:
    text = (ROOT / "Dockerfile").read_text()
    pyproject = tomllib.loads((ROOT / "pyproject.toml").read_text())
    for pkg in PACKAGES:
        assert re.search(rf"^COPY {pkg} {pkg}$", text, re.M), pkg
        assert (ROOT / pkg).is_dir()
    assert re.search(r"^COPY pyproject.toml README.md requirements.lock ", text, re.M)
    assert re.search(r"^RUN pip install .*-c requirements\.lock \.$", text, re.M)
    assert re.search(r"^FROM python:3\.11", text, re.M)
    assert 'ENTRYPOINT ["ordergate"]' in text
    assert pyproject["project"]["scripts"]["ordergate"] == "gateway.cli:main"
    assert re.search(r"^USER (?!root|0\b)", text, re.M)


def test_the_image_is_built_from_this_directory() -> None:
    for svc in ordergate_services().values():
        assert svc["build"] == "."


def test_archive_writes_to_the_bucket_aws_init_creates_after_redis_and_the_seed() -> None:
    from operations.stack.aws_seed import names

    svc = SERVICES["archive"]
    env = svc["environment"]
    assert flag(svc["command"], "--bucket") == names(env["OG_ENVIRONMENT"])["bucket"]
    assert svc["depends_on"]["redis"]["condition"] == "service_healthy"
    assert svc["depends_on"]["aws-init"]["condition"] == "service_completed_successfully"
    assert env["AWS_ENDPOINT_URL"] == "http://aws:5000"
