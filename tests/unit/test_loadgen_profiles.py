"""The load generator's profiles: valid orders, determinism, only its own orders touched, and the
open-burst ramp's due times."""

from __future__ import annotations

import itertools
import json
from datetime import date, datetime
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest

from gateway import market_rules
from gateway.refdata import ReferenceData
from gateway.validation import parse_new_order, validate_new_order
from simulators.loadgen.profiles import (
    RateSchedule,
    Request,
    account_names,
    cross_profile,
    mixed_profile,
    priced_symbols,
    submit_profile,
    valid_prices,
)

ON = date(2026, 11, 30)  # a Monday
TOKYO = ZoneInfo("Asia/Tokyo")
REFDATA = ReferenceData.load()
SYMBOLS = priced_symbols(REFDATA, ON)
ACCOUNTS = account_names(20)
UNIT = market_rules.trading_unit(ON)


def _take(it: object, n: int) -> list[Request]:
    return list(itertools.islice(it, n))  # type: ignore[call-overload]


def test_every_symbol_has_prices_on_the_tick_grid_within_the_daily_limits() -> None:
    assert len(SYMBOLS) == len(REFDATA.all())
    for priced in SYMBOLS:
        sym = REFDATA.get(priced.code)
        assert sym is not None
        lower, upper = market_rules.daily_limits(sym.base_price, ON)
        assert len(priced.prices) >= 10
        for text in priced.prices:
            price = Decimal(text)
            assert market_rules.is_on_tick(price, sym, ON), (priced.code, text)
            assert lower <= price <= upper
            assert "E" not in text


def test_prices_cross_a_tick_band_boundary_onto_the_coarser_grid() -> None:
    # 7203 (TOPIX100, base 2850): tick 0.5 up to 3000, then 1
    sym = REFDATA.get("7203")
    assert sym is not None
    prices = [Decimal(p) for p in valid_prices(sym, ON, Decimal("0.06"))]
    assert Decimal("2999.5") in prices and Decimal("3000") in prices
    assert Decimal("3000.5") not in prices and Decimal("3001") in prices


def test_submit_profile_orders_pass_the_gateways_own_validation() -> None:
    now = datetime(2026, 11, 30, 10, 0, tzinfo=TOKYO)  # continuous session
    seen_symbols = set()
    for req in _take(submit_profile(SYMBOLS, ACCOUNTS, UNIT, "run", seed=7), 2000):
        assert (req.op, req.method, req.target) == ("submit", "POST", None)
        body = json.loads(req.body or b"")
        order = validate_new_order(parse_new_order(body), REFDATA, now)
        assert order.request.quantity % UNIT == 0
        assert order.request.price is not None
        assert order.request.price * order.request.quantity <= max(
            Decimal(2_000_000), order.request.price * UNIT
        )
        seen_symbols.add(body["symbol"])
    assert len(seen_symbols) == len(SYMBOLS)


def test_cross_profile_pairs_trade_in_full_in_any_arrival_order() -> None:
    now = datetime(2026, 11, 30, 10, 0, tzinfo=TOKYO)
    reqs = _take(cross_profile(SYMBOLS, ACCOUNTS, UNIT, "x"), 2 * 3 * len(SYMBOLS))
    bodies = [json.loads(r.body or b"") for r in reqs]
    for body in bodies:
        validate_new_order(parse_new_order(body), REFDATA, now)
    net: dict[tuple[str, str], int] = {}  # (symbol, price) -> bought - sold
    prices: dict[str, set[str]] = {}
    for buy, sell in zip(bodies[::2], bodies[1::2], strict=True):
        assert (buy["side"], sell["side"]) == ("buy", "sell")
        assert buy["account"] != sell["account"]
        assert (buy["symbol"], buy["price"], buy["quantity"]) == (
            sell["symbol"],
            sell["price"],
            sell["quantity"],
        )
        key = (buy["symbol"], buy["price"])
        net[key] = net.get(key, 0) + buy["quantity"] - sell["quantity"]
        prices.setdefault(buy["symbol"], set()).add(buy["price"])
    # one price per symbol and nothing left over: every order meets its match, whatever the order
    assert all(len(p) == 1 for p in prices.values()) and set(net.values()) == {0}
    assert len(prices) == len(SYMBOLS)
    assert len({b["client_order_id"] for b in bodies}) == len(bodies)


def test_cross_profile_needs_two_accounts() -> None:
    with pytest.raises(ValueError, match="two accounts"):
        next(cross_profile(SYMBOLS, ACCOUNTS[:1], UNIT, "x"))


def test_client_order_ids_are_distinct_and_accounts_spread_evenly() -> None:
    reqs = _take(submit_profile(SYMBOLS, ACCOUNTS, UNIT, "r1", seed=1), 400)
    bodies = [json.loads(r.body or b"") for r in reqs]
    assert len({b["client_order_id"] for b in bodies}) == 400
    counts = {a: 0 for a in ACCOUNTS}
    for b in bodies:
        counts[b["account"]] += 1
    assert set(counts.values()) == {20}


@pytest.mark.parametrize("profile", ["submit", "mixed"])
def test_same_seed_same_sequence_other_seed_another(profile: str) -> None:
    def make(seed: int) -> list[Request]:
        if profile == "mixed":
            return _take(mixed_profile(SYMBOLS, ACCOUNTS, UNIT, "run", seed, min_age=10), 500)
        return _take(submit_profile(SYMBOLS, ACCOUNTS, UNIT, "run", seed), 500)

    assert make(42) == make(42)
    assert make(42) != make(43)


def test_mixed_profile_only_acts_on_its_own_older_orders_and_each_at_most_once() -> None:
    min_age = 25
    reqs = _take(mixed_profile(SYMBOLS, ACCOUNTS, UNIT, "run", 3, min_age), 5000)
    submits: set[int] = set()
    changed: set[int] = set()
    ops = {"submit": 0, "cancel": 0, "replace": 0, "get": 0}
    for k, req in enumerate(reqs):
        ops[req.op] += 1
        if req.op == "submit":
            submits.add(k)
            continue
        assert req.target in submits, (k, req)  # an order this run created earlier
        assert req.target <= k - min_age
        if req.op in ("cancel", "replace"):
            assert req.target not in changed
            changed.add(req.target)
        if req.op == "replace":
            old = json.loads(reqs[req.target].body or b"")["price"]
            new = json.loads(req.body or b"")["price"]
            assert new != old
            sym = REFDATA.get(json.loads(reqs[req.target].body or b"")["symbol"])
            assert sym is not None and market_rules.is_on_tick(Decimal(new), sym, ON)
        else:
            assert req.body is None
    assert {r.op for r in reqs[:min_age]} == {"submit"}
    # roughly 70 / 10 / 10 / 10
    assert 0.65 < ops["submit"] / 5000 < 0.75
    for op in ("cancel", "replace", "get"):
        assert 0.07 < ops[op] / 5000 < 0.13, ops
    assert reqs[1].path() == "/v1/orders" and Request("get", "GET", None, 0).path("x1") == (
        "/v1/orders/x1"
    )


def test_constant_schedule_due_times() -> None:
    s = RateSchedule.for_profile("submit", 300, 2)
    assert s.total == 600
    assert s.due(0) == 0 and s.due(300) == pytest.approx(1.0) and s.due(599) < 2


def test_open_burst_ramps_from_a_tenth_to_the_rate_in_the_first_fifth() -> None:
    s = RateSchedule.for_profile("open-burst", 1000, 10)
    assert (s.start_rate, s.ramp_seconds) == (100, 2)
    # requests: the ramp's 2 s average 550/s, then 8 s at 1000/s
    assert s.total == 1100 + 8000
    assert s.rate_at(0) == 100 and s.rate_at(1) == pytest.approx(550) and s.rate_at(5) == 1000
    dues = [s.due(k) for k in range(s.total)]
    assert dues == sorted(dues) and dues[0] == 0 and dues[-1] < 10
    assert s.due(1100) == pytest.approx(2.0)
    # request k is due when N(t) = k: N(1) = 100 + 900 / 4 = 325
    assert s.due(325) == pytest.approx(1.0)
    # the gaps shrink from 1/100 s to 1/1000 s, then hold
    assert dues[1] - dues[0] == pytest.approx(0.01, rel=0.05)
    assert dues[2000] - dues[1999] == pytest.approx(0.001)
    per_second = [sum(1 for d in dues if i <= d < i + 1) for i in range(10)]
    assert per_second[0] == 325 and per_second[1] == 1100 - 325
    assert per_second[2:] == [1000] * 8
    assert s.min_rate == 100
