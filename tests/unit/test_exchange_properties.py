"""Property tests of the matching engine: after any sequence of orders, cancels, replaces and
phase changes, the book is never crossed in the continuous session, quantity is conserved, both
sides of every fill see the same price and quantity, and every report's CumQty / LeavesQty /
AvgPx agree with the fills reported before it."""

from __future__ import annotations

from collections import defaultdict
from decimal import Decimal

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from support.exchange import engine

from simulators.exchange.engine import MatchingEngine, SessionRules
from simulators.exchange.model import (
    CancelOrder,
    ExecType,
    ExecutionReport,
    NewOrder,
    OrdStatus,
    OrdType,
    ReplaceOrder,
    Side,
    TimeInForce,
)
from simulators.exchange.phases import Phase

SESSIONS = ("A", "B", "C")
PRICES = [Decimal("2848") + Decimal("0.5") * i for i in range(9)]  # 2848 .. 2852, on tick
TERMINAL = {OrdStatus.FILLED, OrdStatus.CANCELED, OrdStatus.EXPIRED, OrdStatus.REJECTED}

new_op = st.tuples(
    st.just("new"),
    st.sampled_from(SESSIONS),
    st.sampled_from([Side.BUY, Side.SELL]),
    st.integers(1, 5),
    st.one_of(st.none(), st.sampled_from(PRICES)),
    st.sampled_from(
        [
            TimeInForce.DAY,
            TimeInForce.DAY,
            TimeInForce.IOC,
            TimeInForce.FOK,
            TimeInForce.AT_THE_CLOSE,
        ]
    ),
)
cancel_op = st.tuples(st.just("cancel"), st.integers(0, 10_000))
replace_op = st.tuples(
    st.just("replace"), st.integers(0, 10_000), st.integers(1, 6), st.sampled_from(PRICES)
)
phase_op = st.tuples(st.just("phase"), st.sampled_from(list(Phase)))
ops = st.lists(
    st.one_of(new_op, new_op, new_op, cancel_op, replace_op, phase_op), min_size=1, max_size=60
)


class Run:
    """Drives an engine and checks every invariant after every step."""

    def __init__(self, e: MatchingEngine):
        self.e = e
        self.n = 0
        self.cl_ids: list[tuple[str, str]] = []  # (session, current ClOrdID) of accepted orders
        self.fills: dict[str, list[ExecutionReport]] = defaultdict(list)  # by match id
        self.last: dict[str, ExecutionReport] = {}  # order id -> last report
        self.value: dict[str, Decimal] = defaultdict(Decimal)  # order id -> sum of fills
        self.filled: dict[str, int] = defaultdict(int)

    def step(self, op: tuple) -> None:
        e = self.e
        self.n += 1
        kind = op[0]
        if kind == "new":
            _, session, side, lots, price, tif = op
            cmd = NewOrder(
                session,
                f"n{self.n}",
                "7203",
                side,
                OrdType.MARKET if price is None else OrdType.LIMIT,
                lots * 100,
                price,
                tif,
            )
            out = e.new_order(cmd)
            if any(r.exec_type is ExecType.NEW for r in out if isinstance(r, ExecutionReport)):
                self.cl_ids.append((session, cmd.cl_ord_id))
        elif kind == "cancel" and self.cl_ids:
            session, cl = self.cl_ids[op[1] % len(self.cl_ids)]
            out = e.cancel(CancelOrder(session, f"x{self.n}", cl))
        elif kind == "replace" and self.cl_ids:
            i = op[1] % len(self.cl_ids)
            session, cl = self.cl_ids[i]
            out = e.replace(ReplaceOrder(session, f"r{self.n}", cl, op[2] * 100, op[3]))
            if any(getattr(r, "exec_type", None) is ExecType.REPLACED for r in out):
                self.cl_ids[i] = (session, f"r{self.n}")
        elif kind == "phase":
            out = e.pin_phase(op[1])
        else:
            return
        self.check(out)

    def check(self, out: list) -> None:
        for r in out:
            if not isinstance(r, ExecutionReport) or r.exec_type is ExecType.REJECTED:
                continue
            if r.exec_type is ExecType.TRADE:
                self.fills[r.match_id].append(r)
                self.filled[r.order_id] += r.last_qty
                self.value[r.order_id] += r.last_px * r.last_qty
                if r.price is not None:  # never worse than the order's own limit
                    assert r.last_px <= r.price if r.side is Side.BUY else r.last_px >= r.price
            # cum + leaves consistency on every report
            if r.ord_status in TERMINAL:
                assert r.leaves_qty == 0
            else:
                assert r.cum_qty + r.leaves_qty == r.order_qty
            if r.ord_status is OrdStatus.FILLED:
                assert r.cum_qty == r.order_qty
            assert r.cum_qty == self.filled[r.order_id]
            if r.cum_qty:
                exact = self.value[r.order_id] / r.cum_qty
                assert abs(r.avg_px - exact) <= Decimal("0.0000005")
            prev = self.last.get(r.order_id)
            if prev is not None:
                assert prev.ord_status not in TERMINAL or r.exec_type is ExecType.ORDER_STATUS
            self.last[r.order_id] = r
        # both sides of every fill: same price and quantity, one buy and one sell
        for reps in self.fills.values():
            assert len(reps) == 2
            a, b = reps
            assert {a.side, b.side} == {Side.BUY, Side.SELL}
            assert (a.last_px, a.last_qty) == (b.last_px, b.last_qty)
        self.check_book()

    def check_book(self) -> None:
        e = self.e
        view = e.book_view("7203")
        if e.phase is Phase.CONTINUOUS and view.bids and view.asks:
            assert view.bids[0].price < view.asks[0].price, "crossed book in continuous session"
        if e.phase is Phase.CONTINUOUS:
            assert view.market_buy_qty == view.market_sell_qty == 0
        # the book's levels hold exactly the leaves of the open orders
        open_orders = [o for o in e.orders() if o.status not in TERMINAL]
        for o in open_orders:
            assert o.cum_qty + o.leaves_qty == o.order_qty and o.leaves_qty > 0
        for side, levels in ((Side.BUY, view.bids), (Side.SELL, view.asks)):
            for lv in levels:
                at_level = [
                    o
                    for o in open_orders
                    if o.side is side
                    and o.price == lv.price
                    and o.time_in_force
                    not in (TimeInForce.AT_THE_CLOSE, TimeInForce.AT_THE_OPENING)
                ]
                assert lv.quantity == sum(o.leaves_qty for o in at_level)
                assert lv.count == len(at_level)
        # quantity conserved: what was bought equals what was sold
        bought = sum(r.last_qty for reps in self.fills.values() for r in reps if r.side is Side.BUY)
        sold = sum(r.last_qty for reps in self.fills.values() for r in reps if r.side is Side.SELL)
        assert bought == sold


@settings(max_examples=250, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(ops)
def test_invariants_hold_in_the_continuous_session(sequence):
    run = Run(engine(Phase.CONTINUOUS))
    for op in sequence:
        if op[0] != "phase":
            run.step(op)


@settings(max_examples=250, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(ops)
def test_invariants_hold_across_phases_and_auctions(sequence):
    run = Run(engine(Phase.PRE_OPEN))
    for op in sequence:
        run.step(op)


@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(ops)
def test_invariants_hold_with_self_trade_prevention(sequence):
    e = engine(Phase.CONTINUOUS)
    for s in SESSIONS:
        e.configure_session(s, SessionRules(self_trade_prevention=True))
    run = Run(e)
    for op in sequence:
        run.step(op)
        for reps in run.fills.values():
            assert reps[0].session != reps[1].session


@settings(max_examples=300, deadline=None)
@given(
    st.lists(
        st.tuples(
            st.sampled_from(["7203", "6758", "", "0000", "7203 "]),
            st.sampled_from(list(Side)),
            st.integers(-(10**20), 10**20),
            st.one_of(st.none(), st.decimals(allow_nan=True, allow_infinity=True)),
            st.sampled_from(list(TimeInForce)),
            st.booleans(),
        ),
        max_size=20,
    )
)
def test_any_order_gets_an_answer_and_never_raises(rows):
    e = engine(Phase.CONTINUOUS)
    for i, (symbol, side, qty, price, tif, replace) in enumerate(rows):
        ord_type = OrdType.MARKET if price is None else OrdType.LIMIT
        out = e.new_order(NewOrder("A", f"o{i}", symbol, side, ord_type, qty, price, tif))
        assert out and out[0].cl_ord_id == f"o{i}"
        if replace:
            (answer, *_) = e.replace(
                ReplaceOrder("A", f"r{i}", f"o{i}", qty, price, None, ord_type)
            )
            assert answer.cl_ord_id == f"r{i}"
    Run(e).check_book()
