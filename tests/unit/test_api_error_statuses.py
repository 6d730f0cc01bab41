"""The one table from error code to HTTP status."""

from __future__ import annotations

import json

import pytest

from gateway.errors import ErrorCode
from stateless_api import errors

EXPECTED = {
    ErrorCode.invalid_request: 422,
    ErrorCode.duplicate_client_order_id: 409,
    ErrorCode.order_not_found: 404,
    ErrorCode.order_not_open: 409,
    ErrorCode.order_in_flight: 409,
    ErrorCode.halted: 409,
    ErrorCode.rate_limited: 429,
    ErrorCode.redis_unavailable: 503,
}


@pytest.mark.parametrize("code", list(ErrorCode))
def test_every_gateway_code_has_a_client_error_or_503_status(code: ErrorCode) -> None:
    status = errors.status_of(code.value)
    assert status == EXPECTED.get(code, 422)


def test_error_body_has_code_message_and_field() -> None:
    r = errors.error_response("price_off_tick", "off tick", "price")
    assert json.loads(r.body) == {
        "error": {"code": "price_off_tick", "message": "off tick", "field": "price"}
    }
    assert r.status_code == 422


def test_rate_limited_answer_rounds_retry_after_up_to_whole_seconds() -> None:
    r = errors.error_response("rate_limited", "slow down", retry_after=0.2)
    assert r.status_code == 429 and r.headers["retry-after"] == "1"
    assert errors.error_response("rate_limited", "x", retry_after=2.1).headers["retry-after"] == "3"


def test_unauthorized_answer_names_the_bearer_scheme() -> None:
    r = errors.error_response(errors.UNAUTHORIZED, "missing bearer token")
    assert r.status_code == 401 and r.headers["www-authenticate"].startswith("Bearer")
