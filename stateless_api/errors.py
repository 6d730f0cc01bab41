"""Error codes to HTTP statuses, and the one error body shape.

``gateway`` raises ``OrderError`` with a stable code and knows nothing of HTTP; this table is
the only place a code becomes a status. Every error answer has the body
``{"error": {"code": ..., "message": ..., "field": ...}}``.
"""

from __future__ import annotations

import json
import math
from typing import Any

from starlette.responses import Response

from gateway.auth import INVALID_TOKEN, MISSING_TOKEN

# Codes that only the HTTP layer produces (authentication, transport).
# 401: UNAUTHORIZED (no bearer token) and INVALID_TOKEN (malformed, expired, forged, a claim
# out of range), both defined with ``AuthError`` in ``gateway.auth``
UNAUTHORIZED = MISSING_TOKEN
FORBIDDEN_ACCOUNT = "account_not_permitted"
INSUFFICIENT_SCOPE = "insufficient_scope"
BODY_TOO_LARGE = "body_too_large"
UNSUPPORTED_MEDIA_TYPE = "unsupported_media_type"
NOT_FOUND = "not_found"
METHOD_NOT_ALLOWED = "method_not_allowed"
INTERNAL = "internal_error"
HEADERS_TOO_LARGE = "headers_too_large"
REQUEST_TIMEOUT = "request_timeout"
TOO_MANY_CONNECTIONS = "too_many_connections"

#: code -> HTTP status. Codes not listed here answer 422 (a rule the order broke).
STATUS_BY_CODE: dict[str, int] = {
    "invalid_request": 422,
    "duplicate_client_order_id": 409,
    "order_not_found": 404,
    "order_not_open": 409,
    "order_in_flight": 409,
    "invalid_transition": 409,
    "halted": 409,
    "rate_limited": 429,
    "redis_unavailable": 503,
    UNAUTHORIZED: 401,
    INVALID_TOKEN: 401,
    FORBIDDEN_ACCOUNT: 403,
    INSUFFICIENT_SCOPE: 403,
    BODY_TOO_LARGE: 413,
    UNSUPPORTED_MEDIA_TYPE: 415,
    NOT_FOUND: 404,
    METHOD_NOT_ALLOWED: 405,
    INTERNAL: 500,
    HEADERS_TOO_LARGE: 431,
    REQUEST_TIMEOUT: 408,
    TOO_MANY_CONNECTIONS: 503,
}


def status_of(code: str) -> int:
    return STATUS_BY_CODE.get(code, 422)


def error_response(
    code: str,
    message: str,
    field: str | None = None,
    *,
    status: int | None = None,
    retry_after: float | None = None,
    headers: dict[str, str] | None = None,
) -> Response:
    body: dict[str, Any] = {"error": {"code": code, "message": message, "field": field}}
    hdrs = dict(headers or {})
    if retry_after is not None:
        hdrs["Retry-After"] = str(max(1, math.ceil(retry_after)))
    elif code in ("rate_limited", "redis_unavailable"):
        hdrs["Retry-After"] = "1"
    if code == UNAUTHORIZED:
        hdrs["WWW-Authenticate"] = 'Bearer realm="ordergate"'
    elif code == INVALID_TOKEN:
        hdrs["WWW-Authenticate"] = 'Bearer realm="ordergate", error="invalid_token"'
    return Response(
        json.dumps(body, separators=(",", ":")),
        status_code=status or status_of(code),
        headers=hdrs,
        media_type="application/json",
    )
