"""The submit handler answers at most once: a ``send`` that raises (the client left) drops the
answer and counts it, it never starts a second response on a started one."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from support.gateway_orders import stored_order

from gateway.auth import AuthSettings, TokenVerifier, mint_token
from gateway.config import DEV_JWT_SECRET
from gateway.orders import SubmitOutcome
from stateless_api.context import ApiContext
from stateless_api.submit import submit_order

ORDER = stored_order()
BODY = (
    b'{"account":"A1","client_order_id":"c-1","symbol":"7203","side":"buy","type":"limit",'
    b'"quantity":100,"price":"2500.5","time_in_force":"day"}'
)


class _Gateway:
    """Accepts every order (a fake for this pure unit of one handler: no Redis involved)."""

    def __init__(self) -> None:
        self.submitted = 0

    async def submit(self, request: Any, process: str) -> SubmitOutcome:
        self.submitted += 1
        return SubmitOutcome(replace(ORDER, client_order_id=request.client_order_id), True)


class _Send:
    """Records ASGI messages; raises on the ``fail_at``-th call (1-based) like a gone client."""

    def __init__(self, fail_at: int | None) -> None:
        self.fail_at = fail_at
        self.calls: list[dict[str, Any]] = []

    async def __call__(self, message: dict[str, Any]) -> None:
        self.calls.append(message)
        if self.fail_at is not None and len(self.calls) == self.fail_at:
            raise OSError("connection reset by peer")


def _ctx() -> ApiContext:
    verifier = TokenVerifier(AuthSettings(algorithm="HS256", secret=DEV_JWT_SECRET))
    return ApiContext(gateway=_Gateway(), refdata=None, verifier=verifier)


def _scope(token: str | None) -> dict[str, Any]:
    headers = [(b"content-type", b"application/json"), (b"content-length", b"%d" % len(BODY))]
    if token:
        headers.append((b"authorization", f"Bearer {token}".encode()))
    return {"type": "http", "method": "POST", "path": "/v1/orders", "headers": headers}


async def _receive() -> dict[str, Any]:
    return {"type": "http.request", "body": BODY, "more_body": False}


def _starts(send: _Send) -> int:
    return sum(1 for m in send.calls if m["type"] == "http.response.start")


def _token() -> str:
    return mint_token("t", ["A1"], ("trade",), secret=DEV_JWT_SECRET)


async def test_accepted_order_answers_start_then_body_once() -> None:
    ctx, send = _ctx(), _Send(fail_at=None)
    await submit_order(ctx, _scope(_token()), _receive, send)
    assert [m["type"] for m in send.calls] == ["http.response.start", "http.response.body"]
    assert send.calls[0]["status"] == 202
    assert ctx.metrics.dropped == {}


async def test_send_failing_after_the_start_sends_nothing_more_and_counts_a_drop() -> None:
    ctx, send = _ctx(), _Send(fail_at=2)  # the body send fails: the head is out
    await submit_order(ctx, _scope(_token()), _receive, send)
    assert [m["type"] for m in send.calls] == ["http.response.start", "http.response.body"]
    assert ctx.metrics.dropped == {"submit": 1}
    assert ctx.gateway.submitted == 1  # the order stands; a retry answers 200
    assert ctx.metrics.requests[("POST", "submit", 202)] == 1
    assert 'ordergate_api_responses_dropped_total{route="submit"} 1' in ctx.metrics.render()


async def test_send_failing_on_the_start_is_not_followed_by_an_error_answer() -> None:
    ctx, send = _ctx(), _Send(fail_at=1)
    await submit_order(ctx, _scope(_token()), _receive, send)
    assert _starts(send) == 1 and len(send.calls) == 1
    assert ctx.metrics.dropped == {"submit": 1}


async def test_send_failing_on_an_error_answer_is_dropped_not_retried() -> None:
    ctx, send = _ctx(), _Send(fail_at=1)  # no token: a 401 whose start fails
    await submit_order(ctx, _scope(None), _receive, send)
    assert _starts(send) == 1 and send.calls[0]["status"] == 401
    assert ctx.metrics.dropped == {"submit": 1}
    assert ctx.gateway.submitted == 0
