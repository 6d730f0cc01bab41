"""Tick size bands, daily price limits and trading unit, read from the dated data files."""

from datetime import date
from decimal import Decimal as D

import pytest

from gateway import market_rules as mr

TODAY = date(2026, 11, 27)


@pytest.mark.parametrize(
    "price,topix500,tick",
    [
        ("1000", True, "0.1"),  # "up to and including" 1,000
        ("1000.5", True, "0.5"),
        ("3000", True, "0.5"),
        ("3001", True, "1"),
        ("10000", True, "1"),
        ("10005", True, "5"),
        ("30000", True, "5"),
        ("30010", True, "10"),
        ("50000000", True, "10000"),
        ("50010000", True, "10000"),
        ("1000", False, "1"),
        ("3000", False, "1"),
        ("3005", False, "5"),
        ("5000", False, "5"),
        ("5010", False, "10"),
        ("30000", False, "10"),
        ("30050", False, "50"),
        ("50000", False, "50"),
        ("50100", False, "100"),
        ("50100000", False, "100000"),
    ],
)
def test_tick_size_at_band_edges(price, topix500, tick):
    assert mr.tick_size(D(price), topix500, TODAY) == D(tick)


def test_price_between_ticks_is_off_tick_for_constituents():
    assert not mr.is_on_tick(D("1000.05"), True, TODAY)
    assert mr.is_on_tick(D("999.9"), True, TODAY)


def test_half_yen_is_on_tick_only_in_the_narrow_table():
    assert mr.is_on_tick(D("2500.5"), True, TODAY)
    assert not mr.is_on_tick(D("2500.5"), False, TODAY)


def test_non_constituent_above_3000_needs_five_yen():
    assert not mr.is_on_tick(D("3001"), False, TODAY)
    assert mr.is_on_tick(D("3005"), False, TODAY)


def test_tick_bands_cover_every_price_and_end_open():
    for topix500 in (True, False):
        bands = mr.tick_bands(topix500, TODAY)
        assert bands[-1].up_to is None
        bounds = [b.up_to for b in bands[:-1]]
        assert bounds == sorted(bounds)


def test_no_tick_rule_before_the_first_schedule():
    with pytest.raises(LookupError):
        mr.tick_size(D("100"), True, date(2000, 1, 1))


@pytest.mark.parametrize(
    "base,lower,upper",
    [
        ("99", "69", "129"),
        ("100", "50", "150"),  # "less than 100" ends at 100
        ("999", "849", "1149"),
        ("1000", "700", "1300"),
        ("1499", "1199", "1799"),
        ("1500", "1100", "1900"),
        ("3310", "2610", "4010"),
        ("9999", "8499", "11499"),
        ("10000", "7000", "13000"),
        ("15000", "11000", "19000"),
        ("19999", "15999", "23999"),
        ("20000", "15000", "25000"),
        ("1999999", "1599999", "2399999"),
        ("60000000", "50000000", "70000000"),  # derived open-ended row
    ],
)
def test_daily_limits_by_base_price(base, lower, upper):
    assert mr.daily_limits(D(base), TODAY) == (D(lower), D(upper))


def test_lower_limit_is_floored_at_one_yen():
    assert mr.daily_limits(D("20"), TODAY) == (D("1"), D("50"))


def test_derived_limit_rows_are_marked():
    rows = mr.limit_rows(TODAY)
    derived = [r.below for r in rows if r.derived]
    assert derived[0] == D("3000000")
    assert all(not r.derived for r in rows if r.below is not None and r.below <= D("2000000"))


def test_trading_unit_is_100_shares():
    assert mr.trading_unit(TODAY) == 100
