"""Operator commands (``ordergate status --logout / --reset-seq / --resend``) from the session's
admin stream, each audited in the session's audit list. ``decide`` (pure) says what a command
asks for; ``Admin`` does it to the live session."""

from __future__ import annotations

import contextlib
import json
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from connector.common import text as _s
from connector.common import utc_iso_now
from fixengine import FixSession, NotLoggedOn
from gateway import keys


@dataclass(frozen=True, slots=True)
class AdminAction:
    """What one operator command does, in this order: reset the sequence numbers at the next
    Logon, ask for a replay, write the audit ``step`` (with ``result`` when refused), log out
    with ``logout_text``, stop the connector."""

    step: str
    reset: bool = False
    replay: tuple[int, int] | None = None
    logout_text: str | None = None
    stop: bool = False
    result: str | None = None


def decide(cmd: dict[str, str]) -> AdminAction:
    action = cmd.get("action", "")
    if action == "logout":
        # the connector logs out and stops (a standby, if any, takes the session over)
        return AdminAction(
            "admin_logout", logout_text=cmd.get("text") or "operator logout", stop=True
        )
    if action == "reset":
        # the FIX way: the next Logon carries ResetSeqNumFlag(141)=Y, both sides restart at 1
        return AdminAction(
            "admin_reset_sequence", reset=True, logout_text="operator sequence reset"
        )
    if action == "resend":
        # ResendRequest for FROM..TO; the PossDup reports that come back are delivered again
        # (the engine's replay window) and applied idempotently (ExecID dedupe)
        try:
            first, last = int(cmd.get("from", "")), int(cmd.get("to", ""))
        except ValueError as exc:
            return AdminAction("admin_refused", result=f"refused: {exc}")
        return AdminAction("admin_resend_range", replay=(first, last))
    return AdminAction("admin_refused", result=f"unknown action {action!r}")


class Admin:
    def __init__(self, redis: Any, session_id: str, process: str, stop: Callable[[], None]):
        self.redis = redis
        self.session_id = session_id
        self.process = process
        self._stop = stop

    async def loop(self, session: FixSession) -> None:
        """Commands written from now on (older ones were for an earlier term)."""
        stream = keys.fix_admin(self.session_id)
        newest = await self.redis.xrevrange(stream, count=1)
        last = _s(newest[0][0]) if newest else "0-0"
        while True:
            resp = await self.redis.xread({stream: last}, count=10, block=500)
            for _, entries in resp or []:
                for eid, fields in entries:
                    last = _s(eid)
                    cmd = {_s(k): _s(v) for k, v in fields.items()}
                    await self.handle(session, cmd)

    async def handle(self, session: FixSession, cmd: dict[str, str]) -> None:
        act = decide(cmd)
        detail: dict[str, Any] = {"request": cmd}
        if act.reset:
            session.reset_at_next_logon()
        if act.replay is not None:
            try:
                session.request_replay(*act.replay)
            except (ValueError, NotLoggedOn) as exc:
                detail["result"] = f"refused: {exc or exc.__class__.__name__}"
                await self.audit("admin_refused", detail)
                return
        if act.result is not None:
            detail["result"] = act.result
        await self.audit(act.step, detail)
        if act.logout_text is not None:
            with contextlib.suppress(TimeoutError):
                await session.logout(act.logout_text, timeout=5)
        if act.stop:
            self._stop()

    async def audit(self, what: str, detail: dict[str, Any]) -> None:
        await self.redis.rpush(
            keys.fix_audit(self.session_id),
            json.dumps(
                {"at": utc_iso_now(), "step": what, "process": self.process, "detail": detail}
            ),
        )
