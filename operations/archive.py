"""The audit archive: every partition's ``og:{p}:events`` stream, in gzipped NDJSON objects on S3.

Delivery is at least once and idempotent per batch. The archiver reads each partition's events
through the consumer group ``archive`` and puts one object per batch. It acknowledges the entries
(XACK) only after S3 has accepted the object. A batch's key and bytes depend only on its entries, so
a batch re-read after a crash (the group's pending list, read first on start) overwrites its own
object rather than adding a second one.

One object holds one partition's consecutive events, one JSON object per line::

    {"event": {...OrderUpdate fields...}, "id": "1764212400000-0", "partition": 3}
    {"error": "not msgpack: ...", "id": "...", "partition": 3, "raw": "<base64 of field m>"}

The key is ``{prefix}events/{YYYY-MM-DD}/p{p:03d}/{first_id}_{last_id}.ndjson.gz``. The date is the
UTC date of the first entry's stream id, which is Redis's clock in milliseconds when it was added.
Prices stay strings (Decimal is written as a string, never a float). An entry that does not decode
is archived raw with an error note and counted (``bad``), so one bad entry cannot block its
partition.

Batches are cut at ``max_events`` or when the oldest entry has waited ``max_age`` seconds. If a
batch was cut by age and the archiver crashed before its XACK, the re-read after restart can
cut the pending entries differently. Some events can then be in two objects, and readers dedupe
by ``id``.
"""

from __future__ import annotations

import asyncio
import base64
import gzip
import json
import logging
import time
from collections import deque
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any, Protocol

from gateway import keys
from gateway.codec import FIELD, CodecError, decode_event
from gateway.references import aws_client_kwargs

GROUP = "archive"
CONSUMER = "archiver"  # one archiver per deployment: a fixed name finds its own pending list
log = logging.getLogger("ordergate.archive")


# --- pure: entries, object body, key, flush decisions ---------------------------------------


@dataclass(frozen=True, slots=True)
class Entry:
    """One stream entry as archived: the decoded event, or the raw bytes and why they failed."""

    id: str
    event: dict[str, Any] | None = None
    raw: bytes | None = None
    error: str | None = None


def decode_entry(entry_id: bytes | str, fields: Mapping[bytes, bytes] | None) -> Entry:
    """An ``Entry`` from XREADGROUP's ``(id, fields)``; never raises (bad input is archived)."""
    eid = entry_id.decode() if isinstance(entry_id, bytes) else entry_id
    if not fields:  # trimmed (MAXLEN) or deleted while pending: XREADGROUP returns no fields
        return Entry(eid, error="entry deleted from the stream before it was archived")
    data = fields.get(FIELD.encode())
    if data is None:
        return Entry(eid, raw=_raw_fields(fields), error=f"no field {FIELD!r}")
    try:
        return Entry(eid, event=decode_event(data).to_json())
    except CodecError as exc:
        return Entry(eid, raw=data, error=str(exc))


def _raw_fields(fields: Mapping[bytes, bytes]) -> bytes:
    """All fields of an entry without ``m``, as one msgpack-free byte string to keep."""
    return b"\n".join(k + b"=" + v for k, v in fields.items())


def entry_ms(entry_id: str) -> int:
    """The millisecond timestamp of a stream id (``<ms>-<seq>``)."""
    ms, _, seq = entry_id.partition("-")
    if not ms.isdigit() or (seq and not seq.isdigit()):
        raise ValueError(f"not a stream id: {entry_id!r}")
    return int(ms)


def object_key(prefix: str, partition: int, first_id: str, last_id: str) -> str:
    """Where a batch goes; the date is the UTC date of ``first_id``'s timestamp."""
    day = datetime.fromtimestamp(entry_ms(first_id) / 1000, UTC).strftime("%Y-%m-%d")
    return f"{prefix}events/{day}/p{partition:03d}/{first_id}_{last_id}.ndjson.gz"


def _json_default(value: Any) -> str:
    if isinstance(value, Decimal):
        return str(value)
    raise TypeError(f"{type(value).__name__} is not archivable")


def record(partition: int, entry: Entry) -> dict[str, Any]:
    """The JSON object of one line."""
    out: dict[str, Any] = {"id": entry.id, "partition": partition}
    if entry.event is not None:
        out["event"] = entry.event
    if entry.error is not None:
        out["error"] = entry.error
    if entry.raw is not None:
        out["raw"] = base64.b64encode(entry.raw).decode("ascii")
    return out


def ndjson(partition: int, entries: list[Entry]) -> bytes:
    """One line per entry, in stream order; sorted keys so the same entries give the same bytes."""
    return b"".join(
        json.dumps(
            record(partition, e), sort_keys=True, separators=(",", ":"), default=_json_default
        ).encode()
        + b"\n"
        for e in entries
    )


def build_object(prefix: str, partition: int, entries: list[Entry]) -> tuple[str, bytes]:
    """``(key, gzipped body)`` of a batch. ``mtime=0`` so retries and re-reads give the same bytes."""
    if not entries:
        raise ValueError("an archive object needs at least one entry")
    key = object_key(prefix, partition, entries[0].id, entries[-1].id)
    return key, gzip.compress(ndjson(partition, entries), mtime=0)


def flush_due(
    count: int, oldest_at: float | None, now: float, max_events: int, max_age: float
) -> bool:
    """Whether a partition's batch goes to S3 now: full, or its oldest entry waited ``max_age``."""
    if count == 0 or oldest_at is None:
        return False
    return count >= max_events or now - oldest_at >= max_age


def wait_ms(oldest_at: float | None, now: float, max_age: float, block_ms: int) -> int:
    """How long the next read may block: never past the current batch's age limit."""
    if oldest_at is None:
        return block_ms
    left = int((oldest_at + max_age - now) * 1000)
    return max(1, min(block_ms, left))


def backoff(attempt: int, base: float = 0.2, cap: float = 30.0) -> float:
    """Seconds to wait before retry ``attempt`` (1, 2, ...): doubling, capped."""
    return float(min(cap, base * 2 ** (attempt - 1)))


def normalize_prefix(prefix: str) -> str:
    """``""`` or a prefix ending in ``/`` (``audit`` -> ``audit/``); no leading ``/``."""
    if prefix.startswith("/"):
        raise ValueError("must not start with '/'")
    return prefix if not prefix or prefix.endswith("/") else prefix + "/"


# --- I/O -------------------------------------------------------------------------------------


class ArchiveError(RuntimeError):
    """S3 refused or could not be reached (``--once`` gives up with exit 1)."""


class Store(Protocol):
    async def put(self, key: str, body: bytes) -> None: ...


@dataclass(frozen=True, slots=True)
class Settings:
    bucket: str
    prefix: str = ""
    partitions: int = keys.DEFAULT_PARTITIONS
    max_events: int = 1000
    max_age: float = 5.0
    block_ms: int = 1000
    attempts: int | None = None  # S3 put attempts per batch; None: until it succeeds


@dataclass(slots=True)
class Stats:
    """What the archiver did (logged at the end of ``--once`` and by the service on each put)."""

    events: int = 0
    objects: int = 0
    bad: int = 0
    put_failures: int = 0
    keys: deque[str] = field(default_factory=lambda: deque(maxlen=1000))  # the latest

    def summary(self) -> dict[str, int]:
        return {
            "events": self.events,
            "objects": self.objects,
            "bad": self.bad,
            "put_failures": self.put_failures,
        }


def describe_error(exc: BaseException) -> str:
    """A log-safe description: the class and the service's error code and message, no keys."""
    response = getattr(exc, "response", None)
    if isinstance(response, dict) and "Error" in response:
        err = response["Error"]
        return f"{type(exc).__name__}: {err.get('Code')}: {err.get('Message', '')}".rstrip(": ")
    return f"{type(exc).__name__}: {exc}"


class S3Store:
    """PutObject through aiobotocore. botocore's own retries are off: the archiver retries."""

    def __init__(self, client: Any, bucket: str) -> None:
        self.client = client
        self.bucket = bucket

    async def check(self) -> None:
        """HeadBucket: ``ArchiveError`` naming the bucket if it is missing or unreachable."""
        try:
            await self.client.head_bucket(Bucket=self.bucket)
        except Exception as exc:
            code = str(getattr(exc, "response", {}).get("Error", {}).get("Code", ""))
            if code in ("404", "NoSuchBucket"):
                raise ArchiveError(f"bucket {self.bucket} does not exist") from None
            raise ArchiveError(f"bucket {self.bucket}: {describe_error(exc)}") from None

    async def put(self, key: str, body: bytes) -> None:
        await self.client.put_object(
            Bucket=self.bucket,
            Key=key,
            Body=body,
            ContentType="application/x-ndjson",
            ContentEncoding="gzip",
        )


def s3_client(env: Mapping[str, str]) -> Any:
    """An aiobotocore S3 client context manager (``async with s3_client(env) as client``)."""
    from aiobotocore.config import AioConfig
    from aiobotocore.session import get_session

    config = AioConfig(
        connect_timeout=5, read_timeout=30, retries={"total_max_attempts": 1, "mode": "standard"}
    )
    return get_session().create_client("s3", config=config, **aws_client_kwargs(env))


async def ensure_group(redis: Any, stream: str) -> None:
    """The ``archive`` group from the stream's first entry (stream created if missing)."""
    try:
        await redis.xgroup_create(stream, GROUP, id="0", mkstream=True)
    except Exception as exc:
        if "BUSYGROUP" not in str(exc):
            raise


async def read(redis: Any, stream: str, start: str, count: int, block: int | None) -> list[Any]:
    """XREADGROUP one stream: ``start`` ``0`` re-reads our pending entries, ``>`` new ones."""
    reply = await redis.xreadgroup(GROUP, CONSUMER, {stream: start}, count=count, block=block)
    if not reply:
        return []
    if isinstance(reply, dict):  # RESP3
        return list(next(iter(reply.values()))[0])
    return list(reply[0][1])


class Archiver:
    """Moves each partition's events to the store, one batch per object, acked after the put."""

    def __init__(
        self,
        redis: Any,
        store: Store,
        settings: Settings,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
    ) -> None:
        self.redis = redis
        self.store = store
        self.s = settings
        self.stats = Stats()
        self._sleep = sleep

    async def setup(self) -> None:
        for p in range(self.s.partitions):
            await ensure_group(self.redis, keys.events(p))

    async def flush(self, p: int, batch: list[tuple[bytes, Any]]) -> None:
        """Put one object, retrying with backoff; XACK only after S3 accepted it."""
        entries = [decode_entry(eid, fields) for eid, fields in batch]
        key, body = build_object(self.s.prefix, p, entries)
        attempt = 0
        while True:
            attempt += 1
            try:
                await self.store.put(key, body)
                break
            except Exception as exc:
                self.stats.put_failures += 1
                log.warning(
                    "archive p%d: put %s failed (attempt %d): %s",
                    p,
                    key,
                    attempt,
                    describe_error(exc),
                )
                if self.s.attempts is not None and attempt >= self.s.attempts:
                    raise ArchiveError(f"put {key}: {describe_error(exc)}") from None
                await self._sleep(backoff(attempt))
        await self.redis.xack(keys.events(p), GROUP, *[eid for eid, _ in batch])
        bad = sum(1 for e in entries if e.event is None)
        self.stats.events += len(entries)
        self.stats.objects += 1
        self.stats.bad += bad
        self.stats.keys.append(key)
        if bad:
            log.warning("archive p%d: %d undecodable entries archived raw in %s", p, bad, key)
        log.info("archive p%d: %d events -> %s", p, len(entries), key)

    async def drain(self, p: int) -> None:
        """``--once`` for one partition: the pending entries, then every new entry up to the
        stream's last id when the drain started (a busy stream cannot keep it going forever)."""
        stream = keys.events(p)
        last = await self.redis.xrevrange(stream, count=1)
        stop = entry_ms_seq(last[0][0]) if last else (0, 0)
        for start in ("0", ">"):
            while True:
                batch = await read(self.redis, stream, start, self.s.max_events, None)
                if not batch:
                    break
                await self.flush(p, batch)
                if start == ">" and entry_ms_seq(batch[-1][0]) >= stop:
                    break

    async def run_once(self) -> Stats:
        await self.setup()
        for p in range(self.s.partitions):
            await self.drain(p)
        return self.stats

    async def follow(self, p: int) -> None:
        """Service mode for one partition: pending first, then block for new entries, flushing
        at ``max_events`` or ``max_age``. Redis errors are logged and retried."""
        stream = keys.events(p)
        batch: list[tuple[bytes, Any]] = []
        oldest: float | None = None
        start = "0"  # our pending entries first: read before a restart, never acked
        failures = 0
        while True:
            try:
                now = time.monotonic()
                if flush_due(len(batch), oldest, now, self.s.max_events, self.s.max_age):
                    await self.flush(p, batch)
                    batch, oldest = [], None
                elif start == "0":
                    got = await read(self.redis, stream, "0", self.s.max_events, None)
                    if got:
                        await self.flush(p, got)
                    else:
                        start = ">"
                else:
                    block = wait_ms(oldest, now, self.s.max_age, self.s.block_ms)
                    got = await read(self.redis, stream, ">", self.s.max_events - len(batch), block)
                    if got and oldest is None:
                        oldest = time.monotonic()
                    batch.extend(got)
                failures = 0
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                failures += 1
                log.warning("archive p%d: %s; retrying", p, describe_error(exc))
                await self._sleep(backoff(failures))

    async def run_forever(self) -> None:
        await self.setup()
        await asyncio.gather(*(self.follow(p) for p in range(self.s.partitions)))


def entry_ms_seq(entry_id: bytes | str) -> tuple[int, int]:
    """A stream id as a comparable ``(ms, seq)``."""
    s = entry_id.decode() if isinstance(entry_id, bytes) else entry_id
    ms, _, seq = s.partition("-")
    return int(ms), int(seq or 0)
