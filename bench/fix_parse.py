"""FIX parse and encode throughput: our framing + parser and templates against simplefix.

Same input for both parsers: N ExecutionReports back to back, fed in 64 KiB chunks as a socket
would deliver them. Encode: build-and-encode a NewOrderSingle with simplefix (``append_pair`` x N,
``encode()``) against filling our precompiled template; the two outputs are checked byte for byte
first. Also the data dictionary's ``validate`` on the same ExecutionReport (it runs on every
inbound message). One core, one process; best of ``--repeat`` runs.

    .venv/bin/python -m bench.fix_parse [--messages 50000] [--repeat 3]
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import time
from collections.abc import Callable
from pathlib import Path

import simplefix

from fixengine import DataDictionary, FrameSplitter, codec, parse

RESULTS = Path(__file__).parent / "results"
CHUNK = 65536
SENDER, TARGET = "TSE", "ORDERGATE"
NOW = 1_795_000_000.123


def execution_report(seq: int) -> bytes:
    """A realistic partial-fill ExecutionReport, encoded by simplefix (the reference encoder)."""
    m = simplefix.FixMessage()
    m.append_pair(8, "FIX.4.4")
    m.append_pair(35, "8")
    m.append_pair(49, SENDER)
    m.append_pair(56, TARGET)
    m.append_pair(34, seq)
    m.append_pair(52, codec.sending_time(NOW))
    for tag, value in (
        (37, f"OID{seq:08d}"),
        (11, f"CL{seq:08d}"),
        (17, f"EX{seq:08d}"),
        (150, "F"),
        (39, "1"),
        (55, "7203"),
        (54, "1"),
        (38, "1000"),
        (44, "2500.5"),
        (32, "100"),
        (31, "2500.5"),
        (151, "900"),
        (14, "100"),
        (6, "2500.5"),
        (60, codec.sending_time(NOW).decode()),
    ):
        m.append_pair(tag, value)
    return bytes(m.encode())


NOS_VALUES = ("CL00000001", "ACC1", "7203", "XTKS", "1", "20261127-00:00:00.123", "100", "2")
NOS_TAIL = ("2500.5", "0")


def simplefix_nos(seq: int) -> bytes:
    m = simplefix.FixMessage()
    m.append_pair(8, "FIX.4.4")
    m.append_pair(35, "D")
    m.append_pair(49, TARGET)
    m.append_pair(56, SENDER)
    m.append_pair(34, seq)
    m.append_pair(52, codec.sending_time(NOW))
    for tag, value in zip(codec.NEW_ORDER_SINGLE.tags, NOS_VALUES + NOS_TAIL, strict=True):
        m.append_pair(tag, value)
    return bytes(m.encode())


def template_nos(seq: int) -> bytes:
    return codec.NEW_ORDER_SINGLE.encode(TARGET, SENDER, seq, NOW, *NOS_VALUES, *NOS_TAIL)


def best_rate(fn: Callable[[], int], repeat: int) -> float:
    """Messages per second of the fastest of ``repeat`` runs of ``fn`` (which returns a count)."""
    best = 0.0
    for _ in range(repeat):
        t0 = time.perf_counter()
        n = fn()
        dt = time.perf_counter() - t0
        best = max(best, n / dt)
    return best


def run(messages: int, repeat: int) -> dict[str, object]:
    raws = [execution_report(i + 1) for i in range(messages)]
    stream = b"".join(raws)
    chunks = [stream[i : i + CHUNK] for i in range(0, len(stream), CHUNK)]

    def ours_stream() -> int:
        splitter = FrameSplitter()
        n = 0
        for chunk in chunks:
            for raw in splitter.feed(chunk):
                if parse(raw) is not None:
                    n += 1
        assert n == messages, n
        return n

    def ours_framed() -> int:
        n = 0
        for raw in raws:
            if parse(raw) is not None:
                n += 1
        return n

    def simplefix_stream() -> int:
        parser = simplefix.FixParser()
        n = 0
        for chunk in chunks:
            parser.append_buffer(chunk)
            while parser.get_message() is not None:
                n += 1
        assert n == messages, n
        return n

    # same result from both parsers
    sp = simplefix.FixParser()
    sp.append_buffer(raws[0])
    assert parse(raws[0]).pairs == sp.get_message().pairs  # type: ignore[union-attr]

    assert template_nos(7) == simplefix_nos(7), "template differs from simplefix"
    seqs = range(1, messages + 1)

    def encode_simplefix() -> int:
        for s in seqs:
            simplefix_nos(s)
        return messages

    def encode_template() -> int:
        for s in seqs:
            template_nos(s)
        return messages

    dd = DataDictionary.default()
    parsed = [parse(r) for r in raws[: min(messages, 20000)]]
    assert dd.validate(parsed[0]) is None

    def validate() -> int:
        for m in parsed:
            dd.validate_pairs(m.pairs)
        return len(parsed)

    pairs_raw = list(zip(parsed, raws, strict=False))
    dd.validate(parsed[0], raws[0])  # the session passes the wire bytes: the shape is learned

    def validate_raw() -> int:
        for m, raw in pairs_raw:
            dd.validate(m, raw)
        return len(pairs_raw)

    rows = {
        "parse_ours_stream": best_rate(ours_stream, repeat),
        "parse_ours_framed": best_rate(ours_framed, repeat),
        "parse_simplefix_stream": best_rate(simplefix_stream, repeat),
        "encode_simplefix_nos": best_rate(encode_simplefix, repeat),
        "encode_template_nos": best_rate(encode_template, repeat),
        "validate_dictionary_er": best_rate(validate, repeat),
        "validate_dictionary_er_shape": best_rate(validate_raw, repeat),
    }
    return {
        "benchmark": "fix_parse",
        "messages": messages,
        "repeat": repeat,
        "message_bytes": len(raws[0]),
        "python": platform.python_version(),
        "machine": platform.machine(),
        "cpus": os.cpu_count(),
        "loadavg_1m": os.getloadavg()[0],
        "rates_msgs_per_s": rows,
        "targets": {"parse": 150_000, "encode": 100_000},
    }


def table(result: dict[str, object]) -> str:
    rates = result["rates_msgs_per_s"]
    assert isinstance(rates, dict)
    labels = {
        "parse_ours_stream": "parse ExecutionReport: ours (framing + parser, 64 KiB chunks)",
        "parse_ours_framed": "parse ExecutionReport: ours (parser only, framed input)",
        "parse_simplefix_stream": "parse ExecutionReport: simplefix FixParser (64 KiB chunks)",
        "encode_simplefix_nos": "build + encode NewOrderSingle: simplefix",
        "encode_template_nos": "build + encode NewOrderSingle: our template",
        "validate_dictionary_er": "validate ExecutionReport against FIX44.xml: fields (fast path)",
        "validate_dictionary_er_shape": "validate ExecutionReport: wire bytes, known shape (session)",
    }
    lines = ["| operation | msgs/s |", "|---|---:|"]
    for key, label in labels.items():
        lines.append(f"| {label} | {rates[key]:,.0f} |")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--messages", type=int, default=50_000)
    ap.add_argument("--repeat", type=int, default=3)
    args = ap.parse_args(argv)
    result = run(args.messages, args.repeat)
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / "fix_parse.json").write_text(json.dumps(result, indent=2) + "\n")
    print(table(result))
    print(f"(load average {result['loadavg_1m']:.2f} on {result['cpus']} cores)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
