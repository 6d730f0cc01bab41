"""Instruments built from the gateway's reference data and market rules (no TSE table here)."""

from __future__ import annotations

from datetime import date
from decimal import Decimal as D

from simulators.exchange.instruments import from_reference_data

DAY = date(2026, 11, 30)


def test_daily_limits_come_from_the_base_price():
    inst = from_reference_data(venue="TSE", on=DAY).get("7203")  # base 2850
    assert (inst.lower_limit, inst.upper_limit) == (D("2350"), D("3350"))


def test_topix500_tick_changes_at_the_band_bound():
    inst = from_reference_data(venue="TSE", on=DAY).get("7203")
    assert inst.on_tick(D("2999.5")) and inst.on_tick(D("3000"))
    assert not inst.on_tick(D("3000.5"))  # above 3,000 the TOPIX500 tick is 1 yen
    assert inst.tick_above(D("3000")) == D("3001")
    assert inst.tick_below(D("3001")) == D("3000")
    assert inst.tick_below(D("3000")) == D("2999.5")


def test_a_venue_only_gets_the_symbols_listed_on_it():
    tse = from_reference_data(venue="TSE", on=DAY)
    jnx = from_reference_data(venue="JNX", on=DAY)
    assert len(jnx) < len(tse)
    assert {i.symbol for i in jnx} <= {i.symbol for i in tse}


def test_trading_unit_is_100():
    assert {i.unit for i in from_reference_data(on=DAY)} == {100}


def test_a_mid400_name_gets_the_narrow_tick_only_from_2023_06_05():
    before = from_reference_data(venue="TSE", on=date(2023, 6, 2)).get("5333")  # base 1900
    after = from_reference_data(venue="TSE", on=date(2023, 6, 5)).get("5333")
    assert not before.on_tick(D("1900.5"))  # TOPIX100-only narrow table then: 1 yen
    assert after.on_tick(D("1900.5"))  # TOPIX500 narrow table: 0.5 yen up to 3,000
