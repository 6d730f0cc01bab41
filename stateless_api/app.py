"""The Starlette application: thin routes over ``gateway.orders.OrderGateway``.

Each route parses, authorises, calls ONE gateway function and shapes the answer. No Redis
command appears here. Errors from the gateway carry a stable code that
``stateless_api.errors`` turns into a status.
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Awaitable, Callable
from typing import Any

from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse, Response
from starlette.routing import Route, WebSocketRoute
from starlette.websockets import WebSocket

from gateway.auth import AuthError, Principal, bearer_token
from gateway.errors import ErrorCode, OrderError

from . import errors, parsing
from .context import (
    ApiContext,
    ApiError,
    check_account,
    check_body_headers,
    principal_for,
    too_large,
)
from .openapi import DOCS_HTML, openapi_document
from .presenters import order_json, symbol_json, tokyo_today, trail_json
from .stream import sse_response, websocket_session

log = logging.getLogger("ordergate.api")

Handler = Callable[[Request, Principal | None], Awaitable[Response]]
#: how long ``/readyz`` waits for Redis's PONG before answering 503
READY_PING_SECONDS = 0.5


def _json(body: Any, status: int = 200) -> Response:
    return Response(
        json.dumps(body, separators=(",", ":")),
        status_code=status,
        media_type="application/json",
    )


def ctx_of(request: Request | WebSocket) -> ApiContext:
    ctx: ApiContext = request.app.state.ctx
    return ctx


async def authenticate(request: Request | WebSocket, scope: str) -> Principal:
    return await principal_for(ctx_of(request), request.headers.get("authorization"), scope)


async def read_json(request: Request) -> dict[str, Any]:
    """The JSON object body, within the size limit and of the JSON media type."""
    length = request.headers.get("content-length")
    check_body_headers(length, request.headers.get("content-type"))
    if length is not None and length.isdigit():
        # the server reads exactly Content-Length bytes: already bounded by the check above
        return parsing.parse_json_object(await request.body())
    chunks: list[bytes] = []  # chunked: count as it arrives
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > parsing.MAX_BODY_BYTES:
            raise too_large()
        chunks.append(chunk)
    return parsing.parse_json_object(b"".join(chunks))


def endpoint(
    name: str, scope: str | None
) -> Callable[[Handler], Callable[[Request], Awaitable[Response]]]:
    """Wrap a handler: authenticate for ``scope``, map errors to answers, record metrics."""

    def wrap(fn: Handler) -> Callable[[Request], Awaitable[Response]]:
        async def run(request: Request) -> Response:
            started = time.perf_counter()
            try:
                principal = await authenticate(request, scope) if scope else None
                response = await fn(request, principal)
            except OrderError as exc:
                response = errors.error_response(
                    exc.code.value, exc.message, exc.field, retry_after=exc.retry_after
                )
            except AuthError as exc:
                response = errors.error_response(exc.code, str(exc))
            except ApiError as exc:
                response = errors.error_response(
                    exc.code, exc.message, exc.field, status=exc.status
                )
            ctx_of(request).metrics.observe(
                request.method, name, response.status_code, time.perf_counter() - started
            )
            return response

        run.__name__ = fn.__name__
        return run

    return wrap


# --- orders -------------------------------------------------------------------------------


def _order_id(request: Request) -> str:
    order_id: str = request.path_params["order_id"]
    if not parsing.is_order_id(order_id):
        # Same answer as an unknown id: the shape of an id reveals nothing either.
        raise OrderError(ErrorCode.order_not_found, "no such order", "order_id")
    return order_id


@endpoint("get_order", "read")
async def get_order(request: Request, principal: Principal | None) -> Response:
    assert principal is not None
    order = await ctx_of(request).gateway.get(_order_id(request), accounts=set(principal.accounts))
    return _json(order_json(order))


@endpoint("cancel", "trade")
async def cancel_order(request: Request, principal: Principal | None) -> Response:
    assert principal is not None
    ctx = ctx_of(request)
    order = await ctx.gateway.cancel(
        _order_id(request), accounts=set(principal.accounts), process=ctx.process
    )
    return _json(order_json(order), 202)


@endpoint("replace", "trade")
async def replace_order(request: Request, principal: Principal | None) -> Response:
    assert principal is not None
    order_id = _order_id(request)
    change = parsing.parse_replace(await read_json(request))
    ctx = ctx_of(request)
    order = await ctx.gateway.replace(
        order_id,
        change.quantity,
        change.price,
        accounts=set(principal.accounts),
        process=ctx.process,
    )
    return _json(order_json(order), 202)


@endpoint("list_orders", "read")
async def list_orders(request: Request, principal: Principal | None) -> Response:
    assert principal is not None
    query = parsing.parse_list_query(dict(request.query_params))
    check_account(principal, query.account)
    orders, next_cursor = await ctx_of(request).gateway.list_orders(
        query.account, query.status, query.limit, query.cursor
    )
    return _json({"orders": [order_json(o) for o in orders], "next_cursor": next_cursor})


@endpoint("trail", "read")
async def order_trail(request: Request, principal: Principal | None) -> Response:
    assert principal is not None
    order_id = _order_id(request)
    steps = await ctx_of(request).gateway.trail(order_id, accounts=set(principal.accounts))
    return _json(trail_json(order_id, steps))


# --- reference data -------------------------------------------------------------------------


def _today(ctx: ApiContext) -> Any:
    return tokyo_today(ctx.clock() if ctx.clock else None)


@endpoint("symbols", "read")
async def list_symbols(request: Request, principal: Principal | None) -> Response:
    ctx = ctx_of(request)
    today = _today(ctx)
    cached = ctx.symbols_cache
    if cached is None or cached[0] != today:
        body = json.dumps(
            {"symbols": [symbol_json(s, today) for s in ctx.refdata.all()]}, separators=(",", ":")
        ).encode()
        cached = ctx.symbols_cache = (today, body)
    return Response(cached[1], media_type="application/json")


@endpoint("symbol", "read")
async def get_symbol(request: Request, principal: Principal | None) -> Response:
    ctx = ctx_of(request)
    symbol = ctx.refdata.get(request.path_params["symbol"])
    if symbol is None:
        # a resource that does not exist: 404 (as an order field it would be a 422)
        raise ApiError("unknown_symbol", "no such symbol", "symbol", status=404)
    return _json(symbol_json(symbol, _today(ctx)))


# --- live updates ---------------------------------------------------------------------------


@endpoint("stream", "read")
async def stream(request: Request, principal: Principal | None) -> Response:
    assert principal is not None
    accounts = _stream_accounts(principal, request.query_params.get("account"))
    last_id = request.headers.get("last-event-id") or request.query_params.get("last_event_id")
    return sse_response(ctx_of(request), accounts, last_id or None)


def _stream_accounts(principal: Principal, wanted: str | None) -> set[str]:
    if wanted is None or wanted == "":
        return set(principal.accounts)
    check_account(principal, wanted)
    return {wanted}


async def ws_endpoint(websocket: WebSocket) -> None:
    """``/v1/ws``: the token comes in the Authorization header or ``?access_token=``."""
    ctx = ctx_of(websocket)
    try:
        header = websocket.headers.get("authorization")
        if header is None and websocket.query_params.get("access_token"):
            header = "Bearer " + websocket.query_params["access_token"]
        token = bearer_token(header)
        principal = await ctx.verifier.verify(token)
        if not principal.has_scope("read"):
            raise ApiError(errors.INSUFFICIENT_SCOPE, "this call needs the 'read' scope")
        accounts = _stream_accounts(principal, websocket.query_params.get("account"))
    except AuthError as exc:
        await websocket.send_denial_response(errors.error_response(exc.code, str(exc)))
        return
    except ApiError as exc:
        await websocket.send_denial_response(
            errors.error_response(exc.code, exc.message, exc.field)
        )
        return
    last_id = websocket.query_params.get("last_event_id") or None
    await websocket_session(ctx, websocket, accounts, last_id)


# --- admin (ops) ---------------------------------------------------------------------------


@endpoint("halt", "ops")
async def halt(request: Request, principal: Principal | None) -> Response:
    assert principal is not None
    change = parsing.parse_halt(await read_json(request))
    ctx = ctx_of(request)
    result = await ctx.gateway.halt(
        change.scope,
        change.target,
        change.cancel_open,
        process=ctx.process,
        reason=f"requested by {principal.sub}",
    )
    return _json(_halt_json("halted", change.scope, change.target, result))


@endpoint("resume", "ops")
async def resume(request: Request, principal: Principal | None) -> Response:
    change = parsing.parse_halt(await read_json(request), resume=True)
    result = await ctx_of(request).gateway.resume(change.scope, change.target)
    return _json(_halt_json("resumed", change.scope, change.target, result))


def _halt_json(state: str, scope: str, target: str | None, result: Any) -> dict[str, Any]:
    canceled = result if isinstance(result, int) else 0
    return {"state": state, "scope": scope, "target": target, "canceled": canceled}


# --- health, metrics, docs -------------------------------------------------------------------


@endpoint("healthz", None)
async def healthz(request: Request, principal: Principal | None) -> Response:
    ctx = ctx_of(request)
    return _json({"status": "ok", "environment": ctx.environment, "process": ctx.process})


@endpoint("readyz", None)
async def readyz(request: Request, principal: Principal | None) -> Response:
    ctx = ctx_of(request)
    try:  # within a second whatever Redis does: a load balancer's probe must not hang
        redis_ok = bool(await ctx.gateway.ping(timeout=READY_PING_SECONDS))
    except OrderError:
        redis_ok = False
    ready = redis_ok and ctx.ready
    body = {"ready": ready, "redis": redis_ok, "scripts_loaded": ctx.ready}
    return _json(body, 200 if ready else 503)


@endpoint("metrics", "ops")
async def metrics(request: Request, principal: Principal | None) -> Response:
    """Prometheus text; scraped with a bearer token of the ``ops`` scope (the counters tell
    order flow per outcome, which is not for anyone on the network)."""
    return Response(ctx_of(request).metrics.render(), media_type="text/plain; version=0.0.4")


async def openapi_json(request: Request) -> Response:
    return JSONResponse(openapi_document())


async def docs(request: Request) -> Response:
    return HTMLResponse(DOCS_HTML)


# --- application ---------------------------------------------------------------------------


async def _http_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, HTTPException)
    if exc.status_code == 405:
        return errors.error_response(
            errors.METHOD_NOT_ALLOWED, "method not allowed", headers=dict(exc.headers or {})
        )
    if exc.status_code == 404:
        return errors.error_response(errors.NOT_FOUND, "no such route")
    return errors.error_response("http_error", str(exc.detail), status=exc.status_code)


async def _internal_error(request: Request, exc: Exception) -> Response:
    log.exception("unhandled error on %s %s", request.method, request.url.path, exc_info=exc)
    return errors.error_response(errors.INTERNAL, "internal error")


async def _submit_not_routed(request: Request) -> Response:
    """``OrderApi`` (see ``build_app``) answers POST /v1/orders before routing; the route lists
    POST only so that a wrong method's 405 names it."""
    raise RuntimeError("POST /v1/orders must be served by stateless_api.submit.OrderApi")


def by_method(**handlers: Callable[[Request], Awaitable[Response]]) -> Any:
    """One route per path, so a wrong method answers 405 with every allowed method."""
    if "GET" in handlers:
        handlers.setdefault("HEAD", handlers["GET"])

    async def dispatch(request: Request) -> Response:
        return await handlers[request.method](request)

    return dispatch


ROUTES = [
    Route(
        "/v1/orders",
        # POST is served before routing by stateless_api.submit (the hot path)
        by_method(GET=list_orders, POST=_submit_not_routed),
        methods=["GET", "POST"],
    ),
    Route(
        "/v1/orders/{order_id}",
        by_method(GET=get_order, DELETE=cancel_order, PATCH=replace_order),
        methods=["GET", "DELETE", "PATCH"],
    ),
    Route("/v1/orders/{order_id}/trail", order_trail, methods=["GET"]),
    Route("/v1/symbols", list_symbols, methods=["GET"]),
    Route("/v1/symbols/{symbol}", get_symbol, methods=["GET"]),
    Route("/v1/stream", stream, methods=["GET"]),
    WebSocketRoute("/v1/ws", ws_endpoint),
    Route("/v1/admin/halt", halt, methods=["POST"]),
    Route("/v1/admin/resume", resume, methods=["POST"]),
    Route("/healthz", healthz, methods=["GET"]),
    Route("/readyz", readyz, methods=["GET"]),
    Route("/metrics", metrics, methods=["GET"]),
    Route("/openapi.json", openapi_json, methods=["GET"]),
    Route("/docs", docs, methods=["GET"]),
]


def build_app(ctx: ApiContext, lifespan: Any = None) -> Any:
    """The ASGI app over a prepared context (the server module builds the context): the
    submit hot path in front of the Starlette app."""
    from .submit import OrderApi

    app = Starlette(
        routes=ROUTES,
        lifespan=lifespan,
        exception_handlers={HTTPException: _http_error, Exception: _internal_error},
    )
    app.state.ctx = ctx
    return OrderApi(app, ctx)
