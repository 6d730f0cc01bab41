"""The order state machine, as one table ``{(status, event): next_status}``.

Reading the table is reading the lifecycle. A pair not in the table is refused with
``InvalidTransition``. The Lua scripts enforce the same table: ``lua_table()`` renders it (and
``lua_terminal()`` the terminal statuses of ``model.TERMINAL``) and the script loader splices
them into every script that changes status (see ``gateway/scripts.py``); tests check they agree.

Two rules besides the table, applied identically in Python and Lua:

* ``new`` is reported as ``partially_filled`` when something is already filled (an order whose
  cancel or replace was refused goes back to working, and "working" depends on the fills);
* fills while a cancel or replace is pending keep the pending status (the venue has not answered
  the request yet); a fill that completes the order makes it ``filled`` regardless.
"""

from __future__ import annotations

from enum import StrEnum

from gateway.model import TERMINAL
from gateway.model import OrderStatus as S


class OrderEvent(StrEnum):
    cancel_requested = "cancel_requested"  # the API accepted a cancel request
    replace_requested = "replace_requested"  # the API accepted a replace request
    accepted = "accepted"  # venue acknowledged the order (ExecType=0 New)
    rejected = "rejected"  # venue refused the order (ExecType=8 Rejected)
    partial_fill = "partial_fill"  # a fill that leaves quantity open
    fill = "fill"  # a fill that completes the order
    canceled = "canceled"  # venue canceled (requested, or on its own: cancel-on-disconnect)
    replaced = "replaced"  # venue confirmed the replace (ExecType=5)
    cancel_rejected = "cancel_rejected"  # OrderCancelReject for a cancel
    replace_rejected = "replace_rejected"  # OrderCancelReject for a replace
    expired = "expired"  # IOC / FOK remainder, end of day (ExecType=C)


E = OrderEvent

_WORKING = (S.new, S.partially_filled, S.replaced)

TABLE: dict[tuple[S, E], S] = {
    # the venue answers a new order
    (S.pending_new, E.accepted): S.new,
    (S.pending_new, E.rejected): S.rejected,
    (S.pending_new, E.partial_fill): S.partially_filled,  # venues may skip the ack
    (S.pending_new, E.fill): S.filled,
    (S.pending_new, E.canceled): S.canceled,
    (S.pending_new, E.expired): S.expired,
    (S.pending_new, E.cancel_requested): S.pending_cancel,  # held while the venue is closed
    # safe before the ack: the order and its replace go out on the same FIX session in stream
    # order, so the venue sees the D before the G (also for orders held while it is closed)
    (S.pending_new, E.replace_requested): S.pending_replace,
    # working orders
    **{(s, E.partial_fill): S.partially_filled for s in _WORKING},
    **{(s, E.fill): S.filled for s in _WORKING},
    **{(s, E.canceled): S.canceled for s in _WORKING},
    **{(s, E.expired): S.expired for s in _WORKING},
    **{(s, E.cancel_requested): S.pending_cancel for s in _WORKING},
    **{(s, E.replace_requested): S.pending_replace for s in _WORKING},
    # cancel in flight
    (S.pending_cancel, E.accepted): S.pending_cancel,  # ack of the order overtaken by the cancel
    (S.pending_cancel, E.partial_fill): S.pending_cancel,
    (S.pending_cancel, E.fill): S.filled,
    (S.pending_cancel, E.canceled): S.canceled,
    (S.pending_cancel, E.cancel_rejected): S.new,  # back to working (see the module doc)
    (S.pending_cancel, E.rejected): S.rejected,
    (S.pending_cancel, E.expired): S.expired,
    # replace in flight
    (S.pending_replace, E.accepted): S.pending_replace,  # ack of the order overtaken by the G
    (S.pending_replace, E.rejected): S.rejected,  # the original order refused
    (S.pending_replace, E.partial_fill): S.pending_replace,
    (S.pending_replace, E.fill): S.filled,
    (S.pending_replace, E.replaced): S.replaced,
    (S.pending_replace, E.replace_rejected): S.new,  # back to working (see the module doc)
    (S.pending_replace, E.canceled): S.canceled,
    (S.pending_replace, E.expired): S.expired,
}


class InvalidTransition(Exception):
    def __init__(self, status: S, event: E) -> None:
        super().__init__(f"{event.value} is not allowed in status {status.value}")
        self.status = status
        self.event = event


def transition(status: S, event: E, cum_qty: int = 0) -> S:
    """The status after ``event`` in ``status`` (``cum_qty``: filled quantity after the event)."""
    try:
        nxt = TABLE[(status, event)]
    except KeyError:
        raise InvalidTransition(status, event) from None
    if nxt is S.new and cum_qty > 0:
        return S.partially_filled
    return nxt


def lua_table() -> str:
    """The table as a Lua expression ``{["status|event"] = "next", ...}``, sorted."""
    rows = sorted(f'["{s.value}|{e.value}"]="{n.value}"' for (s, e), n in TABLE.items())
    return "{" + ",".join(rows) + "}"


def lua_terminal() -> str:
    """``model.TERMINAL`` as a Lua set ``{canceled=true, ...}``, sorted."""
    return "{" + ",".join(f"{s.value}=true" for s in sorted(TERMINAL)) + "}"
