"""The simulator's control API: HTTP + JSON for operators and tests, on 127.0.0.1 by default.

A thin Starlette app over a :class:`ControlTarget` (the running simulator): each route parses its
input, calls one method, and shapes the answer. Bad input answers 400 with
``{"code": ..., "message": ...}`` and changes nothing; an unknown symbol or path answers 404.

    GET  /state            phase, clock, sessions (status, next seqs, counters), faults
    GET  /orders           every order message received, by ClOrdID
    GET  /books/{symbol}   base price, bid and ask levels (price, qty, count)
    POST /faults           {"fault": "drop_outbound", "count": 2, "session": "..."}
    POST /kill-switch      {"session": "...", "active": true}
    POST /phase            {"phase": "continuous"}  (null: follow the clock again)
    POST /reset            empty books, forget orders, lift faults and kill switches
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import socket
from collections.abc import Iterator
from typing import Any, Protocol

import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from .faults import Fault, FaultError, parse_fault

log = logging.getLogger("ordergate.simulator.control")


class ControlError(ValueError):
    """An operator request that cannot be carried out (HTTP 400, or ``status``)."""

    def __init__(self, code: str, message: str, status: int = 400) -> None:
        super().__init__(message)
        self.code = code
        self.status = status


class ControlTarget(Protocol):
    """What the control API needs from the running simulator."""

    def state(self) -> dict[str, Any]: ...
    def orders(self) -> list[dict[str, Any]]: ...
    def book(self, symbol: str) -> dict[str, Any]: ...  # ControlError(404) if unknown
    async def inject(self, fault: Fault) -> dict[str, Any]: ...
    async def kill_switch(self, session: str | None, active: bool) -> dict[str, Any]: ...
    async def cancel_on_disconnect(self, session: str | None, active: bool) -> dict[str, Any]: ...
    async def set_phase(self, phase: str | None) -> dict[str, Any]: ...
    async def reset(self) -> dict[str, Any]: ...


def _error(code: str, message: str, status: int = 400) -> JSONResponse:
    return JSONResponse({"code": code, "message": message}, status_code=status)


async def _json_body(request: Request) -> dict[str, Any]:
    raw = await request.body()
    if not raw.strip():
        return {}
    try:
        body = json.loads(raw)
    except ValueError as exc:
        raise ControlError("bad_json", f"body is not JSON: {exc}") from None
    if not isinstance(body, dict):
        raise ControlError("bad_json", "body must be a JSON object")
    return body


def _only(body: dict[str, Any], allowed: set[str]) -> None:
    unknown = sorted(set(body) - allowed)
    if unknown:
        raise ControlError(
            "unknown_parameter",
            f"unknown parameter {unknown[0]!r} (allowed: {', '.join(sorted(allowed)) or 'none'})",
        )


def _session_switch(body: dict[str, Any]) -> tuple[str | None, bool]:
    """``{"session": optional, "active": bool (default true)}``, checked."""
    _only(body, {"session", "active"})
    session = body.get("session")
    active = body.get("active", True)
    if session is not None and not isinstance(session, str):
        raise ControlError("bad_parameter", '"session" must be a string')
    if not isinstance(active, bool):
        raise ControlError("bad_parameter", '"active" must be true or false')
    return session, active


def build_app(target: ControlTarget) -> Starlette:
    """The Starlette application serving ``target``."""

    async def state(request: Request) -> Response:
        return JSONResponse(target.state())

    async def orders(request: Request) -> Response:
        return JSONResponse({"orders": target.orders()})

    async def book(request: Request) -> Response:
        return JSONResponse(target.book(request.path_params["symbol"]))

    async def faults(request: Request) -> Response:
        try:
            fault = parse_fault(await _json_body(request))
        except FaultError as exc:
            return _error("bad_fault", str(exc))
        return JSONResponse(await target.inject(fault))

    async def kill_switch(request: Request) -> Response:
        session, active = _session_switch(await _json_body(request))
        return JSONResponse(await target.kill_switch(session, active))

    async def cancel_on_disconnect(request: Request) -> Response:
        session, active = _session_switch(await _json_body(request))
        return JSONResponse(await target.cancel_on_disconnect(session, active))

    async def phase(request: Request) -> Response:
        body = await _json_body(request)
        _only(body, {"phase"})
        if "phase" not in body:
            raise ControlError("bad_parameter", '"phase" is required (a phase name, or null)')
        value = body["phase"]
        if value is not None and not isinstance(value, str):
            raise ControlError("bad_parameter", '"phase" must be a string or null')
        return JSONResponse(await target.set_phase(value))

    async def reset(request: Request) -> Response:
        _only(await _json_body(request), set())
        return JSONResponse(await target.reset())

    async def on_control_error(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, ControlError)
        return _error(exc.code, str(exc), exc.status)

    async def on_http_error(request: Request, exc: Exception) -> Response:
        status = int(getattr(exc, "status_code", 500))
        code = {404: "not_found", 405: "method_not_allowed"}.get(status, "http_error")
        return _error(code, str(getattr(exc, "detail", "")) or code, status)

    async def on_crash(request: Request, exc: Exception) -> Response:
        log.exception("control API: %s %s failed", request.method, request.url.path)
        return _error("internal", f"{type(exc).__name__}: {exc}", 500)

    from starlette.exceptions import HTTPException

    return Starlette(
        routes=[
            Route("/state", state, methods=["GET"]),
            Route("/orders", orders, methods=["GET"]),
            Route("/books/{symbol}", book, methods=["GET"]),
            Route("/faults", faults, methods=["POST"]),
            Route("/kill-switch", kill_switch, methods=["POST"]),
            Route("/cancel-on-disconnect", cancel_on_disconnect, methods=["POST"]),
            Route("/phase", phase, methods=["POST"]),
            Route("/reset", reset, methods=["POST"]),
        ],
        exception_handlers={
            ControlError: on_control_error,
            HTTPException: on_http_error,
            Exception: on_crash,
        },
    )


class _EmbeddedServer(uvicorn.Server):
    """uvicorn inside our own event loop: the simulator owns the signal handlers, not uvicorn."""

    @contextlib.contextmanager
    def capture_signals(self) -> Iterator[None]:
        yield


class ControlServer:
    """Serve the control API on ``host:port`` inside the running event loop."""

    def __init__(self, target: ControlTarget, host: str = "127.0.0.1", port: int = 9879) -> None:
        config = uvicorn.Config(
            build_app(target),
            host=host,
            port=port,
            loop="none",
            lifespan="off",
            log_level="warning",
            access_log=False,
        )
        self._server = _EmbeddedServer(config)
        self._task: asyncio.Task[None] | None = None
        self.host = host
        self.port = port

    async def start(self) -> None:
        """Bind (OSError if the port is taken), then serve in the background."""
        sock = socket.socket(socket.AF_INET6 if ":" in self.host else socket.AF_INET)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind((self.host, self.port))
        except OSError:
            sock.close()
            raise
        self.port = sock.getsockname()[1]
        self._task = asyncio.create_task(self._server.serve(sockets=[sock]))
        while not self._server.started:
            if self._task.done():
                self._task.result()  # raises why it could not start (port in use ...)
                raise RuntimeError("control API stopped during start-up")
            await asyncio.sleep(0.01)

    async def stop(self) -> None:
        self._server.should_exit = True
        if self._task is not None:
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
