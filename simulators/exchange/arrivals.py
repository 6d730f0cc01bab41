"""Exchange-side safety per FIX session: kill switch, hard limits, injected rejects; and the record
of every order message received (what ``GET /orders`` shows).

Pure and clock-free (``now`` is passed in, epoch seconds). Hard limits are off unless configured,
so a load test is not refused by default (issue 3, item 4).
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass, field
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

from .model import OrdRejReason, RejectRule


@dataclass(frozen=True, slots=True)
class Refusal:
    """Why the session guard refused an order: OrdRejReason(103) and the rule for Text(58)."""

    reason: OrdRejReason
    rule: RejectRule
    detail: str

    @property
    def text(self) -> str:
        return f"{self.rule.value}: {self.detail}"


@dataclass
class SessionGuard:
    """The checks a session's new orders pass before they reach the matching engine."""

    max_order_value: Decimal | None = None
    max_value_per_second: Decimal | None = None
    kill_switch: bool = False
    reject_next: int = 0
    refused: int = 0
    _window: deque[tuple[float, Decimal]] = field(default_factory=deque, repr=False)
    _window_sum: Decimal = Decimal(0)

    def check(self, value: Decimal | None, now: float) -> Refusal | None:
        """``None`` to let an order of ``value`` yen through (and count it), else the refusal.

        Order of checks: kill switch, an injected reject, value per order, value per second.
        ``value`` is None when it cannot be known (unknown symbol): the engine will refuse it.
        """
        refusal = self._check(value, now)
        if refusal is not None:
            self.refused += 1
        return refusal

    def _check(self, value: Decimal | None, now: float) -> Refusal | None:
        if self.kill_switch:
            return Refusal(
                OrdRejReason.BROKER_OPTION,
                RejectRule.KILL_SWITCH,
                "the session's kill switch is on",
            )
        if self.reject_next > 0:
            self.reject_next -= 1
            return Refusal(
                OrdRejReason.BROKER_OPTION,
                RejectRule.INJECTED,
                "fault reject_next_orders",
            )
        if value is None:
            return None
        if self.max_order_value is not None and value > self.max_order_value:
            return Refusal(
                OrdRejReason.ORDER_EXCEEDS_LIMIT,
                RejectRule.HARD_LIMIT_EXCEEDED,
                f"order value {value} exceeds max_order_value {self.max_order_value}",
            )
        if self.max_value_per_second is not None:
            window = self._window
            while window and window[0][0] <= now - 1.0:
                self._window_sum -= window.popleft()[1]
            if self._window_sum + value > self.max_value_per_second:
                return Refusal(
                    OrdRejReason.ORDER_EXCEEDS_LIMIT,
                    RejectRule.HARD_LIMIT_EXCEEDED,
                    f"value in the last second {self._window_sum + value} exceeds "
                    f"max_value_per_second {self.max_value_per_second}",
                )
            window.append((now, value))
            self._window_sum += value
        return None

    def reset(self) -> None:
        self.kill_switch = False
        self.reject_next = 0
        self._window.clear()
        self._window_sum = Decimal(0)


@dataclass(slots=True)
class Arrival:
    """Every arrival of one ClOrdID on one session."""

    session: str
    cl_ord_id: str
    msg_type: str
    first_seen: float
    received: int = 0
    poss_dup_received: int = 0


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
        "status": None,
        "cum_qty": 0,
    }
    if order:
        row.update(order)
    return row
