"""What the console reads from Redis, through ``gateway`` helpers and key names only.

Every read is bounded so a page costs the same with 100 or 100,000 orders: sessions and
streams by their count, the rate chart by a cap of events per partition, the order search by an
index (order id, idempotency key, the account's order set bounded by the time range).
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import msgpack

from gateway import keys
from gateway.ids import is_order_id, partition_of_order_id, time_prefix
from gateway.model import OrderStatus
from gateway.session_status import collect, open_order_count
from gateway.venues import phase_at, venue_codes

RATE_MINUTES = 10
RATE_CAP_PER_PARTITION = 1000  # events read per partition for the chart (the chart says when hit)
SEARCH_WINDOW = 1000  # order hashes read at most per search page
AUDIT_STREAM_MAXLEN = 100_000

_ROW_FIELDS = (
    "order_id",
    "account",
    "client_order_id",
    "symbol",
    "side",
    "quantity",
    "price",
    "venue",
    "status",
    "cum_qty",
    "created_at",
)


def _s(v: Any) -> str:
    return v.decode() if isinstance(v, bytes) else str(v)


# --- overview -----------------------------------------------------------------------------


async def sessions(client: Any, configured: list[tuple[str, str]], partitions: int) -> list[dict]:
    """Each configured (venue, session id)'s status as ``ordergate status`` collects it, without
    the per-order in-flight scan."""
    return [
        await collect(client, venue, session, partitions, scan_in_flight=False)
        for venue, session in configured
    ]


def phases(now: datetime) -> list[dict[str, str]]:
    """Market phase per venue at ``now`` (the venues' Tokyo clock)."""
    return [{"venue": v, "phase": phase_at(v, now).value} for v in venue_codes()]


@dataclass(frozen=True)
class Rates:
    """Orders submitted and rejected per minute, oldest minute first."""

    minutes: list[int]  # minute start, Unix ms
    submitted: list[int]
    rejected: list[int]
    capped: bool  # some partition had more events than were read: counts are lower bounds


async def rates(client: Any, partitions: int, now_ms: int, minutes: int = RATE_MINUTES) -> Rates:
    first = (now_ms // 60_000 - minutes + 1) * 60_000
    pipe = client.pipeline(transaction=False)
    for p in range(partitions):
        pipe.xrevrange(keys.events(p), "+", str(first), count=RATE_CAP_PER_PARTITION)
    sub = [0] * minutes
    rej = [0] * minutes
    capped = False
    for entries in await pipe.execute():
        capped |= len(entries) >= RATE_CAP_PER_PARTITION
        for entry_id, fields in entries:
            i = (int(_s(entry_id).split("-")[0]) - first) // 60_000
            if not 0 <= i < minutes:
                continue
            raw = fields.get(b"m", fields.get("m"))
            try:
                event = msgpack.unpackb(raw).get("event")
            except (ValueError, TypeError, AttributeError):
                continue
            if event == "submitted":
                sub[i] += 1
            elif event == "rejected":
                rej[i] += 1
    return Rates([first + i * 60_000 for i in range(minutes)], sub, rej, capped)


async def overview(
    client: Any, gateway: Any, configured: list[tuple[str, str]], partitions: int
) -> dict[str, Any]:
    now = datetime.now(UTC)
    return {
        "at": now,
        "sessions": await sessions(client, configured, partitions),
        "open_orders": await open_order_count(client, partitions),
        "halts": await gateway.halts(),
        "phases": phases(now),
        "rates": await rates(client, partitions, int(now.timestamp() * 1000)),
    }


async def present_sessions(client: Any, partitions: int) -> list[tuple[str, str]]:
    """Sessions of the default CompIDs (``ORDERGATE`` -> venue) that have state in Redis
    (none yet: an empty list)."""
    candidates = [(v, keys.session_id(keys.OUR_COMP_ID, v)) for v in venue_codes()]
    pipe = client.pipeline(transaction=False)
    for _, s in candidates:
        pipe.exists(keys.fix_state(s), keys.fix_status(s), keys.fix_lease(s))
    return [c for c, n in zip(candidates, await pipe.execute(), strict=True) if int(n)]


# --- orders -------------------------------------------------------------------------------


class SearchError(ValueError):
    """A search that cannot be answered from an index (shown to the operator)."""


@dataclass(frozen=True)
class Query:
    order_id: str = ""
    account: str = ""
    client_order_id: str = ""
    symbol: str = ""
    status: str = ""  # an OrderStatus, "open", or "" for any
    since_ms: int | None = None
    until_ms: int | None = None
    limit: int = 50

    @property
    def empty(self) -> bool:
        return not (self.order_id or self.account)


def parse_time(text: str, field: str) -> int | None:
    """``datetime-local`` or ISO text (UTC when no offset) to Unix ms; '' is None."""
    text = text.strip()
    if not text:
        return None
    try:
        at = datetime.fromisoformat(text)
    except ValueError:
        raise SearchError(f"{field}: not a date and time ({text!r})") from None
    if at.tzinfo is None:
        at = at.replace(tzinfo=UTC)
    return int(at.timestamp() * 1000)


def parse_query(params: Any) -> Query:
    """The search form's fields, checked (unknown status or bad times are refused)."""
    status = str(params.get("status", "")).strip()
    allowed = {s.value for s in OrderStatus} | {"open", ""}
    if status not in allowed:
        raise SearchError(f"status: one of {', '.join(sorted(allowed - {''}))}")
    try:
        limit = int(params.get("limit") or 50)
    except ValueError:
        raise SearchError("limit: a number") from None
    order_id = str(params.get("order_id", "")).strip()
    if order_id and not is_order_id(order_id):
        raise SearchError("order_id: 20 characters of 0-9 A-Z")
    q = Query(
        order_id=order_id,
        account=str(params.get("account", "")).strip(),
        client_order_id=str(params.get("client_order_id", "")).strip(),
        symbol=str(params.get("symbol", "")).strip(),
        status=status,
        since_ms=parse_time(str(params.get("since", "")), "since"),
        until_ms=parse_time(str(params.get("until", "")), "until"),
        limit=min(max(limit, 1), 200),
    )
    if q.client_order_id and not q.account:
        raise SearchError("client_order_id: give the account too (ids are unique per account)")
    if (q.symbol or q.status or q.since_ms or q.until_ms) and q.empty:
        raise SearchError("symbol, status and time range filter one account's orders: give it")
    return q


@dataclass(frozen=True)
class Found:
    rows: list[dict[str, str]]
    scanned: int  # order hashes read
    truncated: bool  # the window ended before the range did: narrow the time range


def _matches(row: dict[str, str], q: Query) -> bool:
    if q.symbol and row.get("symbol") != q.symbol:
        return False
    if q.status == "open":
        return OrderStatus(row.get("status", "rejected")).is_open
    return not q.status or row.get("status") == q.status


async def _rows(client: Any, p: int, ids: list[str]) -> list[dict[str, str]]:
    pipe = client.pipeline(transaction=False)
    for oid in ids:
        pipe.hmget(keys.order(p, oid), list(_ROW_FIELDS))
    out = []
    for vals in await pipe.execute():
        if vals and vals[0] is not None:
            out.append({k: _s(v) for k, v in zip(_ROW_FIELDS, vals, strict=True) if v is not None})
    return out


async def search(client: Any, q: Query, partitions: int) -> Found:
    """Orders matching ``q``, newest first, from indexes only:

    * ``order_id``: the id carries its partition -> one HMGET;
    * ``account`` + ``client_order_id``: the idempotency key -> the order id;
    * ``account`` (+ time range, symbol, status): the account's order set (``acctorders``, or
      ``acctopen`` for open orders), ids sort by time, so the time range is a BYLEX range;
      symbol and status filter at most ``SEARCH_WINDOW`` orders of that range.
    """
    if q.order_id:
        p = partition_of_order_id(q.order_id)
        hit = await _rows(client, p, [q.order_id]) if p < partitions else []
        return Found(hit, len(hit), False)
    if not q.account:
        return Found([], 0, False)
    p = keys.partition_of(q.account, partitions)
    if q.client_order_id:
        oid = await client.get(keys.idempotency(p, q.account, q.client_order_id))
        hit = await _rows(client, p, [_s(oid)]) if oid else []
        return Found([r for r in hit if r.get("account") == q.account], len(hit), False)
    index = (
        keys.account_open(p, q.account) if q.status == "open" else keys.account_orders(p, q.account)
    )
    hi = "(" + time_prefix(q.until_ms + 1) if q.until_ms is not None else "+"
    lo = "[" + time_prefix(q.since_ms) if q.since_ms is not None else "-"
    ids = [
        _s(x)
        for x in await client.zrange(
            index, hi, lo, desc=True, bylex=True, offset=0, num=SEARCH_WINDOW
        )
    ]
    filtering = bool(q.symbol or (q.status and q.status != "open"))
    rows: list[dict[str, str]] = []
    scanned = 0
    step = q.limit if not filtering else 200
    for i in range(0, len(ids), step):
        chunk = await _rows(client, p, ids[i : i + step])
        scanned += len(chunk)
        rows += [r for r in chunk if _matches(r, q)]
        if len(rows) >= q.limit:
            return Found(rows[: q.limit], scanned, False)
    return Found(rows, scanned, len(ids) >= SEARCH_WINDOW)


# --- audit --------------------------------------------------------------------------------


async def audit(
    client: Any, *, who: str, what: str, source: str, outcome: str, detail: dict[str, Any]
) -> None:
    """Append one console action (or refusal) to the audit stream."""
    await client.xadd(
        keys.console_audit(),
        {
            "at": datetime.now(UTC).isoformat(timespec="milliseconds"),
            "who": who,
            "what": what,
            "from": source,
            "outcome": outcome,
            "detail": json.dumps(detail, sort_keys=True),
        },
        maxlen=AUDIT_STREAM_MAXLEN,
        approximate=True,
    )


async def audit_log(client: Any, count: int = 200) -> list[dict[str, str]]:
    entries = await client.xrevrange(keys.console_audit(), count=count)
    return [{_s(k): _s(v) for k, v in fields.items()} | {"id": _s(i)} for i, fields in entries]


def now_ms() -> int:
    return time.time_ns() // 1_000_000
