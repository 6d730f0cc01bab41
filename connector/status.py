"""What the connector publishes about itself: its counters and the session's state, in the
session's status hash (``ordergate status`` reads it), once a second and on every state change."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from connector.common import utc_iso_now
from connector.lease import Lease
from fixengine import FixSession
from gateway import keys
from gateway.scripts import UNAVAILABLE


@dataclass
class Stats:
    """Counters the connector publishes (``ordergate status``) and tests read."""

    sent: int = 0
    acked_already_sent: int = 0
    halted_rejected: int = 0
    poison: int = 0
    reports: int = 0
    applied: int = 0
    duplicates: int = 0
    refused: int = 0
    ignored: int = 0
    status_requests: int = 0
    terms: int = 0
    logons: int = 0
    outcomes: dict[str, int] = field(default_factory=dict)

    def as_dict(self) -> dict[str, Any]:
        d = {k: v for k, v in self.__dict__.items() if k != "outcomes"}
        d.update({f"outcome_{k}": v for k, v in self.outcomes.items()})
        return d


def status_fields(
    role: str, holder: str, token: int, stats: Stats, session: FixSession | None, now: str
) -> dict[str, str]:
    """The status hash's fields (pure): role, lease, counters and, in a term, the session's
    state and sequence numbers."""
    data: dict[str, Any] = {
        "role": role,
        "holder": holder,
        "token": token,
        "updated_at": now,
        **stats.as_dict(),
    }
    if session is not None:
        data.update(
            state=session.state.value,
            next_out=session.next_sender_seq,
            next_in=session.next_target_seq,
            last_disconnect=session.last_disconnect_reason or "",
        )
    return {k: str(v) for k, v in data.items()}


class StatusPublisher:
    """Writes the status hash; ``role`` says, when asked, what this connector is now."""

    def __init__(
        self, redis: Any, session_id: str, lease: Lease, stats: Stats, role: Callable[[], str]
    ) -> None:
        self.redis = redis
        self.session_id = session_id
        self.lease = lease
        self.stats = stats
        self.role = role

    async def publish(self, session: FixSession | None = None) -> None:
        """Written by a leader (or whoever holds a session); a standby writes nothing, so it
        never overwrites the leader's figures."""
        role = self.role()
        if role == "leader" or session is not None:
            fields = status_fields(
                role, self.lease.holder, self.lease.token, self.stats, session, utc_iso_now()
            )
            await self.redis.hset(keys.fix_status(self.session_id), mapping=fields)

    async def publish_quietly(self, session: FixSession) -> None:
        with contextlib.suppress(Exception):
            await self.publish(session)

    async def loop(self, session: FixSession) -> None:
        """Once a second while the term lasts."""
        while True:
            with contextlib.suppress(*UNAVAILABLE):
                await self.publish(session)
            await asyncio.sleep(1.0)
