"""The market-open rehearsal's hand on the venue: the exchange simulator's control API
(``POST /phase``, ``GET /state``; README "Control API"). Blocking calls, made by the
coordinator between the run's phases, never inside a generator's event loop."""

from __future__ import annotations

import json
import urllib.error
import urllib.request
from typing import Any

TIMEOUT = 10.0


class SimulatorError(Exception):
    """The simulator could not be reached or refused the call."""


def _call(url: str, method: str, path: str, body: dict[str, Any] | None = None) -> Any:
    data = None if body is None else json.dumps(body).encode()
    req = urllib.request.Request(
        url.rstrip("/") + path,
        data=data,
        method=method,
        headers={"Content-Type": "application/json"},
    )
    try:
        with urllib.request.urlopen(req, timeout=TIMEOUT) as resp:  # noqa: S310 - operator's URL
            return json.loads(resp.read() or b"null")
    except urllib.error.HTTPError as exc:
        detail = exc.read()[:200].decode(errors="replace")
        raise SimulatorError(f"{url}{path}: {exc.code} {detail}") from None
    except (OSError, ValueError) as exc:
        raise SimulatorError(f"cannot reach the simulator at {url}: {exc}") from None


def state(url: str) -> dict[str, Any]:
    out = _call(url, "GET", "/state")
    if not isinstance(out, dict) or "phase" not in out:
        raise SimulatorError(f"{url}/state: not an exchange simulator's answer")
    return out


def pin_phase(url: str, phase: str | None) -> dict[str, Any]:
    """Pin ``phase`` (``pre_open``, ``continuous``, ...; None: follow the clock again)."""
    out: dict[str, Any] = _call(url, "POST", "/phase", {"phase": phase})
    return out


def restore(url: str, before: dict[str, Any]) -> None:
    """Put the phase back as ``state()`` found it before the rehearsal."""
    pin_phase(url, before["phase"] if before.get("phase_pinned") else None)
