"""``POST /v1/orders`` as a plain ASGI handler: the hot path, without the framework's layers.

Submitting is most of the API's traffic, and every microsecond of CPU here is a fraction of the
orders one process can take. This handler reads the three headers it needs from the ASGI scope,
reads the body from ``receive`` and sends the answer as two ASGI messages (at most one
answer, even when sending fails: see ``submit_order``); it skips routing,
the middleware stack and the Request / Response objects (about a fifth of the API's own CPU per
order, measured). The rules are the same as every other route's: the same token check, the same
parsing (``gateway.validation``), ONE gateway call, and error answers built by
``errors.error_response``. :class:`OrderApi` sends ``POST /v1/orders`` here and everything
else (including the lifespan) to the Starlette app.
"""

from __future__ import annotations

import logging
import time
from typing import Any

from gateway.errors import OrderError

from . import errors, parsing
from .auth import AuthError
from .context import (
    ApiContext,
    ApiError,
    check_account,
    check_body_headers,
    principal_for,
    too_large,
)
from .presenters import order_body

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


async def submit_order(ctx: ApiContext, scope: Scope, receive: Any, send: Any) -> None:
    started = time.perf_counter()
    authorization = content_type = content_length = None
    for name, value in scope["headers"]:
        if name == b"authorization":
            authorization = value.decode("latin-1")
        elif name == b"content-type":
            content_type = value.decode("latin-1")
        elif name == b"content-length":
            content_length = value.decode("latin-1")
    response = None
    answer: bytes | None = None
    status = 500
    try:
        principal = await principal_for(ctx, authorization, "trade")
        check_body_headers(content_length, content_type)
        doc = parsing.parse_json_object(await _read_body(receive, content_length))
        request = parsing.parse_new_order(doc)
        check_account(principal, request.account)
        outcome = await ctx.gateway.submit(request, process=ctx.process)
        ctx.metrics.order_outcome("created" if outcome.created else "duplicate")
        answer = order_body(outcome.order)
        status = 202 if outcome.created else 200
    except OrderError as exc:
        ctx.metrics.order_outcome(exc.code.value)
        response = errors.error_response(
            exc.code.value, exc.message, exc.field, retry_after=exc.retry_after
        )
    except AuthError as exc:
        response = errors.error_response(errors.UNAUTHORIZED, str(exc))
    except ApiError as exc:
        response = errors.error_response(exc.code, exc.message, exc.field, status=exc.status)
    except Exception:
        log.exception("unhandled error on POST %s", PATH)
        response = errors.error_response(errors.INTERNAL, "internal error")
    # Sending is apart from deciding: once the first send was attempted the response may have
    # started, and a second answer on a started response is a protocol error. A send that raises
    # means the client left (or the connection broke): the answer is dropped and counted; the
    # order, if accepted, stands, and a retry with the same client_order_id answers 200.
    try:
        if response is not None:
            status = response.status_code
            await response(scope, receive, send)
        else:
            assert answer is not None
            await send(
                {
                    "type": "http.response.start",
                    "status": status,
                    "headers": [*_JSON_HEADERS, (b"content-length", b"%d" % len(answer))],
                }
            )
            await send({"type": "http.response.body", "body": answer})
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
