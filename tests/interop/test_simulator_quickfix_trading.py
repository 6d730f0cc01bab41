"""A real QuickFIX initiator (validating against QuickFIX's FIX44.xml) trades against a real
``ordergate simulator`` process: limit, market, IOC, FOK, cancel, replace, status, rejects,
PossDup resends. Every test ends with zero session-level Rejects in either direction.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from support.qfix_peer import QuickFixPeer
from support.simulator_proc import SimulatorProcess, logged_on_peer

pytestmark = [pytest.mark.interop, pytest.mark.e2e]

SYMBOL = "7203"  # Toyota, base price 2850 in the shipped reference data, tick 0.5 (TOPIX500)


@pytest.fixture(scope="module")
def sim(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SimulatorProcess]:
    proc = SimulatorProcess("--phase", "continuous", workdir=tmp_path_factory.mktemp("sim")).start()
    yield proc
    assert proc.stop() == 0, proc.log()


@pytest.fixture
def peer(sim: SimulatorProcess, tmp_path: Path) -> Iterator[QuickFixPeer]:
    sim.post("/reset", {})
    with logged_on_peer(sim, tmp_path) as p:
        yield p


def report(peer: QuickFixPeer, cl_ord_id: str, exec_type: str, start: int = 0) -> dict[str, str]:
    return peer.wait_app(
        lambda f: f.get("35") == "8" and f.get("11") == cl_ord_id and f.get("150") == exec_type,
        what=f"ExecutionReport 150={exec_type} for {cl_ord_id}",
        start=start,
    )


def test_crossing_limit_orders_fill_both_sides_at_the_resting_price(peer: QuickFixPeer) -> None:
    peer.new_order("s1", SYMBOL, "2", 300, "2850")
    report(peer, "s1", "0")
    peer.new_order("b1", SYMBOL, "1", 100, "2851")
    buy = report(peer, "b1", "F")
    sell = report(peer, "s1", "F")
    assert (buy["39"], buy["32"], buy["31"], buy["14"], buy["151"]) == (
        "2",
        "100",
        "2850",
        "100",
        "0",
    )
    assert (sell["39"], sell["32"], sell["31"], sell["14"], sell["151"]) == (
        "1",
        "100",
        "2850",
        "100",
        "200",
    )
    assert buy["6"] == sell["6"] == "2850"
    assert buy["17"] != sell["17"]  # ExecIDs are unique


def test_market_order_takes_the_best_offer(peer: QuickFixPeer) -> None:
    peer.new_order("s1", SYMBOL, "2", 100, "2852")
    peer.new_order("s2", SYMBOL, "2", 100, "2851")
    report(peer, "s2", "0")
    peer.new_order("m1", SYMBOL, "1", 100)
    fill = report(peer, "m1", "F")
    assert (fill["31"], fill["39"], fill["40"]) == ("2851", "2", "1")


def test_ioc_remainder_expires_after_partial_fill(peer: QuickFixPeer) -> None:
    peer.new_order("s1", SYMBOL, "2", 100, "2850")
    report(peer, "s1", "0")
    peer.new_order("i1", SYMBOL, "1", 300, "2850", tif="3")
    assert report(peer, "i1", "F")["32"] == "100"
    expired = report(peer, "i1", "C")
    assert (expired["39"], expired["14"], expired["151"]) == ("C", "100", "0")


def test_fok_that_cannot_fill_completely_expires_without_a_fill(peer: QuickFixPeer) -> None:
    peer.new_order("s1", SYMBOL, "2", 100, "2850")
    report(peer, "s1", "0")
    peer.new_order("f1", SYMBOL, "1", 200, "2850", tif="4")
    expired = report(peer, "f1", "C")
    assert (expired["39"], expired["14"]) == ("C", "0")
    assert not [m for m in peer.app_messages("8") if m.get("11") == "f1" and m["150"] == "F"]


def test_cancel_is_confirmed_with_a_canceled_report(peer: QuickFixPeer) -> None:
    peer.new_order("b1", SYMBOL, "1", 100, "2800")
    report(peer, "b1", "0")
    peer.cancel("b1-c", "b1", SYMBOL, "1", 100)
    canceled = report(peer, "b1-c", "4")
    assert (canceled["41"], canceled["39"], canceled["151"]) == ("b1", "4", "0")


def test_replace_changes_price_and_quantity(peer: QuickFixPeer) -> None:
    peer.new_order("b1", SYMBOL, "1", 200, "2800")
    report(peer, "b1", "0")
    peer.replace("b1-r", "b1", SYMBOL, "1", 100, "2801")
    replaced = report(peer, "b1-r", "5")
    assert (replaced["41"], replaced["38"], replaced["44"], replaced["151"]) == (
        "b1",
        "100",
        "2801",
        "100",
    )


def test_price_off_the_tick_is_rejected_naming_the_rule(peer: QuickFixPeer) -> None:
    peer.new_order("t1", SYMBOL, "1", 100, "2850.3")
    rejected = report(peer, "t1", "8")
    assert rejected["39"] == "8" and "103" in rejected
    assert rejected["58"].startswith("price_off_tick")


def test_unknown_symbol_is_rejected_with_ordrejreason_1(peer: QuickFixPeer) -> None:
    peer.new_order("u1", "0000", "1", 100, "100")
    rejected = report(peer, "u1", "8")
    assert (rejected["103"], rejected["58"].split(":")[0]) == ("1", "unknown_symbol")


def test_quantity_not_a_multiple_of_the_unit_is_rejected(peer: QuickFixPeer) -> None:
    peer.new_order("q1", SYMBOL, "1", 150, "2850")
    rejected = report(peer, "q1", "8")
    assert rejected["58"].startswith("quantity_not_multiple_of_unit")


def test_cancel_of_an_unknown_order_gets_order_cancel_reject(peer: QuickFixPeer) -> None:
    peer.cancel("c9", "nope", SYMBOL, "1", 100)
    reject = peer.wait_app(lambda f: f.get("35") == "9" and f.get("11") == "c9")
    assert (reject["41"], reject["434"], reject["102"]) == ("nope", "1", "1")


def test_status_request_of_an_unknown_order_answers_rejected_reason_5(peer: QuickFixPeer) -> None:
    peer.status("ghost", SYMBOL, "1")
    answer = report(peer, "ghost", "I")
    assert (answer["39"], answer["103"]) == ("8", "5")


def test_status_request_reports_the_current_state(peer: QuickFixPeer) -> None:
    peer.new_order("b1", SYMBOL, "1", 100, "2800")
    report(peer, "b1", "0")
    peer.status("b1", SYMBOL, "1")
    answer = report(peer, "b1", "I")
    assert (answer["39"], answer["151"], answer["14"]) == ("0", "100", "0")


def test_unflagged_repeat_of_a_known_cl_ord_id_is_rejected_as_duplicate(
    peer: QuickFixPeer, sim: SimulatorProcess
) -> None:
    peer.new_order("p1", SYMBOL, "1", 100, "2800")
    report(peer, "p1", "0")
    peer.new_order("p1", SYMBOL, "1", 100, "2800")
    dup = report(peer, "p1", "8")
    assert (dup["103"], dup["58"].split(":")[0]) == ("6", "duplicate_client_order_id")
    row = sim.order("p1")
    assert row is not None and (row["received"], row["poss_dup_received"]) == (2, 0)
    assert row["status"] == "new"  # the original order is untouched


def test_possdup_copy_of_a_known_order_is_ignored(
    peer: QuickFixPeer, sim: SimulatorProcess
) -> None:
    peer.new_order("p1", SYMBOL, "1", 100, "2800")
    report(peer, "p1", "0")
    peer.new_order("p1", SYMBOL, "1", 100, "2800", poss_dup=True)
    peer.new_order("p2", SYMBOL, "1", 100, "2800")
    report(peer, "p2", "0")  # answered after the copy, which was therefore handled first
    assert [m["150"] for m in peer.app_messages("8") if m.get("11") == "p1"] == ["0"]
    row = sim.order("p1")
    assert row is not None and (row["received"], row["poss_dup_received"]) == (2, 1)


def test_possdup_flagged_new_cl_ord_id_is_processed(
    peer: QuickFixPeer, sim: SimulatorProcess
) -> None:
    peer.new_order("pd1", SYMBOL, "1", 100, "2800", poss_dup=True)
    report(peer, "pd1", "0")
    row = sim.order("pd1")
    assert row is not None and (row["received"], row["poss_dup_received"]) == (1, 1)


def test_application_message_the_exchange_does_not_take_gets_business_reject(
    peer: QuickFixPeer,
) -> None:
    peer.send(
        "8",
        [
            (37, "X"),
            (17, "E1"),
            (150, "0"),
            (39, "0"),
            (55, SYMBOL),
            (54, "1"),
            (151, "100"),
            (14, "0"),
            (6, "0"),
        ],
    )
    reject = peer.wait_app(lambda f: f.get("35") == "j")
    assert (reject["372"], reject["380"]) == ("8", "3")
