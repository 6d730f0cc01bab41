"""One trail-step encoder: the hot writers' templates, the reader and the Lua function all
come from ``gateway.trail.step_json``."""

import json
from json.encoder import encode_basestring_ascii as _q

from hypothesis import given
from hypothesis import strategies as st

from gateway import trail
from gateway.model import TrailStep
from gateway.scripts import NAMES, source

text = st.text(max_size=20)


@given(text, text, text, st.integers(0, 10**9), st.booleans())
def test_template_is_step_json_with_the_slots_filled(process, cid, venue, seq, compact):
    at = "2026-11-27T01:00:00.123456Z"
    fmt = trail.template("received", "api", ("client_order_id", "venue", "seq"), compact=compact)
    want = trail.step_json(
        at, "received", "api", process, {"client_order_id": cid, "venue": venue, "seq": seq},
        compact=compact,
    )  # fmt: skip
    assert fmt % (at, _q(process), _q(cid), _q(venue), seq) == want


def test_a_percent_sign_in_a_fixed_part_survives_the_template():
    fmt = trail.template("50%_done", "api", (), compact=True)
    assert fmt % ("t", _q("p")) == trail.step_json("t", "50%_done", "api", "p", compact=True)


def test_parse_reads_both_spacings_and_an_empty_lua_table_as_detail():
    d = {"seq": 3}
    for compact in (True, False):
        raw = trail.step_json("t", "sent", "connector", "c:1", d, compact=compact)
        assert trail.parse(raw) == TrailStep("t", "sent", "connector", "c:1", d)
    assert trail.parse('{"at":"t","step":"s","detail":[]}') == TrailStep("t", "s", "", "", {})
    assert trail.parse("not json") is None
    assert trail.parse("[1]") is None


def test_step_fields_are_written_in_one_order():
    raw = trail.step_json("t", "s", "c", "p", {"x": 1})
    assert list(json.loads(raw)) == list(trail.FIELDS)


def test_lua_step_is_spliced_into_every_script():
    for name in NAMES:
        assert trail.lua_step() in source(name)
