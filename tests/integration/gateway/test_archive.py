"""The S3 archiver against a real Redis (single and Cluster) and a real moto server: every event
exactly once, acked only after the put, a failed put acks nothing, a re-read overwrites itself."""

from __future__ import annotations

import asyncio
import gzip
import json
import os
import signal
import subprocess
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from support.api import ORDERGATE
from support.gateway_orders import order
from support.moto import moto_server
from support.procs import wait_until

from gateway import keys
from gateway.references import aws_client
from operations.archive import GROUP, ArchiveError, Archiver, S3Store, Settings, Stats, s3_client

pytestmark = pytest.mark.integration
ROOT = Path(__file__).resolve().parents[3]
P = 16


@pytest.fixture(scope="module")
def aws() -> Iterator[dict[str, str]]:
    with moto_server() as env:
        yield env


def new_bucket(env: dict[str, str], create: bool = True) -> str:
    name = f"og-audit-{uuid.uuid4().hex[:12]}"
    if create:
        make_bucket(env, name)
    return name


def make_bucket(env: dict[str, str], name: str) -> None:
    aws_client("s3", env).create_bucket(
        Bucket=name, CreateBucketConfiguration={"LocationConstraint": env["AWS_REGION"]}
    )


async def archive_once(redis: Any, env: dict[str, str], bucket: str, **kw: Any) -> Stats:
    async with s3_client(env) as client:
        settings = Settings(bucket=bucket, partitions=P, attempts=1, **kw)
        return await Archiver(redis, S3Store(client, bucket), settings).run_once()


def archived(env: dict[str, str], bucket: str) -> tuple[list[str], list[dict[str, Any]]]:
    """(object keys, every line of every object)."""
    s3 = aws_client("s3", env)
    keys_ = [o["Key"] for o in s3.list_objects_v2(Bucket=bucket).get("Contents", [])]
    lines = []
    for k in keys_:
        body = gzip.decompress(s3.get_object(Bucket=bucket, Key=k)["Body"].read())
        lines += [json.loads(line) for line in body.splitlines()]
    return keys_, lines


async def stream_ids(redis: Any) -> set[tuple[int, str]]:
    return {(p, eid.decode()) for p in range(P) for eid, _ in await redis.xrange(keys.events(p))}


async def pending(redis: Any) -> int:
    total = 0
    for p in range(P):
        if await redis.exists(keys.events(p)):
            total += (await redis.xpending(keys.events(p), GROUP))["pending"]
    return total


async def submit(gw: Any, n: int, tag: str) -> list[str]:
    out = []
    for i in range(n):
        o = await gw.submit(order(account=f"A{i}", client_order_id=f"{tag}-{i}"), process="w1")
        out.append(o.order.order_id)
    return out


async def test_every_event_once_all_acked_and_a_second_run_only_the_new_ones(
    gw: Any, redis: Any, aws: dict[str, str]
) -> None:
    bucket = new_bucket(aws)
    ids = await submit(gw, 6, "a")
    await gw.cancel(ids[0], accounts=None)
    first = await archive_once(redis, aws, bucket, max_events=2, prefix="audit/")
    keys_, lines = archived(aws, bucket)
    assert sorted((r["partition"], r["id"]) for r in lines) == sorted(await stream_ids(redis))
    assert first.events == len(lines) == 7 and first.bad == 0
    assert {r["event"]["order_id"] for r in lines} == set(ids)
    assert all(k.startswith("audit/events/") and k.endswith(".ndjson.gz") for k in keys_)
    assert await pending(redis) == 0

    more = await submit(gw, 2, "b")
    second = await archive_once(redis, aws, bucket, max_events=2, prefix="audit/")
    assert second.events == 2 and {k for k in second.keys}.isdisjoint(keys_)
    _, lines = archived(aws, bucket)
    assert len(lines) == 9 and len({(r["partition"], r["id"]) for r in lines}) == 9
    assert {r["event"]["order_id"] for r in lines} == set(ids + more)
    assert await pending(redis) == 0


async def test_failed_put_acks_nothing_and_a_rerun_after_the_bucket_exists_archives_all(
    gw: Any, redis: Any, aws: dict[str, str]
) -> None:
    bucket = new_bucket(aws, create=False)
    await submit(gw, 3, "a")
    with pytest.raises(ArchiveError, match="NoSuchBucket"):
        await archive_once(redis, aws, bucket)
    assert await pending(redis) >= 1  # read, put refused, not acked: still pending

    make_bucket(aws, bucket)
    stats = await archive_once(redis, aws, bucket)
    _, lines = archived(aws, bucket)
    assert stats.events == len(lines) == 3 and await pending(redis) == 0


async def test_a_crash_between_put_and_ack_re_uploads_the_same_keys(
    gw: Any, redis: Any, aws: dict[str, str]
) -> None:
    bucket = new_bucket(aws)
    await submit(gw, 5, "a")
    first = await archive_once(redis, aws, bucket, max_events=1)
    keys_before, _ = archived(aws, bucket)
    for p in range(P):  # as if none of the acks (nor the deliveries) had happened
        if await redis.exists(keys.events(p)):
            await redis.xgroup_setid(keys.events(p), GROUP, "0")
    again = await archive_once(redis, aws, bucket, max_events=1)
    keys_after, lines = archived(aws, bucket)
    assert sorted(again.keys) == sorted(first.keys) == sorted(keys_before) == sorted(keys_after)
    assert len(lines) == 5


async def test_an_undecodable_entry_is_archived_raw_counted_and_acked(
    redis: Any, aws: dict[str, str]
) -> None:
    bucket = new_bucket(aws)
    await redis.xadd(keys.events(4), {"m": b"\xc1garbage"})
    stats = await archive_once(redis, aws, bucket)
    _, lines = archived(aws, bucket)
    assert stats.bad == 1 and len(lines) == 1
    assert lines[0]["partition"] == 4 and "not msgpack" in lines[0]["error"]
    assert lines[0]["raw"] == "wWdhcmJhZ2U=" and await pending(redis) == 0


def cli(redis_url: str, env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [*ORDERGATE, "archive", "--redis", redis_url, *args],
        env={**os.environ, **env, "OG_CONFIG": ""},
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
    )


async def test_cli_once_exits_1_on_a_missing_bucket_and_0_when_done(
    redis_server: Any, redis_client: Any, aws: dict[str, str]
) -> None:
    await redis_client.xadd(keys.events(0), {"m": b"\xc1"})
    bucket = new_bucket(aws, create=False)
    out = cli(redis_server.url, aws, "--bucket", bucket, "--once")
    assert out.returncode == 1 and f"bucket {bucket} does not exist" in out.stderr
    assert "testing" not in out.stderr  # no keys in the message
    make_bucket(aws, bucket)
    out = cli(redis_server.url, aws, "--bucket", bucket, "--once")
    assert out.returncode == 0, out.stderr
    assert json.loads(out.stdout.splitlines()[-1]) == {
        "events": 1,
        "objects": 1,
        "bad": 1,
        "put_failures": 0,
    }


def test_cli_refuses_bad_arguments_with_exit_2(aws: dict[str, str]) -> None:
    out = cli("redis://127.0.0.1:1/0", aws, "--bucket", "b", "--once")
    assert out.returncode == 2 and "'b' is not an S3 bucket name" in out.stderr
    out = cli("redis://127.0.0.1:1/0", aws, "--bucket", "ok-bucket", "--max-events", "0")
    assert out.returncode == 2 and "--max-events: must be between 1 and 100000" in out.stderr
    out = cli("redis://127.0.0.1:1/0", aws, "--once")
    assert out.returncode == 2 and "--bucket is required" in out.stderr


async def test_service_flushes_by_age_keeps_going_and_stops_on_sigterm(
    redis_server: Any, redis_client: Any, aws: dict[str, str]
) -> None:
    bucket = new_bucket(aws)
    # left pending by an earlier run that crashed before its XACK: archived first
    await redis_client.xgroup_create(keys.events(1), GROUP, id="0", mkstream=True)
    await redis_client.xadd(keys.events(1), {"m": b"\xc1old"})
    await redis_client.xreadgroup(GROUP, "archiver", {keys.events(1): ">"})
    proc = subprocess.Popen(
        [*ORDERGATE, "archive", "--redis", redis_server.url, "--bucket", bucket]
        + ["--max-events", "100", "--max-age", "0.2", "--block", "0.1"],
        env={**os.environ, **aws, "OG_CONFIG": ""},
        cwd=ROOT,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        async with redis_client.pipeline(transaction=True) as pipe:  # p3's two arrive together
            for p in (2, 3, 3):
                pipe.xadd(keys.events(p), {"m": b"\xc1new"})
            await pipe.execute()
        wait_until(lambda: len(archived(aws, bucket)[1]) == 4, 30, "4 archived events")
        keys_, lines = archived(aws, bucket)
        assert sorted(r["partition"] for r in lines) == [1, 2, 3, 3] and len(keys_) == 3
        deadline = time.monotonic() + 10  # the XACK follows the put
        while await pending(redis_client) and time.monotonic() < deadline:
            await asyncio.sleep(0.01)
        assert await pending(redis_client) == 0
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(15) == 0
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
