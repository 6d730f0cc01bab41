"""A real 3-master Redis Cluster on free ports for tests, stopped by PID.

Use the ``redis_cluster`` session fixture (``tests/conftest.py``) and
``redis.asyncio.RedisCluster.from_url(cluster.url)``; ``await flush_cluster(client)`` empties
every master between tests.
"""

from __future__ import annotations

import shutil
import signal
import socket
import subprocess
import tempfile
from dataclasses import dataclass, field
from typing import Any

from .procs import RedisServer, free_port, wait_until


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


def _cluster_ok(port: int) -> bool:
    out = subprocess.run(
        ["redis-cli", "-p", str(port), "cluster", "info"], capture_output=True, text=True, timeout=5
    ).stdout
    return "cluster_state:ok" in out


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
        if not shutil.which("redis-cli"):
            raise RuntimeError("redis-cli is not on the PATH")
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
        subprocess.run(
            ["redis-cli", "--cluster", "create"]
            + [f"127.0.0.1:{p}" for p in self.ports]
            + ["--cluster-replicas", "0", "--cluster-yes"],
            check=True,
            capture_output=True,
            timeout=60,
        )
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
