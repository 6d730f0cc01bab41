"""Builders shared by the exchange engine's unit tests (real reference data, fixed clock)."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal

from simulators.exchange.book import Order
from simulators.exchange.engine import MatchingEngine
from simulators.exchange.instruments import Instruments, from_reference_data
from simulators.exchange.model import (
    Event,
    ExecType,
    ExecutionReport,
    NewOrder,
    OrdType,
    Side,
    TimeInForce,
)
from simulators.exchange.phases import TOKYO, Phase, SimClock

MONDAY = "2026-11-30"  # a TSE trading day
SYMBOL = "7203"  # base 2850, TOPIX500: tick 0.5 up to 3000, 1 above; limits 2350-3350

_INSTRUMENTS: Instruments | None = None


def instruments() -> Instruments:
    global _INSTRUMENTS
    if _INSTRUMENTS is None:
        _INSTRUMENTS = from_reference_data(venue="TSE", on=datetime.fromisoformat(MONDAY).date())
    return _INSTRUMENTS


def at(hhmm: str, day: str = MONDAY) -> datetime:
    return datetime.fromisoformat(f"{day}T{hhmm}").replace(tzinfo=TOKYO)


def engine(
    phase: Phase | None = Phase.CONTINUOUS, when: str = "10:00", venue: str = "TSE"
) -> MatchingEngine:
    """An engine on a fixed clock; ``phase`` pinned unless None (then the clock drives it)."""
    return MatchingEngine(
        instruments(), clock=SimClock.fixed(at(when)), venue=venue, phase=phase, id_prefix="T"
    )


_n = 0


def order(
    side: str,
    qty: int,
    price: str | None,
    *,
    session: str = "A",
    cl: str | None = None,
    tif: TimeInForce = TimeInForce.DAY,
    symbol: str = SYMBOL,
    poss_dup: bool = False,
) -> NewOrder:
    global _n
    _n += 1
    return NewOrder(
        session=session,
        cl_ord_id=cl or f"c{_n}",
        symbol=symbol,
        side=Side.BUY if side == "buy" else Side.SELL,
        ord_type=OrdType.MARKET if price is None else OrdType.LIMIT,
        quantity=qty,
        price=Decimal(price) if price is not None else None,
        time_in_force=tif,
        poss_dup=poss_dup,
    )


def reports(events: list[Event], exec_type: ExecType | None = None) -> list[ExecutionReport]:
    return [
        e
        for e in events
        if isinstance(e, ExecutionReport) and (exec_type is None or e.exec_type is exec_type)
    ]


def trades(events: list[Event]) -> list[ExecutionReport]:
    return reports(events, ExecType.TRADE)


_booked = 0


def booked(
    side: str,
    qty: int,
    price: str | None,
    *,
    session: str = "A",
    tif: TimeInForce = TimeInForce.DAY,
    symbol: str = SYMBOL,
) -> Order:
    """An order as the engine books it (for the engine's parts used alone, on a bare book);
    each one newer in time priority than the last."""
    global _booked
    _booked += 1
    return Order(
        f"O{_booked}",
        session,
        f"c{_booked}",
        symbol,
        Side.BUY if side == "buy" else Side.SELL,
        OrdType.MARKET if price is None else OrdType.LIMIT,
        Decimal(price) if price is not None else None,
        qty,
        tif,
        _booked,
        None,
    )
