"""The archive's pure parts: object body and key, entry decoding, flush decisions, CLI settings."""

from __future__ import annotations

import argparse
import base64
import gzip
import json
from decimal import Decimal

import pytest

from gateway.codec import OrderUpdate, encode_event
from gateway.config import ConfigError, GatewayConfig
from operations.archive import (
    Entry,
    backoff,
    build_object,
    decode_entry,
    flush_due,
    ndjson,
    normalize_prefix,
    object_key,
    wait_ms,
)
from operations.archive_cli import add_arguments, settings_from

# 2026-11-27 23:59:59.999 UTC and one millisecond later (the next UTC day)
LATE = "1795823999999-0"
NEXT_DAY = "1795824000000-0"


def update(order_id: str = "O1", price: str | None = "2500.5") -> OrderUpdate:
    return OrderUpdate(
        order_id=order_id,
        account="A1",
        symbol="7203",
        side="buy",
        status="filled",
        event="fill",
        quantity=100,
        price=price,
        cum_qty=100,
        leaves_qty=0,
        avg_px="2500.25",
        at="2026-11-27T01:00:00Z",
        last_qty=100,
        last_px="2500.25",
    )


def entries() -> list[Entry]:
    return [
        decode_entry(LATE.encode(), {b"m": encode_event(update("O1"))}),
        decode_entry(b"1795823999999-1", {b"m": encode_event(update("O2", None))}),
        decode_entry(NEXT_DAY.encode(), {b"m": encode_event(update("O3"))}),
    ]


def lines(body: bytes) -> list[dict]:  # type: ignore[type-arg]
    return [json.loads(line) for line in gzip.decompress(body).splitlines()]


def test_body_lines_decode_back_to_the_events_in_stream_order_with_ids_and_partition() -> None:
    _, body = build_object("", 7, entries())
    got = lines(body)
    assert [r["id"] for r in got] == [LATE, "1795823999999-1", NEXT_DAY]
    assert {r["partition"] for r in got} == {7}
    assert [OrderUpdate(**r["event"]) for r in got] == [
        update("O1"),
        update("O2", None),
        update("O3"),
    ]


def test_prices_stay_strings_and_decimal_is_written_as_a_string() -> None:
    got = lines(build_object("", 0, entries())[1])[0]["event"]
    assert got["price"] == "2500.5" and got["avg_px"] == "2500.25" and got["last_px"] == "2500.25"
    body = ndjson(0, [Entry("1-0", event={"px": Decimal("0.1")})])
    assert body == b'{"event":{"px":"0.1"},"id":"1-0","partition":0}\n'
    with pytest.raises(TypeError):
        ndjson(0, [Entry("1-0", event={"px": object()})])


def test_key_uses_the_utc_date_of_the_first_entry_and_both_ids() -> None:
    key, _ = build_object("audit/", 3, entries())
    assert key == f"audit/events/2026-11-27/p003/{LATE}_{NEXT_DAY}.ndjson.gz"
    assert object_key("", 12, NEXT_DAY, NEXT_DAY) == (
        f"events/2026-11-28/p012/{NEXT_DAY}_{NEXT_DAY}.ndjson.gz"
    )
    with pytest.raises(ValueError):
        object_key("", 0, "not-an-id", "1-0")


def test_the_same_entries_give_the_same_key_and_bytes() -> None:
    assert build_object("a/", 1, entries()) == build_object("a/", 1, entries())
    assert build_object("a/", 1, entries()[:2]) != build_object("a/", 1, entries())


def test_an_empty_batch_is_no_object() -> None:
    with pytest.raises(ValueError):
        build_object("", 0, [])


def test_undecodable_missing_and_deleted_entries_are_kept_with_an_error() -> None:
    bad = decode_entry(b"5-0", {b"m": b"\xc1"})
    assert bad.event is None and bad.raw == b"\xc1" and "not msgpack" in (bad.error or "")
    other = decode_entry(b"5-1", {b"x": b"1"})
    assert other.raw == b"x=1" and other.error == "no field 'm'"
    gone = decode_entry(b"5-2", None)
    assert gone.raw is None and "deleted" in (gone.error or "")
    got = json.loads(ndjson(2, [bad]))
    assert base64.b64decode(got["raw"]) == b"\xc1" and got["partition"] == 2 and "event" not in got


@pytest.mark.parametrize(
    ("count", "oldest", "now", "due"),
    [
        (0, None, 100.0, False),  # nothing to flush
        (3, 99.0, 100.0, False),  # not full, young
        (5, 99.0, 100.0, True),  # full
        (1, 95.0, 100.0, True),  # old enough
        (1, 95.1, 100.0, False),
    ],
)
def test_flush_when_full_or_old(count: int, oldest: float | None, now: float, due: bool) -> None:
    assert flush_due(count, oldest, now, max_events=5, max_age=5.0) is due


def test_reads_never_block_past_the_batch_age_limit() -> None:
    assert wait_ms(None, 100.0, 5.0, 1000) == 1000
    assert wait_ms(99.0, 100.0, 5.0, 1000) == 1000
    assert wait_ms(95.5, 100.0, 5.0, 1000) == 500
    assert wait_ms(90.0, 100.0, 5.0, 1000) == 1


def test_backoff_doubles_and_is_capped() -> None:
    assert [backoff(n) for n in (1, 2, 3)] == [0.2, 0.4, 0.8] and backoff(50) == 30.0


def test_prefix_normalized() -> None:
    assert normalize_prefix("") == "" and normalize_prefix("audit") == "audit/"
    assert normalize_prefix("a/b/") == "a/b/"
    with pytest.raises(ValueError):
        normalize_prefix("/audit")


def parse(*argv: str) -> argparse.Namespace:
    p = argparse.ArgumentParser()
    add_arguments(p)
    return p.parse_args(list(argv))


def test_settings_from_flags_then_the_archive_table() -> None:
    cfg = GatewayConfig(
        environment="dev",
        partitions=8,
        extra={"archive": {"bucket": "ordergate-{environment}-audit", "prefix": "x"}},
    )
    s = settings_from(parse("--once", "--max-events", "10", "--max-age", "0.5"), cfg)
    assert (s.bucket, s.prefix, s.partitions, s.max_events, s.max_age, s.attempts) == (
        "ordergate-dev-audit",
        "x/",
        8,
        10,
        0.5,
        3,
    )
    s = settings_from(parse("--bucket", "other", "--prefix", ""), cfg)
    assert (s.bucket, s.prefix, s.attempts) == ("other", "", None)


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        ((), "--bucket is required"),
        (("--bucket", "Upper"), "'Upper' is not an S3 bucket name"),
        (("--bucket", "a..b"), "is not an S3 bucket name"),
        (("--bucket", "ok-bucket", "--prefix", "/x"), "--prefix: must not start with '/'"),
    ],
)
def test_bad_settings_are_named(argv: tuple[str, ...], message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        settings_from(parse(*argv), GatewayConfig())


@pytest.mark.parametrize(
    "argv",
    [("--max-events", "0"), ("--max-events", "x"), ("--max-age", "0"), ("--max-age", "nan")],
)
def test_bad_numbers_exit_2(argv: tuple[str, ...]) -> None:
    with pytest.raises(SystemExit) as ei:
        parse(*argv)
    assert ei.value.code == 2
