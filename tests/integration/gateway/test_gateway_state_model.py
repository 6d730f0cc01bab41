"""Model-based check: random sequences of requests and venue reports give, in Redis (the Lua
scripts), exactly the statuses and quantities the Python state machine predicts."""

import asyncio
import os
from decimal import Decimal

import pytest
import redis.asyncio as aioredis
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from support.gateway_orders import REFDATA, Clock, order

from gateway.config import GatewayConfig
from gateway.errors import OrderError
from gateway.model import TERMINAL, OrderStatus
from gateway.orders import OrderGateway
from gateway.reports import ExecReport, ReportApplier
from gateway.states import TABLE, OrderEvent, transition

pytestmark = pytest.mark.integration
E = OrderEvent
STEPS = st.lists(
    st.one_of(
        st.sampled_from(
            [
                E.accepted,
                E.rejected,
                E.canceled,
                E.replaced,
                E.expired,
                E.cancel_rejected,
                E.replace_rejected,
                E.cancel_requested,
                E.replace_requested,
            ]
        ),
        st.tuples(st.just(E.partial_fill), st.sampled_from([100, 200, 300])),
    ),
    min_size=1,
    max_size=12,
)


class Model:
    def __init__(self) -> None:
        self.status, self.qty, self.cum, self.pending_qty = OrderStatus.pending_new, 300, 0, None

    def apply(self, event: E, last_qty: int = 0) -> str:
        if event in (E.partial_fill, E.fill):
            if self.status in TERMINAL or (self.status, E.fill) not in TABLE:
                return "invalid_transition"
            if self.cum + last_qty > self.qty:
                return "overfill"
            cum = self.cum + last_qty
            event = E.fill if cum == self.qty else E.partial_fill
            self.status, self.cum = transition(self.status, event, cum), cum
            return "applied"
        if (self.status, event) not in TABLE:
            return "invalid_transition"
        self.status = transition(self.status, event, self.cum)
        if event is E.replaced and self.pending_qty:
            self.qty = self.pending_qty
        if event in (E.replaced, E.replace_rejected):
            self.pending_qty = None
        return "applied"


async def _run(url: str, steps: list) -> None:
    client = aioredis.Redis.from_url(url)
    try:
        await client.flushall()
        gw = OrderGateway(client, GatewayConfig(), REFDATA, Clock())
        applier = ReportApplier(client, 16)
        oid = (await gw.submit(order(quantity=300), process="m")).order.order_id
        model = Model()
        for i, step in enumerate(steps):
            event, last_qty = step if isinstance(step, tuple) else (step, 0)
            if event is E.cancel_requested:
                expect_ok = (
                    model.status,
                    event,
                ) in TABLE or model.status is OrderStatus.pending_cancel
                try:
                    await gw.cancel(oid, accounts=None)
                    got_ok = True
                except OrderError:
                    got_ok = False
                assert got_ok == expect_ok, (i, step, model.status)
                if expect_ok:
                    model.apply(event) if model.status is not OrderStatus.pending_cancel else None
            elif event is E.replace_requested:
                new_qty = model.qty + 100
                expect_ok = (model.status, event) in TABLE
                try:
                    await gw.replace(oid, new_qty, None, accounts=None)
                    got_ok = True
                except OrderError:
                    got_ok = False
                assert got_ok == expect_ok, (i, step, model.status)
                if expect_ok:
                    model.apply(event)
                    model.pending_qty = new_qty
            else:
                px = Decimal("2500") if last_qty else None
                res = await applier.apply(ExecReport(oid, event, f"x{i}", last_qty, px))
                assert res.outcome == model.apply(event, last_qty), (i, step, res)
            o = await gw.get(oid, accounts=None)
            assert (o.status, o.cum_qty, o.quantity) == (model.status, model.cum, model.qty), (
                i,
                step,
            )
            expected_leaves = 0 if model.status in TERMINAL else model.qty - model.cum
            assert o.leaves_qty == expected_leaves, (i, step)
    finally:
        await client.aclose()


@settings(
    max_examples=int(os.environ.get("OG_MODEL_EXAMPLES", "60")),
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)
@given(STEPS)
def test_redis_scripts_follow_the_python_state_machine(redis_server, steps):
    asyncio.run(_run(redis_server.url, steps))
