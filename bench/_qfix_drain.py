"""The QuickFIX side of ``bench.drain``: a QuickFIX initiator (the quickfix-ssl wheel's
``quickfix`` module, FileStore, data dictionary on) that, once logged on, sends the orders of
``--orders`` (a JSON list of NewOrderSingle field lists) as fast as it can and reads every
ExecutionReport in ``fromApp``.

Its own process (QuickFIX runs its own threads, and an exception raised back into a QuickFIX
callback aborts the process). Prints one JSON line when the last expected report arrived (or on
timeout): the monotonic times (``CLOCK_MONOTONIC``, comparable with the bench's) and this
process's CPU seconds, all threads, at logon and at the last report, and what was received.

    python bench/_qfix_drain.py --port P --dir D --dictionary FIX44.xml --orders orders.json
"""

from __future__ import annotations

import json
import os
import sys
import threading
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests" / "support"))

import quickfix as fix  # noqa: E402
from qfix_process import settings_text  # noqa: E402
from qfix_protocol import peer_arguments, utc_timestamp  # noqa: E402

# the NewOrderSingle body fields, in the order the connector writes them (mapping.NOS_LIMIT)
NOS_TAGS = (11, 1, 55, 54, 60, 38, 40, 44, 59)
TRANSACT_TIME_EVERY = 300  # one TransactTime per batch, as the connector stamps a batch


class Drain(fix.Application):  # type: ignore[misc]
    """Counts ExecutionReports; every callback swallows its errors (QuickFIX would abort)."""

    def __init__(self, expected: int) -> None:
        super().__init__()
        self.expected = expected
        self.session_id: fix.SessionID | None = None
        self.logged_on = threading.Event()
        self.done = threading.Event()
        self.logon_t = self.logon_cpu = self.end_t = self.end_cpu = 0.0
        self.reports = self.acks = self.fills = 0
        self.filled: set[str] = set()
        self.errors: list[str] = []

    def onCreate(self, session_id):  # noqa: N802
        self.session_id = session_id

    def onLogon(self, session_id):  # noqa: N802
        self.logon_t, self.logon_cpu = time.monotonic(), time.process_time()
        self.logged_on.set()

    def onLogout(self, session_id):  # noqa: N802
        pass

    def toAdmin(self, message, session_id):  # noqa: N802
        pass

    def fromAdmin(self, message, session_id):  # noqa: N802
        pass

    def toApp(self, message, session_id):  # noqa: N802
        pass

    def fromApp(self, message, session_id):  # noqa: N802
        try:
            if message.getField(150) == "F":
                self.fills += 1
                self.filled.add(message.getField(11))
            else:
                self.acks += 1
            self.reports += 1
            if self.reports == self.expected:
                self.end_t, self.end_cpu = time.monotonic(), time.process_time()
                self.done.set()
        except BaseException as exc:  # noqa: BLE001
            self.errors.append(repr(exc))


def send_all(app: Drain, orders: list[list[str]]) -> int:
    """Every order, built and handed to QuickFIX (numbered, stored in the FileStore, written)."""
    sent = 0
    stamp = utc_timestamp()
    for i, values in enumerate(orders):
        if i % TRANSACT_TIME_EVERY == 0:
            stamp = utc_timestamp()
        m = fix.Message()
        m.getHeader().setField(fix.MsgType("D"))
        for tag, value in zip(NOS_TAGS, values, strict=True):
            m.setField(tag, stamp if tag == 60 else value)
        sent += bool(fix.Session.sendToTarget(m, app.session_id))
    return sent


def main() -> int:
    ap = peer_arguments()
    ap.add_argument("--dir", required=True, help="QuickFIX's settings and FileStore")
    ap.add_argument("--dictionary", required=True, help="QuickFIX data dictionary (FIX44.xml)")
    ap.add_argument("--orders", required=True, help="JSON: one list of NOS_TAGS values per order")
    ap.add_argument("--log", action="store_true", help="QuickFIX's FileLog of every message too")
    ap.add_argument("--timeout", type=float, default=300.0)
    args = ap.parse_args(["--role", "initiator", *sys.argv[1:]])
    args.tls_cert = None
    orders = json.loads(Path(args.orders).read_text())
    os.makedirs(args.dir, exist_ok=True)
    cfg = os.path.join(args.dir, "initiator.cfg")
    Path(cfg).write_text(settings_text(args))
    settings = fix.SessionSettings(cfg)
    app = Drain(2 * len(orders))
    store = fix.FileStoreFactory(settings)
    if args.log:
        engine = fix.SocketInitiator(app, store, settings, fix.FileLogFactory(settings))
    else:
        engine = fix.SocketInitiator(app, store, settings)
    engine.start()
    result: dict[str, object] = {"ev": "started"}
    if app.logged_on.wait(args.timeout):
        result["sent"] = send_all(app, orders)
        app.done.wait(args.timeout)
    result.update(
        ev="result",
        logged_on=app.logged_on.is_set(),
        done=app.done.is_set(),
        logon_t=app.logon_t,
        logon_cpu_s=app.logon_cpu,
        end_t=app.end_t,
        end_cpu_s=app.end_cpu,
        reports=app.reports,
        acks=app.acks,
        fills=app.fills,
        distinct_filled=len(app.filled),
        errors=app.errors[:5],
    )
    print(json.dumps(result), flush=True)
    engine.stop(True)  # no Logout exchange: the bench has what it measures
    return 0


if __name__ == "__main__":
    sys.exit(main())
