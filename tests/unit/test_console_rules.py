"""The console's pure rules: scopes imply nothing, CSRF bound to the session token, forms to
control-API bodies, search queries that only an index can answer."""

from __future__ import annotations

import pytest

from console.reads import SearchError, parse_query
from console.security import Forbidden, Scope, cookie_attributes, csrf_ok, csrf_token, require
from console.simctl import FAULTS, ControlError, fault_body, phase_body, switch_body
from gateway.auth import Principal


def who(*scopes: str) -> Principal:
    return Principal("ops-1", frozenset(), frozenset(scopes))


@pytest.mark.parametrize(
    ("held", "needed"),
    [
        ("ops:read", Scope.halt),
        ("ops:read", Scope.sim),
        ("ops:halt", Scope.read),
        ("ops:halt", Scope.sim),
        ("sim:control", Scope.read),
        ("sim:control", Scope.halt),
        ("ops", Scope.read),
        ("ops", Scope.halt),
        ("trade", Scope.read),
    ],
)
def test_no_scope_implies_another(held: str, needed: Scope) -> None:
    with pytest.raises(Forbidden):
        require(who(held), needed)


def test_each_scope_grants_its_own_action() -> None:
    for scope in Scope:
        require(who(scope.value), scope)


def test_csrf_token_is_bound_to_the_session_token() -> None:
    assert csrf_ok("token-a", csrf_token("token-a"))
    assert not csrf_ok("token-b", csrf_token("token-a"))
    assert not csrf_ok("token-a", "")
    assert not csrf_ok("token-a", None)


def test_session_cookie_is_httponly_and_samesite_strict() -> None:
    attrs = cookie_attributes(secure=False)
    assert attrs["httponly"] is True and attrs["samesite"] == "strict"
    assert cookie_attributes(secure=True)["secure"] is True


def test_fault_form_becomes_the_control_api_body_with_integer_parameters() -> None:
    form = {"fault": "drop_outbound", "count": "2", "session": "ORDERGATE", "seconds": "9"}
    assert fault_body(form) == {"fault": "drop_outbound", "count": 2, "session": "ORDERGATE"}
    assert fault_body({"fault": "disconnect", "session": ""}) == {"fault": "disconnect"}


def test_every_fault_of_the_control_api_is_offered() -> None:
    from simulators.exchange.faults import PARAMS  # the test may look; the console may not

    assert set(FAULTS) == {k.value for k in PARAMS}
    for kind, params in PARAMS.items():
        assert set(FAULTS[kind.value]) == {p.name for p in params}


@pytest.mark.parametrize(
    "form",
    [{"fault": "melt_down"}, {"fault": "refuse_logons", "seconds": "ten"}, {}],
)
def test_bad_fault_form_is_refused_before_calling_the_simulator(form: dict[str, str]) -> None:
    with pytest.raises(ControlError) as err:
        fault_body(form)
    assert err.value.status == 400


def test_phase_and_kill_switch_forms() -> None:
    assert phase_body({"phase": "clock"}) == {"phase": None}
    assert phase_body({"phase": "closed"}) == {"phase": "closed"}
    assert switch_body({"active": "false", "session": "*"}) == {
        "active": False,
        "session": "*",
    }
    with pytest.raises(ControlError):
        phase_body({"phase": "lunch"})
    with pytest.raises(ControlError):
        switch_body({"active": "yes"})


@pytest.mark.parametrize(
    "params",
    [
        {"symbol": "7203"},  # no account: would need a scan
        {"status": "filled"},
        {"client_order_id": "c-1"},  # unique per account only
        {"account": "A", "status": "bogus"},
        {"account": "A", "since": "yesterday"},
        {"order_id": "not-an-id"},
    ],
)
def test_searches_that_need_a_scan_or_are_malformed_are_refused(params: dict[str, str]) -> None:
    with pytest.raises(SearchError):
        parse_query(params)


def test_time_range_is_read_as_utc_milliseconds() -> None:
    q = parse_query({"account": "A", "since": "2026-01-01T00:00", "until": "2026-01-01T00:01"})
    assert q.since_ms == 1767225600000 and q.until_ms == 1767225660000


def test_only_faults_in_force_are_listed_as_active() -> None:
    from console.views import active_faults

    state = {"drop_outbound": 0, "delay_outbound_ms": 50, "heartbeats_stopped": False}
    assert active_faults(state) == "delay_outbound_ms=50"
    assert active_faults({"refuse_logons_until": None, "reject_next_orders": 0}) == "-"
