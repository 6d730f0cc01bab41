"""Small helpers for the gateway integration tests."""

from __future__ import annotations

from typing import Any

from gateway import keys
from gateway.codec import FIELD, decode_command
from gateway.validation import parse_new_order

BODY: dict[str, Any] = {
    "account": "A1",
    "client_order_id": "c-1",
    "symbol": "7203",
    "side": "buy",
    "type": "limit",
    "quantity": 100,
    "price": "2500.5",
    "time_in_force": "day",
    "venue": "TSE",
}


def order(**change: Any):  # type: ignore[no-untyped-def]
    return parse_new_order({**BODY, **change})


async def all_keys(redis: Any) -> list[str]:
    return sorted([k.decode() async for k in redis.scan_iter(match="*")])


async def commands(redis: Any, account: str = "A1", venue: str = "TSE") -> list[Any]:
    p = keys.partition_of(account, 16)
    entries = await redis.xrange(keys.cmd_stream(p, venue))
    return [decode_command(f[FIELD.encode()]) for _, f in entries]
