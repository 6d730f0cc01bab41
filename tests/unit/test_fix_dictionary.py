"""The FIX data dictionary: loading QuickFIX-format XML, and every validation rule with its reason."""

from __future__ import annotations

from pathlib import Path

import pytest
import simplefix
from hypothesis import given, settings
from hypothesis import strategies as st

from fixengine import DataDictionary
from fixengine.dictionary import (
    DEFAULT_PATH,
    DictionaryError,
    SessionRejectReason,
    Violation,
    check_format,
)

QUICKFIX_FIX44 = Path(__file__).resolve().parents[2] / ".venv" / "share" / "quickfix" / "FIX44.xml"
HEADER = [
    (8, "FIX.4.4"),
    (9, "100"),
    (35, "?"),
    (49, "OG"),
    (56, "TSE"),
    (34, "7"),
    (52, "20261127-01:02:03.456"),
]
NOS_BODY = [
    (11, "C1"),
    (1, "ACC1"),
    (55, "7203"),
    (54, "1"),
    (60, "20261127-01:02:03.456"),
    (38, "100"),
    (40, "2"),
    (44, "2500.5"),
    (59, "0"),
]
ER_BODY = [
    (37, "O1"),
    (11, "C1"),
    (17, "E1"),
    (150, "F"),
    (39, "1"),
    (55, "7203"),
    (54, "1"),
    (38, "100"),
    (40, "2"),
    (44, "2500"),
    (32, "50"),
    (31, "2500"),
    (151, "50"),
    (14, "50"),
    (6, "2500"),
    (60, "20261127-01:02:03.456"),
]
PARTIES = [(453, "2"), (448, "P1"), (447, "D"), (452, "3"), (448, "P2"), (447, "D"), (452, "1")]
MINIMAL_BODIES: dict[str, list[tuple[int, str]]] = {
    "0": [],
    "1": [(112, "T1")],
    "2": [(7, "1"), (16, "0")],
    "3": [(45, "3"), (371, "44"), (372, "D"), (373, "6"), (58, "bad price")],
    "4": [(123, "Y"), (36, "9")],
    "5": [(58, "bye")],
    "A": [(98, "0"), (108, "30"), (141, "Y"), (553, "user"), (554, "secret")],
    "8": ER_BODY,
    "9": [(37, "O1"), (11, "C2"), (41, "C1"), (39, "0"), (434, "1"), (102, "1"), (58, "unknown")],
    "D": NOS_BODY,
    "F": [(41, "C1"), (11, "C2"), (55, "7203"), (54, "1"), (60, "20261127-01:02:03"), (38, "100")],
    "G": [
        (41, "C1"),
        (11, "C2"),
        (55, "7203"),
        (54, "1"),
        (60, "20261127-01:02:03"),
        (38, "200"),
        (40, "2"),
        (44, "2501"),
    ],
    "H": [(11, "C1"), (55, "7203"), (54, "1")],
    "j": [(45, "4"), (372, "B"), (380, "3"), (58, "unsupported")],
}


def message(msg_type: str, body: list[tuple[int, str]], header=None, trailer=None):
    """A FixMessage with exactly these fields in this order (no re-ordering, no checksum maths)."""
    m = simplefix.FixMessage()
    fields = [(t, msg_type if t == 35 else v) for t, v in (header or HEADER)]
    fields += body + (trailer or [(10, "000")])
    m.pairs = [(str(t).encode(), v.encode()) for t, v in fields]
    return m


def pairs_message(pairs: list[tuple[bytes, bytes]]):
    m = simplefix.FixMessage()
    m.pairs = pairs
    return m


@pytest.fixture(scope="module")
def dd() -> DataDictionary:
    return DataDictionary.default()


def reason(v: Violation | None) -> tuple[int, int | None] | None:
    return None if v is None else (v.session_reject_reason, v.ref_tag_id)


# --- the project's dictionary -------------------------------------------------------------


def test_default_dictionary_defines_the_project_messages(dd):
    assert set(dd.messages) == set(MINIMAL_BODIES)
    assert dd.version == "FIX.4.4"
    assert dd.is_admin("A") and dd.is_admin("5") and not dd.is_admin("D")


@pytest.mark.parametrize("msg_type", sorted(MINIMAL_BODIES))
def test_valid_message_of_each_type_passes(dd, msg_type):
    assert dd.validate(message(msg_type, MINIMAL_BODIES[msg_type])) is None


def test_message_built_and_parsed_by_simplefix_passes(dd):
    m = simplefix.FixMessage()
    m.append_pair(8, "FIX.4.4")
    m.append_pair(35, "8")
    for t, v in HEADER[3:] + ER_BODY + PARTIES:
        m.append_pair(t, v)
    parser = simplefix.FixParser()
    parser.append_buffer(m.encode())
    parsed = parser.get_message()
    assert dd.validate(parsed, m.encode()) is None


def test_project_dictionary_agrees_with_quickfix_numbers_types_and_enums():
    """Every field we define has QuickFIX's number and type; our enums are the spec's values."""
    ours = DataDictionary.default()
    theirs = DataDictionary.load(QUICKFIX_FIX44)
    # QuickFIX's FIX44.xml fuses OrdRejReason 11 and 12 into one entry; the spec has both.
    known_gaps = {(103, b"12")}
    for number, f in ours.fields.items():
        q = theirs.fields[number]
        assert (q.name, q.type) == (f.name, f.type), number
        extra = {(number, e) for e in (f.enums or ())} - {(number, e) for e in (q.enums or ())}
        assert extra <= known_gaps, (f.name, extra)


# --- structure and order --------------------------------------------------------------------


def test_first_three_fields_must_be_8_9_35(dd):
    header = [HEADER[0], HEADER[2], HEADER[1]] + HEADER[3:]
    v = dd.validate(message("0", [], header=header))
    assert reason(v) == (SessionRejectReason.TAG_OUT_OF_REQUIRED_ORDER, 9)


def test_checksum_must_be_last(dd):
    m = message("0", [(112, "x")], trailer=[(10, "000"), (58, "late")])
    assert reason(dd.validate(m)) == (SessionRejectReason.TAG_OUT_OF_REQUIRED_ORDER, 10)


def test_header_field_after_body_is_out_of_order(dd):
    m = message("D", NOS_BODY + [(50, "DESK1")])
    assert reason(dd.validate(m)) == (SessionRejectReason.TAG_OUT_OF_REQUIRED_ORDER, 50)


def test_header_field_after_body_allowed_when_order_not_checked(dd):
    m = message("D", NOS_BODY + [(50, "DESK1")])
    assert dd.validate(m, check_fields_out_of_order=False) is None


# --- MsgType ---------------------------------------------------------------------------------


def test_valid_fix_msg_type_not_in_dictionary_is_business_reject(dd):
    v = dd.validate(message("B", [(148, "headline")]))
    assert v is not None and v.business_reject
    assert (v.session_reject_reason, v.ref_tag_id) == (SessionRejectReason.INVALID_MSG_TYPE, 35)


def test_user_defined_msg_type_is_business_reject(dd):
    v = dd.validate(message("U7", []))
    assert v is not None and v.business_reject


def test_msg_type_outside_fix_is_invalid_msg_type(dd):
    v = dd.validate(message("ZZ", []))
    assert v is not None and not v.business_reject
    assert reason(v) == (SessionRejectReason.INVALID_MSG_TYPE, None)


def test_empty_msg_type_is_tag_without_value(dd):
    assert reason(dd.validate(message("", []))) == (
        SessionRejectReason.TAG_SPECIFIED_WITHOUT_VALUE,
        35,
    )


# --- required fields -------------------------------------------------------------------------


def test_required_header_field_missing(dd):
    header = [f for f in HEADER if f[0] != 52]
    v = dd.validate(message("0", [], header=header))
    assert reason(v) == (SessionRejectReason.REQUIRED_TAG_MISSING, 52)


def test_required_body_field_missing(dd):
    body = [f for f in NOS_BODY if f[0] != 11]
    assert reason(dd.validate(message("D", body))) == (SessionRejectReason.REQUIRED_TAG_MISSING, 11)


def test_required_field_of_required_component_is_enforced_only_when_marked_required():
    """Instrument is required in D, but Symbol inside it is optional in FIX 4.4: no Symbol is fine."""
    dd = DataDictionary.default()
    body = [f for f in NOS_BODY if f[0] != 55]
    assert dd.validate(message("D", body)) is None


def test_required_trailer_field_missing():
    xml = SMALL_XML.replace(
        "<trailer><field name='CheckSum' required='Y'/></trailer>",
        "<trailer><field name='Signature' required='Y'/><field name='CheckSum' required='Y'/></trailer>",
    ).replace("<fields>", "<fields><field number='89' name='Signature' type='DATA'/>")
    dd = DataDictionary.from_string(xml)
    m = pairs_message([(b"8", b"FIX.4.4"), (b"9", b"5"), (b"35", b"0"), (b"10", b"000")])
    assert reason(dd.validate(m)) == (SessionRejectReason.REQUIRED_TAG_MISSING, 89)


# --- tags ------------------------------------------------------------------------------------


def test_tag_not_defined_for_message_type(dd):
    m = message("0", [(44, "100")])
    assert reason(dd.validate(m)) == (SessionRejectReason.TAG_NOT_DEFINED_FOR_MESSAGE_TYPE, 44)


def test_tag_unknown_to_the_dictionary_is_invalid_tag_number(dd):
    m = message("D", NOS_BODY + [(4999, "x")])
    assert reason(dd.validate(m)) == (SessionRejectReason.INVALID_TAG_NUMBER, 4999)


def test_non_numeric_tag_is_invalid_tag_number(dd):
    m = message("0", [])
    m.pairs.insert(4, (b"4x", b"1"))
    assert reason(dd.validate(m)) == (SessionRejectReason.INVALID_TAG_NUMBER, None)


def test_tag_without_value(dd):
    m = message("D", [(58, "") if t == 58 else (t, v) for t, v in NOS_BODY + [(58, "")]])
    assert reason(dd.validate(m)) == (SessionRejectReason.TAG_SPECIFIED_WITHOUT_VALUE, 58)


def test_tag_repeated(dd):
    m = message("D", NOS_BODY + [(11, "C9")])
    assert reason(dd.validate(m)) == (SessionRejectReason.TAG_APPEARS_MORE_THAN_ONCE, 11)


def test_user_defined_tag_rejected_when_user_defined_fields_checked(dd):
    m = message("D", NOS_BODY + [(5001, "x")])
    assert reason(dd.validate(m)) == (SessionRejectReason.INVALID_TAG_NUMBER, 5001)


def test_user_defined_tag_allowed_when_not_checked(dd):
    m = message("D", NOS_BODY + [(5001, "x")])
    assert dd.validate(m, check_user_defined_fields=False) is None


def test_user_defined_tag_defined_in_dictionary_is_validated():
    xml = SMALL_XML.replace(
        "<fields>", "<fields><field number='5001' name='VenueFlag' type='INT'/>"
    ).replace(
        "<message name='Heartbeat' msgtype='0' msgcat='admin'>",
        "<message name='Heartbeat' msgtype='0' msgcat='admin'><field name='VenueFlag' required='N'/>",
    )
    dd = DataDictionary.from_string(xml)
    ok = pairs_message(
        [(b"8", b"FIX.4.4"), (b"9", b"5"), (b"35", b"0"), (b"5001", b"7"), (b"10", b"0")]
    )
    bad = pairs_message(
        [(b"8", b"FIX.4.4"), (b"9", b"5"), (b"35", b"0"), (b"5001", b"x"), (b"10", b"0")]
    )
    assert dd.validate(ok) is None
    assert reason(dd.validate(bad)) == (SessionRejectReason.INCORRECT_DATA_FORMAT, 5001)


# --- value formats -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("tag", "value"),
    [
        (108, "thirty"),  # INT
        (108, "3.0"),
        (34, "-7"),  # SEQNUM
        (44, "1.2.3"),  # PRICE
        (44, "1e5"),
        (38, "ten"),  # QTY
        (54, "12"),  # CHAR
        (43, "X"),  # BOOLEAN
        (43, "yes"),
        (52, "2026-11-27 01:02:03"),  # UTCTIMESTAMP
        (52, "20261327-01:02:03"),
        (52, "20261127-24:00:00"),
        (52, "20261127-01:02:03.1234567890"),
        (432, "2026112"),  # LOCALMKTDATE
    ],
)
def test_value_in_wrong_format_is_incorrect_data_format(dd, tag, value):
    fields = {t: v for t, v in HEADER[3:] + NOS_BODY}
    fields[tag] = value
    header = [(t, fields.get(t, v)) for t, v in HEADER]
    body = [(t, fields.get(t, v)) for t, v in NOS_BODY]
    if tag not in dict(HEADER) and tag not in dict(NOS_BODY):
        body.append((tag, value))
    m = message("D", body, header=header)
    if tag == 108:
        m = message("A", [(98, "0"), (108, value)])
    elif tag == 43:
        m = message("0", [], header=HEADER + [(43, value)])
    assert reason(dd.validate(m)) == (SessionRejectReason.INCORRECT_DATA_FORMAT, tag)


@pytest.mark.parametrize(("tag", "value"), [(54, "Z"), (40, "5"), (59, "9"), (18, "1 !")])
def test_value_outside_enums_is_value_incorrect(dd, tag, value):
    body = [(t, v) for t, v in NOS_BODY if t != tag] + [(tag, value)]
    assert reason(dd.validate(message("D", body))) == (SessionRejectReason.VALUE_INCORRECT, tag)


def test_int_enum_with_non_numeric_value_is_incorrect_data_format(dd):
    m = message("A", [(98, "none"), (108, "30")])
    assert reason(dd.validate(m)) == (SessionRejectReason.INCORRECT_DATA_FORMAT, 98)


def test_multiple_value_string_checks_each_value(dd):
    assert dd.validate(message("D", NOS_BODY + [(18, "1 G")])) is None


@pytest.mark.parametrize(
    ("type_name", "good", "bad"),
    [
        ("INT", [b"0", b"-12", b"007"], [b"", b"1.0", b"+1", b"1 "]),
        ("PRICE", [b"1", b"-1.5", b"1.", b".5", b"2500.25"], [b"-", b".", b"1,5", b"NaN", b"1e3"]),
        ("SEQNUM", [b"1", b"123456"], [b"-1", b"1.0"]),
        ("CHAR", [b"A", b"1"], [b"AB", b" "]),
        ("BOOLEAN", [b"Y", b"N"], [b"y", b"T"]),
        (
            "UTCTIMESTAMP",
            [b"20261127-23:59:60", b"20261127-00:00:00.000", b"20261127-00:00:00.123456"],
            [b"20261127-00:00", b"20260230X00:00:00", b"20261127-00:60:00"],
        ),
        ("UTCTIMEONLY", [b"09:00:00", b"15:30:00.500"], [b"9:00:00", b"25:00:00"]),
        ("UTCDATEONLY", [b"20261127"], [b"2026-11-27", b"20261301"]),
        ("MONTHYEAR", [b"202612", b"20261215", b"202612w2"], [b"2026", b"202613"]),
        ("DAYOFMONTH", [b"1", b"31"], [b"0", b"32"]),
        ("STRING", [b"anything at all"], []),
    ],
)
def test_check_format_per_type(type_name, good, bad):
    assert all(check_format(type_name, v) for v in good)
    assert not any(check_format(type_name, v) for v in bad)


# --- repeating groups --------------------------------------------------------------------------


def test_group_with_right_count_passes(dd):
    assert dd.validate(message("8", ER_BODY + PARTIES)) is None


def test_group_count_higher_than_instances_is_incorrect_num_in_group(dd):
    parties = [(453, "3")] + PARTIES[1:]
    v = dd.validate(message("8", ER_BODY + parties))
    assert reason(v) == (SessionRejectReason.INCORRECT_NUM_IN_GROUP_COUNT, 453)


def test_group_count_lower_than_instances_is_incorrect_num_in_group(dd):
    parties = [(453, "1")] + PARTIES[1:]
    v = dd.validate(message("8", ER_BODY + parties))
    assert reason(v) == (SessionRejectReason.INCORRECT_NUM_IN_GROUP_COUNT, 453)


def test_group_count_not_a_number_is_incorrect_data_format(dd):
    parties = [(453, "two")] + PARTIES[1:]
    v = dd.validate(message("8", ER_BODY + parties))
    assert reason(v) == (SessionRejectReason.INCORRECT_DATA_FORMAT, 453)


def test_group_instance_not_starting_with_delimiter_is_out_of_order(dd):
    parties = [(453, "1"), (447, "D"), (448, "P1"), (452, "3")]
    v = dd.validate(message("8", ER_BODY + parties))
    assert reason(v) == (SessionRejectReason.REPEATING_GROUP_FIELDS_OUT_OF_ORDER, 447)


def test_group_member_repeated_within_an_instance(dd):
    parties = [(453, "1"), (448, "P1"), (452, "3"), (452, "1")]
    v = dd.validate(message("8", ER_BODY + parties))
    assert reason(v) == (SessionRejectReason.TAG_APPEARS_MORE_THAN_ONCE, 452)


def test_group_member_outside_its_group_is_not_defined_for_message(dd):
    v = dd.validate(message("8", ER_BODY + [(448, "P1")]))
    assert reason(v) == (SessionRejectReason.TAG_NOT_DEFINED_FOR_MESSAGE_TYPE, 448)


def test_nested_group_is_validated(dd):
    parties = [(453, "1"), (448, "P1"), (802, "2"), (523, "S1"), (803, "1"), (523, "S2")]
    assert dd.validate(message("8", ER_BODY + parties)) is None
    wrong = [(453, "1"), (448, "P1"), (802, "3"), (523, "S1"), (523, "S2")]
    v = dd.validate(message("8", ER_BODY + wrong))
    assert reason(v) == (SessionRejectReason.INCORRECT_NUM_IN_GROUP_COUNT, 802)


def test_group_member_value_format_checked(dd):
    parties = [(453, "1"), (448, "P1"), (452, "client")]
    v = dd.validate(message("8", ER_BODY + parties))
    assert reason(v) == (SessionRejectReason.INCORRECT_DATA_FORMAT, 452)


def test_body_continues_after_a_group(dd):
    body = ER_BODY[:3] + PARTIES + ER_BODY[3:]
    assert dd.validate(message("8", body)) is None


def test_required_group_member_missing():
    xml = SMALL_XML.replace(
        "<message name='Heartbeat' msgtype='0' msgcat='admin'>",
        "<message name='Heartbeat' msgtype='0' msgcat='admin'><group name='NoHops' required='N'>"
        "<field name='HopCompID' required='Y'/><field name='HopRefID' required='Y'/></group>",
    ).replace(
        "<fields>",
        "<fields><field number='627' name='NoHops' type='NUMINGROUP'/>"
        "<field number='628' name='HopCompID' type='STRING'/>"
        "<field number='630' name='HopRefID' type='SEQNUM'/>",
    )
    dd = DataDictionary.from_string(xml)
    base = [(b"8", b"FIX.4.4"), (b"9", b"5"), (b"35", b"0"), (b"627", b"1"), (b"628", b"X")]
    assert reason(dd.validate(pairs_message(base + [(b"10", b"0")]))) == (
        SessionRejectReason.REQUIRED_TAG_MISSING,
        630,
    )
    assert dd.validate(pairs_message(base + [(b"630", b"3"), (b"10", b"0")])) is None


# --- the fast path never accepts what the precise walk rejects ---------------------------------


_SAMPLE_TAGS = [
    b"11",
    b"38",
    b"44",
    b"54",
    b"52",
    b"50",
    b"453",
    b"448",
    b"5001",
    b"x",
    b"58",
    b"10",
]
_SAMPLE_VALUES = [b"", b"1", b"2", b"Z", b"1.5", b"abc", b"20261127-01:02:03"]


@settings(max_examples=400, deadline=None)
@given(
    st.lists(
        st.tuples(
            st.sampled_from(["insert", "delete", "swap", "replace"]),
            st.integers(0, 40),
            st.sampled_from(_SAMPLE_TAGS),
            st.sampled_from(_SAMPLE_VALUES),
        ),
        max_size=3,
    )
)
def test_fast_path_agrees_with_precise_walk(mutations):
    dd = DataDictionary.default()
    pairs = list(message("D", NOS_BODY).pairs)
    for op, pos, tag, value in mutations:
        pos %= len(pairs)
        if op == "insert":
            pairs.insert(pos, (tag, value))
        elif op == "delete" and len(pairs) > 1:
            pairs.pop(pos)
        elif op == "swap" and pos + 1 < len(pairs):
            pairs[pos], pairs[pos + 1] = pairs[pos + 1], pairs[pos]
        elif op == "replace":
            pairs[pos] = (pairs[pos][0], value)
    walk = dd._validate_walk(pairs, True, True)
    assert dd.validate_pairs(pairs) == walk


@given(st.lists(st.tuples(st.binary(max_size=6), st.binary(max_size=8)), max_size=12))
def test_validate_never_raises_on_arbitrary_fields(pairs):
    dd = DataDictionary.default()
    m = pairs_message([(b"8", b"FIX.4.4"), (b"9", b"1")] + pairs)
    result = dd.validate(m)
    assert result is None or isinstance(result, Violation)


# --- loading -----------------------------------------------------------------------------------


SMALL_XML = """<fix type='FIX' major='4' minor='4'>
 <header><field name='BeginString' required='Y'/><field name='BodyLength' required='Y'/>
  <field name='MsgType' required='Y'/></header>
 <trailer><field name='CheckSum' required='Y'/></trailer>
 <messages><message name='Heartbeat' msgtype='0' msgcat='admin'></message></messages>
 <components/>
 <fields>
  <field number='8' name='BeginString' type='STRING'/>
  <field number='9' name='BodyLength' type='LENGTH'/>
  <field number='10' name='CheckSum' type='STRING'/>
  <field number='35' name='MsgType' type='STRING'/>
 </fields>
</fix>"""


def test_small_dictionary_loads(tmp_path):
    p = tmp_path / "small.xml"
    p.write_text(SMALL_XML)
    dd = DataDictionary.load(p)
    ok = pairs_message([(b"8", b"FIX.4.4"), (b"9", b"5"), (b"35", b"0"), (b"10", b"000")])
    assert dd.validate(ok) is None


@pytest.mark.parametrize(
    ("edit", "message_part"),
    [
        (("<fields>", "<fields><field number='8' name='Again' type='STRING'/>"), "defined twice"),
        (
            ("msgcat='admin'>", "msgcat='admin'><field name='Nope' required='N'/>"),
            "undefined field 'Nope'",
        ),
        (
            ("msgcat='admin'>", "msgcat='admin'><component name='Nope' required='N'/>"),
            "undefined component 'Nope'",
        ),
        (("<header>", "<heater>"), "cannot parse"),
        (("</fix>", "</fix><fix/>"), "cannot parse"),
        (
            ("<fields>", "<fields><field number='11' name='ClOrdID'/>"),
            "needs number, name and type",
        ),
        (
            (
                "<components/>",
                "<components><component name='X'/><component name='X'/></components>",
            ),
            "component 'X' defined twice",
        ),
        (("<trailer><field name='CheckSum' required='Y'/></trailer>", ""), "missing <trailer>"),
        (("number='9'", "number='nine'"), "non-numeric number"),
    ],
)
def test_bad_dictionary_raises_precise_error(edit, message_part):
    xml = SMALL_XML.replace(*edit)
    assert xml != SMALL_XML
    with pytest.raises(DictionaryError) as err:
        DataDictionary.from_string(xml)
    assert message_part in str(err.value)


def test_root_element_must_be_fix():
    xml = SMALL_XML.replace("<fix type", "<fox type").replace("</fix>", "</fox>")
    with pytest.raises(DictionaryError, match="root element is <fox>"):
        DataDictionary.from_string(xml)


def test_missing_file_raises_dictionary_error(tmp_path):
    with pytest.raises(DictionaryError, match="cannot read"):
        DataDictionary.load(tmp_path / "absent.xml")


def test_quickfix_full_dictionary_loads_and_validates():
    """A venue can drop in QuickFIX's own FIX44.xml: all 93 messages, groups and components."""
    dd = DataDictionary.load(QUICKFIX_FIX44)
    assert len(dd.messages) == 93
    assert dd.validate(message("8", ER_BODY + PARTIES)) is None
    v = dd.validate(message("8", ER_BODY + [(453, "3")] + PARTIES[1:]))
    assert reason(v) == (SessionRejectReason.INCORRECT_NUM_IN_GROUP_COUNT, 453)


def test_default_path_is_inside_the_package():
    assert DEFAULT_PATH.is_file() and DEFAULT_PATH.parent.name == "spec"


# --- the shape cache (one regex per known tag sequence, over the raw bytes) -------------------


def wire(msg_type: str, body: list[tuple[int, str]]) -> bytes:
    m = simplefix.FixMessage()
    m.append_pair(8, "FIX.4.4")
    m.append_pair(35, msg_type)
    for t, v in HEADER[3:] + body:
        m.append_pair(t, v)
    return bytes(m.encode())


def test_valid_message_with_raw_teaches_its_shape():
    from fixengine import parse

    dd = DataDictionary.load(DEFAULT_PATH)
    raw = wire("8", ER_BODY + PARTIES)
    assert dd.validate(parse(raw), raw) is None
    assert len(dd._shapes[b"8"]) == 1
    assert dd.validate(parse(raw), raw) is None  # now answered by the shape
    assert len(dd._shapes[b"8"]) == 1


def test_shape_not_learned_under_lenient_settings():
    from fixengine import parse

    dd = DataDictionary.load(DEFAULT_PATH)
    raw = wire("D", NOS_BODY + [(5001, "x")])
    assert dd.validate(parse(raw), raw, check_user_defined_fields=False) is None
    assert not dd._shapes.get(b"D")
    # so the same message is still rejected where user-defined fields are checked
    assert reason(dd.validate(parse(raw), raw)) == (SessionRejectReason.INVALID_TAG_NUMBER, 5001)


def test_shapes_per_message_type_are_bounded():
    from fixengine import parse
    from fixengine.dictionary import SHAPES_PER_TYPE

    dd = DataDictionary.load(DEFAULT_PATH)
    optional = [(58, "t"), (1, "A"), (59, "0"), (110, "1"), (111, "1"), (18, "1")]
    for k in range(2 ** len(optional)):
        body = NOS_BODY[:-2] + [f for i, f in enumerate(optional) if k >> i & 1 and f[0] != 1]
        raw = wire("D", body)
        assert dd.validate(parse(raw), raw) is None
    assert len(dd._shapes[b"D"]) == SHAPES_PER_TYPE


_VALUE_SAMPLES = [
    b"",
    b"0",
    b"1",
    b"F",
    b"Z",
    b"-1",
    b"1.5",
    b"1.2.3",
    b"20261127-01:02:03",
    b"x y",
]


@settings(max_examples=400, deadline=None)
@given(
    st.lists(
        st.tuples(
            st.sampled_from(["value", "delete", "insert", "swap"]),
            st.integers(0, 60),
            st.sampled_from(_VALUE_SAMPLES),
            st.sampled_from([b"11", b"38", b"44", b"54", b"150", b"453", b"448", b"452", b"5001"]),
        ),
        min_size=1,
        max_size=3,
    )
)
def test_shape_cache_accepts_only_what_the_precise_walk_accepts(mutations):
    from fixengine import parse

    dd = DataDictionary.default()  # shared: shapes learned across examples, as in a session
    base = wire("8", ER_BODY + PARTIES)
    assert dd.validate(parse(base), base) is None
    fields = base.split(b"\x01")[:-1]
    for op, pos, value, tag in mutations:
        pos = 2 + pos % (len(fields) - 3)  # keep 8, 9 in front and 10 last
        if op == "value":
            fields[pos] = fields[pos].split(b"=")[0] + b"=" + value
        elif op == "delete" and len(fields) > 5:
            fields.pop(pos)
        elif op == "insert":
            fields.insert(pos, tag + b"=" + (value or b"1"))
        elif op == "swap" and pos + 1 < len(fields) - 1:
            fields[pos], fields[pos + 1] = fields[pos + 1], fields[pos]
    raw = b"\x01".join(fields) + b"\x01"
    msg = parse(raw)
    if msg is None:
        return
    assert dd.validate(msg, raw) == dd._validate_walk(msg.pairs, True, True)


def test_shapes_that_cannot_be_cached_stop_being_tried():
    """A Logon with RawData (which may hold SOH) is never cached, and not recompiled forever."""
    from fixengine import parse
    from fixengine.dictionary import SHAPES_PER_TYPE

    dd = DataDictionary.load(DEFAULT_PATH)
    raw = wire("A", [(98, "0"), (108, "30"), (95, "3"), (96, "a\x01b")])
    msg = parse(raw)
    assert msg is not None
    for _ in range(5 * SHAPES_PER_TYPE):
        assert dd.validate(msg, raw) is None
    assert dd._shapes[b"A"] == []
    assert dd._shape_tries[b"A"] == 4 * SHAPES_PER_TYPE


@given(st.binary(max_size=300))
def test_validate_with_raw_never_raises_on_arbitrary_bytes(data):
    from fixengine import parse

    dd = DataDictionary.default()
    raw = wire("8", ER_BODY)[:20] + data
    msg = parse(raw)
    if msg is not None:
        result = dd.validate(msg, raw)
        assert result is None or isinstance(result, Violation)
