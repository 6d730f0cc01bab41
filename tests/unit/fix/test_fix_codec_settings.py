"""Templates byte for byte against simplefix; timestamps; settings loading with precise errors."""

from __future__ import annotations

from decimal import Decimal

import pytest
import simplefix
from hypothesis import given, settings
from hypothesis import strategies as st
from support.fixscript import T0, app, logged_on_session

from fixengine import SessionSettings, SettingsError, Template, sending_time
from fixengine.codec import EXECUTION_REPORT, NEW_ORDER_SINGLE, parse_utc_timestamp, to_bytes

_val = st.text(
    alphabet=st.characters(min_codepoint=33, max_codepoint=126, blacklist_characters="="),
    min_size=1,
    max_size=12,
)


def reference(tpl: Template, sender: str, target: str, seq: int, now: float, values) -> bytes:
    m = simplefix.FixMessage()
    m.append_pair(8, "FIX.4.4")
    m.append_pair(35, tpl.msg_type)
    m.append_pair(49, sender)
    m.append_pair(56, target)
    m.append_pair(34, seq)
    m.append_pair(52, sending_time(now))
    for t, v in zip(tpl.tags, values, strict=True):
        m.append_pair(t, v)
    return bytes(m.encode())


@settings(max_examples=200, deadline=None)
@given(
    st.sampled_from([NEW_ORDER_SINGLE, EXECUTION_REPORT]),
    st.integers(min_value=1, max_value=10**9),
    st.floats(min_value=1.6e9, max_value=2.0e9),
    st.data(),
)
def test_templates_match_simplefix_byte_for_byte(tpl, seq, now, data):
    values = [data.draw(_val) for _ in tpl.tags]
    assert tpl.encode("BROKER", "EXCH", seq, now, *values) == reference(
        tpl, "BROKER", "EXCH", seq, now, values
    )


def test_session_send_body_matches_simplefix_for_the_same_fields():
    s = logged_on_session()
    values = [
        "c1",
        "ACC",
        "7203",
        "XTKS",
        "1",
        "20261118-07:06:40.000",
        100,
        "2",
        Decimal("2500.5"),
        "0",
    ]
    ob = s.send_body(b"D", NEW_ORDER_SINGLE.body(*values), T0)
    assert ob.raw == reference(NEW_ORDER_SINGLE, "BROKER", "EXCH", ob.seq, T0, values)


def test_session_send_app_matches_simplefix_encoding():
    s = logged_on_session()
    ob = s.send_app(app("q"), T0)
    ref = simplefix.FixMessage()
    for t, v in ((8, "FIX.4.4"), (35, "D"), (49, "BROKER"), (56, "EXCH"), (34, ob.seq)):
        ref.append_pair(t, v)
    ref.append_pair(52, sending_time(T0))
    ref.append_pair(11, "q")
    assert ob.raw == ref.encode()


def test_template_refuses_wrong_value_count():
    with pytest.raises(ValueError):
        NEW_ORDER_SINGLE.body("only one")


def test_float_values_are_refused_decimal_accepted():
    with pytest.raises(TypeError):
        to_bytes(2500.5)
    assert to_bytes(Decimal("2500.5")) == b"2500.5"


@settings(max_examples=200, deadline=None)
@given(st.floats(min_value=0, max_value=4.0e9))
def test_sending_time_parses_back_to_the_millisecond(now):
    back = parse_utc_timestamp(sending_time(now))
    assert back is not None and abs(back - now) < 0.0011


@pytest.mark.parametrize(
    "bad",
    [
        b"",
        b"20261301-00:00:00",
        b"2026-11-27 10:00:00",
        b"20261127-25:00:00",
        b"20261127-10:00:00.x",
    ],
)
def test_malformed_utc_timestamps_parse_to_none(bad):
    assert parse_utc_timestamp(bad) is None


def test_settings_from_a_config_section_with_quickfix_names():
    s = SessionSettings.from_dict(
        {
            "SenderCompID": "BROKER",
            "TargetCompID": "EXCH",
            "HeartBtInt": "5",
            "ResetOnLogon": "Y",
            "CheckLatency": "N",
            "MaxLatency": "30",
            "StartTime": "08:00:00",
            "EndTime": "15:30:00",
            "Weekdays": "Mon,Tue,Wed,Thu,Fri",
        }
    )
    assert s.HeartBtInt == 5 and s.ResetOnLogon and not s.CheckLatency and s.MaxLatency == 30
    assert s.Weekdays == ("Mon", "Tue", "Wed", "Thu", "Fri")
    assert s.session_id == "FIX.4.4:BROKER->EXCH"


def test_settings_errors_name_every_bad_key():
    with pytest.raises(SettingsError) as err:
        SessionSettings.from_dict(
            {"SenderCompID": "A", "HeartBtint": "5", "ResetOnLogon": "maybe", "MaxLatency": "x"}
        )
    problems = err.value.problems
    assert "unknown setting 'HeartBtint' (did you mean 'HeartBtInt'?)" in problems
    assert "ResetOnLogon must be Y or N, got 'maybe'" in problems
    assert "MaxLatency must be an integer, got 'x'" in problems
    assert "TargetCompID is required" in problems


@pytest.mark.parametrize(
    "changes, fragment",
    [
        ({"HeartBtInt": "-1"}, "HeartBtInt must be >= 0"),
        ({"StartTime": "8:00", "EndTime": "15:00:00"}, "StartTime must be HH:MM:SS"),
        ({"StartTime": "08:00:00"}, "StartTime and EndTime must be set together"),
        ({"TimeZone": "Mars/Olympus"}, "not a known IANA time zone"),
        ({"Weekdays": "Mon,Funday"}, "'Funday' is not one of"),
        ({"Username": "u"}, "Username and Password must be set together"),
        ({"ConnectionType": "both"}, "ConnectionType must be"),
    ],
)
def test_settings_cross_checks(changes, fragment):
    with pytest.raises(SettingsError) as err:
        SessionSettings.from_dict({"SenderCompID": "A", "TargetCompID": "B", **changes})
    assert any(fragment in p for p in err.value.problems), err.value.problems


def test_quickfix_cfg_sessions_inherit_default_and_ignore_quickfix_only_settings():
    from fixengine import load_quickfix_cfg

    cfg = """
    # a venue's QuickFIX configuration
    [DEFAULT]
    ConnectionType=acceptor
    HeartBtInt=20
    FileStorePath=store
    SocketAcceptPort=9878

    [SESSION]
    SenderCompID=TSE
    TargetCompID=OG

    [SESSION]
    SenderCompID=TSE
    TargetCompID=OG2
    HeartBtInt=5
    """
    a, b = load_quickfix_cfg(cfg)
    assert (a.TargetCompID, a.HeartBtInt, a.ConnectionType) == ("OG", 20, "acceptor")
    assert (b.TargetCompID, b.HeartBtInt) == ("OG2", 5)
    assert a.extra == {"FileStorePath": "store"}


def test_quickfix_cfg_problems_are_reported_per_session():
    from fixengine import load_quickfix_cfg

    with pytest.raises(SettingsError) as err:
        load_quickfix_cfg("[DEFAULT]\nHeartBtInt=x\n[SESSION]\nSenderCompID=A\nTargetCompID=B\n")
    assert err.value.problems == ["session 1: HeartBtInt must be an integer, got 'x'"]
