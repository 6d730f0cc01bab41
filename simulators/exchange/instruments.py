"""What the engine needs to know about a symbol: base price, daily limits, tick, trading unit.

The TSE tables are not repeated here: :func:`from_reference_data` builds instruments from the
gateway's reference data and market rules (``gateway/refdata.py``, ``gateway/market_rules.py`` and
the dated data files in ``gateway/data/``), the same files the gateway validates against.
:class:`Instrument` can also be built directly (a test, or a venue without those files).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal, InvalidOperation


@dataclass(slots=True)
class Instrument:
    """One symbol's rules for one trading day.

    ``tick_of(price)`` gives the tick size that applies at ``price`` (TOPIX500 or other table,
    already chosen). Ticks are cached per price: the hot path calls :meth:`on_tick` per order.
    """

    symbol: str
    base_price: Decimal
    lower_limit: Decimal
    upper_limit: Decimal
    tick_of: Callable[[Decimal], Decimal]
    unit: int = 100
    topix500: bool = False
    name: str = ""
    _ticks: dict[Decimal, bool] = field(default_factory=dict, repr=False)

    def on_tick(self, price: Decimal) -> bool:
        ok = self._ticks.get(price)
        if ok is None:
            try:
                ok = price % self.tick_of(price) == 0
            except InvalidOperation:  # e.g. 1E+100: no exact remainder at 28 digits
                return False
            if len(self._ticks) < 100_000:
                self._ticks[price] = ok
        return ok

    def within_limits(self, price: Decimal) -> bool:
        return self.lower_limit <= price <= self.upper_limit

    def tick_above(self, price: Decimal) -> Decimal:
        """The next valid price above ``price`` (``price`` on tick). Band bounds are inclusive,
        so at a bound the band above has a wider tick."""
        up = price + self.tick_of(price)
        wider = self.tick_of(up)
        return up if up % wider == 0 else price + wider

    def tick_below(self, price: Decimal) -> Decimal:
        """The next valid price below ``price`` (``price`` on tick)."""
        return price - self.tick_of(price)


class Instruments:
    """The symbols a venue trades, by code."""

    def __init__(self, instruments: Iterable[Instrument] = ()):
        self._by_symbol = {i.symbol: i for i in instruments}

    def get(self, symbol: str) -> Instrument | None:
        return self._by_symbol.get(symbol)

    def __iter__(self) -> Iterator[Instrument]:
        return iter(self._by_symbol.values())

    def __len__(self) -> int:
        return len(self._by_symbol)

    def add(self, instrument: Instrument) -> None:
        self._by_symbol[instrument.symbol] = instrument


def uniform_tick(tick: Decimal) -> Callable[[Decimal], Decimal]:
    """A tick function with one tick size at every price (tests, simple venues)."""
    return lambda _price: tick


def from_reference_data(
    path: str | None = None, *, on: date | None = None, venue: str | None = None
) -> Instruments:
    """Instruments from the gateway's reference data file (default: the shipped
    ``gateway/data/symbols.json``) and market rules in force on ``on`` (default today).
    ``venue`` keeps only the symbols listed on that venue."""
    from gateway import market_rules
    from gateway.refdata import ReferenceData

    day = on or date.today()
    unit = market_rules.trading_unit(day)
    out = Instruments()
    for sym in ReferenceData.load(path).all():
        if venue is not None and venue not in sym.venues:
            continue
        lower, upper = market_rules.daily_limits(sym.base_price, day)
        bands = market_rules.symbol_tick_bands(sym, day)

        def tick_of(price: Decimal, _bands: tuple = bands) -> Decimal:
            for band in _bands:
                if band.up_to is None or price <= band.up_to:
                    return band.tick
            raise AssertionError("tick table has no open-ended last band")

        out.add(
            Instrument(
                symbol=sym.code,
                base_price=sym.base_price,
                lower_limit=lower,
                upper_limit=upper,
                tick_of=tick_of,
                unit=unit,
                topix500=sym.topix500,
                name=sym.name,
            )
        )
    return out
