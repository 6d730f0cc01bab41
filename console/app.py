"""The console's routes (Starlette): authenticate, check the scope (and CSRF for forms), call one
read or action, render. Redis keys live in ``gateway``; HTML in :mod:`console.views`."""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import (
    HTMLResponse,
    JSONResponse,
    RedirectResponse,
    Response,
    StreamingResponse,
)
from starlette.routing import Mount, Route
from starlette.staticfiles import StaticFiles

from gateway.auth import AuthError, Principal, TokenVerifier, bearer_token
from gateway.errors import OrderError
from gateway.orders import OrderGateway

from . import reads, views
from .forms import FormError, read_form
from .security import (
    CSRF_FIELD,
    LOGIN_COOKIE,
    SESSION_COOKIE,
    Forbidden,
    Scope,
    cookie_attributes,
    csrf_ok,
    csrf_token,
    login_nonce,
    require,
)
from .simctl import ControlError, Simulator, fault_body, phase_body, switch_body

log = logging.getLogger("ordergate.console")

STATIC = Path(__file__).parent / "static"
SSE_INTERVAL = 2.0
CSP = (
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self'; "
    "connect-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'"
)


@dataclass
class Console:
    """What every route shares (no per-user state: any number of console processes)."""

    redis: Any
    gateway: OrderGateway
    verifier: TokenVerifier
    simulators: list[Simulator]
    sessions: list[tuple[str, str]] | None  # None: the default sessions present in Redis
    partitions: int
    _found: list[tuple[str, str]] = field(default_factory=list)

    async def session_list(self) -> list[tuple[str, str]]:
        if self.sessions is not None:
            return self.sessions
        if not self._found:  # kept once found: sessions are configuration
            self._found = await reads.present_sessions(self.redis, self.partitions)
        return self._found


@dataclass(frozen=True)
class Caller:
    principal: Principal
    token: str
    via_cookie: bool  # cookie sessions must send the CSRF field with every form

    @property
    def csrf(self) -> str | None:
        return csrf_token(self.token) if self.via_cookie else None


def _html(body: str, status: int = 200) -> HTMLResponse:
    return HTMLResponse(body, status, headers={"Cache-Control": "no-store"})


def _source(request: Request) -> str:
    return request.client.host if request.client else "-"


async def _caller(console: Console, request: Request) -> Caller | None:
    """The caller from ``Authorization: Bearer`` or the session cookie; None when neither is
    sent. An invalid token raises ``AuthError``."""
    header = request.headers.get("authorization")
    if header:
        token = bearer_token(header)
        return Caller(await console.verifier.verify(token), token, via_cookie=False)
    cookie = request.cookies.get(SESSION_COOKIE)
    if not cookie:
        return None
    return Caller(await console.verifier.verify(cookie), cookie, via_cookie=True)


Handler = Callable[[Request, Caller], Awaitable[Response]]


async def _authenticated(request: Request, *, page: bool) -> Caller | Response:
    """The caller, or the answer for one who is not logged in: a page sends a browser to the
    login form, a form post gets 401. A bad or expired token also clears the cookie."""
    try:
        caller = await _caller(request.app.state.console, request)
    except AuthError as exc:
        resp = _html(views.refused(f"not logged in: {exc}", None), 401)
        resp.delete_cookie(SESSION_COOKIE, path="/")
        return resp
    if caller is None:
        if page:
            return RedirectResponse("/login", 303)
        return _html(views.refused("not logged in", None), 401)
    return caller


def view(scope: Scope) -> Callable[[Handler], Callable[[Request], Awaitable[Response]]]:
    """A page: authenticated, with ``scope``; a browser without a session goes to log in."""

    def wrap(fn: Handler) -> Callable[[Request], Awaitable[Response]]:
        async def endpoint(request: Request) -> Response:
            caller = await _authenticated(request, page=True)
            if not isinstance(caller, Caller):
                return caller
            try:
                require(caller.principal, scope)
            except Forbidden as exc:
                return _html(views.refused(str(exc), caller.principal.sub), 403)
            return await fn(request, caller)

        return endpoint

    return wrap


def action(
    scope: Scope, what: str
) -> Callable[[Handler], Callable[[Request], Awaitable[Response]]]:
    """A state-changing form: authenticated, CSRF-checked for cookie sessions, scope-checked,
    and audited (refusals too) with who, what, when and from where."""

    def wrap(fn: Handler) -> Callable[[Request], Awaitable[Response]]:
        async def endpoint(request: Request) -> Response:
            console: Console = request.app.state.console
            caller = await _authenticated(request, page=False)
            if not isinstance(caller, Caller):
                return caller
            try:
                form = await read_form(request)
            except FormError as exc:
                return _html(views.refused(str(exc), caller.principal.sub), 400)
            request.state.form = form
            who, src = caller.principal.sub, _source(request)
            fields = {k: v for k, v in form.items() if k != CSRF_FIELD}

            async def record(outcome: str, extra: dict[str, Any] | None = None) -> None:
                await reads.audit(
                    console.redis,
                    who=who,
                    what=what,
                    source=src,
                    outcome=outcome,
                    detail={**fields, **(extra or {})},
                )

            if caller.via_cookie and not csrf_ok(caller.token, form.get(CSRF_FIELD)):
                await record("refused: bad CSRF token")
                return _html(views.refused("the form's CSRF token is missing or wrong", who), 403)
            try:
                require(caller.principal, scope)
            except Forbidden as exc:
                await record(f"refused: {exc}")
                return _html(views.refused(str(exc), who), 403)
            try:
                resp = await fn(request, caller)
            except (ControlError, OrderError) as exc:
                status = exc.status if isinstance(exc, ControlError) else 400
                await record(f"failed: {exc}")
                return _html(views.refused(f"{what} failed: {exc}", who), status)
            await record("done", getattr(request.state, "audit_extra", None))
            log.info("console: %s by %s from %s", what, who, src)
            return resp

        return endpoint

    return wrap


# --- login --------------------------------------------------------------------------------


async def login_page(request: Request) -> Response:
    nonce = login_nonce()
    resp = _html(views.login(nonce))
    resp.set_cookie(LOGIN_COOKIE, nonce, **_cookie(request, 600))  # type: ignore[arg-type]
    return resp


def _cookie(request: Request, max_age: int | None = None) -> dict[str, Any]:
    secure = request.url.scheme == "https"
    return cookie_attributes(secure) if max_age is None else cookie_attributes(secure, max_age)


async def login_submit(request: Request) -> Response:
    console: Console = request.app.state.console
    try:
        form = await read_form(request)
    except FormError as exc:
        return _html(views.login(login_nonce(), str(exc)), 400)
    nonce = str(form.get("nonce", ""))
    if not nonce or nonce != request.cookies.get(LOGIN_COOKIE):
        return _html(views.login(login_nonce(), "the login form expired: try again"), 403)
    token = str(form.get("token", "")).strip()
    try:
        principal = await console.verifier.verify(token)
    except AuthError as exc:
        return _html(views.login(nonce, f"token refused: {exc}"), 401)
    await reads.audit(
        console.redis,
        who=principal.sub,
        what="login",
        source=_source(request),
        outcome="done",
        detail={"scopes": sorted(principal.scopes)},
    )
    done = RedirectResponse("/", 303)
    done.set_cookie(SESSION_COOKIE, token, **_cookie(request))  # type: ignore[arg-type]
    done.delete_cookie(LOGIN_COOKIE, path="/")
    return done


@action(Scope.read, "logout")
async def logout(request: Request, caller: Caller) -> Response:
    resp = RedirectResponse("/login", 303)
    resp.delete_cookie(SESSION_COOKIE, path="/")
    return resp


# --- pages --------------------------------------------------------------------------------


async def _overview_data(console: Console) -> dict[str, Any]:
    return await reads.overview(
        console.redis, console.gateway, await console.session_list(), console.partitions
    )


@view(Scope.read)
async def overview(request: Request, caller: Caller) -> Response:
    data = await _overview_data(request.app.state.console)
    flash = request.query_params.get("flash", "")
    return _html(views.overview(data, caller.principal.sub, caller.csrf, flash))


@view(Scope.read)
async def overview_events(request: Request, caller: Caller) -> Response:
    """SSE: the overview's live part, re-rendered every ``SSE_INTERVAL`` seconds."""
    console: Console = request.app.state.console

    async def feed() -> AsyncIterator[str]:
        yield "retry: 3000\n\n"
        while not await request.is_disconnected():
            try:
                html = views.overview_live(await _overview_data(console))
                yield f"event: overview\ndata: {json.dumps({'html': html})}\n\n"
            except OrderError as exc:
                yield f"event: problem\ndata: {json.dumps({'message': str(exc)})}\n\n"
            await asyncio.sleep(SSE_INTERVAL)

    return StreamingResponse(
        feed(),
        media_type="text/event-stream",
        headers={"Cache-Control": "no-store", "X-Accel-Buffering": "no"},
    )


@view(Scope.read)
async def orders(request: Request, caller: Caller) -> Response:
    console: Console = request.app.state.console
    params = {k: v for k, v in request.query_params.items()}
    found, error = None, ""
    try:
        q = reads.parse_query(request.query_params)
        if not q.empty:
            found = await reads.search(console.redis, q, console.partitions)
    except reads.SearchError as exc:
        error = str(exc)
    status = 400 if error else 200
    return _html(views.orders(params, found, error, caller.principal.sub, caller.csrf), status)


@view(Scope.read)
async def order(request: Request, caller: Caller) -> Response:
    console: Console = request.app.state.console
    oid = request.path_params["order_id"]
    try:
        o = await console.gateway.get(oid, accounts=None)
        steps = await console.gateway.trail(oid, accounts=None)
    except OrderError as exc:
        return _html(views.refused(f"order {oid}: {exc}", caller.principal.sub), 404)
    return _html(views.order(o, steps, caller.principal.sub, caller.csrf))


async def _one_simulator(sim: Simulator, symbol: str, csrf: str | None) -> str:
    try:
        state, orders_ = await asyncio.gather(sim.get("/state"), sim.get("/orders"))
    except ControlError as exc:
        return views.simulator(sim.index, sim.url, {}, {}, {}, str(exc), csrf)
    symbols = [symbol] if symbol else []
    for o in reversed((orders_ or {}).get("orders", [])):
        sym = o.get("symbol")
        if sym and sym not in symbols and len(symbols) < 3:
            symbols.append(sym)
    books: dict[str, Any] = {}
    for sym in symbols:
        try:
            books[sym] = await sim.book(sym)
        except ControlError as exc:
            books[sym] = str(exc)
    return views.simulator(sim.index, sim.url, state, orders_, books, "", csrf)


@view(Scope.read)
async def simulators(request: Request, caller: Caller) -> Response:
    console: Console = request.app.state.console
    symbol = request.query_params.get("symbol", "").strip()
    sections = await asyncio.gather(
        *(_one_simulator(s, symbol, caller.csrf) for s in console.simulators)
    )
    flash = request.query_params.get("flash", "")
    return _html(views.simulators(list(sections), symbol, caller.principal.sub, caller.csrf, flash))


@view(Scope.read)
async def audit_page(request: Request, caller: Caller) -> Response:
    entries = await reads.audit_log(request.app.state.console.redis)
    return _html(views.audit(entries, caller.principal.sub, caller.csrf))


async def readyz(request: Request) -> Response:
    """200 when Redis answers (no authentication: says nothing but up or down)."""
    console: Console = request.app.state.console
    try:
        ok = await console.gateway.ping()
    except OrderError:
        ok = False
    return JSONResponse({"status": "ready" if ok else "redis unavailable"}, 200 if ok else 503)


# --- actions ------------------------------------------------------------------------------


def _halt_args(form: Any) -> tuple[Any, str | None]:
    scope = str(form.get("scope", "")).strip()
    if scope not in ("all", "venue", "account"):
        raise ControlError(400, "scope: all, venue or account")
    target = str(form.get("target", "")).strip() or None
    return scope, None if scope == "all" else target


@action(Scope.halt, "halt")
async def halt(request: Request, caller: Caller) -> Response:
    console: Console = request.app.state.console
    form = request.state.form
    scope, target = _halt_args(form)
    canceled = await console.gateway.halt(
        scope,
        target,
        cancel_open=bool(form.get("cancel_open")),
        process=f"console:{caller.principal.sub}",
        reason=str(form.get("reason", ""))[:200],
    )
    request.state.audit_extra = {"cancels_requested": canceled}
    what = f"halted {scope}{':' + target if target else ''}; {canceled} cancels requested"
    return RedirectResponse(views.flash_url("/", what), 303)


@action(Scope.halt, "resume")
async def resume(request: Request, caller: Caller) -> Response:
    console: Console = request.app.state.console
    scope, target = _halt_args(request.state.form)
    await console.gateway.resume(scope, target)
    return RedirectResponse(views.flash_url("/", f"resumed {scope}{':' + (target or '')}"), 303)


def _simulator(console: Console, form: Any) -> Simulator:
    try:
        return console.simulators[int(str(form.get("simulator", "0")))]
    except (ValueError, IndexError):
        raise ControlError(400, "simulator: not one this console was started with") from None


def _sim_action(path: str, body_of: Callable[[Any], dict[str, Any]]) -> Handler:
    async def handler(request: Request, caller: Caller) -> Response:
        form = request.state.form
        sim = _simulator(request.app.state.console, form)
        body = body_of(form)
        answer = await sim.post(path, body)
        request.state.audit_extra = {"simulator": sim.url, "sent": body}
        text = f"{path.strip('/')}: {json.dumps(body)} -> {json.dumps(answer)[:300]}"
        return RedirectResponse(views.flash_url("/simulators", text), 303)

    return handler


sim_fault = action(Scope.sim, "simulator fault")(_sim_action("/faults", fault_body))
sim_phase = action(Scope.sim, "simulator phase")(_sim_action("/phase", phase_body))
sim_kill = action(Scope.sim, "simulator kill switch")(_sim_action("/kill-switch", switch_body))
sim_cod = action(Scope.sim, "simulator cancel on disconnect")(
    _sim_action("/cancel-on-disconnect", switch_body)
)


class SecurityHeaders:
    """ASGI middleware: CSP (scripts only from /static), no sniffing, no referrer (plain ASGI so
    the SSE stream passes through unbuffered)."""

    HEADERS = [
        (b"content-security-policy", CSP.encode()),
        (b"x-content-type-options", b"nosniff"),
        (b"referrer-policy", b"no-referrer"),
        (b"x-frame-options", b"DENY"),
    ]

    def __init__(self, app: Any) -> None:
        self.app = app

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def send_with_headers(message: Any) -> None:
            if message["type"] == "http.response.start":
                message = {**message, "headers": [*message.get("headers", []), *self.HEADERS]}
            await send(message)

        await self.app(scope, receive, send_with_headers)


def build_app(console: Console) -> Starlette:
    app = Starlette(
        routes=[
            Route("/", overview),
            Route("/readyz", readyz),
            Route("/favicon.ico", lambda request: Response(status_code=204)),
            Route("/overview/events", overview_events),
            Route("/login", login_page, methods=["GET"]),
            Route("/login", login_submit, methods=["POST"]),
            Route("/logout", logout, methods=["POST"]),
            Route("/orders", orders),
            Route("/orders/{order_id}", order),
            Route("/simulators", simulators),
            Route("/simulators/faults", sim_fault, methods=["POST"]),
            Route("/simulators/phase", sim_phase, methods=["POST"]),
            Route("/simulators/kill-switch", sim_kill, methods=["POST"]),
            Route("/simulators/cancel-on-disconnect", sim_cod, methods=["POST"]),
            Route("/halt", halt, methods=["POST"]),
            Route("/resume", resume, methods=["POST"]),
            Route("/audit", audit_page),
            Mount("/static", StaticFiles(directory=STATIC), name="static"),
        ],
        middleware=[Middleware(SecurityHeaders)],
    )
    app.state.console = console
    return app
