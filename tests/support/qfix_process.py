"""A QuickFIX/C++ acceptor or initiator in its own process, driven over stdin, reporting on stdout.

Why a subprocess: QuickFIX runs its own threads, and under quickfix-ssl 1.15.1 a Python exception
raised inside one of its callbacks aborts the whole process; a test must be able to kill it
cleanly. Every callback therefore catches everything and reports it as an ``error`` event, and the
application builds its answers itself instead of raising (UnsupportedMessageType, DoNotSend, ...).

QuickFIX validates every inbound message against the dictionary given with ``--dictionary``
(QuickFIX's own FIX44.xml in the tests), so any malformed message from the other side shows up as
a session-level Reject (35=3) that QuickFIX sends: an ``admin_out`` event with ``msg_type`` "3".

Driven by :class:`support.qfix_peer.QuickFixPeer`; ``bench/fix_session.py`` runs it directly.

stdin, one JSON object per line (``id`` is echoed in the answer):
  {"op": "orders", "count": N, "prefix": "C"}   NewOrderSingle x N (ClOrdID prefix + number)
  {"op": "send", "msg_type": "D", "fields": [[11, "c1"], ...], "header": [[43, "Y"], ...]}
       "header" (optional): header fields such as PossDupFlag, which QuickFIX's Session::send
       strips and which are therefore put back in toApp
  {"op": "seq"}        next sender / target sequence numbers, logged-on flag, app message counts
  {"op": "logout"}     Logout and stay down (no reconnect) until {"op": "logon"}
  {"op": "bench", "count": N, "window": W}      N orders, at most W unanswered: orders/s, p50/p99
  {"op": "cpu"}        CPU seconds this process has used (benchmarks)
  {"op": "stop", "force": false}   force: no Logout; else a Logout first (up to 5 s for the answer)
stdout, one JSON object per line, ``{"ev": ..., "t": unix time}``: started, create, logon, logout,
  admin_in / admin_out (every session message), app_in / app_out (unless --quiet), answer (to a
  command), error, stopped. Message events carry "msg_type", "seq", "possdup", "key" (ClOrdID, else
  ExecID) and "fields" ({tag: value}).
"""

from __future__ import annotations

import argparse
import functools
import json
import os
import sys
import threading
import time
from collections.abc import Callable

import quickfix as fix
from qfix_protocol import (
    emit,
    fields_of,
    message_event,
    new_order_fields,
    new_report_fields,
    peer_arguments,
)


def reported(callback: Callable[..., None]) -> Callable[..., None]:
    """A QuickFIX callback that turns any exception into an ``error`` event: one raised back into
    QuickFIX aborts the whole process."""

    @functools.wraps(callback)
    def guarded(*args: object) -> None:
        try:
            callback(*args)
        except BaseException as exc:  # noqa: BLE001
            emit(ev="error", where=callback.__name__, text=repr(exc))

    return guarded


def message(msg_type: str, fields: list[tuple[int, str]]) -> fix.Message:
    m = fix.Message()
    m.getHeader().setField(fix.MsgType(msg_type))
    for tag, value in fields:
        m.setField(int(tag), str(value))
    return m


class Peer(fix.Application):  # type: ignore[misc]
    def __init__(self, args: argparse.Namespace) -> None:
        super().__init__()
        self.args = args
        self.session_id: fix.SessionID | None = None
        self.exec_seq = 0
        self.lock = threading.Lock()
        self.app_in = 0
        self.app_out = 0
        # header fields for the message being sent from this thread (toApp runs in the caller)
        self.sending = threading.local()
        self.logged_out = threading.Event()
        # bench state
        self.bench_sent: dict[str, float] = {}
        self.bench_rtts: list[float] = []
        self.bench_done = threading.Event()
        self.bench_window = threading.Semaphore(1)
        self.bench_target = 0

    # -- QuickFIX callbacks: each one reports instead of raising ------------------------------

    @reported
    def onCreate(self, session_id):  # noqa: N802
        self.session_id = session_id
        emit(ev="create", session=session_id.toString())

    @reported
    def onLogon(self, session_id):  # noqa: N802
        self.logged_out.clear()
        emit(ev="logon", session=session_id.toString())

    @reported
    def onLogout(self, session_id):  # noqa: N802
        self.logged_out.set()
        emit(ev="logout", session=session_id.toString())

    @reported
    def toAdmin(self, message, session_id):  # noqa: N802
        event = message_event(fields_of(message.toString()))  # without the credentials
        if event["msg_type"] == "A":
            if self.args.username:
                message.setField(553, self.args.username)
            if self.args.password:
                message.setField(554, self.args.password)
        emit(ev="admin_out", **event)

    @reported
    def fromAdmin(self, message, session_id):  # noqa: N802
        emit(ev="admin_in", **message_event(fields_of(message.toString())))

    @reported
    def toApp(self, message, session_id):  # noqa: N802
        for tag, value in getattr(self.sending, "header", ()):
            message.getHeader().setField(tag, value)
        with self.lock:
            self.app_out += 1
        if not self.args.quiet:
            emit(ev="app_out", **message_event(fields_of(message.toString())))

    @reported
    def fromApp(self, message, session_id):  # noqa: N802
        f = fields_of(message.toString())
        with self.lock:
            self.app_in += 1
        if not self.args.quiet:
            emit(ev="app_in", **message_event(f))
        if f.get("35") == "D" and self.args.answer:
            self.answer_new_order(f, session_id)
        elif f.get("35") == "8" and self.bench_sent:
            self.bench_answer(f.get("11", ""))

    # -- application ---------------------------------------------------------------------------

    def answer_new_order(self, order: dict[str, str], session_id) -> None:
        """ExecutionReport(8) New for a NewOrderSingle, built field by field (never raises)."""
        with self.lock:
            self.exec_seq += 1
            n = self.exec_seq
        fix.Session.sendToTarget(message("8", new_report_fields(order, n, "Q")), session_id)

    def send(self, msg_type: str, fields: list[tuple[int, str]], header=()) -> bool:
        self.sending.header = [(int(t), str(v)) for t, v in header]
        try:
            return bool(fix.Session.sendToTarget(message(msg_type, fields), self.session_id))
        finally:
            self.sending.header = ()

    def bench_answer(self, cl_ord_id: str) -> None:
        sent = self.bench_sent.pop(cl_ord_id, None)
        if sent is None:
            return
        self.bench_rtts.append(time.perf_counter() - sent)
        self.bench_window.release()
        if not self.bench_sent and len(self.bench_rtts) >= self.bench_target:
            self.bench_done.set()

    def bench(self, count: int, window: int) -> dict[str, float]:
        self.bench_rtts = []
        self.bench_target = count
        self.bench_done.clear()
        self.bench_window = threading.Semaphore(window)
        t0 = time.perf_counter()
        for i in range(count):
            self.bench_window.acquire()
            cl = f"B{i}"
            self.bench_sent[cl] = time.perf_counter()
            fix.Session.sendToTarget(message("D", new_order_fields(cl)), self.session_id)
        self.bench_done.wait(120)
        elapsed = time.perf_counter() - t0
        rtts = sorted(self.bench_rtts)
        return {
            "count": len(rtts),
            "seconds": elapsed,
            "orders_per_s": len(rtts) / elapsed if elapsed else 0.0,
            "p50_us": rtts[len(rtts) // 2] * 1e6 if rtts else 0.0,
            "p99_us": rtts[min(len(rtts) - 1, int(len(rtts) * 0.99))] * 1e6 if rtts else 0.0,
        }

    def logout_and_wait(self, text: str, timeout: float) -> None:
        """Logout and wait for its answer: QuickFIX's own graceful stop() polls once a second."""
        session = fix.Session.lookupSession(self.session_id) if self.session_id else None
        if session is not None and session.isLoggedOn():
            self.logged_out.clear()
            session.logout(text)
            self.logged_out.wait(timeout)


def settings_text(args: argparse.Namespace) -> str:
    store = os.path.join(args.dir, "store")
    log = os.path.join(args.dir, "log")
    os.makedirs(store, exist_ok=True)
    os.makedirs(log, exist_ok=True)
    lines = [
        "[DEFAULT]",
        f"ConnectionType={args.role}",
        "ReconnectInterval=1",
        f"FileStorePath={store}",
        f"FileLogPath={log}",
        "StartTime=00:00:00",
        "EndTime=00:00:00",
        "UseDataDictionary=Y",
        f"DataDictionary={args.dictionary}",
        "ValidateUserDefinedFields=Y",
        "ValidateFieldsOutOfOrder=Y",
        "ValidateFieldsHaveValues=Y",
        "CheckLatency=Y",
        "MaxLatency=120",
        "PersistMessages=Y",
        "",
        "[SESSION]",
        "BeginString=FIX.4.4",
        f"SenderCompID={args.sender}",
        f"TargetCompID={args.target}",
        f"HeartBtInt={args.heartbeat}",
        f"ResetOnLogon={'Y' if args.reset_on_logon else 'N'}",
        "ResetOnLogout=N",
        "ResetOnDisconnect=N",
    ]
    if args.role == "acceptor":
        lines += ["SocketAcceptHost=127.0.0.1", f"SocketAcceptPort={args.port}"]
    else:
        lines += ["SocketConnectHost=127.0.0.1", f"SocketConnectPort={args.port}"]
    if args.tls_cert:  # QuickFIX's SSL settings (quickfix-ssl reads them from [DEFAULT])
        tls = ["SSLProtocol=+TLSv1_2 +TLSv1_3", "CertificateVerifyLevel=0"]
        if args.role == "acceptor":
            tls += [
                f"ServerCertificateFile={args.tls_cert}",
                f"ServerCertificateKeyFile={args.tls_key}",
            ]
        else:
            tls += [  # quickfix-ssl's initiator insists on a client certificate
                f"CertificationAuthoritiesFile={args.tls_cert}",
                f"ClientCertificateFile={args.tls_cert}",
                f"ClientCertificateKeyFile={args.tls_key}",
            ]
        at = lines.index("[SESSION]")
        lines[at:at] = tls
    return "\n".join(lines) + "\n"


def run_command(peer: Peer, cmd: dict) -> None:
    op = cmd.get("op")
    answer: dict[str, object] = {"ev": "answer", "id": cmd.get("id"), "op": op}
    session = fix.Session.lookupSession(peer.session_id) if peer.session_id else None
    if op == "orders":
        prefix = cmd.get("prefix", "C")
        answer["sent"] = sum(
            peer.send("D", new_order_fields(f"{prefix}{i}")) for i in range(int(cmd["count"]))
        )
    elif op == "send":
        answer["ok"] = peer.send(cmd["msg_type"], cmd["fields"], cmd.get("header", ()))
    elif op == "seq":
        answer.update(
            next_sender=session.getExpectedSenderNum() if session else 0,
            next_target=session.getExpectedTargetNum() if session else 0,
            logged_on=bool(session and session.isLoggedOn()),
            app_in=peer.app_in,
            app_out=peer.app_out,
        )
    elif op == "logout":
        if session:
            session.logout(cmd.get("text", "test logout"))
    elif op == "logon":
        if session:
            session.logon()
    elif op == "bench":
        cpu0 = time.process_time()
        answer.update(peer.bench(int(cmd["count"]), int(cmd.get("window", 100))))
        answer["cpu_s"] = time.process_time() - cpu0
    elif op == "cpu":
        answer["cpu_s"] = time.process_time()  # all threads of this process, QuickFIX's included
    elif op != "stop":
        answer["error"] = f"unknown op {op!r}"
    emit(**answer)


def main() -> int:
    parser = peer_arguments()
    parser.add_argument("--dir", required=True, help="QuickFIX's settings, file store and logs")
    parser.add_argument("--dictionary", required=True, help="QuickFIX data dictionary (XML)")
    parser.add_argument("--store", choices=("file", "memory"), default="file")
    parser.add_argument("--log", action="store_true", help="QuickFIX's FileLog of every message")
    parser.add_argument("--username", help="Username(553) of our Logon")
    parser.add_argument("--password", help="Password(554) of our Logon")
    args = parser.parse_args()

    cfg_path = os.path.join(args.dir, f"{args.role}.cfg")
    os.makedirs(args.dir, exist_ok=True)
    with open(cfg_path, "w") as f:
        f.write(settings_text(args))
    settings = fix.SessionSettings(cfg_path)
    peer = Peer(args)
    store = fix.MemoryStoreFactory() if args.store == "memory" else fix.FileStoreFactory(settings)
    if args.tls_cert:
        cls = fix.SSLSocketAcceptor if args.role == "acceptor" else fix.SSLSocketInitiator
    else:
        cls = fix.SocketAcceptor if args.role == "acceptor" else fix.SocketInitiator
    if args.log:
        engine = cls(peer, store, settings, fix.FileLogFactory(settings))
    else:
        engine = cls(peer, store, settings)
    engine.start()
    emit(ev="started", role=args.role, port=args.port)
    force = False  # stdin closed without a stop: log out as for a graceful stop
    for line in sys.stdin:
        line = line.strip()
        if not line:
            continue
        try:
            cmd = json.loads(line)
            run_command(peer, cmd)
        except BaseException as exc:  # noqa: BLE001
            emit(ev="error", where="stdin", text=repr(exc))
            continue
        if cmd.get("op") == "stop":
            force = bool(cmd.get("force"))
            break
    try:
        if not force:
            peer.logout_and_wait("test done", 5)
    except BaseException as exc:  # noqa: BLE001
        emit(ev="error", where="stop", text=repr(exc))
    engine.stop(True)
    emit(ev="stopped")
    return 0


if __name__ == "__main__":
    sys.exit(main())
