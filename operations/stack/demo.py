"""``ordergate up --demo``: a short order flow through the real HTTP API with the dev token.

Two orders that cross and fill, a resting order then canceled, a resting order then replaced,
one refused by validation (price off the tick). It waits (with a deadline) for the venue's
answers to come back through the connector, prints every order's final state and the buy's
end-to-end trail, and returns 0 only when every order ended where it should.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from operations.stack.plan import DEV_ACCOUNTS
from operations.stack.supervisor import http_json

BUYER, SELLER = DEV_ACCOUNTS
TRAIL_STEPS = ("received", "enqueued", "sent", "acknowledged", "filled")
SYMBOL = "7203"  # Toyota: base price 2850, tick 0.5 below 3000, listed on TSE and JNX


class DemoFailed(Exception):
    """The flow did not complete; the message says which step and what was seen."""


@dataclass
class DemoOrder:
    """One order of the flow: what is sent, and the status it must end in."""

    label: str
    account: str
    side: str
    price: str
    quantity: int = 100
    expect: str = ""
    order_id: str = ""
    final: dict[str, Any] | None = None


def order_body(o: DemoOrder, venue: str, run_id: str) -> dict[str, Any]:
    return {
        "account": o.account,
        "client_order_id": f"demo-{run_id}-{o.label}",  # unique per run: an old Redis is fine
        "symbol": SYMBOL,
        "side": o.side,
        "type": "limit",
        "quantity": o.quantity,
        "price": o.price,
        "time_in_force": "day",
        "venue": venue,
    }


def state_line(o: DemoOrder) -> str:
    f = o.final or {}
    return (
        f"  {o.label:<10} {o.order_id:<22} {o.side:<4} {f.get('quantity', o.quantity):>5} @ "
        f"{f.get('price', o.price):>7}  {f.get('status', '?'):<16} filled "
        f"{f.get('cum_qty', 0):>4}  avg_px {f.get('avg_px') or '-'}"
    )


def trail_lines(steps: list[dict[str, Any]]) -> list[str]:
    out = []
    for s in steps:
        detail = s.get("detail") or {}
        shown = ", ".join(f"{k}={v}" for k, v in detail.items() if k != "raw")
        out.append(
            f"  {s.get('at', ''):<32} {s.get('component', ''):<10} {s.get('step', ''):<13} {shown}"
        )
    return out


class Demo:
    def __init__(
        self,
        api_url: str,
        token: str,
        venue: str,
        print_: Callable[[str], None] = print,
        timeout: float = 20.0,
        abort: Callable[[], str | None] = lambda: None,
        console_url: str | None = None,
    ) -> None:
        self.api = api_url.rstrip("/")
        self.token = token
        self.venue = venue
        self.print = print_
        self.timeout = timeout
        self.abort = abort  # a reason to give up now (a stop signal, a dead child), or None
        self.console = console_url  # the operations console, pointed at when the flow is done
        self.run_id = format(int(time.time() * 1000) % 36**6, "x")

    def call(self, method: str, path: str, body: Any = None) -> tuple[int, Any]:
        return http_json(method, f"{self.api}{path}", body, token=self.token, timeout=10.0)

    def submit(self, o: DemoOrder) -> None:
        status, answer = self.call("POST", "/v1/orders", order_body(o, self.venue, self.run_id))
        if status != 202 or not isinstance(answer, dict):
            raise DemoFailed(f"submit {o.label}: expected 202, got {status} {answer}")
        o.order_id = str(answer["order_id"])
        self.print(
            f"submitted {o.label:<10} {o.side} {o.quantity} {SYMBOL} @ {o.price} -> 202 {o.order_id}"
        )

    def wait_status(self, o: DemoOrder, wanted: str) -> dict[str, Any]:
        deadline = time.monotonic() + self.timeout
        delay = 0.02
        last: Any = None
        while True:
            status, last = self.call("GET", f"/v1/orders/{o.order_id}")
            if status == 200 and isinstance(last, dict) and last.get("status") == wanted:
                o.final = last
                return last
            reason = self.abort()
            if reason:
                raise DemoFailed(f"waiting for {o.label} to become {wanted}: {reason}")
            if time.monotonic() > deadline:
                seen = last.get("status") if isinstance(last, dict) else last
                raise DemoFailed(
                    f"{o.label} ({o.order_id}) did not become {wanted} within "
                    f"{self.timeout:.0f} s (last seen: {seen})"
                )
            time.sleep(delay)
            delay = min(delay * 2, 0.2)

    def run(self) -> int:
        try:
            self._flow()
        except DemoFailed as exc:
            self.print(f"demo FAILED: {exc}")
            return 1
        self.print("demo: every order ended as expected")
        return 0

    def _flow(self) -> None:
        started = time.monotonic()
        sell = DemoOrder("sell", SELLER, "sell", "2850", expect="filled")
        buy = DemoOrder("buy", BUYER, "buy", "2850", expect="filled")
        rest = DemoOrder("resting", BUYER, "buy", "2800", expect="canceled")
        amend = DemoOrder("replaced", SELLER, "sell", "2900", expect="replaced")
        self.print(f"demo: {SYMBOL} on {self.venue}, accounts {BUYER} and {SELLER}")
        for o in (sell, buy, rest, amend):
            self.submit(o)

        bad = order_body(DemoOrder("bad-tick", BUYER, "buy", "2850.3"), self.venue, self.run_id)
        status, answer = self.call("POST", "/v1/orders", bad)
        code = answer.get("error", {}).get("code") if isinstance(answer, dict) else None
        if status != 422 or code != "price_off_tick":
            raise DemoFailed(
                f"price 2850.3 should be refused with 422 price_off_tick, got {status} {answer}"
            )
        self.print(
            f"refused   bad-tick   buy 100 {SYMBOL} @ 2850.3 -> {status} {code} (nothing written)"
        )

        self.wait_status(rest, "new")
        status, answer = self.call("DELETE", f"/v1/orders/{rest.order_id}")
        if status != 202:
            raise DemoFailed(f"cancel resting: expected 202, got {status} {answer}")
        self.print(f"cancel    resting    {rest.order_id} -> 202")

        self.wait_status(amend, "new")
        status, answer = self.call(
            "PATCH", f"/v1/orders/{amend.order_id}", {"quantity": 200, "price": "2905"}
        )
        if status != 202:
            raise DemoFailed(f"replace: expected 202, got {status} {answer}")
        amend.quantity, amend.price = 200, "2905"
        self.print(f"replace   replaced   {amend.order_id} -> 200 @ 2905 -> 202")

        for o in (sell, buy, rest, amend):
            self.wait_status(o, o.expect)
        for o in (sell, buy):
            if (o.final or {}).get("cum_qty") != 100:
                raise DemoFailed(f"{o.label}: filled {o.final and o.final.get('cum_qty')}, not 100")
        final = amend.final or {}
        if final.get("quantity") != 200 or str(final.get("price")) != "2905":
            raise DemoFailed(f"replaced order shows {final.get('quantity')} @ {final.get('price')}")

        self.print(f"\nfinal states ({time.monotonic() - started:.2f} s after the first submit):")
        for o in (sell, buy, rest, amend):
            self.print(state_line(o))
        status, trail = self.call("GET", f"/v1/orders/{buy.order_id}/trail")
        if status != 200 or not isinstance(trail, dict):
            raise DemoFailed(f"trail of {buy.order_id}: {status} {trail}")
        # the connector appends its "sent" step after the bytes are written, so it can land
        # after the venue's answers: every step must be there, in whatever order
        steps = sorted(trail.get("steps", []), key=lambda s: str(s.get("at", "")))
        names = [s.get("step") for s in steps]
        missing = [n for n in TRAIL_STEPS if n not in names]
        if missing:
            raise DemoFailed(f"trail of the buy lacks {missing}: {names}")
        self.print(f"\nend-to-end trail of the buy (GET /v1/orders/{buy.order_id}/trail, by time):")
        for line in trail_lines(steps):
            self.print(line)
        if self.console:
            self.print(
                f"\nthe same trail as a timeline in the operations console: "
                f"{self.console}/orders/{buy.order_id}\n"
                "  (log in with: ordergate token --scope ops:read | tail -1)"
            )
