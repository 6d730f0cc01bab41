"""``ordergate trail ORDER_ID`` as a real process against a real Redis."""

import subprocess
import sys

import pytest
from support.gateway_orders import REFDATA, Clock, order

from gateway.config import GatewayConfig
from gateway.orders import OrderGateway

pytestmark = pytest.mark.e2e


def _trail(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "gateway.cli", "trail", *args],
        capture_output=True,
        text=True,
        timeout=60,
    )


async def test_trail_command_prints_the_orders_steps(redis_client, redis_server):
    gw = OrderGateway(redis_client, GatewayConfig(), REFDATA, Clock())
    oid = (await gw.submit(order(), process="w-7")).order.order_id
    out = _trail(oid, "--redis", redis_server.url)
    assert out.returncode == 0, out.stderr
    lines = out.stdout.splitlines()
    assert lines[0].startswith(oid) and "pending_new" in lines[0]
    assert [ln.split()[1] for ln in lines[1:]] == ["received", "enqueued"]


async def test_trail_command_for_an_unknown_order_fails(redis_client, redis_server):
    out = _trail("0MWZJITCM013DMW017L6", "--redis", redis_server.url)
    assert out.returncode == 1 and "order_not_found" in out.stderr
