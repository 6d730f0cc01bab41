"""The record of every order message received, by session and ClOrdID (what ``GET /orders`` shows).

``received`` counts every arrival, PossDup copies included, and ``poss_dup_received`` the ones
that carried PossDupFlag: this is how tests prove that every order arrived exactly once. Pure;
``now`` is passed in (epoch seconds). The kill switch, hard limits and injected rejects live in
the matching engine (``MatchingEngine.set_kill_switch`` / ``SessionRules`` / ``inject_rejects``).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any


@dataclass(slots=True)
class Arrival:
    """Every arrival of one ClOrdID on one session."""

    session: str
    cl_ord_id: str
    msg_type: str
    first_seen: float
    received: int = 0
    poss_dup_received: int = 0
    rejected: bool = False  # the last answer to it was a reject (ExecType 8 or a 9)


class Arrivals:
    """Order messages received (D, F, G) by session and ClOrdID, PossDup copies included."""

    def __init__(self) -> None:
        self._by_key: dict[tuple[str, str], Arrival] = {}

    def record(
        self, session: str, cl_ord_id: str, msg_type: str, poss_dup: bool, now: float
    ) -> Arrival:
        key = (session, cl_ord_id)
        arrival = self._by_key.get(key)
        if arrival is None:
            arrival = self._by_key[key] = Arrival(session, cl_ord_id, msg_type, now)
        arrival.received += 1
        if poss_dup:
            arrival.poss_dup_received += 1
        return arrival

    def get(self, session: str, cl_ord_id: str) -> Arrival | None:
        return self._by_key.get((session, cl_ord_id))

    def __iter__(self):  # type: ignore[no-untyped-def]
        return iter(self._by_key.values())

    def __len__(self) -> int:
        return len(self._by_key)

    def clear(self) -> None:
        self._by_key.clear()


def iso(ts: float) -> str:
    """Epoch seconds as an ISO-8601 UTC time with milliseconds, for JSON."""
    return datetime.fromtimestamp(ts, UTC).isoformat(timespec="milliseconds")


def arrival_json(a: Arrival, order: dict[str, Any] | None) -> dict[str, Any]:
    """One row of ``GET /orders``; ``order`` is the engine's view of the order, when it has one."""
    row: dict[str, Any] = {
        "cl_ord_id": a.cl_ord_id,
        "session": a.session,
        "msg_type": a.msg_type,
        "received": a.received,
        "poss_dup_received": a.poss_dup_received,
        "first_seen": iso(a.first_seen),
        "status": "rejected" if a.rejected else None,
        "cum_qty": 0,
    }
    if order:
        row.update(order)
    return row
