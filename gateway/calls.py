"""The named layout of a Lua call: which KEYS and ARGV positions hold what.

``submit.lua`` takes 10 keys and 29 arguments. Their names live here once: the script reads
them as locals generated from the layout (``lua_locals``, spliced by ``gateway/scripts.py``:
``k_order``, ``a_order_id``... instead of ``KEYS[1]``, ``ARGV[1]``), and the Python side builds
the same list in the same order (``OrderGateway.prepare_submit``, the hot path: a list literal,
which costs a tenth of a call with 29 keyword arguments) and is checked against the names by
``named`` in the tests.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True, slots=True)
class LuaCall:
    script: str
    keys: tuple[str, ...]
    argv: tuple[str, ...]

    def lua_locals(self) -> str:
        """``local k_a, k_b = KEYS[1], KEYS[2]`` and the same for ARGV (``a_``)."""
        lines = []
        for prefix, table, names in (("k", "KEYS", self.keys), ("a", "ARGV", self.argv)):
            lhs = ", ".join(f"{prefix}_{n}" for n in names)
            rhs = ", ".join(f"{table}[{i}]" for i in range(1, len(names) + 1))
            lines.append(f"local {lhs} = {rhs}")
        return "\n".join(lines)

    def named(self, keys: Sequence[Any], args: Sequence[Any]) -> dict[str, Any]:
        """A built call by name (``k_order``, ``a_order_id``...); ValueError if its shape is
        not the layout's."""
        if len(keys) != len(self.keys) or len(args) != len(self.argv):
            raise ValueError(
                f"{self.script}: {len(keys)} keys and {len(args)} arguments, layout has "
                f"{len(self.keys)} and {len(self.argv)}"
            )
        out = {f"k_{n}": v for n, v in zip(self.keys, keys, strict=True)}
        out.update({f"a_{n}": v for n, v in zip(self.argv, args, strict=True)})
        return out


SUBMIT = LuaCall(
    "submit",
    keys=(
        "order",
        "idempotency",
        "account",  # risk hash
        "account_orders",
        "account_open",
        "open_orders",  # the partition's
        "cmd_stream",
        "events",
        "trail",
        "halt",
    ),
    argv=(
        "order_id",
        "fingerprint",
        "account",
        "venue",
        "side",
        "quantity",
        "notional",  # yen, integer, rounded up
        "max_quantity",
        "max_notional",
        "max_open_orders",
        "max_daily_buy",
        "rate",  # orders/s
        "burst",
        "day",  # the trading day
        "command",  # msgpack
        "at",
        "process",
        "events_maxlen",
        "client_order_id",
        "symbol",
        "type",
        "price",  # '' for market
        "time_in_force",
        "when_closed",
        "partition",
        "submitted",  # the 'submitted' event (msgpack)
        "received",  # the 'received' trail step (JSON)
        "enqueued_before",  # the 'enqueued' trail step (JSON) before its command entry id
        "enqueued_after",  # ... and after it
    ),
)

BY_SCRIPT = {c.script: c for c in (SUBMIT,)}
