"""Routing table (``gateway/data/routing.json``): symbol -> default venue, and whether a request
may name its venue explicitly."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path

from gateway.market_rules import DATA_DIR


@dataclass(frozen=True, slots=True)
class RoutingTable:
    default_venue: str
    allow_explicit_venue: bool = True
    overrides: dict[str, str] = field(default_factory=dict)

    @staticmethod
    def load(path: str | Path | None = None) -> RoutingTable:
        with open(path or DATA_DIR / "routing.json", encoding="utf-8") as fh:
            data = json.load(fh)
        return RoutingTable(
            default_venue=str(data["default_venue"]),
            allow_explicit_venue=bool(data.get("allow_explicit_venue", True)),
            overrides={str(k): str(v) for k, v in data.get("overrides", {}).items()},
        )

    def default_for(self, symbol: str) -> str:
        return self.overrides.get(symbol, self.default_venue)
