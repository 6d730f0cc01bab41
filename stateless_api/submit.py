"""``POST /v1/orders``: its rules in stages, and the plain ASGI handler that runs them.

Submitting is most of the API's traffic, and every microsecond of CPU here is a fraction of the
orders one process can take. The rules come in synchronous stages so that two drivers share
them: ``caller_now`` (token, scope, declared length, media type), ``order_request`` (body to
request, account check), ``accepted`` / ``refused`` (the answer for an outcome or for whatever
was raised). ``ordergate api`` runs them inside the HTTP protocol's callbacks
(``fastpath.py``); ``submit_order`` below runs them as an ASGI handler with awaits (the test
client, any other ASGI server, and the submits the fast path hands over), reading the three
headers it needs from the scope and sending at most one answer. :class:`OrderApi` sends
``POST /v1/orders`` here and everything else (including the lifespan) to the Starlette app.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Awaitable, Callable
from typing import Any

from gateway.auth import AuthError, Principal, bearer_token
from gateway.errors import OrderError
from gateway.model import NewOrderRequest
from gateway.orders import SubmitOutcome

from . import errors, parsing
from .context import (
    ApiContext,
    ApiError,
    check_account,
    check_body_headers,
    check_scope,
    principal_for,
    too_large,
)
from .presenters import outcome_body

log = logging.getLogger("ordergate.api")

PATH = "/v1/orders"
_JSON_HEADERS = [(b"content-type", b"application/json")]

Scope = dict[str, Any]


async def _read_body(receive: Any, declared: str | None) -> bytes:
    if declared is not None and declared.isdigit():
        first = await receive()
        body: bytes = first.get("body", b"")
        if not first.get("more_body", False):
            return body
        chunks = [body]
    else:
        chunks = []
    size = sum(len(c) for c in chunks)
    while True:
        message = await receive()
        chunk = message.get("body", b"")
        size += len(chunk)
        if size > parsing.MAX_BODY_BYTES:
            raise too_large()
        chunks.append(chunk)
        if not message.get("more_body", False):
            return b"".join(chunks)


Answer = tuple[int, list[tuple[bytes, bytes]], bytes]  # status, headers, body


def request_headers(headers: Any) -> tuple[str | None, str | None, str | None]:
    """Authorization, content-type and content-length of a request's (lower-case) headers."""
    authorization = content_type = content_length = None
    for name, value in headers:
        if name == b"authorization":
            authorization = value.decode("latin-1")
        elif name == b"content-type":
            content_type = value.decode("latin-1")
        elif name == b"content-length":
            content_length = value.decode("latin-1")
    return authorization, content_type, content_length


def caller_now(
    ctx: ApiContext, authorization: str | None, content_type: str | None, content_length: str | None
) -> Principal | None:
    """The header checks of a submit, before its body is read: the caller (token with the
    ``trade`` scope), 413 for a declared length over the limit, 415. None when the token's
    key must first be fetched (then ``await caller``)."""
    principal = ctx.verifier.verify_now(bearer_token(authorization))
    if principal is not None:
        check_scope(principal, "trade")
        check_body_headers(content_length, content_type)
    return principal


async def caller(
    ctx: ApiContext, authorization: str | None, content_type: str | None, content_length: str | None
) -> Principal:
    """``caller_now``, waiting for a JWKS key when it must."""
    principal = await principal_for(ctx, authorization, "trade")
    check_body_headers(content_length, content_type)
    return principal


def order_request(principal: Principal, body: bytes) -> NewOrderRequest:
    """The body as an order request of an account the caller may trade (422, 403)."""
    request = parsing.parse_new_order(parsing.parse_json_object(body))
    check_account(principal, request.account)
    return request


def accepted(ctx: ApiContext, outcome: SubmitOutcome) -> Answer:
    """202 with the new order, or 200 with the one an earlier submit of the same body made."""
    ctx.metrics.order_outcome("created" if outcome.created else "duplicate")
    body = outcome_body(outcome)
    return (202 if outcome.created else 200), _JSON_HEADERS + [_length(body)], body


def refused(ctx: ApiContext, exc: BaseException) -> Answer:
    """The error answer for anything a submit raised (500, logged, for the unexpected)."""
    if isinstance(exc, OrderError):
        ctx.metrics.order_outcome(exc.code.value)
        response = errors.error_response(
            exc.code.value, exc.message, exc.field, retry_after=exc.retry_after
        )
    elif isinstance(exc, AuthError):
        response = errors.error_response(exc.code, str(exc))
    elif isinstance(exc, ApiError):
        response = errors.error_response(exc.code, exc.message, exc.field, status=exc.status)
    else:
        log.error("unhandled error on POST %s", PATH, exc_info=exc)
        response = errors.error_response(errors.INTERNAL, "internal error")
    return response.status_code, response.raw_headers, bytes(response.body)


async def outcome_answer(ctx: ApiContext, pending: Awaitable[SubmitOutcome]) -> Answer:
    """The answer once ``pending`` (the rest of a submit) is done."""
    try:
        return accepted(ctx, await pending)
    except Exception as exc:
        return refused(ctx, exc)


async def decide(
    ctx: ApiContext,
    authorization: str | None,
    content_type: str | None,
    content_length: str | None,
    read_body: Callable[[], Awaitable[bytes]],
) -> Answer:
    """One whole submit with every wait allowed: what the ASGI handler runs, and the HTTP
    fast path when a token's key must be fetched first. ``read_body`` is awaited only once
    the headers passed."""
    try:
        principal = await caller(ctx, authorization, content_type, content_length)
        request = order_request(principal, await read_body())
    except Exception as exc:
        return refused(ctx, exc)
    return await outcome_answer(ctx, ctx.gateway.submit(request, process=ctx.process))


def _length(body: bytes) -> tuple[bytes, bytes]:
    return (b"content-length", b"%d" % len(body))


async def submit_order(ctx: ApiContext, scope: Scope, receive: Any, send: Any) -> None:
    started = time.perf_counter()
    authorization, content_type, content_length = request_headers(scope["headers"])

    async def read_body() -> bytes:
        return await _read_body(receive, content_length)

    status, headers, body = await decide(
        ctx, authorization, content_type, content_length, read_body
    )
    # Sending is apart from deciding: once the first send was attempted the response may have
    # started, and a second answer on a started response is a protocol error. A send that raises
    # means the client left (or the connection broke): the answer is dropped and counted; the
    # order, if accepted, stands, and a retry with the same client_order_id answers 200.
    try:
        await send({"type": "http.response.start", "status": status, "headers": headers})
        await send({"type": "http.response.body", "body": body})
    except Exception as exc:  # noqa: BLE001 - any failure of the transport: drop, never resend
        ctx.metrics.response_dropped("submit")
        log.info("answer to POST %s dropped (%d): %r", PATH, status, exc)
    ctx.metrics.observe("POST", "submit", status, time.perf_counter() - started)


class OrderApi:
    """The ASGI entry point: the submit hot path, then the Starlette app for the rest."""

    def __init__(self, app: Any, ctx: ApiContext) -> None:
        self.app = app
        self.ctx = ctx
        self.state = app.state  # tests and tools reach the context as app.state.ctx

    async def __call__(self, scope: Scope, receive: Any, send: Any) -> None:
        if scope["type"] == "http" and scope["method"] == "POST" and scope["path"] == PATH:
            await submit_order(self.ctx, scope, receive, send)
        else:
            await self.app(scope, receive, send)
