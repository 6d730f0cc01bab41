"""One home for every Redis key name and the partition function.

Nothing else in the code base spells a key. Orders are partitioned by account:
``p = partition_of(account)`` and every key of that account (order records, command
streams, idempotency keys, events, trails, risk counters) carries the hash tag ``{p}`` so
one Lua script can change them atomically on a single Redis and on Redis Cluster alike.
A FIX session's state carries its own tag ``{<session>}``.
"""

from __future__ import annotations

import zlib

DEFAULT_PARTITIONS = 16
PREFIX = "og"


def partition_of(account: str, partitions: int = DEFAULT_PARTITIONS) -> int:
    """Stable partition of an account (CRC-32 of its UTF-8 bytes, mod ``partitions``).

    CRC-32 rather than ``hash()``: it must be the same in every process and every run.
    """
    if partitions <= 0:
        raise ValueError("partitions must be positive")
    return zlib.crc32(account.encode("utf-8")) % partitions


def tag(p: int) -> str:
    """The hash tag of partition ``p``."""
    return f"{PREFIX}:{{{p}}}"


def cmd_stream(p: int, venue: str) -> str:
    """Commands (new / cancel / replace) for one venue, read by that venue's connector."""
    return f"{tag(p)}:cmd:{venue}"


def order(p: int, order_id: str) -> str:
    """Hash: the order record."""
    return f"{tag(p)}:order:{order_id}"


def idempotency(p: int, account: str, client_order_id: str) -> str:
    """String: the order id that ``client_order_id`` of ``account`` created."""
    return f"{tag(p)}:idem:{account}:{client_order_id}"


def account(p: int, account_id: str) -> str:
    """Hash: risk counters of an account (open orders, daily buy notional, rate bucket)."""
    return f"{tag(p)}:acct:{account_id}"


def account_orders(p: int, account_id: str) -> str:
    """Sorted set (all scores 0, ordered by id = by creation time): the account's order ids,
    for listing and cursor paging with ZRANGE BYLEX."""
    return f"{tag(p)}:acctorders:{account_id}"


def account_open(p: int, account_id: str) -> str:
    """Sorted set (all scores 0, ordered by id = by time): the account's open order ids."""
    return f"{tag(p)}:acctopen:{account_id}"


def open_orders(p: int) -> str:
    """Sorted set (all scores 0, ordered by id): open order ids of the partition (kill switch)."""
    return f"{tag(p)}:open"


def events(p: int) -> str:
    """Stream: order updates of the partition, for push (SSE / WebSocket) and the archive."""
    return f"{tag(p)}:events"


def trail(p: int, order_id: str) -> str:
    """List: the order's end-to-end audit trail, one JSON object per step
    (``at``, ``step``, ``component``, ``process``, ``detail``), in the order appended."""
    return f"{tag(p)}:trail:{order_id}"


def execs(p: int, order_id: str) -> str:
    """Set: ExecIDs already applied to the order (idempotent report application)."""
    return f"{tag(p)}:execs:{order_id}"


def clordid(p: int, cl_ord_id: str) -> str:
    """String: order id of a ClOrdID the connector sent (cancel / replace ids map back)."""
    return f"{tag(p)}:clordid:{cl_ord_id}"


def halt(p: int) -> str:
    """Hash: halts visible to the partition's submit script (account / venue / all)."""
    return f"{tag(p)}:halt"


# --- FIX session state: its own hash tag per session -------------------------------------


#: our side's CompID unless configured otherwise (connector, ``ordergate up``, the console's view)
OUR_COMP_ID = "ORDERGATE"


def session_id(sender_comp_id: str, target_comp_id: str, begin_string: str = "FIX.4.4") -> str:
    """Canonical session name, as QuickFIX writes it: ``FIX.4.4:SENDER->TARGET``."""
    return f"{begin_string}:{sender_comp_id}->{target_comp_id}"


def fix_tag(session: str) -> str:
    return f"{PREFIX}:fix:{{{session}}}"


def fix_state(session: str) -> str:
    """Hash: next outbound / inbound sequence numbers, creation time, lease token."""
    return f"{fix_tag(session)}:state"


def fix_out(session: str) -> str:
    """Hash: raw outbound messages by sequence number, for resend."""
    return f"{fix_tag(session)}:out"


def fix_sent(session: str) -> str:
    """Hash: ClOrdIDs already sent, to the outbound sequence number that carried them."""
    return f"{fix_tag(session)}:sent"


def fix_lease(session: str) -> str:
    """String: the leader lease (holder and fencing token)."""
    return f"{fix_tag(session)}:lease"


def fix_fence(session: str) -> str:
    """String: monotonically increasing fencing token counter."""
    return f"{fix_tag(session)}:fence"


def fix_status(session: str) -> str:
    """Hash: what the connector leading the session last published (state, role, counters)."""
    return f"{fix_tag(session)}:status"


def fix_admin(session: str) -> str:
    """Stream: operator commands for the session's leader (logout, reset, resend)."""
    return f"{fix_tag(session)}:admin"


def fix_audit(session: str) -> str:
    """List: the session's audit trail (admin commands and what the leader did with them)."""
    return f"{fix_tag(session)}:audit"


# --- operations console -------------------------------------------------------------------


def console_audit() -> str:
    """Stream: every action taken in the operations console (who, what, when, from where)."""
    return f"{PREFIX}:console:audit"
