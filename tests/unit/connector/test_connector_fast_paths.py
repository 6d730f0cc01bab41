"""Pure fast paths of the connector's outbound side: the ``sent`` trail step text is what
``json.dumps`` writes, and a stream entry's command is found in both reply shapes."""

from __future__ import annotations

import json

import pytest

from connector.pump import command_bytes
from connector.store import SentStep, order_message_cl_ord_id, order_message_type


@pytest.mark.parametrize(
    ("process", "cl", "mt"),
    [
        ("connector:vm:1:abc", "0MWZJITCM013DMW017L6", "D"),
        ('connector:hôte "x"\\', "0MWZJITCM013DMW017L6C00000000a1", "F"),
        ("p\n\t", "weird\u2603", "G"),
    ],
)
def test_sent_step_is_what_json_dumps_writes(process: str, cl: str, mt: str) -> None:
    at = "2026-11-27T01:00:00.000001Z"
    want = json.dumps(
        {
            "at": at,
            "step": "sent",
            "component": "connector",
            "process": process,
            "detail": {"seq": 42, "cl_ord_id": cl, "msg_type": mt},
        }
    )
    assert SentStep(at, "connector", process).json(42, cl, mt) == want


def test_command_bytes_from_a_dict_or_a_flat_reply() -> None:
    assert command_bytes({b"m": b"\x81\xa1k"}) == b"\x81\xa1k"
    assert command_bytes([b"x", b"1", b"m", b"\x81\xa1k"]) == b"\x81\xa1k"
    assert command_bytes([b"x", b"1"]) is None
    assert command_bytes({b"x": b"1"}) is None
    assert command_bytes(None) is None
    assert command_bytes([]) is None


def test_cl_ord_id_and_type_of_a_raw_order_message() -> None:
    raw = b"8=FIX.4.4\x019=60\x0135=F\x0134=7\x0141=OLD\x0111=NEW1\x0155=7203\x0110=000\x01"
    assert order_message_cl_ord_id(raw) == "NEW1"
    assert order_message_type(raw) == "F"
    heartbeat = b"8=FIX.4.4\x019=20\x0135=0\x0134=8\x01112=X\x0110=000\x01"
    assert order_message_cl_ord_id(heartbeat) is None
