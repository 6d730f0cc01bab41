"""The simulators' control APIs, over HTTP only (the console never imports ``simulators``).

The console calls only the URLs it was started with (``--simulator``): a form names a simulator
by its index in that list, never by URL, so the console cannot be turned into a proxy.
"""

from __future__ import annotations

import asyncio
import json
import urllib.error
import urllib.parse
import urllib.request
from dataclasses import dataclass
from typing import Any

#: every fault of the control API (README "Injecting faults") and its integer parameters
FAULTS: dict[str, tuple[str, ...]] = {
    "disconnect": (),
    "refuse_logons": ("seconds",),
    "delay_outbound": ("ms",),
    "drop_outbound": ("count",),
    "skip_seq": ("count",),
    "garble_next": ("count",),
    "duplicate_exec_report": (),
    "reject_next_orders": ("count",),
    "stop_heartbeats": (),
    "clear": (),
}
FAULT_PARAMS = ("count", "seconds", "ms")
PHASES = ("clock", "closed", "pre_open", "continuous", "break", "closing_auction")
TIMEOUT = 3.0


class ControlError(Exception):
    """The simulator refused (its status and message) or could not be reached (status 502)."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status


@dataclass(frozen=True)
class Simulator:
    index: int
    url: str  # the control API's base URL

    def _call(self, method: str, path: str, body: dict[str, Any] | None) -> Any:
        data = None if body is None else json.dumps(body).encode()
        req = urllib.request.Request(  # noqa: S310 - a configured http(s) URL
            self.url.rstrip("/") + path,
            data=data,
            method=method,
            headers={"Content-Type": "application/json"} if data else {},
        )
        try:
            with urllib.request.urlopen(req, timeout=TIMEOUT) as resp:  # noqa: S310
                return json.loads(resp.read() or b"null")
        except urllib.error.HTTPError as exc:
            try:
                message = json.loads(exc.read()).get("message", str(exc))
            except (ValueError, AttributeError):
                message = str(exc)
            raise ControlError(exc.code, str(message)) from None
        except (OSError, ValueError) as exc:
            raise ControlError(502, f"simulator {self.url} unreachable: {exc}") from None

    async def get(self, path: str) -> Any:
        return await asyncio.to_thread(self._call, "GET", path, None)

    async def post(self, path: str, body: dict[str, Any]) -> Any:
        return await asyncio.to_thread(self._call, "POST", path, body)

    async def book(self, symbol: str) -> Any:
        return await self.get("/books/" + urllib.parse.quote(symbol, safe=""))


def fault_body(form: Any) -> dict[str, Any]:
    """The ``POST /faults`` body from the console's form (field names as the control API's):
    ``fault``, ``session`` (optional) and the fault's integer parameters. Empty fields are left
    out; anything not an integer is refused here with the field's name."""
    fault = str(form.get("fault", "")).strip()
    if fault not in FAULTS:
        raise ControlError(400, f"fault: one of {', '.join(FAULTS)}")
    body: dict[str, Any] = {"fault": fault}
    session = str(form.get("session", "")).strip()
    if session:
        body["session"] = session
    for name in FAULTS[fault]:
        text = str(form.get(name, "")).strip()
        if not text:
            continue
        try:
            body[name] = int(text)
        except ValueError:
            raise ControlError(400, f"{name}: an integer") from None
    return body


def phase_body(form: Any) -> dict[str, Any]:
    phase = str(form.get("phase", "")).strip()
    if phase not in PHASES:
        raise ControlError(400, f"phase: one of {', '.join(PHASES)}")
    return {"phase": None if phase == "clock" else phase}


def switch_body(form: Any) -> dict[str, Any]:
    """``{"active": bool, "session": optional}``: the kill switch and cancel-on-disconnect."""
    active = str(form.get("active", "")).strip().lower()
    if active not in ("true", "false"):
        raise ControlError(400, "active: true or false")
    body: dict[str, Any] = {"active": active == "true"}
    session = str(form.get("session", "")).strip()
    if session:
        body["session"] = session
    return body
