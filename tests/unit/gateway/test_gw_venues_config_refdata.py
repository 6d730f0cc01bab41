"""Venue hours as data, reference data loading, configuration loading and its errors."""

import json
from datetime import UTC, datetime

import pytest

from gateway.config import DEV_JWT_SECRET, ConfigError, GatewayConfig, from_dict
from gateway.refdata import ReferenceData
from gateway.venues import Phase, is_open, phase_at


def jst(d: int, h: int, m: int) -> datetime:
    # 2026-11-d at h:m Tokyo time (UTC+9)
    return datetime(2026, 11, d, h, m, tzinfo=UTC).replace(
        hour=(h - 9) % 24, day=d if h >= 9 else d - 1
    )


@pytest.mark.parametrize(
    "h,m,phase",
    [
        (7, 59, Phase.closed),
        (8, 0, Phase.pre_open),
        (9, 0, Phase.continuous),
        (11, 29, Phase.continuous),
        (11, 30, Phase.break_),
        (12, 30, Phase.continuous),
        (15, 24, Phase.continuous),
        (15, 25, Phase.closing_auction),
        (15, 29, Phase.closing_auction),
        (15, 30, Phase.closed),
    ],
)
def test_tse_phases_on_a_business_day(h, m, phase):
    assert phase_at("TSE", jst(27, h, m)) is phase


def test_tse_closed_on_saturday():
    assert not is_open("TSE", jst(28, 10, 0))


def test_tse_closed_on_new_years_eve():
    assert phase_at("TSE", datetime(2026, 12, 31, 1, 0, tzinfo=UTC)) is Phase.closed


def test_pts_night_session_runs_past_midnight():
    # Friday 16:30 JST -> Saturday 06:00 JST
    assert phase_at("JNX", jst(27, 23, 0)) is Phase.continuous
    assert (
        phase_at("JNX", datetime(2026, 11, 27, 20, 0, tzinfo=UTC)) is Phase.continuous
    )  # Sat 05:00
    assert phase_at("JNX", datetime(2026, 11, 27, 21, 30, tzinfo=UTC)) is Phase.closed  # Sat 06:30


def test_pts_closed_between_day_and_night_sessions():
    assert phase_at("JNX", jst(27, 16, 10)) is Phase.closed


def test_refdata_covers_core30_and_non_constituents():
    ref = ReferenceData.load()
    for code in ("7203", "6758", "9984", "8306"):
        assert ref.get(code) is not None and ref.get(code).topix500
    assert sum(1 for s in ref.all() if not s.topix500) >= 5


def test_refdata_bad_row_is_named(tmp_path):
    p = tmp_path / "s.json"
    p.write_text(
        json.dumps(
            {
                "symbols": [
                    {
                        "symbol": "1",
                        "name": "x",
                        "base_price": "-5",
                        "topix500": True,
                        "venues": ["TSE"],
                    }
                ]
            }
        )
    )
    with pytest.raises(ValueError, match="row 0"):
        ReferenceData.load(p)


def test_development_defaults_are_generous():
    c = GatewayConfig.load(env={})
    assert c.risk.max_open_orders >= 10_000
    assert c.risk.orders_per_second >= 1_000
    assert c.risk.max_daily_buy_notional >= 10_000_000_000
    assert c.environment == "development"


def test_toml_file_with_account_override(tmp_path):
    p = tmp_path / "og.toml"
    p.write_text(
        'environment = "staging"\npartitions = 8\n[risk]\nmax_open_orders = 5\n[risk.accounts.A1]\nburst = 3\n'
    )
    c = GatewayConfig.load(p, env={})
    assert c.partitions == 8 and c.risk.max_open_orders == 5
    assert c.risk_for("A1").burst == 3 and c.risk_for("A1").max_open_orders == 5
    assert c.risk_for("B").burst == c.risk.burst


def test_redis_calls_have_a_timeout_by_default_and_it_can_be_set(tmp_path):
    assert GatewayConfig.load(env={}).redis_timeout_ms == 2000
    p = tmp_path / "og.toml"
    p.write_text("[redis]\ntimeout_ms = 1500\n")
    assert GatewayConfig.load(p, env={}).redis_timeout_ms == 1500
    assert GatewayConfig.load(p, env={"OG_REDIS_TIMEOUT_MS": "3000"}).redis_timeout_ms == 3000


def test_environment_overrides_file(tmp_path):
    p = tmp_path / "og.json"
    p.write_text(json.dumps({"redis": {"url": "redis://a:1/0"}}))
    c = GatewayConfig.load(p, env={"OG_REDIS_URL": "redis://b:2/0", "OG_WAIT_REPLICAS": "1"})
    assert c.redis_url == "redis://b:2/0" and c.wait_replicas == 1


@pytest.mark.parametrize(
    "data,where",
    [
        ({"partitions": 0}, "partitions"),
        ({"partitions": "x"}, "partitions"),
        ({"risk": {"max_open_orders": -1}}, "risk.max_open_orders"),
        ({"risk": {"orders_per_second": 0}}, "risk.orders_per_second"),
        ({"risk": {"nope": 1}}, "risk.nope"),
        ({"risk": {"accounts": {"A1": {"burst": "many"}}}}, "risk.accounts.A1.burst"),
        ({"redis": {"cluster": "perhaps"}}, "redis.cluster"),
        ({"jwt": {"algorithm": "none"}}, "jwt.algorithm"),
        ({"surprise": {}}, "config.surprise"),
        ({"redis": {"cluster": True, "wait_replicas": 1}}, "redis.wait_replicas"),
        ({"redis": {"timeout_ms": 0}}, "redis.timeout_ms"),
        ({"redis": {"timeout_ms": 1000}}, "redis.timeout_ms"),  # under an XREAD's 1 s block
        ({"jwt": {"resource_server": 1}}, "jwt.resource_server"),
    ],
)
def test_bad_config_names_the_setting(data, where):
    with pytest.raises(ConfigError, match=where.replace(".", r"\.")):
        from_dict(data)


def test_production_refuses_the_development_secret():
    with pytest.raises(ConfigError, match="development secret"):
        from_dict({"environment": "production"})
    assert from_dict({"environment": "production", "jwt": {"secret": "s" + DEV_JWT_SECRET}})


def test_unreadable_file_is_a_config_error(tmp_path):
    with pytest.raises(ConfigError, match="cannot read"):
        GatewayConfig.load(tmp_path / "missing.toml", env={})


def test_secret_by_environment_reference():
    c = from_dict({"jwt": {"secret": "env:MY_SECRET"}}, {"MY_SECRET": "s3cret"})
    assert c.jwt.secret == "s3cret"


def test_redis_url_by_file_reference(tmp_path):
    f = tmp_path / "url"
    f.write_text("redis://cache:6379/0\n")
    assert from_dict({"redis": {"url": f"file:{f}"}}).redis_url == "redis://cache:6379/0"


def test_unset_reference_names_the_setting():
    with pytest.raises(ConfigError, match=r"jwt\.secret: environment variable NOPE is not set"):
        from_dict({"jwt": {"secret": "env:NOPE"}}, {})


def test_environment_variable_may_hold_a_reference():
    c = from_dict({}, {"OG_JWT_SECRET": "env:REAL", "REAL": "x" * 40})
    assert c.jwt.secret == "x" * 40
