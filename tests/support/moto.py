"""A real AWS-compatible endpoint for tests: moto's server on a free 127.0.0.1 port."""

from __future__ import annotations

import shutil
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from operations.stack.supervisor import port_open
from support.procs import free_port, wait_until


@contextmanager
def moto_server() -> Iterator[dict[str, str]]:
    """Run ``moto_server`` until the block ends; yields the environment that points the AWS
    clients (``gateway.references``, ``operations.stack.aws_seed``) at it."""
    exe = shutil.which("moto_server") or str(Path(sys.executable).parent / "moto_server")
    port = free_port()
    proc = subprocess.Popen(
        [exe, "-H", "127.0.0.1", "-p", str(port)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        wait_until(lambda: port_open(port), 30, "moto server")
        yield {
            "AWS_ENDPOINT_URL": f"http://127.0.0.1:{port}",
            "AWS_ACCESS_KEY_ID": "testing",
            "AWS_SECRET_ACCESS_KEY": "testing",
            "AWS_REGION": "ap-northeast-1",
        }
    finally:
        proc.terminate()
        proc.wait(10)
