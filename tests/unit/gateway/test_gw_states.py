"""The order state machine table, and that the Lua scripts enforce the same table."""

import re

import pytest

from gateway.fields import lua_constants
from gateway.model import TERMINAL, OrderStatus
from gateway.scripts import source
from gateway.states import TABLE, InvalidTransition, OrderEvent, lua_table, transition

S, E = OrderStatus, OrderEvent


def test_happy_path_new_ack_partial_fill():
    s = transition(S.pending_new, E.accepted)
    assert s is S.new
    s = transition(s, E.partial_fill, cum_qty=100)
    assert s is S.partially_filled
    assert transition(s, E.fill, cum_qty=200) is S.filled


def test_cancel_path():
    s = transition(S.new, E.cancel_requested)
    assert s is S.pending_cancel
    assert transition(s, E.canceled) is S.canceled


def test_replace_path():
    s = transition(S.partially_filled, E.replace_requested, cum_qty=100)
    assert s is S.pending_replace
    assert transition(s, E.replaced, cum_qty=100) is S.replaced


def test_rejected_cancel_returns_to_new_when_nothing_filled():
    assert transition(S.pending_cancel, E.cancel_rejected, cum_qty=0) is S.new


def test_rejected_cancel_returns_to_partially_filled_after_fills():
    assert transition(S.pending_cancel, E.cancel_rejected, cum_qty=100) is S.partially_filled


def test_fill_during_pending_cancel_keeps_pending_cancel():
    assert transition(S.pending_cancel, E.partial_fill, cum_qty=100) is S.pending_cancel


@pytest.mark.parametrize("status", sorted(TERMINAL))
@pytest.mark.parametrize("event", list(OrderEvent))
def test_terminal_statuses_accept_no_event(status, event):
    with pytest.raises(InvalidTransition):
        transition(status, event)


def test_replace_of_unacknowledged_order_is_pending_replace():
    assert transition(S.pending_new, E.replace_requested) is S.pending_replace


def test_ack_of_the_order_overtaken_by_its_replace_stays_pending_replace():
    assert transition(S.pending_replace, E.accepted) is S.pending_replace


def test_reject_of_the_original_order_while_replace_pending_is_rejected():
    assert transition(S.pending_replace, E.rejected) is S.rejected


def test_second_cancel_while_replace_pending_is_refused():
    with pytest.raises(InvalidTransition):
        transition(S.pending_replace, E.cancel_requested)


def test_every_non_terminal_status_can_end():
    for s in OrderStatus:
        if s in TERMINAL:
            continue
        assert any((s, e) in TABLE and TABLE[(s, e)] in TERMINAL for e in OrderEvent), (
            f"{s} has no way to a terminal status"
        )


def _lua_pairs() -> dict[str, str]:
    text = source("apply_report")
    body = re.search(r"local STATES = (\{.*?\})\n", text)
    assert body, "STATES table not found in the generated Lua"
    return dict(re.findall(r'\["([a-z_]+\|[a-z_]+)"\]="([a-z_]+)"', body.group(1)))


def test_lua_table_agrees_with_python_table():
    lua = _lua_pairs()
    py = {f"{s.value}|{e.value}": n.value for (s, e), n in TABLE.items()}
    assert lua == py


def test_lua_table_is_spliced_into_every_script():
    for name in ("submit", "cancel", "replace", "apply_report"):
        assert lua_table() in source(name)


def test_lua_terminal_set_is_model_terminal():
    text = source("cancel")
    body = re.search(r"local TERMINAL = (\{.*?\})\n", text)
    assert body, "TERMINAL set not found in the generated Lua"
    assert set(re.findall(r"([a-z_]+)=true", body.group(1))) == {s.value for s in TERMINAL}


def test_lua_spells_no_shared_field_name_itself():
    """Halt and ClOrdID field names come from gateway/fields.py, spliced into the prelude."""
    for name in ("submit", "cancel", "replace", "apply_report"):
        text = source(name)
        assert lua_constants() in text
        body = text.split(lua_constants(), 1)[1]
        for spelled in ("'clordid'", "'all'", "'venue:'", "'account:'"):
            assert spelled not in body, (name, spelled)
