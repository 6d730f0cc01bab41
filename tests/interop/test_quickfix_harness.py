"""The harness proves itself with QuickFIX on both ends: orders flow, a dropped message is recovered.

If these fail, the interop tests against our engine cannot be trusted; if they pass, a failure
there is our engine's.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from support.fixproxy import TO_ACCEPTOR, TO_INITIATOR, FaultProxy
from support.procs import free_port
from support.qfix_peer import QuickFixPeer

pytestmark = pytest.mark.interop


@pytest.fixture
def qf_pair(tmp_path: Path) -> Iterator[tuple[QuickFixPeer, QuickFixPeer, FaultProxy]]:
    """QuickFIX acceptor <- proxy <- QuickFIX initiator, 1 s HeartBtInt, file stores."""
    port = free_port()
    acceptor = QuickFixPeer(
        "acceptor", port, tmp_path / "acc", sender="TSE", target="OG", heartbeat=1, answer=True
    )
    proxy = FaultProxy(upstream_port=port).start()
    initiator = QuickFixPeer(
        "initiator", proxy.port, tmp_path / "ini", sender="OG", target="TSE", heartbeat=1
    )
    try:
        yield acceptor, initiator, proxy
    finally:
        initiator.stop()
        acceptor.stop()
        proxy.stop()


def test_quickfix_pair_exchanges_1000_orders_and_reports_without_rejects(qf_pair):
    acceptor, initiator, _ = qf_pair
    initiator.wait_logon()
    acceptor.wait_logon()
    assert initiator.send_orders(1000) == 1000
    acceptor.wait_app_in(1000, "D")
    initiator.wait_app_in(1000, "8")
    assert acceptor.app_keys("D") == [f"C{i}" for i in range(1000)]
    mark = acceptor.mark()
    initiator.logout()
    acceptor.wait_logout(start=mark)
    assert acceptor.problems() == [] and initiator.problems() == []


def test_quickfix_pair_heartbeats_with_1s_interval(qf_pair):
    acceptor, initiator, _ = qf_pair
    initiator.wait_logon()
    acceptor.wait_count(
        lambda e: e["ev"] == "admin_in" and e["msg_type"] == "0", 2, 10, "heartbeats"
    )
    initiator.wait_count(
        lambda e: e["ev"] == "admin_in" and e["msg_type"] == "0", 2, 10, "heartbeats"
    )
    assert acceptor.problems() == [] and initiator.problems() == []


@pytest.mark.parametrize("direction", [TO_ACCEPTOR, TO_INITIATOR])
def test_dropped_message_recovered_by_resend_request_between_quickfix_peers(qf_pair, direction):
    acceptor, initiator, proxy = qf_pair
    initiator.wait_logon()
    proxy.drop_seq(direction, 10)
    initiator.send_orders(50)
    acceptor.wait_app_in(50, "D")
    initiator.wait_app_in(50, "8")
    assert len(proxy.dropped) == 1
    receiver = acceptor if direction == TO_ACCEPTOR else initiator
    resend_requests = receiver.select("admin_out", "2")
    assert [e["fields"]["7"] for e in resend_requests] == ["10"]
    assert acceptor.app_keys("D") == [f"C{i}" for i in range(50)]
    assert acceptor.problems() == [] and initiator.problems() == []
