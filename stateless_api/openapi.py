"""The OpenAPI 3 document of the API, written by hand to match the answers exactly.

``tests/e2e/test_api_schema.py`` runs schemathesis against it: every documented operation is
exercised and every answer is checked against the schema here, so the two cannot drift apart.
"""

from __future__ import annotations

import copy
from functools import cache
from typing import Any

from . import parsing

PRICE = {
    "type": "string",
    "pattern": r"^[0-9]{1,12}(\.[0-9]{1,8})?$",
    "description": 'Decimal yen as a string, e.g. "2500.5".',
    "example": "2500.5",
}
ID = {"type": "string", "pattern": r"^[A-Za-z0-9._:\-]{1,64}$", "minLength": 1, "maxLength": 64}
ORDER_ID = {"type": "string", "pattern": r"^[0-9A-Z]{20}$", "example": "0MHXJ3K2A05K3QZ00A1B"}
NULLABLE_STR = {"type": "string", "nullable": True}


def _ref(name: str) -> dict[str, str]:
    return {"$ref": f"#/components/schemas/{name}"}


SCHEMAS: dict[str, Any] = {
    "Error": {
        "type": "object",
        "required": ["error"],
        "properties": {
            "error": {
                "type": "object",
                "required": ["code", "message", "field"],
                "properties": {
                    "code": {"type": "string", "description": "Stable error code (see README)."},
                    "message": {"type": "string"},
                    "field": {"type": "string", "nullable": True},
                },
            }
        },
    },
    "NewOrder": {
        "type": "object",
        "additionalProperties": False,
        "required": ["account", "client_order_id", "symbol", "side", "type", "quantity"],
        "properties": {
            "account": ID,
            "client_order_id": ID,
            "symbol": {"type": "string", "pattern": r"^[A-Za-z0-9]{1,12}$", "example": "7203"},
            "side": {"type": "string", "enum": ["buy", "sell"]},
            "type": {"type": "string", "enum": ["limit", "market"]},
            "quantity": {"type": "integer", "minimum": 1, "maximum": 10**12, "example": 100},
            "price": {**PRICE, "nullable": True},
            "time_in_force": {
                "type": "string",
                "enum": ["day", "ioc", "fok", "at_open", "at_close"],
                "default": "day",
            },
            "venue": {"type": "string", "pattern": r"^[A-Za-z0-9_\-]{1,16}$", "nullable": True},
            "when_closed": {"type": "string", "enum": ["hold", "reject"], "default": "hold"},
        },
    },
    "Replace": {
        "type": "object",
        "additionalProperties": False,
        "minProperties": 1,
        "properties": {
            "quantity": {"type": "integer", "minimum": 1, "maximum": 10**12, "nullable": True},
            "price": {**PRICE, "nullable": True},
        },
    },
    "Fill": {
        "type": "object",
        "required": ["exec_id", "quantity", "price", "at"],
        "properties": {
            "exec_id": {"type": "string"},
            "quantity": {"type": "integer"},
            "price": {"type": "string"},
            "at": {"type": "string"},
        },
    },
    "Order": {
        "type": "object",
        "required": [
            "order_id",
            "account",
            "client_order_id",
            "symbol",
            "side",
            "type",
            "quantity",
            "price",
            "time_in_force",
            "venue",
            "when_closed",
            "status",
            "cum_qty",
            "leaves_qty",
            "avg_px",
            "fills",
            "created_at",
            "updated_at",
            "partition",
        ],
        "properties": {
            "order_id": ORDER_ID,
            "account": {"type": "string"},
            "client_order_id": {"type": "string"},
            "symbol": {"type": "string"},
            "side": {"type": "string", "enum": ["buy", "sell"]},
            "type": {"type": "string", "enum": ["limit", "market"]},
            "quantity": {"type": "integer"},
            "price": NULLABLE_STR,
            "time_in_force": {
                "type": "string",
                "enum": ["day", "ioc", "fok", "at_open", "at_close"],
            },
            "venue": {"type": "string"},
            "when_closed": {"type": "string", "enum": ["hold", "reject"]},
            "status": {
                "type": "string",
                "enum": [
                    "pending_new",
                    "new",
                    "partially_filled",
                    "filled",
                    "pending_cancel",
                    "canceled",
                    "pending_replace",
                    "replaced",
                    "rejected",
                    "expired",
                ],
            },
            "cum_qty": {"type": "integer", "description": "Filled quantity."},
            "leaves_qty": {"type": "integer", "description": "Quantity still working."},
            "avg_px": {"type": "string", "description": "Average fill price."},
            "fills": {"type": "array", "items": _ref("Fill")},
            "created_at": {"type": "string"},
            "updated_at": {"type": "string"},
            "partition": {"type": "integer"},
            "pending_quantity": {"type": "integer", "nullable": True},
            "pending_price": NULLABLE_STR,
            "reason": {"type": "string"},
        },
    },
    "OrderList": {
        "type": "object",
        "required": ["orders", "next_cursor"],
        "properties": {
            "orders": {"type": "array", "items": _ref("Order")},
            "next_cursor": {
                "type": "string",
                "nullable": True,
                "description": "Pass as `cursor` for the next page; null on the last page.",
            },
        },
    },
    "TrailStep": {
        "type": "object",
        "required": ["at", "step", "component", "process", "detail"],
        "properties": {
            "at": {"type": "string"},
            "step": {"type": "string", "example": "enqueued"},
            "component": {"type": "string"},
            "process": {"type": "string"},
            "detail": {"type": "object"},
        },
    },
    "Trail": {
        "type": "object",
        "required": ["order_id", "steps"],
        "properties": {
            "order_id": ORDER_ID,
            "steps": {"type": "array", "items": _ref("TrailStep")},
        },
    },
    "TickBand": {
        "type": "object",
        "required": ["up_to", "tick"],
        "properties": {
            "up_to": {
                "type": "string",
                "nullable": True,
                "description": "Highest price of the band (inclusive); null for the top band.",
            },
            "tick": {"type": "string"},
        },
    },
    "Symbol": {
        "type": "object",
        "required": [
            "symbol",
            "name",
            "venues",
            "trading_unit",
            "base_price",
            "lower_limit",
            "upper_limit",
            "topix500",
            "tick_sizes",
        ],
        "properties": {
            "symbol": {"type": "string"},
            "name": {"type": "string"},
            "venues": {"type": "array", "items": {"type": "string"}},
            "trading_unit": {"type": "integer"},
            "base_price": {"type": "string"},
            "lower_limit": {"type": "string"},
            "upper_limit": {"type": "string"},
            "topix500": {"type": "boolean"},
            "tick_sizes": {"type": "array", "items": _ref("TickBand")},
        },
    },
    "SymbolList": {
        "type": "object",
        "required": ["symbols"],
        "properties": {"symbols": {"type": "array", "items": _ref("Symbol")}},
    },
    "Halt": {
        "type": "object",
        "additionalProperties": False,
        "required": ["scope"],
        "properties": {
            "scope": {"type": "string", "enum": ["account", "venue", "all"]},
            "target": {**ID, "nullable": True},
            "cancel_open": {"type": "boolean", "default": False},
        },
    },
    "Resume": {
        "type": "object",
        "additionalProperties": False,
        "required": ["scope"],
        "properties": {
            "scope": {"type": "string", "enum": ["account", "venue", "all"]},
            "target": {**ID, "nullable": True},
        },
    },
    "HaltResult": {
        "type": "object",
        "required": ["state", "scope", "target", "canceled"],
        "properties": {
            "state": {"type": "string", "enum": ["halted", "resumed"]},
            "scope": {"type": "string"},
            "target": NULLABLE_STR,
            "canceled": {"type": "integer", "description": "Open orders a cancel was sent for."},
        },
    },
    "Health": {
        "type": "object",
        "required": ["status", "environment", "process"],
        "properties": {
            "status": {"type": "string", "enum": ["ok"]},
            "environment": {"type": "string"},
            "process": {"type": "string"},
        },
    },
    "Ready": {
        "type": "object",
        "required": ["ready", "redis", "scripts_loaded"],
        "properties": {
            "ready": {"type": "boolean"},
            "redis": {"type": "boolean"},
            "scripts_loaded": {"type": "boolean"},
        },
    },
}

_ERROR_TEXT = {
    "401": "No token (`unauthorized`), or one that is expired, tampered, unsigned or malformed "
    "(`invalid_token`).",
    "403": "The token lacks the scope (`insufficient_scope`) or the account "
    "(`account_not_permitted`).",
    "404": "No such order visible to the caller (`order_not_found`), or no such symbol.",
    "409": "Conflict: `duplicate_client_order_id`, `order_not_open`, `order_in_flight`, `halted`.",
    "413": f"Body larger than {parsing.MAX_BODY_BYTES} bytes (`body_too_large`).",
    "415": "Body not sent as application/json (`unsupported_media_type`).",
    "422": "Invalid request or an order rule broken; `code` says which (see README).",
    "429": "Order-rate limit (`rate_limited`); retry after `Retry-After` seconds.",
    "503": (
        "Redis unreachable or it did not answer (`redis_unavailable`): the outcome is unknown;"
        " retry with the same client_order_id (200 with the order if it was written after all)."
    ),
}


def _errors(*statuses: str) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for status in statuses:
        resp: dict[str, Any] = {
            "description": _ERROR_TEXT[status],
            "content": {"application/json": {"schema": _ref("Error")}},
        }
        if status in ("429", "503"):
            resp["headers"] = {"Retry-After": {"schema": {"type": "integer"}}}
        out[status] = resp
    return out


def _ok(status: str, schema: str, description: str) -> dict[str, Any]:
    return {
        status: {
            "description": description,
            "content": {"application/json": {"schema": _ref(schema)}},
        }
    }


def _body(schema: str) -> dict[str, Any]:
    return {"required": True, "content": {"application/json": {"schema": _ref(schema)}}}


ORDER_ID_PARAM = {"name": "order_id", "in": "path", "required": True, "schema": {"type": "string"}}
AUTH_ERRORS = ("401", "403", "503")

PATHS: dict[str, Any] = {
    "/v1/orders": {
        "post": {
            "operationId": "submitOrder",
            "summary": "Submit a new order (scope trade).",
            "description": "202 with the new order (`pending_new`). The same `client_order_id` "
            "of the same account again answers 200 with the same order and enqueues nothing; "
            "with a different body 409 `duplicate_client_order_id`.",
            "requestBody": _body("NewOrder"),
            "responses": {
                **_ok("202", "Order", "Accepted and enqueued."),
                **_ok("200", "Order", "Already accepted earlier with this client_order_id."),
                **_errors("401", "403", "409", "413", "415", "422", "429", "503"),
            },
        },
        "get": {
            "operationId": "listOrders",
            "summary": "List an account's orders, newest first, with cursor paging (scope read).",
            "parameters": [
                {"name": "account", "in": "query", "required": True, "schema": ID},
                {
                    "name": "status",
                    "in": "query",
                    "schema": {"type": "string", "enum": ["open", "done", "all"], "default": "all"},
                },
                {
                    "name": "limit",
                    "in": "query",
                    "schema": {
                        "type": "integer",
                        "minimum": 1,
                        "maximum": parsing.MAX_LIST_LIMIT,
                        "default": parsing.DEFAULT_LIST_LIMIT,
                    },
                },
                {"name": "cursor", "in": "query", "schema": {"type": "string"}},
            ],
            "responses": {**_ok("200", "OrderList", "One page."), **_errors(*AUTH_ERRORS, "422")},
        },
    },
    "/v1/orders/{order_id}": {
        "parameters": [ORDER_ID_PARAM],
        "get": {
            "operationId": "getOrder",
            "summary": "An order: status, filled and leaves quantity, average price, fills.",
            "responses": {**_ok("200", "Order", "The order."), **_errors(*AUTH_ERRORS, "404")},
        },
        "delete": {
            "operationId": "cancelOrder",
            "summary": "Request cancellation (scope trade): 202 pending_cancel.",
            "responses": {
                **_ok("202", "Order", "Cancel enqueued."),
                **_errors(*AUTH_ERRORS, "404", "409", "429"),
            },
        },
        "patch": {
            "operationId": "replaceOrder",
            "summary": "Amend quantity and/or price (scope trade): 202 pending_replace.",
            "requestBody": _body("Replace"),
            "responses": {
                **_ok("202", "Order", "Replace enqueued."),
                **_errors(*AUTH_ERRORS, "404", "409", "413", "415", "422", "429"),
            },
        },
    },
    "/v1/orders/{order_id}/trail": {
        "parameters": [ORDER_ID_PARAM],
        "get": {
            "operationId": "getTrail",
            "summary": "The order's end-to-end trail, in time order.",
            "responses": {**_ok("200", "Trail", "The trail."), **_errors(*AUTH_ERRORS, "404")},
        },
    },
    "/v1/symbols": {
        "get": {
            "operationId": "listSymbols",
            "summary": "Reference data for order tickets, with today's limits and tick bands.",
            "responses": {**_ok("200", "SymbolList", "All symbols."), **_errors("401", "403")},
        }
    },
    "/v1/symbols/{symbol}": {
        "parameters": [
            {"name": "symbol", "in": "path", "required": True, "schema": {"type": "string"}}
        ],
        "get": {
            "operationId": "getSymbol",
            "summary": "One symbol's reference data.",
            "responses": {
                **_ok("200", "Symbol", "The symbol."),
                "404": {
                    "description": "Unknown symbol (`unknown_symbol`).",
                    "content": {"application/json": {"schema": _ref("Error")}},
                },
                **_errors("401", "403"),
            },
        },
    },
    "/v1/stream": {
        "get": {
            "operationId": "streamEvents",
            "summary": "Server-sent events: live order updates of the caller's accounts.",
            "description": "Each event: `id: <event id>`, `event: order`, `data: <JSON>`. "
            "Reconnect with the `Last-Event-ID` header (or `last_event_id`) to resume.",
            "parameters": [
                {"name": "account", "in": "query", "schema": ID},
                {"name": "last_event_id", "in": "query", "schema": {"type": "string"}},
                {"name": "Last-Event-ID", "in": "header", "schema": {"type": "string"}},
            ],
            "responses": {
                "200": {
                    "description": "An endless text/event-stream.",
                    "content": {"text/event-stream": {"schema": {"type": "string"}}},
                },
                **_errors("401", "403"),
            },
        }
    },
    "/v1/admin/halt": {
        "post": {
            "operationId": "halt",
            "summary": "Kill switch (scope ops): refuse new orders for an account, a venue or "
            "everything; optionally cancel the open orders.",
            "requestBody": _body("Halt"),
            "responses": {
                **_ok("200", "HaltResult", "Halted."),
                **_errors(*AUTH_ERRORS, "413", "415", "422"),
            },
        }
    },
    "/v1/admin/resume": {
        "post": {
            "operationId": "resume",
            "summary": "Lift a halt (scope ops).",
            "requestBody": _body("Resume"),
            "responses": {
                **_ok("200", "HaltResult", "Resumed."),
                **_errors(*AUTH_ERRORS, "413", "415", "422"),
            },
        }
    },
    "/healthz": {
        "get": {
            "operationId": "healthz",
            "summary": "Liveness and the environment name (no token needed).",
            "security": [],
            "responses": _ok("200", "Health", "Alive."),
        }
    },
    "/readyz": {
        "get": {
            "operationId": "readyz",
            "summary": "Readiness: Redis reachable and scripts loaded (no token needed).",
            "security": [],
            "responses": {
                **_ok("200", "Ready", "Ready."),
                **{
                    "503": {
                        "description": "Not ready.",
                        "content": {"application/json": {"schema": _ref("Ready")}},
                    }
                },
            },
        }
    },
    "/metrics": {
        "get": {
            "operationId": "metrics",
            "summary": "Prometheus text exposition (scope ops: scrape with a bearer token).",
            "responses": {
                "200": {
                    "description": "Metrics.",
                    "content": {"text/plain": {"schema": {"type": "string"}}},
                },
                **_errors(*AUTH_ERRORS),
            },
        }
    },
}


# Answered by the HTTP server itself (uvicorn / httptools) before the API sees the request.
MALFORMED = {
    "description": "Malformed HTTP request (rejected by the HTTP server, plain text).",
    "content": {"text/plain": {"schema": {"type": "string"}}},
}


def _with_malformed(paths: dict[str, Any]) -> dict[str, Any]:
    out = copy.deepcopy(paths)
    for item in out.values():
        for method, op in item.items():
            if method != "parameters":
                op["responses"].setdefault("400", MALFORMED)
    return out


@cache
def _document() -> dict[str, Any]:
    return {
        "openapi": "3.0.3",
        "info": {
            "title": "ordergate order API",
            "version": "1.0.0",
            "description": "Orders for the Tokyo Stock Exchange and a PTS. Prices are decimal "
            "strings, quantities integers. WebSocket live updates at `/v1/ws` (same events as "
            "`/v1/stream`; token in the Authorization header or `?access_token=`).",
        },
        "servers": [{"url": "/"}],
        "security": [{"bearerAuth": []}],
        "components": {
            "securitySchemes": {
                "bearerAuth": {"type": "http", "scheme": "bearer", "bearerFormat": "JWT"}
            },
            "schemas": SCHEMAS,
        },
        "paths": _with_malformed(PATHS),
    }


def openapi_document() -> dict[str, Any]:
    return copy.deepcopy(_document())


DOCS_HTML = """<!doctype html>
<html><head><meta charset="utf-8"><title>ordergate API</title>
<link rel="stylesheet" href="https://unpkg.com/swagger-ui-dist@5/swagger-ui.css"></head>
<body><div id="ui"><p>The API is described by <a href="/openapi.json">/openapi.json</a>
(OpenAPI 3). This page renders it with Swagger UI when the browser can reach unpkg.com.</p></div>
<script src="https://unpkg.com/swagger-ui-dist@5/swagger-ui-bundle.js"></script>
<script>if (window.SwaggerUIBundle) { SwaggerUIBundle({url: "/openapi.json", dom_id: "#ui"}); }</script>
</body></html>
"""
