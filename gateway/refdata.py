"""Reference data: the symbols the gateway accepts, their base prices and index flags.

Ships with ``gateway/data/symbols.json``; production loads its own file with real base prices
(previous closes) each morning."""

from __future__ import annotations

import json
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from pathlib import Path

from gateway.market_rules import DATA_DIR


@dataclass(frozen=True, slots=True)
class Symbol:
    code: str
    name: str
    base_price: Decimal
    topix500: bool
    venues: tuple[str, ...]  # primary first
    topix100: bool = False  # TOPIX Core30 + Large70 (the narrow tick table before 2023-06-05)


class ReferenceData:
    def __init__(self, symbols: dict[str, Symbol], as_of: str = "") -> None:
        self._symbols = symbols
        self.as_of = as_of

    @staticmethod
    def load(path: str | Path | None = None) -> ReferenceData:
        """Load a symbols file (default: the shipped one); ``ValueError`` names a bad row."""
        with open(path or DATA_DIR / "symbols.json", encoding="utf-8") as fh:
            data = json.load(fh)
        symbols: dict[str, Symbol] = {}
        for i, row in enumerate(data["symbols"]):
            try:
                base = Decimal(str(row["base_price"]))
                if not base.is_finite() or base <= 0:
                    raise ValueError("base_price must be positive")
                venues = tuple(str(v) for v in row["venues"])
                if not venues:
                    raise ValueError("venues must not be empty")
                topix100 = bool(row.get("topix100", False))
                if topix100 and not row["topix500"]:
                    raise ValueError("a topix100 constituent is a topix500 constituent too")
                sym = Symbol(
                    str(row["symbol"]),
                    str(row["name"]),
                    base,
                    bool(row["topix500"]),
                    venues,
                    topix100,
                )
            except (KeyError, TypeError, ValueError, InvalidOperation) as exc:
                raise ValueError(f"symbols file row {i}: {exc!r}") from None
            if sym.code in symbols:
                raise ValueError(f"symbols file row {i}: duplicate symbol {sym.code}")
            symbols[sym.code] = sym
        return ReferenceData(symbols, str(data.get("as_of", "")))

    def get(self, symbol: str) -> Symbol | None:
        return self._symbols.get(symbol)

    def all(self) -> list[Symbol]:
        return sorted(self._symbols.values(), key=lambda s: s.code)
