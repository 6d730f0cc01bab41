"""The generated API reference covers every operation of the served OpenAPI document, and its
examples are requests and answers the schemas (and the order rules) accept."""

import copy
import json
from datetime import UTC, datetime
from typing import Any

import jsonschema
import pytest

from docsgen.openapi import METHODS, example, render_reference, success
from gateway.refdata import ReferenceData
from gateway.validation import parse_new_order, validate_new_order
from stateless_api.openapi import openapi_document

DOC = openapi_document()
OPERATIONS = [
    (method, path) for path, item in DOC["paths"].items() for method in METHODS if method in item
]


def json_schema(schema: dict[str, Any]) -> dict[str, Any]:
    """An OpenAPI 3.0 schema as JSON Schema: refs inlined, ``nullable`` as a null type."""
    schema = copy.deepcopy(schema)
    if "$ref" in schema:
        schema = json_schema(DOC["components"]["schemas"][schema["$ref"].rsplit("/", 1)[1]])
    if schema.pop("nullable", False):
        schema["type"] = [schema["type"], "null"]
        if "enum" in schema:
            schema["enum"] = [*schema["enum"], None]
    schema.pop("example", None)
    for key in ("items",):
        if key in schema:
            schema[key] = json_schema(schema[key])
    if "properties" in schema:
        schema["properties"] = {k: json_schema(v) for k, v in schema["properties"].items()}
    return schema


def request_schema(method: str, path: str) -> dict[str, Any] | None:
    body = DOC["paths"][path][method].get("requestBody")
    return body["content"]["application/json"]["schema"] if body else None


def test_every_operation_has_a_section():
    text = render_reference(DOC)
    for method, path in OPERATIONS:
        assert f"### {method.upper()} `{path}`" in text


@pytest.mark.parametrize(
    ("method", "path"), [op for op in OPERATIONS if request_schema(*op)], ids=str
)
def test_every_request_example_matches_its_schema(method, path):
    schema = request_schema(method, path)
    jsonschema.validate(example(schema, DOC), json_schema(schema))


@pytest.mark.parametrize(
    ("method", "path"), [op for op in OPERATIONS if success(DOC["paths"][op[1]][op[0]])], ids=str
)
def test_every_answer_example_matches_its_schema(method, path):
    _, schema = success(DOC["paths"][path][method])
    jsonschema.validate(example(schema, DOC), json_schema(schema))


def test_the_submit_example_is_an_order_the_venue_rules_accept():
    body = example(request_schema("post", "/v1/orders"), DOC)
    continuous = datetime(2026, 11, 27, 1, 0, tzinfo=UTC)  # a Friday, 10:00 in Tokyo
    validate_new_order(parse_new_order(body), ReferenceData.load(), continuous)


def test_the_example_request_is_in_the_curl_command():
    text = render_reference(DOC)
    body = json.dumps(example(request_schema("post", "/v1/orders"), DOC), separators=(",", ":"))
    assert f"-d '{body}'" in text
