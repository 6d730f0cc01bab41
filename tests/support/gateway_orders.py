"""Small helpers for the gateway integration tests."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

from gateway import keys
from gateway.codec import FIELD, decode_command
from gateway.model import Order, OrderStatus, OrderType, Side, TimeInForce
from gateway.refdata import ReferenceData
from gateway.validation import parse_new_order

# Friday 2026-11-27 10:00 Tokyo: TSE continuous session
MARKET_OPEN = datetime(2026, 11, 27, 1, 0, tzinfo=UTC)
REFDATA = ReferenceData.load()


class Clock:
    """A settable clock (venue phase depends on it); Redis's own clock drives the rate limit."""

    def __init__(self, at: datetime = MARKET_OPEN) -> None:
        self.at = at

    def __call__(self) -> datetime:
        return self.at


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


def stored_order(**change: Any) -> Order:
    """An order record as the gateway reads it back (limit buy 100 7203 @ 2500.5, pending_new)."""
    base: dict[str, Any] = dict(
        order_id="0MWZL0NA9ZZ4YV200000",
        partition=3,
        account="A1",
        client_order_id="c-1",
        symbol="7203",
        side=Side.buy,
        type=OrderType.limit,
        quantity=100,
        price=Decimal("2500.5"),
        time_in_force=TimeInForce.day,
        venue="TSE",
        when_closed="hold",
        status=OrderStatus.pending_new,
        cum_qty=0,
        leaves_qty=100,
        avg_px=Decimal(0),
        fills=(),
        created_at="2026-11-27T01:00:00.000000Z",
        updated_at="2026-11-27T01:00:00.000000Z",
        cl_ord_id="0MWZL0NA9ZZ4YV200000",
    )
    base.update(change)
    return Order(**base)


def order(**change: Any):  # type: ignore[no-untyped-def]
    return parse_new_order({**BODY, **change})


async def all_keys(redis: Any) -> list[str]:
    return sorted([k.decode() async for k in redis.scan_iter(match="*")])


async def commands(redis: Any, account: str = "A1", venue: str = "TSE") -> list[Any]:
    p = keys.partition_of(account, 16)
    entries = await redis.xrange(keys.cmd_stream(p, venue))
    return [decode_command(f[FIELD.encode()]) for _, f in entries]
