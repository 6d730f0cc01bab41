"""The HTTP API reference, rendered from the OpenAPI document the API serves.

Every operation gets its parameters, its request body's fields, its answers and an example
(``curl`` and, for the success answer, an example body) built from the schemas. Values the
schemas give no example for come from ``EXAMPLE_BY_NAME``; the examples are checked against the
schemas by ``tests/unit/test_docsgen_openapi.py``.
"""

from __future__ import annotations

import json
from typing import Any

from docsgen.markdown import code, table

METHODS = ("get", "post", "put", "patch", "delete")
# Example values by property name, for properties whose schema carries no example.
EXAMPLE_BY_NAME: dict[str, Any] = {
    "account": "A1",
    "client_order_id": "c-1",
    "target": "A1",
    "symbol": "7203",
    "name": "Toyota Motor",
    "venue": "TSE",
    "venues": ["TSE"],
    "quantity": 100,
    "leaves_qty": 100,
    "cum_qty": 0,
    "trading_unit": 100,
    "avg_px": "0",
    "base_price": "2850",
    "lower_limit": "2150",
    "upper_limit": "3550",
    "up_to": "3000",
    "tick": "0.5",
    "fills": [],
    "at": "2026-11-30T00:00:00.123456Z",
    "created_at": "2026-11-30T00:00:00.123456Z",
    "updated_at": "2026-11-30T00:00:00.123456Z",
    "partition": 7,
    "component": "api",
    "process": "api-1",
    "detail": {},
    "environment": "development",
    "exec_id": "E1",
    "canceled": 0,
    "next_cursor": None,
}


def resolve(schema: dict[str, Any], doc: dict[str, Any]) -> dict[str, Any]:
    """The schema a ``$ref`` points at (one level: the document's refs are not chained)."""
    ref = schema.get("$ref")
    if ref is None:
        return schema
    name = ref.rsplit("/", 1)[1]
    resolved: dict[str, Any] = doc["components"]["schemas"][name]
    return resolved


def example(schema: dict[str, Any], doc: dict[str, Any], name: str | None = None) -> Any:
    """An example value for ``schema``: its own example, else by name, enum, default or type.

    Objects get their required properties plus the optional ones an example is known for."""
    schema = resolve(schema, doc)
    if "example" in schema:
        return schema["example"]
    if name in EXAMPLE_BY_NAME:
        return EXAMPLE_BY_NAME[name]
    if "enum" in schema:
        return schema["enum"][0]
    if "default" in schema:
        return schema["default"]
    kind = schema.get("type")
    if kind == "object":
        props = schema.get("properties", {})
        required = set(schema.get("required", ()))
        return {
            prop: example(sub, doc, prop)
            for prop, sub in props.items()
            if prop in required or "example" in sub or prop in EXAMPLE_BY_NAME
        }
    if kind == "array":
        return [example(schema.get("items", {}), doc)]
    if kind == "integer":
        return schema.get("minimum", 0)
    if kind == "boolean":
        return True
    return "string"


def type_text(schema: dict[str, Any]) -> str:
    """``string``, ``integer``, ``array of Order``, ``string or null``..."""
    if "$ref" in schema:
        text = schema["$ref"].rsplit("/", 1)[1]
    elif schema.get("type") == "array":
        text = "array of " + type_text(schema.get("items", {}))
    else:
        text = schema.get("type", "any")
    return text + (" or null" if schema.get("nullable") else "")


def constraints(schema: dict[str, Any]) -> str:
    parts = []
    if "enum" in schema:
        parts.append("one of " + ", ".join(code(v) for v in schema["enum"]))
    if "pattern" in schema:
        parts.append("pattern " + code(schema["pattern"]))
    if "minimum" in schema or "maximum" in schema:
        parts.append(f"{schema.get('minimum', '')}..{schema.get('maximum', '')}")
    if "default" in schema:
        parts.append("default " + code(json.dumps(schema["default"])))
    if schema.get("description"):
        parts.append(schema["description"])
    return "; ".join(parts)


def fields_table(schema: dict[str, Any], doc: dict[str, Any]) -> str:
    schema = resolve(schema, doc)
    required = set(schema.get("required", ()))
    rows = [
        (code(prop), type_text(sub), "yes" if prop in required else "", constraints(sub))
        for prop, sub in schema.get("properties", {}).items()
    ]
    return table(("field", "type", "required", "notes"), rows)


def curl(method: str, path: str, op: dict[str, Any], params: list[dict[str, Any]], doc: Any) -> str:
    url = path
    for p in params:
        if p["in"] == "path":
            value = example(p["schema"], doc, p["name"])
            if value == "string":
                value = doc["components"]["schemas"]["Order"]["properties"]["order_id"]["example"]
            url = url.replace("{" + p["name"] + "}", str(value))
    query = [
        f"{p['name']}={example(p['schema'], doc, p['name'])}"
        for p in params
        if p["in"] == "query" and p.get("required")
    ]
    if query:
        url += "?" + "&".join(query)
    parts = ["curl -s"]
    if method != "get":
        parts.append(f"-X{method.upper()}")
    parts.append(f"$API_URL{url}")
    if op.get("security", doc.get("security")):
        parts.append('-H "Authorization: Bearer $TOKEN"')
    body = op.get("requestBody")
    if body:
        schema = body["content"]["application/json"]["schema"]
        payload = json.dumps(example(schema, doc), separators=(",", ":"))
        parts.append("-H 'Content-Type: application/json'")
        parts.append(f"-d '{payload}'")
    return " ".join(parts)


def success(op: dict[str, Any]) -> tuple[str, dict[str, Any]] | None:
    """The first 2xx answer with a JSON body (its status and schema)."""
    for status, resp in op["responses"].items():
        content = resp.get("content", {}).get("application/json")
        if status.startswith("2") and content:
            return status, content["schema"]
    return None


def render_operation(method: str, path: str, item: dict[str, Any], doc: dict[str, Any]) -> str:
    op = item[method]
    params = item.get("parameters", []) + op.get("parameters", [])
    out = [f"### {method.upper()} {code(path)}", "", op["summary"]]
    if op.get("description"):
        out += ["", op["description"]]
    auth = "bearer token (JWT)" if op.get("security", doc.get("security")) else "none"
    out += ["", f"Authentication: {auth}. Operation id: {code(op['operationId'])}."]
    if params:
        rows = [
            (
                code(p["name"]),
                p["in"],
                type_text(p["schema"]),
                "yes" if p.get("required") else "",
                constraints(p["schema"]),
            )
            for p in params
        ]
        out += ["", "**Parameters**", "", table(("name", "in", "type", "required", "notes"), rows)]
    body = op.get("requestBody")
    if body:
        schema = body["content"]["application/json"]["schema"]
        out += ["", f"**Request body** ({type_text(schema)}, JSON)", "", fields_table(schema, doc)]
    answers = []
    for status, resp in op["responses"].items():
        content = resp.get("content", {})
        kinds = ", ".join(
            f"{type_text(c['schema'])} ({media})" if "$ref" in c["schema"] else media
            for media, c in content.items()
        )
        answers.append((code(status), resp["description"], kinds))
    out += ["", "**Answers**", "", table(("status", "meaning", "body"), answers)]
    out += ["", "**Example**", "", "```sh", curl(method, path, op, params, doc), "```"]
    ok = success(op)
    if ok:
        status, schema = ok
        answer = json.dumps(example(schema, doc), indent=2)
        out += ["", f"Answer {code(status)}:", "", "```json", answer, "```"]
    return "\n".join(out)


def render_schemas(doc: dict[str, Any]) -> str:
    out = ["### Schemas"]
    for name, schema in doc["components"]["schemas"].items():
        out += ["", f"#### {name}", "", fields_table(schema, doc)]
    return "\n".join(out)


def render_reference(doc: dict[str, Any]) -> str:
    """Every operation in the document's order, then every schema."""
    info = doc["info"]
    out = [
        f"{info['title']}, version {info['version']} (OpenAPI {doc['openapi']}).",
        "",
        info.get("description", ""),
    ]
    for path, item in doc["paths"].items():
        for method in METHODS:
            if method in item:
                out += ["", render_operation(method, path, item, doc)]
    out += ["", render_schemas(doc)]
    return "\n".join(out) + "\n"
