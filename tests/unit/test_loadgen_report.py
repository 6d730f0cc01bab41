"""The load test report: percentiles, status counting, per-second rates, the generator verdict,
thresholds; and the driver's pure parts (URL, request bytes, answer parsing)."""

from __future__ import annotations

import json

import pytest
from hdrh.histogram import HdrHistogram

from simulators.loadgen.driver import _Conn, _Recorder, encode, parse_url
from simulators.loadgen.latency import new_histogram, record, summary
from simulators.loadgen.report import RunData, build_report, format_table, threshold_failures

SETUP = {
    "url": "http://127.0.0.1:8080",
    "profile": "mixed",
    "rate": 10.0,
    "duration_s": 2.0,
    "connections": 4,
    "accounts": 2,
    "account_range": "LT00..LT01",
    "seed": 1,
    "run_id": "r",
    "token": "development token",
}


def _hist(seconds: list[float]) -> HdrHistogram:
    h = new_histogram()
    for v in seconds:
        record(h, v)
    return h


def test_latency_summary_in_ms_from_the_histogram() -> None:
    values = [v / 1000 for v in range(100, 0, -1)]  # 100..1 ms, unsorted
    s = summary(_hist(values))
    assert s["count"] == 100
    # HDR at 3 significant digits: each figure within 0.1% of the exact nearest rank
    for name, exact in (("p50", 50.0), ("p90", 90.0), ("p99", 99.0), ("p999", 100.0)):
        assert abs(s[name] - exact) <= exact * 0.001 + 0.001, (name, s[name])
    assert abs(s["max"] - 100.0) <= 0.1
    assert summary(new_histogram())["p99"] is None


def _data() -> RunData:
    d = RunData(sent=20)
    d.statuses["submit"] = {202: 12, 429: 2}
    d.statuses["cancel"] = {202: 2, 409: 1}
    d.statuses["get"] = {200: 1, 503: 1}
    d.from_due["submit"] = _hist([0.001 * i for i in range(1, 15)])
    d.from_write["submit"] = _hist([0.0005 * i for i in range(1, 15)])
    d.from_due["cancel"] = _hist([0.002, 0.004, 0.1])
    d.from_write["cancel"] = _hist([0.001, 0.002, 0.09])
    d.from_due["get"] = _hist([0.003, 0.003])
    d.from_write["get"] = _hist([0.002, 0.002])
    d.skipped["replace"] = 1
    d.lateness = _hist([0.0001] * 19)
    d.due_per_s, d.sent_per_s = [10, 10], [10, 9]
    d.answered_per_s, d.ok_per_s = [9, 9, 1], [8, 6, 1]
    d.timeouts, d.connection_errors = 1, 0
    d.error_codes = {"rate_limited": 2, "order_not_open": 1, "redis_unavailable": 1}
    d.generator_cpu_seconds, d.wall_seconds = 0.5, 2.0
    return d


def test_report_counts_statuses_per_operation_and_overall() -> None:
    r = build_report(_data(), SETUP, planned=20, duration=2.0)
    assert r["statuses"] == {"200": 1, "202": 14, "409": 1, "429": 2, "503": 1}
    assert r["answered"] == 19 and r["sent"] == 20
    assert r["accepted"] == 14 and r["accepted_per_s"] == 7.0 and r["orders_accepted"] == 12
    assert r["offered_per_s"] == 10.0 and r["target_rate"] == 10.0
    assert r["achieved_rate"] == 7.5  # 15 answers 2xx over 2 s
    assert r["errors"] == {
        "order_not_open": 1,
        "rate_limited": 2,
        "redis_unavailable": 1,
        "timeout": 1,
    }
    ops = r["operations"]
    assert set(ops) == {"submit", "cancel", "get", "replace"}
    assert ops["cancel"]["statuses"] == {"202": 2, "409": 1}
    assert ops["cancel"]["latency_from_due_ms"]["max"] == pytest.approx(100.0, rel=1e-3)
    assert ops["submit"]["latency_from_due_ms"]["p50"] == pytest.approx(7.0, rel=1e-3)
    assert ops["submit"]["latency_from_write_ms"]["p50"] == pytest.approx(3.5, rel=1e-3)
    assert ops["replace"]["skipped_no_order_id"] == 1 and ops["replace"]["answered"] == 0
    assert r["timeline"][2] == {
        "second": 2,
        "due": 0,
        "sent": 0,
        "answered": 1,
        "ok": 1,
        "p99_ms": {"accept": None, "ack": None, "fill": None, "done": None},
    }
    assert set(r["stages"]) == {"accept", "ack", "fill", "done"}
    assert r["generator"]["kept_up"] is True and r["generator"]["cpu_share"] == 0.25
    json.dumps(r)  # JSON-ready
    table = format_table({**r, "notes": ["hello"]})
    assert "202: 14" in table and "note: hello" in table and "kept up" in table
    assert "skipped:1" in table and "rate_limited: 2" in table


def test_a_late_generator_is_called_out() -> None:
    d = _data()
    d.lateness = _hist([0.001] * 90 + [0.050] * 10)  # p99 50 ms
    r = build_report(d, SETUP, planned=20, duration=2.0)
    assert r["generator"]["kept_up"] is False
    assert r["generator"]["send_lateness_ms"]["p99"] == pytest.approx(50.0, rel=1e-3)
    assert "NO: requests left late" in format_table(r)


def test_thresholds() -> None:
    r = build_report(_data(), SETUP, planned=20, duration=2.0)
    assert threshold_failures(r, None, False) == []
    assert threshold_failures(r, 1000.0, False) == []
    [cancel] = threshold_failures(r, 50.0, False)
    assert cancel.startswith("cancel p99 100.") and cancel.endswith("ms > 50.0 ms")
    assert threshold_failures(r, None, True) == ["errors: 0 connection, 1 timeouts, 1 5xx"]


@pytest.mark.parametrize(
    ("url", "message"),
    [
        ("ftp://h", "the scheme must be http or https"),
        ("127.0.0.1:8080", "the scheme must be http or https"),
        ("http://", "no host"),
        ("http://h:notaport", "Port could not be cast"),
        ("http://h:8080/?x=1", "give only scheme, host, port"),
    ],
)
def test_bad_urls(url: str, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        parse_url(url)


def test_url_and_request_bytes() -> None:
    t = parse_url("http://127.0.0.1:8080/")
    assert (t.host, t.port, t.prefix, t.host_header) == ("127.0.0.1", 8080, "", "127.0.0.1:8080")
    assert parse_url("https://api.example.com/og").base == "https://api.example.com/og"
    assert encode(t, "T", "DELETE", "/v1/orders/x", None) == (
        b"DELETE /v1/orders/x HTTP/1.1\r\nHost: 127.0.0.1:8080\r\nAuthorization: Bearer T\r\n\r\n"
    )
    assert encode(t, "T", "POST", "/v1/orders", b"{}").endswith(
        b"Content-Type: application/json\r\nContent-Length: 2\r\n\r\n{}"
    )


def test_pipelined_answers_split_anywhere_are_matched_in_order() -> None:
    data = RunData()
    rec = _Recorder(data, start=0.0)
    conn = _Conn(rec)
    conn.inflight.extend(
        [
            ("submit", 0.0, 0.0, 5, None),
            ("cancel", 0.0, 0.0, -1, "o-1"),
            ("get", 0.0, 0.0, -1, None),
        ]
    )
    body = b'{"order_id":"o-77","account":"LT00"}'
    wire = (
        b"HTTP/1.1 202 Accepted\r\ncontent-type: application/json\r\ncontent-length: %d\r\n\r\n%s"
        b"HTTP/1.1 409 Conflict\r\nContent-Length: 2\r\n\r\n{}"
        b"HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n" % (len(body), body)
    )
    for i in range(0, len(wire), 7):
        conn.data_received(wire[i : i + 7])
    assert data.statuses["submit"] == {202: 1}
    assert data.statuses["cancel"] == {409: 1}
    assert data.statuses["get"] == {200: 1}
    assert rec.order_ids == {5: "o-77"}
    assert not conn.inflight and not conn.buf
