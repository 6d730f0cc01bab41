"""``kustomize build`` for the subset ``deploy/k8s/`` uses, in Python, so the overlays render in
a test without a kustomize binary: ``resources`` (files and directories), ``namespace``,
``labels`` (metadata labels only), ``images`` (``newName`` / ``newTag``) and ``patches`` that are
JSON 6902 operation lists (inline or by path) with a ``target`` (kind, name as a regular
expression, group, version). Any other field, or a strategic-merge patch, raises
``KustomizeError``: the subset stays exactly what the manifests use, and where ``kubectl`` is
on the PATH the tests compare this with ``kubectl kustomize``.
"""

from __future__ import annotations

import copy
import re
from pathlib import Path
from typing import Any

import yaml

Resource = dict[str, Any]

KNOWN = {"apiVersion", "kind", "resources", "namespace", "labels", "images", "patches"}
CLUSTER_SCOPED = {"Namespace", "CustomResourceDefinition", "ClusterRole", "ClusterRoleBinding"}


class KustomizeError(ValueError):
    """A kustomization outside the supported subset, or a patch that does not apply."""


def load_documents(path: Path) -> list[Resource]:
    return [d for d in yaml.safe_load_all(path.read_text()) if d]


def build(root: Path) -> list[Resource]:
    """The resources ``kustomize build root`` would print (in the order they were loaded)."""
    spec = yaml.safe_load((root / "kustomization.yaml").read_text())
    unknown = set(spec) - KNOWN
    if unknown:
        raise KustomizeError(f"{root}: unsupported kustomization fields {sorted(unknown)}")
    out: list[Resource] = []
    for entry in spec.get("resources", []):
        path = (root / entry).resolve()
        out += build(path) if path.is_dir() else load_documents(path)
    for label in spec.get("labels", []):
        if label.get("includeSelectors") or label.get("includeTemplates"):
            raise KustomizeError(f"{root}: labels on selectors or templates are not supported")
        for r in out:
            r.setdefault("metadata", {}).setdefault("labels", {}).update(label["pairs"])
    for patch in spec.get("patches", []):
        text = patch["patch"] if "patch" in patch else (root / patch["path"]).read_text()
        ops = yaml.safe_load(text)
        if not isinstance(ops, list):
            raise KustomizeError(f"{root}: only JSON 6902 patches are supported")
        targets = [r for r in out if matches(r, patch["target"])]
        if not targets:
            raise KustomizeError(f"{root}: no resource matches {patch['target']}")
        for r in targets:
            apply_json6902(r, ops)
    for image in spec.get("images", []):
        for r in out:
            set_image(r, image)
    if "namespace" in spec:
        for r in out:
            if r["kind"] not in CLUSTER_SCOPED:
                r["metadata"]["namespace"] = spec["namespace"]
    return out


def matches(resource: Resource, target: dict[str, str]) -> bool:
    group, _, version = resource["apiVersion"].rpartition("/")
    checks = {
        "kind": resource["kind"],
        "name": resource["metadata"]["name"],
        "group": group,
        "version": version,
    }
    for key, want in target.items():
        if key not in checks:
            raise KustomizeError(f"unsupported patch target field {key!r}")
        if not re.fullmatch(want, checks[key]):
            return False
    return True


def set_image(resource: Resource, image: dict[str, str]) -> None:
    pod = resource.get("spec", {}).get("template", {}).get("spec", {})
    for c in pod.get("containers", []) + pod.get("initContainers", []):
        name, tag = _split_image(c["image"])
        if name == image["name"]:
            tag = image.get("newTag", tag)
            c["image"] = image.get("newName", name) + (f":{tag}" if tag else "")


def _split_image(ref: str) -> tuple[str, str | None]:
    name, sep, tag = ref.rpartition(":")
    if not sep or "/" in tag:
        return ref, None
    return name, tag


def _pointer(path: str) -> list[str]:
    if not path.startswith("/"):
        raise KustomizeError(f"JSON pointer must start with /: {path!r}")
    return [p.replace("~1", "/").replace("~0", "~") for p in path[1:].split("/")]


def _walk(doc: Any, parts: list[str]) -> Any:
    for p in parts:
        doc = doc[int(p)] if isinstance(doc, list) else doc[p]
    return doc


def apply_json6902(doc: Resource, ops: list[dict[str, Any]]) -> None:
    """RFC 6902 add / remove / replace / test, in place; ``KustomizeError`` when one fails."""
    for op in ops:
        *parent_path, last = _pointer(op["path"])
        try:
            parent = _walk(doc, parent_path)
            kind = op["op"]
            if kind == "test":
                if _walk(parent, [last]) != op["value"]:
                    raise KustomizeError(f"test failed at {op['path']}")
            elif kind == "remove":
                del parent[int(last) if isinstance(parent, list) else last]
            elif kind == "replace":
                _walk(parent, [last])  # must exist
                parent[int(last) if isinstance(parent, list) else last] = copy.deepcopy(op["value"])
            elif kind == "add":
                value = copy.deepcopy(op["value"])
                if isinstance(parent, list):
                    parent.insert(len(parent) if last == "-" else int(last), value)
                else:
                    parent[last] = value
            else:
                raise KustomizeError(f"unsupported op {kind!r}")
        except KustomizeError:
            raise
        except (KeyError, IndexError, ValueError, TypeError) as exc:
            raise KustomizeError(f"{op['op']} {op['path']}: {exc!r}") from None
