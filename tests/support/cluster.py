"""A real 3-master Redis Cluster on free ports for tests, stopped by PID; formed with plain
CLUSTER commands, so it needs no ``redis-cli`` (the embedded server ships none).

Use the ``redis_cluster`` session fixture (``tests/conftest.py``) and
``redis.asyncio.RedisCluster.from_url(cluster.url)``; ``await flush_cluster(client)`` empties
every master between tests.
"""

from __future__ import annotations

import signal
import socket
import tempfile
from dataclasses import dataclass, field
from typing import Any

import redis

from .procs import RedisServer, free_port, wait_until

SLOTS = 16384


def _bindable(port: int) -> bool:
    with socket.socket() as s:
        try:
            s.bind(("127.0.0.1", port))
        except OSError:
            return False
    return True


def free_cluster_port() -> int:
    """A free port whose cluster bus port (+10000) is free too, so at most 55535."""
    for _ in range(200):
        port = free_port()
        if port <= 55535 and _bindable(port + 10000):
            return port
    raise RuntimeError("no free port pair for a cluster node")


def _node(port: int) -> redis.Redis:
    return redis.Redis(host="127.0.0.1", port=port, socket_timeout=5)


def _cluster_ok(port: int) -> bool:
    with _node(port) as node:
        return node.execute_command("CLUSTER", "INFO").decode().find("cluster_state:ok") >= 0


def slot_ranges(masters: int) -> list[tuple[int, int]]:
    """The 16,384 slots split into ``masters`` contiguous ranges, as ``redis-cli --cluster create``
    splits them."""
    per = SLOTS / masters
    return [(round(i * per), round((i + 1) * per) - 1) for i in range(masters)]


def _form_cluster(ports: list[int]) -> None:
    """What ``redis-cli --cluster create`` does, with plain commands (the embedded server ships no
    CLI): each node takes its slot range, then every node meets the first."""
    for port, (first, last) in zip(ports, slot_ranges(len(ports)), strict=True):
        with _node(port) as node:
            node.execute_command("CLUSTER", "ADDSLOTSRANGE", first, last)
    for port in ports[1:]:
        with _node(port) as node:
            node.execute_command("CLUSTER", "MEET", "127.0.0.1", ports[0])


@dataclass
class RedisClusterProcs:
    masters: int = 3
    nodes: list[RedisServer] = field(default_factory=list)

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.nodes[0].port}/0"

    @property
    def ports(self) -> list[int]:
        return [n.port for n in self.nodes]

    def start(self) -> RedisClusterProcs:
        for _ in range(self.masters):
            port = free_cluster_port()
            node = RedisServer(
                port=port,
                dir=tempfile.mkdtemp(prefix="og-cluster-"),
                extra=[
                    "--cluster-enabled",
                    "yes",
                    "--cluster-config-file",
                    f"nodes-{port}.conf",
                    "--cluster-node-timeout",
                    "2000",
                ],
            )
            self.nodes.append(node.start())
        _form_cluster(self.ports)
        for p in self.ports:
            wait_until(lambda p=p: _cluster_ok(p), 30, f"cluster state ok on {p}")
        return self

    def stop(self) -> None:
        for n in self.nodes:
            n.stop(signal.SIGTERM)
        self.nodes = []


async def flush_cluster(client: Any) -> None:
    """FLUSHALL on every master of an asyncio ``RedisCluster`` client."""
    await client.flushall(target_nodes=client.PRIMARIES)
