"""The session-level test cases of FIX 4.4 Vol. 2 ("Session-level test cases and expected
behaviors"), each as a script of raw messages; ids are the spec's (QuickFIX's acceptance test
definitions name the same scenarios). Expected answers are QuickFIX's where the spec leaves a
choice. Every case starts on a fresh connection with both sequence numbers at 1.
"""

from __future__ import annotations

import socket

from support.fixconformance import Case, Do, Expect, ExpectDisconnect, Logon, Peer, Send, Step

GAPFILL = ((43, "Y"), (122, "<TIME-1>"))


def probe(seq: int, out_seq: int | None = None) -> tuple[Step, ...]:
    """TestRequest -> Heartbeat with its TestReqID: proves the session alive and in step."""
    want: dict[int, str | None] = {112: f"P{seq}"}
    if out_seq is not None:
        want[34] = str(out_seq)
    return (Send("1", seq, ((112, f"P{seq}"),)), Expect("0", want))


def logout(seq: int) -> tuple[Step, ...]:
    """Our Logout, the engine's answer, the line closed."""
    return (Send("5", seq), Expect("5", {58: None}, skip=("0",)), ExpectDisconnect())


def gap_fill(seq: int, new: int) -> Send:
    return Send("4", seq, (*GAPFILL, (36, new), (123, "Y")))


def order(*extra: tuple[int, object], drop: tuple[int, ...] = ()) -> tuple[tuple[int, object], ...]:
    """NewOrderSingle body (valid unless ``extra``/``drop`` say otherwise)."""
    base = (
        (11, "ID"),
        (21, "1"),
        (55, "7203"),
        (54, "1"),
        (60, "<TIME>"),
        (38, "100"),
        (40, "2"),
        (44, "2800"),
    )
    return tuple((t, v) for t, v in base if t not in drop) + extra


def _second_logon_refused(peer: Peer) -> None:
    """Another connection with the same Logon while the session is logged on: dropped."""
    host, port = peer.sock.getpeername()[:2]
    with socket.create_connection((host, port), timeout=5) as sock:
        other = Peer(sock, peer.me, peer.engine, peer.role)
        Send("A", 1, ((98, 0), (108, 30))).run(other)
        ExpectDisconnect().run(other)


L = Logon()
BAD_LOGON = {"answer": False}

CASES: tuple[Case, ...] = (
    # -- 1: logon ---------------------------------------------------------------------------
    Case("1a_valid_logon", (L, *probe(2, 2), *logout(3))),
    Case(
        "1a_logon_seq_too_high",
        (
            Logon(seq=5),
            Expect("2", {7: "1", 16: "0"}),
            gap_fill(1, 5),
            *probe(6),
            *logout(7),
        ),
    ),
    Case(
        "1b_already_logged_on",
        (L, Do(_second_logon_refused), *probe(2), *logout(3)),
        roles=("acceptor",),
    ),
    Case("1c_invalid_target_comp_id", (Logon(target="WRONG", answer=False), ExpectDisconnect())),
    Case("1c_invalid_sender_comp_id", (Logon(sender="WRONG", answer=False), ExpectDisconnect())),
    Case("1d_logon_bad_sending_time", (Logon(time_offset=-3600, answer=False), ExpectDisconnect())),
    Case("1d_logon_wrong_begin_string", (Logon(begin="FIX.4.2", answer=False), ExpectDisconnect())),
    Case(
        "1d_logon_body_length_invalid",
        (
            Logon(
                raw=b"8=FIX.4.4|9=40|35=A|34=1|49={me}|52={time}|56={engine}|98=0|108=30|10=000|",
                answer=False,
            ),
            ExpectDisconnect(),
        ),
    ),
    Case(
        "1e_first_message_not_logon",
        (Logon(message=Send("0", 1), answer=False), ExpectDisconnect()),
    ),
    # -- 2: MsgSeqNum, PossDup, header ---------------------------------------------------------
    Case("2a_msgseqnum_correct", (L, *probe(2, 2), *probe(3, 3), *logout(4))),
    Case(
        "2b_msgseqnum_too_high",
        (
            L,
            Send("1", 5, ((112, "HIGH"),)),
            Expect("2", {7: "2", 16: "0"}),
            gap_fill(2, 5),
            Expect("0", {112: "HIGH"}),  # the held message, once the gap is filled
            *probe(6),
            *logout(7),
        ),
    ),
    Case(
        "2c_msgseqnum_too_low",
        (
            L,
            Send("0", 2),
            Send("0", 3),
            Send("0", 2),
            Expect("5", {58: "MsgSeqNum too low, expecting 4 but received 2"}),
            ExpectDisconnect(),
        ),
    ),
    Case(
        "2d_garbled_message",
        (
            L,
            Send(raw=b"8=FIX.4.4|9=52|35=0|34=2|4garbled9={me}|52={time}|56={engine}|10=000|"),
            *probe(2),
            *logout(3),
        ),
    ),
    Case(
        "2e_possdup_already_received",
        (L, Send("0", 2), Send("0", 2, GAPFILL), *probe(3, 2), *logout(4)),
    ),
    Case(
        "2e_possdup_not_received",
        (L, Send("1", 2, (*GAPFILL, (112, "DUP"))), Expect("0", {112: "DUP"}), *logout(3)),
    ),
    Case(
        "2f_possdup_orig_sending_time_too_high",
        (
            L,
            Send("0", 2),
            Send("0", 3),
            Send("0", 2, ((43, "Y"), (122, "<TIME+10>"))),
            Expect("3", {45: "2", 373: "10"}),
            Expect("5"),
            ExpectDisconnect(),
        ),
    ),
    Case(
        "2g_possdup_no_orig_sending_time",
        (
            L,
            Send("0", 2),
            Send("0", 3),
            Send("0", 2, ((43, "Y"),)),
            Expect("3", {45: "2", 371: "122", 373: "1"}),
            *probe(4),  # 4 still expected: a number below it is not used up
            *logout(5),
        ),
    ),
    Case(
        "2i_begin_string_unexpected",
        (
            L,
            Send("1", 2, ((112, "id"),), begin="FIX.4.1"),
            Expect("5", {58: "Incorrect BeginString"}),
            Send("5", 3),
            ExpectDisconnect(),
        ),
    ),
    Case(
        "2i_begin_string_unexpected_no_logout_answer",
        (
            L,
            Send("1", 2, ((112, "id"),), begin="FIX.4.1"),
            Expect("5", {58: "Incorrect BeginString"}),
            ExpectDisconnect(timeout=8),  # LogoutTimeout
        ),
    ),
    Case(
        "2k_sender_comp_id_wrong",
        (
            L,
            Send("1", 2, ((112, "x"),), sender="WT"),
            Expect("3", {45: "2", 372: "1", 373: "9"}),
            Expect("5"),
            ExpectDisconnect(),
        ),
    ),
    Case(
        "2k_target_comp_id_wrong",
        (
            L,
            Send("1", 2, ((112, "x"),), target="DLSI"),
            Expect("3", {45: "2", 373: "9"}),
            Expect("5"),
            ExpectDisconnect(),
        ),
    ),
    Case(
        "2m_body_length_wrong",
        (
            L,
            Send(raw=b"8=FIX.4.4|9=10|35=0|34=2|49={me}|52={time}|56={engine}|10=000|"),
            *probe(2),
            *logout(3),
        ),
    ),
    Case(
        "2o_sending_time_too_early",
        (
            L,
            Send("0", 2, time_offset=-125),
            Expect("3", {45: "2", 373: "10"}),
            Expect("5"),
            ExpectDisconnect(),
        ),
    ),
    Case(
        "2o_sending_time_too_late",
        (
            L,
            Send("0", 2, time_offset=125),
            Expect("3", {45: "2", 373: "10"}),
            Expect("5"),
            ExpectDisconnect(),
        ),
    ),
    Case(
        "2q_msg_type_not_valid",
        (L, Send("*", 2), Expect("3", {45: "2", 372: "*", 373: "11"}), *probe(3), *logout(4)),
    ),
    Case(
        "2r_msg_type_not_supported",
        (
            L,
            Send("R", 2, ((131, "Q1"),)),
            Expect("j", {45: "2", 372: "R", 380: "3"}),
            *probe(3),
            *logout(4),
        ),
    ),
    Case(
        "2t_first_three_fields_out_of_order",
        (
            L,
            Send(raw=b"35=0|8=FIX.4.4|9=29|34=2|49={me}|52={time}|56={engine}|10=121|"),
            *probe(2),
            Send(
                bare=True,
                fields=((34, 3), (35, "0"), (49, "<ME>"), (52, "<TIME>"), (56, "<ENGINE>")),
            ),
            *probe(3),  # neither was counted, neither got a Reject
            *logout(4),
        ),
    ),
    # -- 3: CheckSum, garbled ----------------------------------------------------------------
    Case("3b_checksum_invalid", (L, Send("0", 2, corrupt=True), *probe(2), *logout(3))),
    Case(
        "3c_garbled_then_gap",
        (
            L,
            Send("0", 2, corrupt=True),
            Send("0", 2),
            Send("1", 3, ((112, "lost"),), corrupt=True),
            Send("0", 4),
            Expect("2", {7: "3", 16: "0"}),
            gap_fill(3, 4),
            *probe(5),
            *logout(6),
        ),
    ),
    # -- 4-6: heartbeats and TestRequest -----------------------------------------------------
    Case(
        "4a_heartbeat_when_idle",
        (
            Logon(hb=1),
            Expect("0", {112: None}, timeout=3),
            Send("0", 2),
            Expect("0", {112: None}, timeout=3),
            Send("0", 3),
            *logout(4),
        ),
        hb=1,
    ),
    Case("4b_test_request_answered", (L, *probe(2), *logout(3))),
    Case(
        "6_test_request_then_disconnect",
        (
            Logon(hb=1),
            Expect("0", timeout=3),
            Send("0", 2),
            Expect("1", {112: "TEST"}, timeout=4, skip=("0",)),
            Send("0", 3, ((112, "TEST"),)),
            Expect("1", {112: "TEST"}, timeout=4, skip=("0",)),
            ExpectDisconnect(timeout=4),  # TestRequest unanswered
        ),
        hb=1,
    ),
    # -- 7, 8: Reject received, ResendRequest ------------------------------------------------
    Case(
        "7_reject_received",
        (L, Send("3", 2, ((45, 1), (58, "no"))), *probe(3, 2), *logout(4)),
    ),
    Case(
        "8_only_admin_messages",
        (
            L,
            *probe(2, 2),
            *probe(3, 3),
            *probe(4, 4),
            Send("2", 5, ((7, 1), (16, 4))),
            Expect("4", {34: "1", 43: "Y", 36: "5", 123: "Y"}),
            *probe(6, 5),
            Send("2", 5, ((7, 1), (16, 0))),  # below the expected 7: answered all the same
            Expect("4", {34: "1", 43: "Y", 36: "6", 123: "Y"}),
            *logout(7),
        ),
    ),
    Case(
        "8_admin_and_application_messages",
        (
            L,
            *probe(2, 2),
            Send("D", 3, order()),
            Expect("8", {34: "3", 11: "ID"}),
            *probe(4, 4),
            Send("2", 5, ((7, 1), (16, 0))),
            Expect("4", {34: "1", 36: "3", 123: "Y"}),
            Expect("8", {34: "3", 43: "Y", 11: "ID"}),
            Expect("4", {34: "4", 36: "5", 123: "Y"}),
            *probe(6, 5),
            *logout(7),
        ),
    ),
    # -- 10, 11: SequenceReset ---------------------------------------------------------------
    Case(
        "10_gap_fill_msgseqnum_equal",
        (L, Send("4", 2, ((36, 20), (123, "Y"))), *probe(20, 2), *logout(21)),
    ),
    Case(
        "10_gap_fill_msgseqnum_greater",
        (
            L,
            Send("4", 10, ((36, 20), (123, "Y"))),
            Expect("2", {7: "2", 16: "0"}),
            *logout(2),
        ),
    ),
    Case(
        "10_gap_fill_msgseqnum_less",
        (
            L,
            Send("4", 1, (*GAPFILL, (36, 20), (123, "Y"))),  # PossDup: ignored
            *probe(2, 2),
            Send("4", 1, ((36, 20), (123, "Y"))),
            Expect("5", {58: "MsgSeqNum too low, expecting 3 but received 1"}),
            ExpectDisconnect(),
        ),
    ),
    Case(
        "11a_reset_new_seq_no_greater",
        (L, Send("4", 0, ((36, 25),)), *probe(25, 2), *logout(26)),
    ),
    Case(
        "11b_reset_new_seq_no_equal",
        (L, Send("4", 0, ((36, 2),)), *probe(2, 2), *logout(3)),
    ),
    Case(
        "11c_reset_new_seq_no_less",
        (
            L,
            Send("4", 0, ((36, 1),)),
            Expect("3", {45: "0", 372: "4", 373: "5"}),
            *probe(2, 3),
            *logout(3),
        ),
    ),
    # -- 13: Logout --------------------------------------------------------------------------
    Case("13b_unsolicited_logout", (L, *logout(2))),
    # -- 14: invalid messages ----------------------------------------------------------------
    Case(
        "14a_invalid_tag_number",
        (
            L,
            Send("0", 2, ((999, "HI"),)),
            Expect("3", {45: "2", 371: "999", 373: "0"}),
            Send("0", 3, ((0, "HI"),)),
            Expect("3", {45: "3", 371: "0", 373: "0"}),
            Send("0", 4, (("-1", "HI"),)),
            Expect("3", {45: "4", 371: "-1", 373: "0"}),
            *probe(5),
            *logout(6),
        ),
    ),
    Case(
        "14b_required_field_missing",
        (
            L,
            Send("0", 2, drop=(56,)),
            Expect("3", {45: "2", 371: "56", 373: "1"}),
            Send("D", 3, order(drop=(54,))),
            Expect("3", {45: "3", 371: "54", 373: "1"}),
            *probe(4),
            *logout(5),
        ),
    ),
    Case(
        "14c_tag_not_defined_for_msg_type",
        (L, Send("0", 2, ((55, "MSFT"),)), Expect("3", {45: "2", 371: "55", 373: "2"}), *logout(3)),
    ),
    Case(
        "14d_tag_without_value",
        (
            L,
            Send(bare=True, fields=((35, "0"), (34, 2), (49, "<ME>"), (52, "<TIME>"), (56, ""))),
            Expect("3", {45: "2", 371: "56", 373: "4"}),
            *logout(3),
        ),
    ),
    Case(
        "14e_incorrect_enum_value",
        (
            L,
            Send("D", 2, order(drop=(21,)) + ((21, "4"),)),
            Expect("3", {45: "2", 371: "21", 373: "5"}),
            *logout(3),
        ),
    ),
    Case(
        "14f_incorrect_data_format",
        (
            L,
            Send("D", 2, order(drop=(38,)) + ((38, "+200.00"),)),
            Expect("3", {45: "2", 371: "38", 373: "6"}),
            *logout(3),
        ),
    ),
    Case(
        "14g_header_field_after_body",
        (
            L,
            Send(
                bare=True,
                fields=(
                    (35, "D"),
                    *order(),
                    (34, 2),
                    (49, "<ME>"),
                    (52, "<TIME>"),
                    (56, "<ENGINE>"),
                ),
            ),
            Expect("3", {45: "2", 371: "34", 373: "14"}),
            *logout(3),
        ),
    ),
    Case(
        "14h_tag_repeated",
        (
            L,
            Send("D", 2, order((40, "1"))),
            Expect("3", {45: "2", 371: "40", 373: "13"}),
            *logout(3),
        ),
    ),
    Case(
        "14i_numingroup_count_wrong",
        (
            L,
            Send("D", 2, ((386, 3), (336, "PRE-OPEN"), (336, "AFTER-HOURS"), *order())),
            Expect("3", {45: "2", 371: "386", 373: "16"}),
            *logout(3),
        ),
    ),
    # -- 15, 19-21 ----------------------------------------------------------------------------
    Case(
        "15_header_and_body_in_another_order",
        (
            L,
            Send(
                bare=True,
                fields=(
                    (35, "D"),
                    (49, "<ME>"),
                    (34, 2),
                    (56, "<ENGINE>"),
                    (52, "<TIME>"),
                    *reversed(order()),
                ),
            ),
            Expect("8", {11: "ID"}),
            *logout(3),
        ),
    ),
    Case(
        "20_simultaneous_resend_request",
        (
            L,
            *probe(2, 2),
            *probe(3, 3),
            Send("0", 7),
            Expect("2", {34: "4", 7: "4", 16: "0"}),
            Send("2", 8, ((7, 2), (16, 3))),
            Expect("4", {34: "2", 43: "Y", 36: "4", 123: "Y"}),
            gap_fill(4, 7),
            *logout(8),
        ),
    ),
    Case(
        "21_repeating_group_count_zero",
        (L, Send("D", 2, ((453, 0), *order())), Expect("8", {11: "ID"}), *logout(3)),
    ),
    # -- QuickFIX's further session scenarios --------------------------------------------------
    Case(
        "reject_resent_message",
        (
            L,
            Send("1", 3, ((112, "HELLO1"),)),
            Expect("2", {7: "2", 16: "0"}),
            Send("D", 2, (*GAPFILL, *order((126, "20040415")))),
            Expect("3", {45: "2", 371: "126", 373: "6"}),
            Expect("0", {112: "HELLO1"}),
            Send("1", 4, ((112, "HELLO2"),)),
            Expect("0", {112: "HELLO2"}),
            *logout(5),
        ),
    ),
    Case(
        "reverse_route",
        (
            L,
            Send("D", 2, ((115, "JCD"), *order(drop=(40,)), (40, "w"))),
            Expect("3", {45: "2", 128: "JCD", 115: None, 371: "40", 373: "5"}),
            Send("D", 3, ((128, "JCD"), *order(drop=(40,)), (40, "w"))),
            Expect("3", {45: "3", 115: "JCD", 128: None, 373: "5"}),
            Send("D", 4, ((115, "JCD"), (116, "CS"), (144, "CHI"), *order(drop=(40,)), (40, "w"))),
            Expect("3", {45: "4", 128: "JCD", 129: "CS", 145: "CHI", 373: "5"}),
            Send("D", 5, ((128, "JCD"), (129, "CS"), (145, "CHI"), *order(drop=(40,)), (40, "w"))),
            Expect("3", {45: "5", 115: "JCD", 116: "CS", 144: "CHI", 373: "5"}),
            *logout(6),
        ),
    ),
    Case(
        "reverse_route_empty_routing_tags",
        (
            L,
            Send("D", 2, ((115, ""), *order())),
            Expect("3", {45: "2", 128: None, 371: "115", 373: "4"}),
            Send("D", 3, ((115, "JCD"), (116, ""), *order())),
            Expect("3", {45: "3", 128: "JCD", 129: None, 371: "116", 373: "4"}),
            *logout(4),
        ),
    ),
    Case(
        "session_reset",
        (
            L,
            *(Send("0", n) for n in range(2, 10)),
            *probe(10, 2),
            Send("A", 1, ((98, 0), (108, 30), (141, "Y"))),
            Expect("A", {34: "1", 141: "Y"}),
            *probe(2, 2),
            *logout(3),
        ),
    ),
)

#: venue behaviour at the same boundary (the simulator only): unreasonable orders are refused
#: with an ExecutionReport 39=8 and a Text, the session going on
VENUE_CASES: tuple[Case, ...] = (
    Case(
        "venue_order_qty_unreasonable",
        (
            L,
            Send("D", 2, order(drop=(38,)) + ((38, str(10**30)),)),
            Expect("8", {11: "ID", 39: "8", 150: "8"}),
            *probe(3),
            *logout(4),
        ),
        roles=("acceptor",),
    ),
    Case(
        "venue_cl_ord_id_too_long",
        (
            L,
            Send("D", 2, ((11, "x" * 10_000), *order(drop=(11,)))),
            Expect("8", {39: "8", 150: "8"}),
            *probe(3),
            *logout(4),
        ),
        roles=("acceptor",),
    ),
)
