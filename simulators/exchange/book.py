"""One symbol's order book: price levels in price-time priority, plus the orders waiting for an
auction. Pure data structure; the matching rules live in :mod:`.continuous` and :mod:`.auction`.

Each side keeps a dict price -> :class:`Level` and a sorted price list whose *last* element is the
best price (bids ascending, asks descending), so the best level is found and dropped in O(1). A
level is a FIFO deque; a canceled order is only marked (``live = False``) and skipped when it
reaches the front, so cancel is O(1) and matching never scans dead entries twice.
"""

from __future__ import annotations

from bisect import bisect_left, insort
from collections import deque
from collections.abc import Iterator
from decimal import Decimal
from operator import neg

from .model import OrdStatus, OrdType, Side, TimeInForce


class Order:
    """An order the engine booked (mutable; the engine owns it). ``seq`` is its time priority:
    a change that loses priority gives it a new one."""

    __slots__ = (
        "order_id",
        "session",
        "cl_ord_id",
        "orig_cl_ord_id",
        "symbol",
        "side",
        "ord_type",
        "price",
        "qty",
        "cum_qty",
        "leaves_qty",
        "notional",
        "avg_px",
        "quiet",
        "tif",
        "status",
        "seq",
        "account",
        "live",
        "level",
    )

    def __init__(
        self,
        order_id: str,
        session: str,
        cl_ord_id: str,
        symbol: str,
        side: Side,
        ord_type: OrdType,
        price: Decimal | None,
        qty: int,
        tif: TimeInForce,
        seq: int,
        account: str | None,
    ):
        self.order_id = order_id
        self.session = session
        self.cl_ord_id = cl_ord_id
        self.orig_cl_ord_id: str | None = None
        self.symbol = symbol
        self.side = side
        self.ord_type = ord_type
        self.price = price
        self.qty = qty
        self.cum_qty = 0
        self.leaves_qty = qty
        self.notional = Decimal(0)
        self.avg_px = Decimal(0)
        self.quiet = session[:1] == "#"  # an internal session's order: no reports
        self.tif = tif
        self.status = OrdStatus.NEW
        self.seq = seq
        self.account = account
        self.live = False  # resting in a book level or an auction pool
        self.level: Level | None = None


class Level:
    """The orders resting at one price, oldest first."""

    __slots__ = ("price", "orders", "qty", "count")

    def __init__(self, price: Decimal):
        self.price = price
        # an entry is live while its order is live and still at this level; an order that
        # leaves a level and may come back (a replace) is removed eagerly, so an order is never
        # in a deque twice
        self.orders: deque[Order] = deque()
        self.qty = 0
        self.count = 0

    def front(self) -> Order | None:
        """The oldest live order (drops dead entries on the way)."""
        orders = self.orders
        while orders:
            o = orders[0]
            if o.live and o.level is self:
                return o
            orders.popleft()
        return None

    def __iter__(self) -> Iterator[Order]:
        return (o for o in self.orders if o.live and o.level is self)


class BookSide:
    """One side's limit levels and its waiting market orders."""

    __slots__ = ("side", "levels", "prices", "_key", "market")

    def __init__(self, side: Side):
        self.side = side
        self.levels: dict[Decimal, Level] = {}
        self.prices: list[Decimal] = []  # best last
        self._key = None if side is Side.BUY else neg
        self.market: deque[Order] = deque()  # market orders waiting for an itayose

    def best(self) -> Decimal | None:
        return self.prices[-1] if self.prices else None

    def add(self, order: Order) -> None:
        order.live = True
        if order.price is None:
            order.level = None
            self.market.append(order)
            return
        level = self.levels.get(order.price)
        if level is None:
            level = self.levels[order.price] = Level(order.price)
            insort(self.prices, order.price, key=self._key)
        level.orders.append(order)
        level.qty += order.leaves_qty
        level.count += 1
        order.level = level

    def remove(self, order: Order, eager: bool = False) -> None:
        """Take ``order`` off the book. It stays in the level's deque, dead, until it reaches the
        front, unless ``eager`` (an order that may come back to this level, after a replace)."""
        order.live = False
        level = order.level
        order.level = None
        if level is None:
            try:
                self.market.remove(order)
            except ValueError:
                pass
            return
        if eager:
            level.orders.remove(order)
        level.qty -= order.leaves_qty
        level.count -= 1
        if level.count == 0:
            self.drop_level(level.price)

    def reduce(self, order: Order, by: int) -> None:
        """``order``'s leaves quantity went down by ``by`` (fill or decrease): keep the level's
        total right. Call before or after changing ``order.leaves_qty``, not both."""
        level = order.level
        if level is not None:
            level.qty -= by

    def drop_level(self, price: Decimal) -> None:
        del self.levels[price]
        prices = self.prices
        if prices[-1] == price:
            prices.pop()
        else:
            key = self._key
            i = bisect_left(prices, key(price) if key else price, key=key)
            del prices[i]

    def levels_best_first(self) -> Iterator[Level]:
        for price in reversed(self.prices):
            yield self.levels[price]

    def orders_in_priority(self) -> Iterator[Order]:
        """Market orders (oldest first), then limit orders by price then time."""
        yield from (o for o in self.market if o.live)
        for level in list(self.levels_best_first()):
            yield from list(level)

    def quantity(self) -> int:
        return sum(lv.qty for lv in self.levels.values()) + sum(
            o.leaves_qty for o in self.market if o.live
        )


class Book:
    """Bids, asks, and the at-the-open / at-the-close orders held back for their auction."""

    __slots__ = ("symbol", "bids", "asks", "at_open", "at_close", "last_price")

    def __init__(self, symbol: str):
        self.symbol = symbol
        self.bids = BookSide(Side.BUY)
        self.asks = BookSide(Side.SELL)
        self.at_open: dict[str, Order] = {}  # order_id -> order
        self.at_close: dict[str, Order] = {}
        self.last_price: Decimal | None = None

    def side(self, side: Side) -> BookSide:
        return self.bids if side is Side.BUY else self.asks

    def contra(self, side: Side) -> BookSide:
        return self.asks if side is Side.BUY else self.bids

    def crossed(self) -> bool:
        bid, ask = self.bids.best(), self.asks.best()
        return bid is not None and ask is not None and bid >= ask

    def take_off(self, o: Order) -> None:
        """``o`` leaves the book: out of its auction pool, or off its side."""
        if self.at_open.pop(o.order_id, None) is not None or (
            self.at_close.pop(o.order_id, None) is not None
        ):
            o.live = False
            return
        if o.live:
            self.side(o.side).remove(o)

    def live_orders(self) -> list[Order]:
        """Every order still in the book: auction pools, waiting market orders, limit levels."""
        found = [*self.at_open.values(), *self.at_close.values()]
        for side in (self.bids, self.asks):
            found.extend(o for o in side.market if o.live)
            for level in side.levels.values():
                found.extend(level)
        return found
