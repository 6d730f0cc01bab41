"""What Redis says about one FIX session: leader and fencing token, the state the leader last
published, next in/out sequence numbers, command-stream lag and pending entries per partition.

Read-only and shared by ``ordergate status`` and the operations console, which must not import
the connector: every key comes from :mod:`gateway.keys`.
"""

from __future__ import annotations

import json
from typing import Any

from gateway import keys

_PENDING_STATES = {"pending_new", "pending_cancel", "pending_replace"}


def _s(v: Any) -> str:
    return v.decode() if isinstance(v, bytes) else str(v)


async def _streams(client: Any, venue: str, session: str, partitions: int) -> list[dict[str, Any]]:
    """Length, consumer-group lag and pending entries of the venue's command stream per partition."""
    group = f"connector:{session}"
    streams = []
    for p in range(partitions):
        name = keys.cmd_stream(p, venue)
        row: dict[str, Any] = {
            "partition": p,
            "stream": name,
            "length": 0,
            "lag": None,
            "pending": 0,
        }
        if await client.exists(name):
            row["length"] = int(await client.xlen(name))
            for g in await client.xinfo_groups(name):
                if _s(g.get("name")) == group:
                    row["pending"] = int(g.get("pending", 0))
                    lag = g.get("lag")
                    row["lag"] = None if lag is None else int(lag)
        streams.append(row)
    return streams


async def in_flight_orders(client: Any, venue: str, partitions: int) -> int:
    """Open orders of ``venue`` waiting for the exchange (pending new / cancel / replace).

    Reads every open order's status: a scan of the open-order sets, fine for ``ordergate
    status`` but not for a page refreshed every second (the console counts open orders with
    ZCARD and shows stream lag instead)."""
    in_flight = 0
    for p in range(partitions):
        ids = await client.zrange(keys.open_orders(p), 0, -1)
        if not ids:
            continue
        pipe = client.pipeline(transaction=False)
        for oid in ids:
            pipe.hmget(keys.order(p, _s(oid)), ["status", "venue"])
        for st, v in await pipe.execute():
            if st is not None and _s(st) in _PENDING_STATES and v is not None and _s(v) == venue:
                in_flight += 1
    return in_flight


async def open_order_count(client: Any, partitions: int) -> int:
    """Open orders of every venue (ZCARD of each partition's open-order set: no scan)."""
    pipe = client.pipeline(transaction=False)
    for p in range(partitions):
        pipe.zcard(keys.open_orders(p))
    return sum(int(n) for n in await pipe.execute())


async def collect(
    client: Any, venue: str, session: str, partitions: int, *, scan_in_flight: bool = True
) -> dict[str, Any]:
    """The session's state as ``ordergate status --json`` prints it. ``scan_in_flight=False``
    leaves out the per-order in-flight count (``in_flight_orders`` is then None)."""
    state = {_s(k): _s(v) for k, v in (await client.hgetall(keys.fix_state(session))).items()}
    status = {_s(k): _s(v) for k, v in (await client.hgetall(keys.fix_status(session))).items()}
    lease = await client.get(keys.fix_lease(session))
    lease_ttl = await client.pttl(keys.fix_lease(session))
    streams = await _streams(client, venue, session, partitions)
    in_flight = await in_flight_orders(client, venue, partitions) if scan_in_flight else None
    audit = [json.loads(_s(x)) for x in await client.lrange(keys.fix_audit(session), -5, -1)]
    return {
        "session": session,
        "venue": venue,
        "leader": _s(lease).rpartition("|")[0] if lease else None,
        "fencing_token": int(_s(lease).rpartition("|")[2]) if lease else None,
        "lease_ms_left": int(lease_ttl) if lease else None,
        "state": status.get("state", "unknown") if lease else "no leader",
        "role": status.get("role"),
        "next_out_seq": int(state.get("next_sender", 1)),
        "next_in_seq": int(state.get("next_target", 1)),
        "status_updated_at": status.get("updated_at"),
        "counters": {
            k: v
            for k, v in status.items()
            if k not in {"role", "holder", "token", "state", "updated_at"}
        },
        "streams": streams,
        "total_lag": sum(r["lag"] or 0 for r in streams),
        "total_pending": sum(r["pending"] for r in streams),
        "in_flight_orders": in_flight,
        "recent_admin": audit,
    }
