"""Our FIX engine against QuickFIX, the reference engine, in both roles.

QuickFIX validates every message we send against its own FIX44.xml; "no problems" below means it
sent no session-level Reject (35=3) and no BusinessMessageReject, received none from us, and no
error happened inside its callbacks. Every peer runs in its own process, with a fault-injecting
proxy on the wire between them.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from support.fixproxy import TO_ACCEPTOR, TO_INITIATOR, FaultProxy, msg_type
from support.procs import RedisServer, free_port
from support.qfix_peer import OurPeer, PeerProcess, QuickFixPeer
from support.tls import self_signed_cert

pytestmark = pytest.mark.interop

OURS, THEIRS = "OG", "TSE"  # CompIDs: ordergate is the initiator side, the venue the acceptor


@dataclass
class Pair:
    acceptor: PeerProcess
    initiator: PeerProcess
    proxy: FaultProxy
    acceptor_port: int

    @property
    def quickfix(self) -> PeerProcess:
        return self.acceptor if isinstance(self.acceptor, QuickFixPeer) else self.initiator

    @property
    def ours(self) -> PeerProcess:
        return self.initiator if self.quickfix is self.acceptor else self.acceptor

    def peer(self, direction: str) -> tuple[PeerProcess, PeerProcess]:
        """(sender, receiver) of messages travelling in ``direction``."""
        if direction == TO_ACCEPTOR:
            return self.initiator, self.acceptor
        return self.acceptor, self.initiator

    def assert_no_problems(self) -> None:
        qf = self.quickfix
        assert qf.problems() == [], qf.logs()
        assert self.ours.problems() == []

    def stop(self) -> None:
        for p in (self.initiator, self.acceptor):
            p.stop()
        self.proxy.stop()


def start_pair(
    tmp_path: Path, ours_role: str, heartbeat: int = 1, store: str = "memory", redis_url: str = ""
) -> Pair:
    """Acceptor (answers each NewOrderSingle with an ExecutionReport) <- proxy <- initiator."""
    port = free_port()
    if ours_role == "acceptor":
        acceptor: PeerProcess = OurPeer(
            "acceptor",
            port,
            sender=THEIRS,
            target=OURS,
            heartbeat=heartbeat,
            answer=True,
            store=store,
            redis_url=redis_url,
        )
    else:
        acceptor = QuickFixPeer(
            "acceptor",
            port,
            tmp_path / "qf",
            sender=THEIRS,
            target=OURS,
            heartbeat=heartbeat,
            answer=True,
        )
    proxy = FaultProxy(upstream_port=port).start()
    if ours_role == "initiator":
        initiator: PeerProcess = OurPeer(
            "initiator",
            proxy.port,
            sender=OURS,
            target=THEIRS,
            heartbeat=heartbeat,
            store=store,
            redis_url=redis_url,
        )
    else:
        initiator = QuickFixPeer(
            "initiator",
            proxy.port,
            tmp_path / "qf",
            sender=OURS,
            target=THEIRS,
            heartbeat=heartbeat,
        )
    return Pair(acceptor, initiator, proxy, port)


@pytest.fixture(params=["initiator", "acceptor"], ids=["ours-initiator", "ours-acceptor"])
def pair(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Pair]:
    p = start_pair(tmp_path, request.param)
    try:
        p.initiator.wait_logon()
        p.acceptor.wait_logon()
        yield p
    finally:
        p.stop()


def expected_keys(n: int, prefix: str = "C") -> list[str]:
    return [f"{prefix}{i}" for i in range(n)]


def test_logon_1000_orders_each_way_and_logout_without_rejects(pair: Pair):
    assert pair.initiator.send_orders(1000) == 1000
    pair.acceptor.wait_app_in(1000, "D")
    pair.initiator.wait_app_in(1000, "8")
    assert pair.acceptor.app_keys("D") == expected_keys(1000)
    assert pair.initiator.app_keys("8") == expected_keys(1000)
    marks = pair.acceptor.mark(), pair.initiator.mark()
    pair.initiator.logout()
    pair.acceptor.wait_logout(start=marks[0])
    pair.initiator.wait_logout(start=marks[1])
    pair.assert_no_problems()
    # both ends agree on the sequence numbers after the logout handshake
    assert_numbers_agree(sender=pair.initiator, receiver=pair.acceptor)
    assert_numbers_agree(sender=pair.acceptor, receiver=pair.initiator)


def test_heartbeats_flow_both_ways_with_1s_interval(pair: Pair):
    for p in (pair.acceptor, pair.initiator):
        p.wait_count(lambda e: e["ev"] == "admin_in" and e["msg_type"] == "0", 2, 10, "heartbeats")
    pair.assert_no_problems()


def _plain_heartbeat(raw: bytes) -> bool:
    return msg_type(raw) == b"0" and b"\x01112=" not in raw


@pytest.mark.parametrize("direction", [TO_ACCEPTOR, TO_INITIATOR])
def test_silence_answered_by_test_request_then_gap_filled(pair: Pair, direction: str):
    """Two heartbeats lost: the receiver sends a TestRequest, gets its Heartbeat, fills the gap."""
    sender, receiver = pair.peer(direction)
    pair.proxy.drop_where(direction, _plain_heartbeat, count=2)
    test_request = receiver.wait_for(
        lambda e: e["ev"] == "admin_out" and e["msg_type"] == "1", 10, "TestRequest"
    )
    req_id = test_request["fields"]["112"]
    # The answer travels behind the gap the lost heartbeats left, so the receiver may discard it
    # once the gap fill (which covers admin messages) passes it: QuickFIX does. What must hold:
    # the sender answered, the receiver asked for the gap, the gap was filled, nobody hung up.
    sender.wait_for(
        lambda e: (
            e["ev"] == "admin_out" and e["msg_type"] == "0" and e["fields"].get("112") == req_id
        ),
        10,
        "Heartbeat answering the TestRequest",
    )
    receiver.wait_for(
        lambda e: e["ev"] == "admin_out" and e["msg_type"] == "2", 10, "ResendRequest"
    )
    receiver.wait_for(
        lambda e: e["ev"] == "admin_in" and e["msg_type"] == "4" and e["fields"].get("123") == "Y",
        10,
        "SequenceReset-GapFill",
    )
    assert sender.seq()["logged_on"] and receiver.seq()["logged_on"]
    pair.assert_no_problems()


@pytest.mark.parametrize("direction", [TO_ACCEPTOR, TO_INITIATOR])
def test_dropped_message_recovered_with_resend_request_and_possdup(pair: Pair, direction: str):
    sender, receiver = pair.peer(direction)
    pair.proxy.drop_seq(direction, 10)
    pair.initiator.send_orders(200)
    pair.acceptor.wait_app_in(200, "D")
    pair.initiator.wait_app_in(200, "8")
    assert len(pair.proxy.dropped) == 1
    resend_requests = receiver.select("admin_out", "2")
    assert [e["fields"]["7"] for e in resend_requests] == ["10"]
    # the lost message came again as a PossDup resend, and every message arrived once, in order
    app_type = "D" if direction == TO_ACCEPTOR else "8"
    redelivered = [e for e in receiver.select("app_in", app_type) if e["possdup"]]
    assert redelivered and redelivered[0]["seq"] == 10
    assert pair.acceptor.app_keys("D") == expected_keys(200)
    assert pair.initiator.app_keys("8") == expected_keys(200)
    pair.assert_no_problems()


# --- our side killed and restarted from the Redis store --------------------------------------


def assert_numbers_agree(sender: PeerProcess, receiver: PeerProcess, timeout: float = 5) -> None:
    """The receiver expects exactly the sender's next number (polled: heartbeats may be in flight)."""
    deadline = time.monotonic() + timeout
    while True:
        s, r = sender.seq()["next_sender"], receiver.seq()["next_target"]
        if s == r:
            return
        assert time.monotonic() < deadline, f"sender next {s}, receiver expects {r}"


@pytest.fixture
def redis_url() -> Iterator[str]:
    server = RedisServer(aof=True).start()
    try:
        yield server.url
    finally:
        server.stop()


def test_sigkilled_initiator_restarts_from_redis_without_reset_or_lost_gap(
    tmp_path: Path, redis_url: str
):
    p = start_pair(tmp_path, "initiator", store="redis", redis_url=redis_url)
    qf = p.acceptor
    try:
        p.initiator.wait_logon()
        qf.wait_logon()
        p.initiator.command_nowait(op="orders", count=1000, prefix="C")
        qf.wait_app_in(200, "D")
        p.initiator.kill()  # mid-stream: no Logout, no flush
        received_before = len(qf.app_keys("D"))
        first_life_reports = set(p.initiator.app_keys("8"))

        restarted = OurPeer(
            "initiator",
            p.proxy.port,
            sender=OURS,
            target=THEIRS,
            heartbeat=1,
            store="redis",
            redis_url=redis_url,
        )
        p.initiator = restarted
        restarted.wait_logon()
        restarted.send_orders(100, prefix="R")
        qf.wait_count(
            lambda e: e["ev"] == "app_in" and e["msg_type"] == "D" and e["key"][0] == "R",
            100,
            30,
            "orders sent after the restart",
        )

        keys = qf.app_keys("D")
        c_keys = [k for k in keys if k.startswith("C")]
        # everything our first life stored reached QuickFIX once, in order, with no hole
        assert c_keys == expected_keys(len(c_keys)) and len(c_keys) >= received_before
        assert [k for k in keys if k.startswith("R")] == expected_keys(100, "R")
        assert qf.resets_received() == []
        # QuickFIX's expected inbound number continues ours; nothing left unrecovered
        restarted.wait_app_in(100, "8")
        assert_numbers_agree(sender=restarted, receiver=qf)
        # reports QuickFIX sent while we were dead are resent to us (PossDup): none lost
        restarted.wait_until(
            lambda: set(c_keys) <= first_life_reports | set(restarted.app_keys("8")),
            30,
            "a report for every order",
        )
        p.assert_no_problems()
    finally:
        p.stop()


def test_sigkilled_acceptor_restarts_from_redis_and_quickfix_initiator_recovers(
    tmp_path: Path, redis_url: str
):
    """The venue side of our engine dies mid-stream; QuickFIX reconnects, nothing is reset or lost."""
    p = start_pair(tmp_path, "acceptor", store="redis", redis_url=redis_url)
    qf = p.initiator
    try:
        qf.wait_logon()
        p.acceptor.wait_logon()
        qf.command_nowait(op="orders", count=1000, prefix="C")
        p.acceptor.wait_app_in(200, "D")
        p.acceptor.kill()  # mid-stream: no Logout, no flush
        mark = qf.mark()
        restarted = OurPeer(
            "acceptor",
            p.acceptor_port,
            sender=THEIRS,
            target=OURS,
            heartbeat=1,
            answer=True,
            store="redis",
            redis_url=redis_url,
        )
        p.acceptor = restarted
        qf.wait_logon(start=mark, timeout=20)  # QuickFIX reconnects by itself
        # every order QuickFIX sent gets its report (orders resent as PossDup where needed)
        qf.wait_count(
            lambda e: e["ev"] == "app_in" and e["msg_type"] == "8",
            1000,
            60,
            "reports",
        )
        assert set(qf.app_keys("8")) >= set(expected_keys(1000))
        assert qf.resets_received() == []
        assert_numbers_agree(sender=qf, receiver=restarted)
        p.assert_no_problems()
    finally:
        p.stop()


# --- our validation, answered to a real peer -------------------------------------------------


@pytest.fixture
def ours_acceptor(tmp_path: Path) -> Iterator[Pair]:
    p = start_pair(tmp_path, "acceptor")
    try:
        p.initiator.wait_logon()
        p.acceptor.wait_logon()
        yield p
    finally:
        p.stop()


def test_malformed_message_from_quickfix_gets_reject_quickfix_accepts(ours_acceptor: Pair):
    """A NewOrderSingle without ClOrdID(11): we answer Reject(3) 373=1 371=11, QuickFIX takes it."""
    qf = ours_acceptor.initiator
    fields = [[21, "1"], [55, "7203"], [54, "1"], [60, "20261127-01:02:03"], [38, "100"], [40, "1"]]
    assert qf.command(op="send", msg_type="D", fields=fields)["ok"]
    reject = qf.wait_for(lambda e: e["ev"] == "admin_in" and e["msg_type"] == "3", 10, "Reject")
    f = reject["fields"]
    assert (f["373"], f["371"], f["372"]) == ("1", "11", "D")
    assert int(f["45"]) == qf.seq()["next_sender"] - 1
    assert qf.session_rejects_sent() == []  # QuickFIX found our Reject well formed
    assert qf.app_keys("8") == []  # and the bad order never reached the application


def test_unsupported_message_type_from_quickfix_gets_business_reject(ours_acceptor: Pair):
    """News(B) is valid FIX 4.4 but not ours: BusinessMessageReject(j) 380=3, not a Reject."""
    qf = ours_acceptor.initiator
    fields = [[148, "headline"], [33, "1"], [58, "line"]]
    assert qf.command(op="send", msg_type="B", fields=fields)["ok"]
    bmr = qf.wait_for(
        lambda e: e["ev"] == "app_in" and e["msg_type"] == "j", 10, "BusinessMessageReject"
    )
    assert (bmr["fields"]["380"], bmr["fields"]["372"]) == ("3", "B")
    assert qf.select("admin_in", "3") == []
    assert qf.session_rejects_sent() == []


def test_quickfix_validating_with_our_dictionary_accepts_our_traffic(tmp_path: Path):
    """Our FIX44.xml is a working QuickFIX dictionary: QuickFIX loads it and rejects nothing."""
    from fixengine.dictionary import DEFAULT_PATH

    port = free_port()
    qf = QuickFixPeer(
        "acceptor",
        port,
        tmp_path / "qf",
        sender=THEIRS,
        target=OURS,
        heartbeat=1,
        answer=True,
        dictionary=DEFAULT_PATH,
    )
    ours = OurPeer("initiator", port, sender=OURS, target=THEIRS, heartbeat=1)
    try:
        ours.wait_logon()
        ours.send_orders(100)
        qf.wait_app_in(100, "D")
        ours.wait_app_in(100, "8")
        assert qf.problems() == [] and ours.problems() == []
    finally:
        ours.stop()
        qf.stop()


# --- TLS (quickfix-ssl) ------------------------------------------------------------------------


@pytest.mark.parametrize("ours_role", ["initiator", "acceptor"])
def test_tls_session_with_quickfix(tmp_path: Path, ours_role: str):
    """TLS both ways: QuickFIX's SSL socket against our ssl.SSLContext, orders and reports flow."""
    tls = self_signed_cert(tmp_path / "tls")
    port = free_port()
    if ours_role == "acceptor":
        acceptor: PeerProcess = OurPeer(
            "acceptor", port, sender=THEIRS, target=OURS, heartbeat=1, answer=True, tls=tls
        )
        initiator: PeerProcess = QuickFixPeer(
            "initiator", port, tmp_path / "qf", sender=OURS, target=THEIRS, heartbeat=1, tls=tls
        )
    else:
        acceptor = QuickFixPeer(
            "acceptor",
            port,
            tmp_path / "qf",
            sender=THEIRS,
            target=OURS,
            heartbeat=1,
            answer=True,
            tls=tls,
        )
        initiator = OurPeer("initiator", port, sender=OURS, target=THEIRS, heartbeat=1, tls=tls)
    try:
        initiator.wait_logon()
        acceptor.wait_logon()
        initiator.send_orders(100)
        acceptor.wait_app_in(100, "D")
        initiator.wait_app_in(100, "8")
        assert acceptor.app_keys("D") == expected_keys(100)
        assert acceptor.problems() == [] and initiator.problems() == []
    finally:
        initiator.stop()
        acceptor.stop()
