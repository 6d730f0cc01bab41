"""Which tick table a symbol uses on a date: the narrow table went to TOPIX100 constituents from
2014-01-14 and to every TOPIX500 constituent (TOPIX Mid400 added) from 2023-06-05."""

import json
from datetime import UTC, date, datetime
from decimal import Decimal as D

import pytest

from gateway import market_rules as mr
from gateway.errors import ErrorCode, OrderError
from gateway.refdata import ReferenceData
from gateway.validation import parse_new_order, validate_new_order

REF = ReferenceData.load()
BEFORE = date(2023, 6, 2)  # the last business day before the widening
FROM = date(2023, 6, 5)
TODAY = date(2026, 11, 27)
MID400 = REF.get("5333")  # NGK Insulators: TOPIX500, not TOPIX100
TOPIX100 = REF.get("7203")  # Toyota: TOPIX Core30
OTHER = REF.get("4592")  # SanBio: not in TOPIX500


def test_shipped_mid400_and_topix100_names_have_the_flags_the_tests_rely_on():
    assert MID400 is not None and MID400.topix500 and not MID400.topix100
    assert TOPIX100 is not None and TOPIX100.topix500 and TOPIX100.topix100
    assert OTHER is not None and not OTHER.topix500 and not OTHER.topix100


def test_core30_names_are_topix100_constituents():
    for code in ("7203", "6758", "9984", "8306", "6861", "8035", "9432", "8316", "8411"):
        assert REF.get(code).topix100, code


def test_every_topix100_constituent_is_a_topix500_constituent():
    assert all(s.topix500 for s in REF.all() if s.topix100)


def test_narrow_table_index_is_topix100_until_and_topix500_from_2023_06_05():
    assert mr.narrow_index(date(2014, 1, 14)) == "topix100"
    assert mr.narrow_index(BEFORE) == "topix100"
    assert mr.narrow_index(FROM) == "topix500"


def test_mid400_name_uses_the_wide_table_before_2023_06_05():
    assert mr.tick_size(D("1900.5"), MID400, BEFORE) == D("1")
    assert not mr.is_on_tick(D("1900.5"), MID400, BEFORE)


def test_mid400_name_uses_the_narrow_table_from_2023_06_05():
    assert mr.tick_size(D("1900.5"), MID400, FROM) == D("0.5")
    assert mr.is_on_tick(D("1900.5"), MID400, FROM)


@pytest.mark.parametrize("on", [date(2014, 1, 14), BEFORE, FROM, TODAY])
def test_topix100_name_uses_the_narrow_table_on_both_schedules(on):
    assert mr.tick_size(D("2850.5"), TOPIX100, on) == D("0.5")
    assert mr.symbol_tick_bands(TOPIX100, on) == mr.tick_bands(True, on)


@pytest.mark.parametrize("on", [BEFORE, FROM])
def test_non_topix500_name_uses_the_wide_table_on_both_schedules(on):
    assert mr.tick_size(D("1450"), OTHER, on) == D("1")
    assert not mr.is_on_tick(D("1450.5"), OTHER, on)


def test_no_tick_rule_before_2014_01_14():
    with pytest.raises(LookupError):
        mr.tick_size(D("2850"), TOPIX100, date(2014, 1, 13))


def test_validation_accepts_a_half_yen_price_for_a_mid400_name_today():
    body = {
        "account": "A1",
        "client_order_id": "c-1",
        "symbol": "5333",
        "side": "buy",
        "type": "limit",
        "quantity": 100,
        "price": "1900.5",
        "time_in_force": "day",
    }
    now = datetime(2026, 11, 27, 1, 0, tzinfo=UTC)  # 10:00 in Tokyo
    assert validate_new_order(parse_new_order(body), REF, now).symbol.code == "5333"
    body["price"] = "1900.3"
    with pytest.raises(OrderError) as ei:
        validate_new_order(parse_new_order(body), REF, now)
    assert ei.value.code is ErrorCode.price_off_tick


def test_refdata_refuses_a_topix100_flag_without_topix500(tmp_path):
    row = {
        "symbol": "1",
        "name": "x",
        "base_price": "100",
        "topix500": False,
        "topix100": True,
        "venues": ["TSE"],
    }
    p = tmp_path / "s.json"
    p.write_text(json.dumps({"symbols": [row]}))
    with pytest.raises(ValueError, match="row 0"):
        ReferenceData.load(p)


def test_refdata_without_topix100_flags_reads_them_as_false(tmp_path):
    row = {"symbol": "1", "name": "x", "base_price": "100", "topix500": True, "venues": ["TSE"]}
    p = tmp_path / "s.json"
    p.write_text(json.dumps({"symbols": [row]}))
    assert ReferenceData.load(p).get("1").topix100 is False
