"""The apply-report call packed by hand (``ReportApplier._packed_call``) is byte for byte what
the generic RESP packer makes of the same keys and arguments, and the detail JSON fast path
is what ``json.dumps`` writes."""

from __future__ import annotations

import json
from decimal import Decimal

import pytest

from gateway import keys
from gateway.ids import new_order_id, partition_of_order_id
from gateway.reports import ExecReport, ReportApplier, _key_prefixes
from gateway.scripts import pack_commands
from gateway.states import OrderEvent
from gateway.trail import detail_json


def _generic(applier: ReportApplier, p: int, idx, reports, accounts, now) -> bytes:
    skeys, args = applier._call_args(p, idx, reports, accounts, now)
    sha = applier.scripts.apply_report.sha
    return pack_commands([["EVALSHA", sha, len(skeys), *skeys, *[str(a) for a in args]]])


def _reports(p: int) -> list[ExecReport]:
    oids = [new_order_id(p) for _ in range(4)]
    return [
        ExecReport(oids[0], OrderEvent.accepted, "E1", detail={"in_seq": 7, "cl_ord_id": oids[0]}),
        ExecReport(
            oids[1],
            OrderEvent.partial_fill,
            "E2",
            last_qty=100,
            last_px=Decimal("2850.50"),
            detail={"in_seq": 8, "cl_ord_id": oids[1], "venue_order_id": "V9"},
        ),
        ExecReport(
            oids[2],
            OrderEvent.rejected,
            "E3",
            reason="prix refusé ✗",
            at="2026-11-27T01:00:00.000001Z",
        ),
        ExecReport(
            oids[3],
            OrderEvent.replaced,
            "E4",
            cl_ord_id=oids[3] + "R0000000010",
            detail={"reconciled": True, "px": Decimal("1.5")},
        ),
    ]


@pytest.mark.parametrize("accounts", [["A1", "A1", "B2", "A1"], ["A1", "compte-é", "A1", "A1"]])
def test_packed_call_is_the_generic_packing(accounts: list[str]) -> None:
    applier = ReportApplier(None, process="connector:é1", component="connector")
    p = 5
    reports = _reports(p)
    assert all(partition_of_order_id(r.order_id) == p for r in reports)
    now = "2026-11-27T01:00:00.123456Z"
    idx = [0, 1, 2, 3]
    assert applier._packed_call(p, idx, reports, accounts, now) == _generic(
        applier, p, idx, reports, accounts, now
    )
    assert applier._packed_call(p, [2, 0], reports, accounts, now) == _generic(
        applier, p, [2, 0], reports, accounts, now
    )


def test_key_prefixes_spell_the_keys_of_gateway_keys() -> None:
    oid, acct = new_order_id(3), "ACC-1"
    ko, ke, ka, kao, kt = _key_prefixes(3)
    assert ko + oid == keys.order(3, oid)
    assert ke + oid == keys.execs(3, oid)
    assert ka + acct == keys.account(3, acct)
    assert kao + acct == keys.account_open(3, acct)
    assert kt + oid == keys.trail(3, oid)


@pytest.mark.parametrize(
    "d",
    [
        {},
        {"in_seq": 12, "cl_ord_id": "0MWZJITCM013DMW017L6"},
        {"in_seq": 0, "cl_ord_id": 'a"b\\c\u00e9\n', "venue_order_id": "V-1"},
        {"reconciled": True, "cl_ord_id": "X"},  # bool: the general encoder
        {"px": Decimal("2850.5"), "n": -3},  # Decimal: default=str
        {"nested": {"a": 1}, "list": [1, 2]},
        {1: "int key"},
    ],
)
def test_detail_json_is_what_json_dumps_writes(d: dict) -> None:
    assert detail_json(d) == json.dumps(d, default=str)
