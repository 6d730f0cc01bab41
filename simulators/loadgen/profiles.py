"""What a load test sends: request k of a profile, and when it is due. Pure and deterministic.

A profile is an iterator of :class:`Request`; the same ``seed`` gives the same sequence (only the
``run_id`` prefix of each ``client_order_id`` differs between runs, so a second run against the
same Redis creates new orders instead of replaying the first run's).

* ``submit``: new limit orders spread over every symbol of the reference data, the accounts, both
  sides, several lots, and prices on the tick grid near the base price, within the daily limits.
* ``mixed``: 70% submits; 10% cancels, 10% replaces (a new price) and 10% GETs of orders this run
  submitted at least ``min_age`` requests earlier (by then their answer, which carries the order
  id, is normally back). Each order is changed at most once: with no venue answering, a second
  change would meet ``order_in_flight`` (409), which measures nothing.
* ``cross``: pairs that trade with each other (a buy, then the same sell from the next account, one
  price per symbol), so every order is acknowledged and filled: the whole journey's load
  (``bench/e2e.py``).
* ``open-burst``: the market-open rehearsal: submits, with the rate ramping linearly from
  ``rate / 10`` to ``rate`` over the first fifth of the run, then holding (:class:`RateSchedule`).
"""

from __future__ import annotations

import math
import random
from collections import deque
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal

from gateway import market_rules
from gateway.refdata import ReferenceData, Symbol

PROFILES = ("submit", "mixed", "cross", "open-burst")
OPS = ("submit", "cancel", "replace", "get")
# how far from the base price the generated prices go (the daily limit may be narrower)
PRICE_BAND = Decimal("0.03")
MIN_TICKS = 10
MAX_LOTS = 5
# yen per order the lots are drawn under (at least one lot): keeps each account's daily buy value
# (10 billion yen by default) far away in a long run
MAX_ORDER_VALUE = 2_000_000
MIXED_WEIGHTS = (("submit", 70), ("cancel", 10), ("replace", 10), ("get", 10))


@dataclass(frozen=True, slots=True)
class Request:
    """One request. ``target`` is the index of the earlier submit whose order it acts on (its
    path needs that order's id, known only once the submit's answer is back)."""

    op: str  # submit | cancel | replace | get
    method: str
    body: bytes | None
    target: int | None = None

    def path(self, order_id: str | None = None) -> str:
        return "/v1/orders" if order_id is None else f"/v1/orders/{order_id}"


@dataclass(frozen=True, slots=True)
class PricedSymbol:
    """A symbol with the limit prices a profile may use for it (valid ticks, within limits)."""

    code: str
    prices: tuple[str, ...]


def valid_prices(sym: Symbol, on: date, band: Decimal = PRICE_BAND) -> tuple[str, ...]:
    """Every price on ``sym``'s tick grid within ``band`` of its base price (at least
    ``MIN_TICKS`` ticks either side) and inside the daily limits of ``on``: walking up one tick
    of the band each step, rounded up onto the grid where the tick size changes."""
    lower, upper = market_rules.daily_limits(sym.base_price, on)
    base = sym.base_price
    reach = max(base * band, MIN_TICKS * market_rules.tick_size(base, sym, on))
    lo = max(lower, base - reach)
    hi = min(upper, base + reach)
    out: list[str] = []
    p = lo
    while p <= hi:
        tick = market_rules.tick_size(p, sym, on)
        p = math.ceil(p / tick) * tick
        if p <= hi and market_rules.is_on_tick(p, sym, on):
            out.append(str(p.normalize() if p == p.to_integral_value() else p))
        p += tick
    return tuple(dict.fromkeys(_plain(x) for x in out))


def _plain(text: str) -> str:
    """``2850`` not ``2.85E+3``: the API takes plain decimal strings."""
    d = Decimal(text)
    return f"{d:f}"


def priced_symbols(refdata: ReferenceData, on: date) -> list[PricedSymbol]:
    """The reference data's symbols that have at least one valid price on ``on``."""
    out = []
    for sym in refdata.all():
        prices = valid_prices(sym, on)
        if prices:
            out.append(PricedSymbol(sym.code, prices))
    return out


def account_names(count: int, prefix: str = "LT") -> list[str]:
    """``LT00`` .. ``LT19``: zero-padded so they sort."""
    width = max(2, len(str(count - 1)))
    return [f"{prefix}{i:0{width}d}" for i in range(count)]


def _order_body(
    account: str, client_order_id: str, symbol: str, side: str, quantity: int, price: str
) -> bytes:
    return (
        f'{{"account":"{account}","client_order_id":"{client_order_id}","symbol":"{symbol}",'
        f'"side":"{side}","type":"limit","quantity":{quantity},"price":"{price}",'
        '"time_in_force":"day"}'
    ).encode()


class _Orders:
    """Draws new orders; remembers each submit's symbol and price index (for replaces)."""

    def __init__(
        self,
        rng: random.Random,
        symbols: Sequence[PricedSymbol],
        accounts: Sequence[str],
        unit: int,
        run_id: str,
    ) -> None:
        if not symbols or not accounts:
            raise ValueError("a profile needs at least one symbol and one account")
        self.rng = rng
        self.symbols = symbols
        self.accounts = accounts
        self.unit = unit
        self.run_id = run_id
        self.placed: dict[int, tuple[PricedSymbol, int]] = {}
        self.max_lots = [
            max(1, min(MAX_LOTS, MAX_ORDER_VALUE // int(Decimal(s.prices[-1]) * unit)))
            for s in symbols
        ]

    def submit(self, k: int, remember: bool = False) -> Request:
        rng = self.rng
        n = rng.randrange(len(self.symbols))
        sym = self.symbols[n]
        i = rng.randrange(len(sym.prices))
        account = self.accounts[k % len(self.accounts)]
        side = "buy" if rng.random() < 0.5 else "sell"
        quantity = self.unit * rng.randint(1, self.max_lots[n])
        if remember:
            self.placed[k] = (sym, i)
        body = _order_body(account, f"{self.run_id}-{k}", sym.code, side, quantity, sym.prices[i])
        return Request("submit", "POST", body)

    def replace(self, target: int) -> Request | None:
        """A new price for the order of submit ``target`` (None if its symbol has one price)."""
        sym, i = self.placed[target]
        if len(sym.prices) < 2:
            return None
        j = self.rng.randrange(len(sym.prices) - 1)
        j += j >= i  # any other price
        return Request("replace", "PATCH", f'{{"price":"{sym.prices[j]}"}}'.encode(), target)


def submit_profile(
    symbols: Sequence[PricedSymbol], accounts: Sequence[str], unit: int, run_id: str, seed: int
) -> Iterator[Request]:
    """New limit orders only (also the open-burst profile's requests)."""
    orders = _Orders(random.Random(seed), symbols, accounts, unit, run_id)
    k = 0
    while True:
        yield orders.submit(k)
        k += 1


def cross_profile(
    symbols: Sequence[PricedSymbol], accounts: Sequence[str], unit: int, run_id: str
) -> Iterator[Request]:
    """Request 2j buys one lot of symbol j mod n at that symbol's middle valid price; request
    2j+1 sells the same from the next account. One price per symbol and equal quantities: in
    whatever order they reach the venue, every order fills in full, so each one gets an ack and
    a fill back. Deterministic (no seed needed)."""
    if not symbols or len(accounts) < 2:
        raise ValueError("the cross profile needs at least one symbol and two accounts")
    prices = [s.prices[len(s.prices) // 2] for s in symbols]
    j = 0
    while True:
        n = j % len(symbols)
        buyer = accounts[j % len(accounts)]
        seller = accounts[(j + 1) % len(accounts)]
        for k, side, account in ((2 * j, "buy", buyer), (2 * j + 1, "sell", seller)):
            body = _order_body(account, f"{run_id}-{k}", symbols[n].code, side, unit, prices[n])
            yield Request("submit", "POST", body)
        j += 1


def mixed_profile(
    symbols: Sequence[PricedSymbol],
    accounts: Sequence[str],
    unit: int,
    run_id: str,
    seed: int,
    min_age: int,
) -> Iterator[Request]:
    """Mostly submits, plus cancels, replaces and GETs of this run's own orders, each submitted
    at least ``min_age`` requests before; an order is cancelled or replaced at most once. Where
    no order is old enough yet, the request is a submit."""
    rng = random.Random(seed)
    orders = _Orders(rng, symbols, accounts, unit, run_id)
    young: deque[int] = deque()  # submits not old enough yet, oldest first
    changeable: list[int] = []  # old enough, never cancelled or replaced
    readable: list[int] = []  # old enough (GET any of them)
    ops = [op for op, _ in MIXED_WEIGHTS]
    weights = [w for _, w in MIXED_WEIGHTS]
    k = 0
    while True:
        while young and young[0] <= k - min_age:
            j = young.popleft()
            changeable.append(j)
            readable.append(j)
        op = rng.choices(ops, weights)[0]
        req: Request | None = None
        if op in ("cancel", "replace") and changeable:
            pos = rng.randrange(len(changeable))
            target = changeable[pos]
            changeable[pos] = changeable[-1]
            changeable.pop()
            if op == "cancel":
                req = Request("cancel", "DELETE", None, target)
            else:
                req = orders.replace(target)
        elif op == "get" and readable:
            req = Request("get", "GET", None, readable[rng.randrange(len(readable))])
        if req is None:
            req = orders.submit(k, remember=True)
            young.append(k)
        yield req
        k += 1


@dataclass(frozen=True, slots=True)
class RateSchedule:
    """When request k is due (seconds from the start): constant ``rate``, or a linear ramp from
    ``start_rate`` to ``rate`` over the first ``ramp_seconds`` and then ``rate``.

    Requests due by t: N(t) = integral of the rate; request k is due when N(t) = k."""

    rate: float
    duration: float
    start_rate: float | None = None
    ramp_seconds: float = 0.0

    @staticmethod
    def for_profile(profile: str, rate: float, duration: float) -> RateSchedule:
        if profile == "open-burst":
            return RateSchedule(rate, duration, rate / 10, duration / 5)
        return RateSchedule(rate, duration)

    @property
    def _ramp(self) -> bool:
        return self.start_rate is not None and self.ramp_seconds > 0

    def rate_at(self, t: float) -> float:
        if self._ramp and t < self.ramp_seconds:
            r0 = self.start_rate or 0.0
            return r0 + (self.rate - r0) * t / self.ramp_seconds
        return self.rate

    @property
    def min_rate(self) -> float:
        return min(self.start_rate or self.rate, self.rate) if self._ramp else self.rate

    def count_by(self, t: float) -> float:
        """N(t): requests due in [0, t)."""
        if not self._ramp:
            return self.rate * t
        r0, tr = self.start_rate or 0.0, self.ramp_seconds
        if t <= tr:
            return r0 * t + (self.rate - r0) * t * t / (2 * tr)
        return r0 * tr + (self.rate - r0) * tr / 2 + self.rate * (t - tr)

    @property
    def total(self) -> int:
        """Requests in the run (the float count rounded, so 300/s x 2 s is exactly 600)."""
        return int(round(self.count_by(self.duration), 6))

    def due(self, k: int) -> float:
        """Seconds from the start at which request k is due (k = 0 at 0)."""
        if not self._ramp:
            return k / self.rate
        r0, tr = self.start_rate or 0.0, self.ramp_seconds
        ramp_count = self.count_by(tr)
        if k >= ramp_count:
            return tr + (k - ramp_count) / self.rate
        a = (self.rate - r0) / (2 * tr)  # a t^2 + r0 t - k = 0
        if a == 0:
            return k / r0
        return (-r0 + math.sqrt(r0 * r0 + 4 * a * k)) / (2 * a)


@dataclass(frozen=True, slots=True)
class Share:
    """Generator ``index`` of ``count``'s share of a schedule: requests k = index, index +
    count, ... of the whole run, at the whole run's due times, so the shares interleave into
    exactly the schedule one generator would have sent."""

    schedule: RateSchedule
    index: int = 0
    count: int = 1

    @property
    def total(self) -> int:
        whole = self.schedule.total
        return max(0, (whole - self.index + self.count - 1) // self.count)

    def due(self, j: int) -> float:
        return self.schedule.due(j * self.count + self.index)

    @property
    def min_rate(self) -> float:
        return self.schedule.min_rate / self.count


def make_requests(
    profile: str, accounts: Sequence[str], run_id: str, seed: int, min_age: int
) -> Iterator[Request]:
    """The request sequence of ``profile`` over ``accounts``, with today's (Tokyo) prices."""
    from zoneinfo import ZoneInfo

    on = datetime.now(ZoneInfo("Asia/Tokyo")).date()
    symbols = priced_symbols(ReferenceData.load(), on)
    unit = market_rules.trading_unit(on)
    if profile == "mixed":
        return mixed_profile(symbols, accounts, unit, run_id, seed, min_age)
    if profile == "cross":
        return cross_profile(symbols, accounts, unit, run_id)
    return submit_profile(symbols, accounts, unit, run_id, seed)
