"""``deploy/k8s/`` checked offline: each rendered overlay against the Kubernetes schemas of a
pinned version (``kubernetes-validate``, strict: an unknown field fails), the KEDA objects
against the vendored ScaledObject CRD schema, the commands against ``ordergate``'s parser, the
config against the gateway's own loader, and the overlays against what docs/kubernetes.md says.
"""

from __future__ import annotations

import copy
import re
import shutil
import subprocess
import tomllib
from pathlib import Path
from typing import Any

import jsonschema
import kubernetes_validate
import pytest
import yaml
from support.kustomize import KustomizeError, apply_json6902, build, load_documents

from connector.config import ConnectorConfig, from_table
from gateway import keys
from gateway.cli import build_parser
from gateway.config import from_dict

ROOT = Path(__file__).resolve().parents[2]
K8S = ROOT / "deploy" / "k8s"
#: the Kubernetes version the manifests are validated against (EKS / GKE supported in 2026)
K8S_VERSION = "1.32"
OVERLAYS = ("dev", "prod")
RENDERED = {name: build(K8S / "overlays" / name) for name in OVERLAYS}
DOC = (ROOT / "docs" / "kubernetes.md").read_text()


def by_kind(resources: list[dict[str, Any]], kind: str) -> dict[str, dict[str, Any]]:
    return {r["metadata"]["name"]: r for r in resources if r["kind"] == kind}


def pod_specs(resources: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    return {
        f"{r['kind']}/{r['metadata']['name']}": r["spec"]["template"]["spec"]
        for r in resources
        if r["kind"] in ("Deployment", "StatefulSet")
    }


def ordergate_containers(resources: list[dict[str, Any]]) -> list[tuple[str, dict[str, Any]]]:
    return [
        (name, c)
        for name, pod in pod_specs(resources).items()
        for c in pod["containers"]
        if "ordergate" in c["image"]
    ]


def config_of(resources: list[dict[str, Any]]) -> dict[str, Any]:
    cm = by_kind(resources, "ConfigMap")["ordergate-config"]
    return tomllib.loads(cm["data"]["ordergate.toml"])


def crd_validator() -> jsonschema.Draft202012Validator:
    """The CRD's openAPIV3Schema as JSON Schema, closed like the API server's strict field
    validation: an object schema that names its properties accepts no others."""
    (crd,) = load_documents(K8S / "crds" / "keda.sh_scaledobjects.yaml")
    (version,) = [v for v in crd["spec"]["versions"] if v["name"] == "v1alpha1"]
    schema = copy.deepcopy(version["schema"]["openAPIV3Schema"])

    def close(node: Any) -> None:
        if isinstance(node, dict):
            if "properties" in node and "additionalProperties" not in node:
                if not node.get("x-kubernetes-preserve-unknown-fields"):
                    node["additionalProperties"] = False
            for value in node.values():
                close(value)
        elif isinstance(node, list):
            for value in node:
                close(value)

    close(schema)
    return jsonschema.Draft202012Validator(schema)


# --- rendering -------------------------------------------------------------------------------


@pytest.mark.skipif(shutil.which("kubectl") is None, reason="no kubectl on the PATH")
@pytest.mark.parametrize("overlay", OVERLAYS)
def test_the_python_renderer_matches_kubectl_kustomize(overlay: str) -> None:
    out = subprocess.run(
        ["kubectl", "kustomize", str(K8S / "overlays" / overlay)],
        capture_output=True,
        text=True,
        check=True,
        timeout=60,
    ).stdout
    theirs = {(r["kind"], r["metadata"]["name"]): r for r in yaml.safe_load_all(out) if r}
    ours = {(r["kind"], r["metadata"]["name"]): r for r in RENDERED[overlay]}
    assert ours == theirs


def test_the_renderer_refuses_what_it_does_not_implement(tmp_path: Path) -> None:
    (tmp_path / "kustomization.yaml").write_text("namePrefix: x-\n")
    with pytest.raises(KustomizeError, match="namePrefix"):
        build(tmp_path)


def test_a_json6902_test_op_that_fails_stops_the_patch() -> None:
    doc = {"spec": {"triggers": [{"name": "cpu"}, {"name": "other"}]}}
    ops = [{"op": "test", "path": "/spec/triggers/1/name", "value": "tse-business-days"}]
    with pytest.raises(KustomizeError, match="test failed"):
        apply_json6902(doc, ops + [{"op": "remove", "path": "/spec/triggers/1"}])
    assert len(doc["spec"]["triggers"]) == 2


# --- schemas ---------------------------------------------------------------------------------


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_every_builtin_object_validates_against_the_kubernetes_schema(overlay: str) -> None:
    for r in RENDERED[overlay]:
        if r["apiVersion"].startswith("keda.sh/"):
            continue
        kubernetes_validate.validate(r, K8S_VERSION, strict=True)


def test_the_vendored_crd_is_a_valid_custom_resource_definition() -> None:
    (crd,) = load_documents(K8S / "crds" / "keda.sh_scaledobjects.yaml")
    kubernetes_validate.validate(crd, K8S_VERSION, strict=True)


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_every_scaled_object_validates_against_the_keda_crd(overlay: str) -> None:
    validator = crd_validator()
    objects = by_kind(RENDERED[overlay], "ScaledObject")
    assert set(objects) == {"api", "archiver"}
    for so in objects.values():
        validator.validate(so)


def test_the_crd_check_catches_a_misspelt_field() -> None:
    so = copy.deepcopy(by_kind(RENDERED["dev"], "ScaledObject")["api"])
    so["spec"]["minReplicas"] = 1
    with pytest.raises(jsonschema.ValidationError, match="minReplicas"):
        crd_validator().validate(so)


def test_the_kubernetes_check_catches_a_misspelt_field() -> None:
    api = copy.deepcopy(by_kind(RENDERED["dev"], "Deployment")["api"])
    api["spec"]["template"]["spec"]["containers"][0]["readinesProbe"] = {}
    with pytest.raises(kubernetes_validate.ValidationError):
        kubernetes_validate.validate(api, K8S_VERSION, strict=True)


# --- what the roles run ----------------------------------------------------------------------


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_every_ordergate_command_is_accepted_by_the_parser(overlay: str) -> None:
    for name, c in ordergate_containers(RENDERED[overlay]):
        argv = [str(a) for a in c["args"]]
        build_parser(argv).parse_args(argv)  # SystemExit on an unknown subcommand or flag
        assert "command" not in c, f"{name}: the image's entrypoint is ordergate"


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_one_image_for_every_role_with_an_explicit_tag(overlay: str) -> None:
    images = {c["image"] for _, c in ordergate_containers(RENDERED[overlay])}
    assert len(images) == 1
    (image,) = images
    assert re.fullmatch(r"[\w./-]*ordergate:[\w.-]+", image) and not image.endswith(":latest")


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_pods_run_non_root_read_only_with_limits_and_no_api_token(overlay: str) -> None:
    for name, pod in pod_specs(RENDERED[overlay]).items():
        assert pod["securityContext"]["runAsNonRoot"] is True, name
        assert pod["securityContext"]["seccompProfile"]["type"] == "RuntimeDefault", name
        assert pod["automountServiceAccountToken"] is False, name
        for c in pod["containers"]:
            sc = c["securityContext"]
            assert sc["readOnlyRootFilesystem"] is True, name
            assert sc["allowPrivilegeEscalation"] is False and sc["capabilities"]["drop"] == ["ALL"]
            assert {"cpu", "memory"} <= set(c["resources"]["requests"]), name
            assert {"cpu", "memory"} <= set(c["resources"]["limits"]), name


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_the_api_is_ready_on_readyz_and_covered_by_a_disruption_budget(overlay: str) -> None:
    api = by_kind(RENDERED[overlay], "Deployment")["api"]
    (c,) = api["spec"]["template"]["spec"]["containers"]
    port = int(c["args"][c["args"].index("--port") + 1])
    assert c["readinessProbe"]["httpGet"]["path"] == "/readyz"
    named = {p["name"]: p["containerPort"] for p in c["ports"]}
    assert named[c["readinessProbe"]["httpGet"]["port"]] == port
    pdb = by_kind(RENDERED[overlay], "PodDisruptionBudget")["api"]
    assert pdb["spec"]["selector"]["matchLabels"].items() <= (
        api["spec"]["template"]["metadata"]["labels"].items()
    )


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_connector_and_standby_are_single_replica_statefulsets_of_one_session(
    overlay: str,
) -> None:
    sets = by_kind(RENDERED[overlay], "StatefulSet")
    leader, standby = sets["connector"], sets["connector-standby"]
    for s in (leader, standby):
        assert s["spec"]["replicas"] == 1
    a, b = (s["spec"]["template"]["spec"]["containers"] for s in (leader, standby))
    assert a == b
    pdb = by_kind(RENDERED[overlay], "PodDisruptionBudget")["connector"]
    assert pdb["spec"]["maxUnavailable"] == 1
    for s in (leader, standby):
        assert pdb["spec"]["selector"]["matchLabels"].items() <= (
            s["spec"]["template"]["metadata"]["labels"].items()
        )


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_the_connector_writes_its_message_log_to_its_volume(overlay: str) -> None:
    cfg = config_of(RENDERED[overlay])["connector"]
    sts = by_kind(RENDERED[overlay], "StatefulSet")["connector"]
    (c,) = sts["spec"]["template"]["spec"]["containers"]
    mounts = {m["name"]: m["mountPath"] for m in c["volumeMounts"]}
    claims = {t["metadata"]["name"] for t in sts["spec"]["volumeClaimTemplates"]}
    assert mounts["fix-log"] == cfg["message_log"] and "fix-log" in claims


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_the_config_loads_with_the_gateway_and_connector_loaders(overlay: str) -> None:
    data = config_of(RENDERED[overlay])
    connector_table = dict(data.pop("connector"))
    data.pop("archive")
    resolvable = copy.deepcopy(data)  # references resolve at start-up: stand literals in
    if str(data["redis"]["url"]).startswith(("ssm:", "secretsmanager:")):
        resolvable["redis"]["url"] = "redis://redis:6379/0"
    if "jwt" in data:
        resolvable["jwt"]["secret"] = "a-secret-resolved-at-start-up-" + "x" * 32
    cfg = from_dict(resolvable, {})
    assert cfg.environment == {"dev": "dev", "prod": "production"}[overlay]
    assert connector_table.pop("password", "env:OG_FIX_PASSWORD") == "env:OG_FIX_PASSWORD"
    from_table(ConnectorConfig(), connector_table)  # ConfigError on an unknown key


def test_prod_names_its_settings_by_reference_and_holds_no_secret() -> None:
    data = config_of(RENDERED["prod"])
    assert data["redis"]["url"].startswith("ssm:/ordergate/{environment}/")
    assert data["jwt"]["secret"].startswith("secretsmanager:ordergate/{environment}/")
    assert by_kind(RENDERED["prod"], "Secret") == {}
    assert by_kind(RENDERED["dev"], "Secret") == {}


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_every_referenced_config_or_secret_exists_or_is_documented(overlay: str) -> None:
    text = yaml.safe_dump(RENDERED[overlay])
    maps = set(re.findall(r"configMapKeyRef:\n\s+key: \S+\n\s+name: (\S+)", text))
    maps |= set(re.findall(r"configMap:\n\s+name: (\S+)", text))
    assert maps <= set(by_kind(RENDERED[overlay], "ConfigMap"))
    secrets = set(re.findall(r"secretKeyRef:\n\s+key: \S+\n\s+name: (\S+)", text))
    assert secrets, "no secret reference found: the pattern is stale"
    for name in secrets:
        assert f"`{name}`" in DOC, f"docs/kubernetes.md does not say how to create {name}"


# --- scaling ---------------------------------------------------------------------------------


def _triggers(overlay: str, name: str) -> list[dict[str, Any]]:
    return by_kind(RENDERED[overlay], "ScaledObject")[name]["spec"]["triggers"]


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_api_scales_on_cpu_and_on_tokyo_market_hours(overlay: str) -> None:
    triggers = _triggers(overlay, "api")
    assert triggers[0] == {
        "type": "cpu",
        "name": "cpu",
        "metricType": "Utilization",
        "metadata": {"value": "70"},
    }
    crons = triggers[1:]
    assert crons and all(t["type"] == "cron" for t in crons)
    for t in crons:
        meta = t["metadata"]
        assert meta["timezone"] == "Asia/Tokyo"
        assert meta["start"].startswith("30 8 ") and meta["end"].startswith("45 15 ")


def test_the_base_business_days_trigger_is_what_ordergate_schedule_derives() -> None:
    from datetime import timedelta

    from gateway.venues import get_venue
    from operations.scale_schedule import weekday_trigger
    from operations.schedule_cli import BUSINESS_DAYS_TRIGGER

    (base,) = [
        r
        for r in load_documents(K8S / "base" / "api-scaledobject.yaml")
        if r["kind"] == "ScaledObject"
    ]
    venue = get_venue("TSE")
    assert venue is not None
    expected = weekday_trigger(venue, timedelta(minutes=30), timedelta(minutes=15), 6)
    assert base["spec"]["triggers"][BUSINESS_DAYS_TRIGGER] == expected


def test_prod_market_hours_patch_is_what_ordergate_schedule_writes() -> None:
    from datetime import date

    from operations.schedule_cli import render

    text = (K8S / "overlays" / "prod" / "market-hours.yaml").read_text()
    command = text.splitlines()[0].removeprefix("# generated by: ordergate ").split()
    args = build_parser(command).parse_args(command)
    assert render(args, args.first or date.min) == text


def test_prod_pre_scales_on_no_holiday() -> None:
    from datetime import date, timedelta

    from gateway.venues import get_venue

    venue = get_venue("TSE")
    assert venue is not None
    crons = _triggers("prod", "api")[1:]
    fired: set[date] = set()
    for t in crons:
        minute, hour, days, month, _ = t["metadata"]["start"].split()
        year = int(t["name"].split("-")[1])
        fired |= {date(year, int(month), int(d)) for d in days.split(",")}
    first, last = min(fired), max(fired)
    every = {first + timedelta(days=n) for n in range((last - first).days + 1)}
    assert fired == {d for d in every if venue.trading_day(d)}
    assert date(2026, 12, 31) not in fired and date(2027, 5, 3) not in fired


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_the_archiver_scales_on_the_lag_of_every_partitions_events(overlay: str) -> None:
    so = by_kind(RENDERED[overlay], "ScaledObject")["archiver"]
    from operations.archive import GROUP

    partitions = config_of(RENDERED[overlay])["partitions"]
    streams = [t["metadata"]["stream"] for t in so["spec"]["triggers"]]
    assert streams == [keys.events(p) for p in range(partitions)]
    for t in so["spec"]["triggers"]:
        assert t["type"] in ("redis-streams", "redis-cluster-streams")
        assert t["metadata"]["consumerGroup"] == GROUP and "lagCount" in t["metadata"]
    assert (so["spec"]["minReplicaCount"], so["spec"]["maxReplicaCount"]) == (0, 1)
    archiver = by_kind(RENDERED[overlay], "Deployment")["archiver"]
    assert archiver["spec"]["strategy"]["type"] == "Recreate"  # never two consumers "archiver"
    env = {e["name"] for e in archiver["spec"]["template"]["spec"]["containers"][0]["env"]}
    for t in so["spec"]["triggers"]:
        for key, value in t["metadata"].items():
            if key.endswith("FromEnv"):
                assert value in env, f"{key}: the archiver has no {value}"


def test_dev_keda_reaches_the_namespaces_redis_by_its_full_name() -> None:
    dev = RENDERED["dev"]
    address = by_kind(dev, "ConfigMap")["ordergate-config"]["data"]["redis-address"]
    service = by_kind(dev, "Service")["redis"]
    port = service["spec"]["ports"][0]["port"]
    assert address == f"redis.{service['metadata']['namespace']}.svc.cluster.local:{port}"
    assert config_of(dev)["redis"]["url"] == f"redis://redis:{port}/0"


def test_prod_uses_the_external_redis_cluster() -> None:
    prod = RENDERED["prod"]
    assert "redis" not in by_kind(prod, "StatefulSet") and "simulator" not in by_kind(
        prod, "Deployment"
    )
    assert config_of(prod)["redis"]["cluster"] is True
    assert {t["type"] for t in _triggers("prod", "archiver")} == {"redis-cluster-streams"}


def test_the_simulator_service_carries_fix_only() -> None:
    dev = RENDERED["dev"]
    sim = by_kind(dev, "Deployment")["simulator"]
    args = sim["spec"]["template"]["spec"]["containers"][0]["args"]
    fix_port = int(args[args.index("--port") + 1])
    service = by_kind(dev, "Service")["simulator"]
    assert [p["port"] for p in service["spec"]["ports"]] == [fix_port]
    assert config_of(dev)["connector"]["connect"] == f"simulator:{fix_port}"


# --- what the documentation says --------------------------------------------------------------


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_the_documented_objects_are_what_the_overlay_renders(overlay: str) -> None:
    """docs/kubernetes.md lists each overlay's objects as ``kind/name`` in a code block."""
    match = re.search(rf"<!-- objects:{overlay} -->\n```text\n(.*?)```", DOC, re.S)
    assert match, f"docs/kubernetes.md has no object list for {overlay}"
    documented = sorted(match.group(1).split())
    rendered = sorted(f"{r['kind']}/{r['metadata']['name']}" for r in RENDERED[overlay])
    assert documented == rendered
    namespaces = {r["metadata"]["namespace"] for r in RENDERED[overlay]}
    assert namespaces == {f"ordergate-{overlay}" if overlay == "dev" else "ordergate"}
    assert f"`{namespaces.pop()}`" in DOC
