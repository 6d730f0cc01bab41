"""The JSON-lines protocol the FIX peer processes speak: QuickFIX's (:mod:`qfix_process`) and ours
(``tests/interop/og_peer.py``).

Pure helpers without a QuickFIX import, shared by both scripts so that an event, a NewOrderSingle
and the ExecutionReport answering it look the same whichever engine is on the other end.
"""

from __future__ import annotations

import argparse
import json
import sys
import threading
import time

_out_lock = threading.Lock()


def emit(**event: object) -> None:
    """One event line on stdout, stamped with the wall time (engine threads emit concurrently)."""
    event["t"] = time.time()
    line = json.dumps(event)
    with _out_lock:
        sys.stdout.write(line + "\n")
        sys.stdout.flush()


def peer_arguments() -> argparse.ArgumentParser:
    """The command-line options both peer scripts take; each adds those of its own engine."""
    ap = argparse.ArgumentParser()
    ap.add_argument("--role", choices=("acceptor", "initiator"), required=True)
    ap.add_argument("--port", type=int, required=True, help="to listen on / connect to")
    ap.add_argument("--sender", required=True, help="SenderCompID")
    ap.add_argument("--target", required=True, help="TargetCompID")
    ap.add_argument("--heartbeat", type=int, default=30, help="HeartBtInt, seconds")
    ap.add_argument("--reset-on-logon", action="store_true")
    ap.add_argument("--answer", action="store_true", help="answer each D with an 8 (New)")
    ap.add_argument("--quiet", action="store_true", help="no per-message app events")
    ap.add_argument("--tls-cert", help="PEM certificate: TLS on (acceptor: its own, initiator: CA)")
    ap.add_argument("--tls-key", help="PEM key of --tls-cert")
    return ap


def fields_of(raw: str) -> dict[str, str]:
    """``{tag: value}`` of a tag=value message (SOH separated); the last of a repeated tag wins."""
    out: dict[str, str] = {}
    for part in raw.split("\x01"):
        tag, sep, value = part.partition("=")
        if sep:
            out[tag] = value
    return out


def message_event(fields: dict[str, str]) -> dict[str, object]:
    """What an event reports of a FIX message: type, number, PossDup, ClOrdID (else ExecID) as
    ``key``, and every field for the test to inspect."""
    return {
        "msg_type": fields.get("35", ""),
        "seq": int(fields.get("34") or 0),
        "possdup": fields.get("43") == "Y",
        "key": fields.get("11") or fields.get("17", ""),
        "fields": fields,
    }


def utc_timestamp() -> str:
    """FIX UTCTimestamp with milliseconds, e.g. ``20261127-01:02:03.456``."""
    t = time.time()
    return time.strftime("%Y%m%d-%H:%M:%S", time.gmtime(t)) + f".{int(t * 1000) % 1000:03d}"


def new_order_fields(
    cl_ord_id: str,
    symbol: str = "7203",
    side: str = "1",
    qty: int = 100,
    price: str | None = "2500",
    ord_type: str | None = None,
    tif: str = "0",
) -> list[tuple[int, str]]:
    """NewOrderSingle body in the field order QuickFIX's FIX44.xml expects (limit if priced)."""
    fields = [
        (11, cl_ord_id),
        (21, "1"),
        (55, symbol),
        (54, side),
        (60, utc_timestamp()),
        (38, str(qty)),
        (40, ord_type or ("2" if price is not None else "1")),
    ]
    if price is not None:
        fields.append((44, price))
    fields.append((59, tif))
    return fields


def new_report_fields(order: dict[str, str], n: int, id_prefix: str) -> list[tuple[int, str]]:
    """ExecutionReport New answering the NewOrderSingle ``order``; OrderID/ExecID are
    ``{id_prefix}O{n}`` / ``{id_prefix}E{n}``, so a test can tell which engine answered."""
    qty = order.get("38", "0")
    return [
        (37, f"{id_prefix}O{n}"),
        (11, order.get("11", "NONE")),
        (17, f"{id_prefix}E{n}"),
        (150, "0"),
        (39, "0"),
        (55, order.get("55", "NONE")),
        (54, order.get("54", "1")),
        (38, qty),
        (151, qty),
        (14, "0"),
        (6, "0"),
        (60, utc_timestamp()),
    ]
