"""The fault model: what POST /faults accepts, and the precise refusals."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from simulators.exchange.faults import PARAMS, FaultError, FaultKind, FaultLog, parse_fault


def test_drop_outbound_takes_a_count() -> None:
    fault = parse_fault({"fault": "drop_outbound", "count": 2})
    assert fault.kind is FaultKind.DROP_OUTBOUND
    assert fault.params == {"count": 2}
    assert fault.session is None


def test_count_defaults_to_one_when_omitted() -> None:
    assert parse_fault({"fault": "reject_next_orders"}).params == {"count": 1}


def test_session_is_kept_as_given() -> None:
    assert parse_fault({"fault": "disconnect", "session": "ORDERGATE"}).session == "ORDERGATE"


@pytest.mark.parametrize("kind", list(FaultKind))
def test_every_fault_parses_with_its_required_parameters(kind: FaultKind) -> None:
    body: dict[str, object] = {"fault": kind.value}
    for p in PARAMS[kind]:
        body[p.name] = p.minimum if p.default is None else p.default
    assert parse_fault(body).kind is kind


def test_unknown_fault_is_refused_naming_it() -> None:
    with pytest.raises(FaultError, match="unknown fault 'explode'"):
        parse_fault({"fault": "explode"})


def test_unknown_parameter_is_refused_naming_it() -> None:
    with pytest.raises(FaultError, match="unknown parameter 'cnt'"):
        parse_fault({"fault": "drop_outbound", "cnt": 2})


def test_parameter_of_a_fault_without_parameters_is_refused() -> None:
    with pytest.raises(FaultError, match="unknown parameter 'count' for fault 'disconnect'"):
        parse_fault({"fault": "disconnect", "count": 1})


def test_required_parameter_missing_is_refused() -> None:
    with pytest.raises(FaultError, match="needs parameter 'seconds'"):
        parse_fault({"fault": "refuse_logons"})


@pytest.mark.parametrize("value", ["2", 2.0, True, None, [2]])
def test_non_integer_parameter_is_refused(value: object) -> None:
    with pytest.raises(FaultError, match="must be an integer"):
        parse_fault({"fault": "drop_outbound", "count": value})


def test_out_of_range_parameter_is_refused() -> None:
    with pytest.raises(FaultError, match="between 1 and"):
        parse_fault({"fault": "drop_outbound", "count": 0})


@pytest.mark.parametrize("body", [[], "drop_outbound", None, 3])
def test_body_that_is_not_an_object_is_refused(body: object) -> None:
    with pytest.raises(FaultError, match="JSON object"):
        parse_fault(body)


def test_missing_fault_name_is_refused() -> None:
    with pytest.raises(FaultError, match='missing "fault"'):
        parse_fault({"count": 2})


def test_empty_session_is_refused() -> None:
    with pytest.raises(FaultError, match="session"):
        parse_fault({"fault": "disconnect", "session": ""})


def test_fault_log_keeps_the_newest_records_within_its_limit() -> None:
    log = FaultLog(limit=3)
    for i in range(5):
        log.add(parse_fault({"fault": "skip_seq", "count": i + 1}), ["s"], "applied", at=float(i))
    assert [r["params"]["count"] for r in log.to_json()] == [3, 4, 5]


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=12),
    lambda inner: (
        st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=8), inner, max_size=3)
    ),
    max_leaves=8,
)


@settings(max_examples=300, deadline=None)
@given(
    st.one_of(
        json_values,
        st.dictionaries(
            st.sampled_from(["fault", "session", "count", "ms", "seconds", "x"]),
            json_values | st.sampled_from([k.value for k in FaultKind]),
            max_size=4,
        ),
    )
)
def test_any_json_body_parses_or_raises_fault_error(body: object) -> None:
    try:
        fault = parse_fault(body)
    except FaultError as exc:
        assert str(exc)
        return
    assert fault.kind in FaultKind
    assert all(isinstance(v, int) and not isinstance(v, bool) for v in fault.params.values())
