"""Where the simulator's resting liquidity comes from: a seeded random walk (``--liquidity``) or a
book loaded from a file (deterministic mode; an empty book is the default).

Both place ordinary day limit orders through :class:`MatchingEngine` under an internal session
(``#liquidity`` / ``#book``): they trade by the same rules as everyone else and produce no events
of their own, but a fill they cause for a real session is reported to that session, so every
call returns the events to deliver.
"""

from __future__ import annotations

import json
import random
import time
from collections.abc import Callable, Mapping
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Any

from .engine import MatchingEngine
from .model import (
    CancelOrder,
    Event,
    ExecType,
    ExecutionReport,
    NewOrder,
    OrdStatus,
    OrdType,
    Side,
    TimeInForce,
)
from .phases import Phase

LIQUIDITY_SESSION = "#liquidity"
BOOK_SESSION = "#book"


def _external(events: list[Event]) -> list[Event]:
    """Only the events for real sessions (an internal session's own rejects are dropped)."""
    return [e for e in events if not e.session.startswith("#")]


class RandomWalkLiquidity:
    """Keeps ``levels`` price levels of resting orders on each side of a mid price that takes a
    seeded random walk (one tick down, none, or one tick up per :meth:`step`), for every symbol
    (or ``symbols``). Same seed, same walk: a load test can be repeated.

    Call :meth:`tick` as often as you like (the simulator's engine ticker does): it takes a
    :meth:`step` at most every ``interval`` real seconds. Orders the walk leaves behind are
    canceled; levels that were traded away are refilled.
    """

    def __init__(
        self,
        engine: MatchingEngine,
        *,
        seed: int = 1,
        levels: int = 5,
        max_lots: int = 10,
        symbols: list[str] | None = None,
        interval: float = 0.5,
        monotonic: Callable[[], float] = time.monotonic,
    ):
        if levels < 1 or max_lots < 1:
            raise ValueError("levels and max_lots must be >= 1")
        self.interval = interval
        self._monotonic = monotonic
        self._last_step: float | None = None
        self.steps = 0
        self.engine = engine
        self.levels = levels
        self.max_lots = max_lots
        self._rng = random.Random(seed)
        self._symbols = symbols if symbols is not None else engine.symbols()
        self._mid: dict[str, Decimal] = {}
        self._resting: dict[tuple[str, Side, Decimal], str] = {}  # -> ClOrdID
        self._n = 0

    def mid(self, symbol: str) -> Decimal | None:
        return self._mid.get(symbol)

    def tick(self) -> list[Event]:
        """A :meth:`step` if ``interval`` has passed since the last one, else nothing."""
        now = self._monotonic()
        if self._last_step is not None and now - self._last_step < self.interval:
            return []
        self._last_step = now
        return self.step()

    def step(self) -> list[Event]:
        """One walk step and refill for every symbol; returns the events for real sessions."""
        out: list[Event] = []
        self.steps += 1
        if self.engine.phase is Phase.CLOSED:
            return out
        for symbol in self._symbols:
            self._step_symbol(symbol, out)
        return out

    def _step_symbol(self, symbol: str, out: list[Event]) -> None:
        inst = self.engine.instruments.get(symbol)
        if inst is None:
            return
        mid = self._mid.get(symbol, inst.base_price)
        move = self._rng.randint(-1, 1)
        if move > 0:
            mid = inst.tick_above(mid)
        elif move < 0:
            mid = inst.tick_below(mid)
        # keep every level inside the daily limits
        mid = max(min(mid, inst.upper_limit), inst.lower_limit)
        self._mid[symbol] = mid
        wanted: set[tuple[str, Side, Decimal]] = set()
        bid = ask = mid
        for _ in range(self.levels):
            bid, ask = inst.tick_below(bid), inst.tick_above(ask)
            if bid >= inst.lower_limit:
                wanted.add((symbol, Side.BUY, bid))
            if ask <= inst.upper_limit:
                wanted.add((symbol, Side.SELL, ask))
        engine = self.engine
        for key in [k for k in self._resting if k[0] == symbol]:
            cl = self._resting[key]
            view = engine.order_view(LIQUIDITY_SESSION, cl)
            done = view is None or view.status in (
                OrdStatus.FILLED,
                OrdStatus.CANCELED,
                OrdStatus.EXPIRED,
            )
            if done or key not in wanted:
                if not done:
                    self._n += 1
                    out += _external(
                        engine.cancel(CancelOrder(LIQUIDITY_SESSION, f"L{self._n}", cl))
                    )
                del self._resting[key]
        # cancel stale levels first, then post: asks from the lowest, bids from the highest
        for key in sorted(wanted - self._resting.keys(), key=lambda k: (k[1], k[2])):
            _, side, price = key
            self._n += 1
            cl = f"L{self._n}"
            lots = self._rng.randint(1, self.max_lots)
            events = engine.new_order(
                NewOrder(
                    LIQUIDITY_SESSION, cl, symbol, side, OrdType.LIMIT, lots * inst.unit, price
                )
            )
            out += _external(events)
            view = engine.order_view(LIQUIDITY_SESSION, cl)
            if view is not None and view.leaves_qty > 0:
                self._resting[key] = cl


LiquidityProvider = RandomWalkLiquidity  # the name the simulator process imports


class BookFileError(ValueError):
    """The book file is wrong; the message says where. Nothing was loaded."""


def parse_book(data: Mapping[str, Any], engine: MatchingEngine) -> list[NewOrder]:
    """Check a book document and turn it into orders, all or nothing.

    Format: ``{"books": {"7203": {"bids": [["2849.5", 300], ...], "asks": [["2850.5", 200]]}}}``
    with prices as strings (no floats) and quantities as integers.
    """
    books = data.get("books") if isinstance(data, Mapping) else None
    if not isinstance(books, Mapping):
        raise BookFileError('the file needs a "books" object keyed by symbol')
    orders: list[NewOrder] = []
    for symbol, sides in books.items():
        inst = engine.instruments.get(symbol)
        if inst is None:
            raise BookFileError(f"books.{symbol}: unknown symbol")
        if not isinstance(sides, Mapping) or set(sides) - {"bids", "asks"}:
            raise BookFileError(f'books.{symbol}: needs only "bids" and "asks" lists')
        for name, side in (("bids", Side.BUY), ("asks", Side.SELL)):
            rows = sides.get(name, [])
            if not isinstance(rows, list):
                raise BookFileError(f"books.{symbol}.{name}: must be a list of [price, quantity]")
            for i, row in enumerate(rows):
                where = f"books.{symbol}.{name}[{i}]"
                if not (isinstance(row, list) and len(row) == 2):
                    raise BookFileError(f"{where}: must be [price, quantity]")
                raw_price, qty = row
                if not isinstance(raw_price, str):
                    raise BookFileError(f"{where}: price must be a decimal string")
                try:
                    price = Decimal(raw_price)
                except InvalidOperation:
                    raise BookFileError(f"{where}: {raw_price!r} is not a price") from None
                if not price.is_finite() or price <= 0 or not inst.on_tick(price):
                    raise BookFileError(f"{where}: price {raw_price} is not on the tick")
                if not inst.within_limits(price):
                    raise BookFileError(f"{where}: price {raw_price} is outside the daily limit")
                if isinstance(qty, bool) or not isinstance(qty, int) or qty <= 0 or qty % inst.unit:
                    raise BookFileError(
                        f"{where}: quantity must be a positive multiple of {inst.unit}"
                    )
                orders.append(
                    NewOrder(
                        BOOK_SESSION,
                        f"B{len(orders) + 1}",
                        symbol,
                        side,
                        OrdType.LIMIT,
                        qty,
                        price,
                        TimeInForce.DAY,
                    )
                )
    return orders


def load_book(engine: MatchingEngine, source: str | Path | Mapping[str, Any]) -> list[Event]:
    """Place a book from a JSON file (or an already parsed document). Checked in full before
    anything is placed; the venue must be accepting orders (pin a phase to load it early)."""
    if isinstance(source, str | Path):
        try:
            data = json.loads(Path(source).read_text(encoding="utf-8"))
        except OSError as exc:
            raise BookFileError(f"{source}: cannot read: {exc.strerror}") from None
        except json.JSONDecodeError as exc:
            raise BookFileError(f"{source}: not valid JSON: {exc}") from None
    else:
        data = source
    orders = parse_book(data, engine)
    if orders and engine.phase is Phase.CLOSED:
        raise BookFileError("the venue is closed: pin a phase to load a book")
    out: list[Event] = []
    for cmd in orders:
        events = engine.new_order(cmd)
        for e in events:
            if isinstance(e, ExecutionReport) and e.exec_type is ExecType.REJECTED:
                raise BookFileError(f"{cmd.symbol} {cmd.price}: {e.text}")
        out += _external(events)
    return out
