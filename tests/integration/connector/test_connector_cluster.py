"""The connector on a 3-master Redis Cluster: partitions in different slots, same behaviour."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
import redis.asyncio as aioredis
from support.cluster import flush_cluster
from support.fix_venue import VenueHandle, connector_config
from support.gateway_orders import REFDATA, Clock, order
from support.procs import async_wait_until

from connector.service import Connector
from gateway import keys
from gateway.config import GatewayConfig
from gateway.ids import partition_of_order_id
from gateway.orders import OrderGateway

pytestmark = [pytest.mark.integration, pytest.mark.cluster]


async def test_orders_of_every_partition_are_sent_once_and_acknowledged_on_a_cluster(
    redis_cluster: Any, venue: VenueHandle
) -> None:
    client = aioredis.RedisCluster.from_url(redis_cluster.url)
    await flush_cluster(client)
    gw = OrderGateway(client, GatewayConfig(partitions=16), REFDATA, Clock())
    await gw.load_scripts()
    ids = []
    for i in range(40):  # 40 accounts: most of the 16 partitions, spread over the 3 masters
        out = await gw.submit(order(client_order_id=f"k-{i}", account=f"Z{i}"), process="test")
        ids.append(out.order.order_id)
    conn = Connector(connector_config(redis_cluster.url, venue.port), client)
    task = asyncio.create_task(conn.run())
    try:

        async def all_new() -> bool:
            for oid in ids:
                st = await client.hget(keys.order(partition_of_order_id(oid), oid), "status")
                if st != b"new":
                    return False
            return True

        await async_wait_until(all_new, 20, "every order acknowledged")
        assert sorted(venue.venue.cl_ord_ids()) == sorted(ids)
        assert len({partition_of_order_id(o) for o in ids}) > 8
        trail = await client.lrange(keys.trail(partition_of_order_id(ids[0]), ids[0]), 0, -1)
        assert [b'"step": "sent"' in t for t in trail].count(True) == 1
    finally:
        conn.stop()
        await asyncio.wait_for(task, 20)
        await client.aclose()
