"""Differential test: our data dictionary rejects malformed messages as QuickFIX's does.

One QuickFIX initiator talks to our acceptor, another to a QuickFIX acceptor; both send the same
malformed application message and each reports the Reject(3) it got back. SessionRejectReason(373)
and RefTagID(371) must be the same: we answer like the reference engine.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from support.procs import free_port
from support.qfix_peer import OurPeer, PeerProcess, QuickFixPeer

pytestmark = pytest.mark.interop

OURS, THEIRS = "OG", "TSE"
NOW = "20261127-01:02:03"
NOS = {11: "C1", 21: "1", 55: "7203", 54: "1", 60: NOW, 38: "100", 40: "2", 44: "2500"}


def order(drop: tuple[int, ...] = (), **changes: str) -> list[list[object]]:
    fields = {t: v for t, v in NOS.items() if t not in drop}
    for key, value in changes.items():
        fields[int(key.lstrip("t"))] = value
    return [[t, v] for t, v in fields.items()]


CASES = {
    "required_tag_missing": ("D", order(drop=(11,))),
    "required_side_missing": ("D", order(drop=(54,))),
    "price_not_a_number": ("D", order(t44="abc")),
    "timestamp_malformed": ("D", order(t60="2026-11-27")),
    "side_out_of_range": ("D", order(t54="Z")),
    "tag_without_value": ("D", order(t58="")),
    "tag_unknown": ("D", order(t4999="x")),
    "user_defined_tag": ("D", order(t5001="x")),
    "tag_not_for_this_message": ("D", order(t45="3")),
    "qty_not_a_number": ("D", order(t38="1O0")),
    "invalid_msg_type": ("ZZ", [[58, "x"]]),
    "group_member_outside_its_group": ("D", order(t448="P1")),
    "enum_out_of_range": ("D", order(t59="9")),
    "char_too_long": ("D", order(t21="12")),
    "boolean_malformed": ("D", order(t114="X")),
}


@pytest.fixture(scope="module")
def initiators(
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[tuple[QuickFixPeer, QuickFixPeer, QuickFixPeer]]:
    tmp: Path = tmp_path_factory.mktemp("dictdiff")
    ours_port, qf_port = free_port(), free_port()
    qf_acceptor = QuickFixPeer("acceptor", qf_port, tmp / "qfa", sender=THEIRS, target=OURS)
    acceptors: list[PeerProcess] = [
        OurPeer("acceptor", ours_port, sender=THEIRS, target=OURS, heartbeat=30),
        qf_acceptor,
    ]
    to_ours = QuickFixPeer(
        "initiator", ours_port, tmp / "i1", sender=OURS, target=THEIRS, heartbeat=30
    )
    to_qf = QuickFixPeer("initiator", qf_port, tmp / "i2", sender=OURS, target=THEIRS, heartbeat=30)
    try:
        to_ours.wait_logon()
        to_qf.wait_logon()
        yield to_ours, to_qf, qf_acceptor
    finally:
        for p in (to_ours, to_qf, *acceptors):
            p.stop()


def reject_for(peer: QuickFixPeer, msg_type: str, fields: list[list[object]]) -> tuple[str, str]:
    mark = peer.mark()
    assert peer.command(op="send", msg_type=msg_type, fields=fields)["ok"]
    sent = peer.seq()["next_sender"] - 1
    e = peer.wait_for(
        lambda e: e["ev"] == "admin_in" and e["msg_type"] == "3", 10, "Reject", start=mark
    )
    assert int(e["fields"]["45"]) == sent
    return e["fields"].get("373", ""), e["fields"].get("371", "")


@pytest.mark.parametrize("case", sorted(CASES))
def test_reject_reason_and_tag_match_quickfix(initiators, case):
    to_ours, to_qf, _ = initiators
    msg_type, fields = CASES[case]
    theirs = reject_for(to_qf, msg_type, fields)
    ours = reject_for(to_ours, msg_type, fields)
    assert ours == theirs


def test_local_market_date_is_checked_where_quickfix_does_not(initiators):
    """A known difference: QuickFIX 1.15 passes a malformed LocalMktDate; the spec says YYYYMMDD.

    We follow the spec and answer 6 (incorrect data format) for ExpireDate(432)=2026113; QuickFIX
    delivers the order to its application, which it does only for messages that passed validation.
    """
    to_ours, to_qf, qf_acceptor = initiators
    fields = order(t11="BADDATE", t432="2026113")
    assert reject_for(to_ours, "D", fields) == ("6", "432")
    assert to_qf.command(op="send", msg_type="D", fields=fields)["ok"]
    qf_acceptor.wait_for(
        lambda e: e["ev"] == "app_in" and e["key"] == "BADDATE", 10, "the order, accepted"
    )
