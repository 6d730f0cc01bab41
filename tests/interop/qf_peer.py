"""A QuickFIX/C++ acceptor or initiator in its own process, driven over stdin, reporting on stdout.

Why a subprocess: QuickFIX runs its own threads, and under quickfix-ssl 1.15.1 a Python exception
raised inside one of its callbacks aborts the whole process; a test must be able to kill it
cleanly. Every callback therefore catches everything and reports it as an ``error`` event, and the
application builds its answers itself instead of raising (UnsupportedMessageType, DoNotSend, ...).

QuickFIX validates every inbound message against the dictionary given with ``--dictionary``
(QuickFIX's own FIX44.xml in the tests), so any malformed message from our engine shows up as a
session-level Reject (35=3) that QuickFIX sends: an ``admin_out`` event with ``msg_type`` "3".

stdin, one JSON object per line (``id`` is echoed in the answer):
  {"op": "orders", "count": N, "prefix": "C"}   NewOrderSingle x N (ClOrdID prefix + number)
  {"op": "send", "msg_type": "D", "fields": [[11, "c1"], ...]}
  {"op": "seq"}        next sender / target sequence numbers, logged-on flag
  {"op": "logout"} / {"op": "logon"}
  {"op": "bench", "count": N, "window": W}      N orders, at most W unanswered: orders/s, p50/p99
  {"op": "cpu"}        CPU seconds this process has used (benchmarks)
  {"op": "stop", "force": false}   force: no Logout (QuickFIX's graceful stop polls for 1 s+)
stdout, one JSON object per line, ``{"ev": ...}``: started, create, logon, logout,
  admin_in / admin_out (every admin message; "msg_type", "fields"),
  app_in / app_out (unless --quiet; "msg_type", "seq", "possdup", "key" = ClOrdID or ExecID),
  answer (to a command), error.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import threading
import time

import quickfix as fix

_out_lock = threading.Lock()


def emit(**event: object) -> None:
    event["t"] = time.time()
    line = json.dumps(event)
    with _out_lock:
        sys.stdout.write(line + "\n")
        sys.stdout.flush()


def fields_of(raw: str) -> dict[str, str]:
    out: dict[str, str] = {}
    for part in raw.split("\x01"):
        tag, sep, value = part.partition("=")
        if sep:
            out[tag] = value
    return out


def utc_now() -> str:
    t = time.time()
    return time.strftime("%Y%m%d-%H:%M:%S", time.gmtime(t)) + f".{int(t * 1000) % 1000:03d}"


class Peer(fix.Application):  # type: ignore[misc]
    def __init__(self, args: argparse.Namespace) -> None:
        super().__init__()
        self.args = args
        self.session_id: fix.SessionID | None = None
        self.exec_seq = 0
        self.lock = threading.Lock()
        self.app_in = 0
        self.app_out = 0
        # bench state
        self.bench_sent: dict[str, float] = {}
        self.bench_rtts: list[float] = []
        self.bench_done = threading.Event()
        self.bench_window = threading.Semaphore(1)
        self.force_stop = False

    # -- QuickFIX callbacks: each one catches everything -------------------------------------

    def onCreate(self, session_id):  # noqa: N802
        try:
            self.session_id = session_id
            emit(ev="create", session=session_id.toString())
        except BaseException as exc:  # noqa: BLE001 - an exception here aborts QuickFIX
            emit(ev="error", where="onCreate", text=repr(exc))

    def onLogon(self, session_id):  # noqa: N802
        try:
            emit(ev="logon", session=session_id.toString())
        except BaseException as exc:  # noqa: BLE001
            emit(ev="error", where="onLogon", text=repr(exc))

    def onLogout(self, session_id):  # noqa: N802
        try:
            emit(ev="logout", session=session_id.toString())
        except BaseException as exc:  # noqa: BLE001
            emit(ev="error", where="onLogout", text=repr(exc))

    def toAdmin(self, message, session_id):  # noqa: N802
        try:
            raw = message.toString()
            f = fields_of(raw)
            if f.get("35") == "A":
                if self.args.username:
                    message.setField(553, self.args.username)
                if self.args.password:
                    message.setField(554, self.args.password)
            emit(ev="admin_out", msg_type=f.get("35", ""), fields=f)
        except BaseException as exc:  # noqa: BLE001
            emit(ev="error", where="toAdmin", text=repr(exc))

    def fromAdmin(self, message, session_id):  # noqa: N802
        try:
            f = fields_of(message.toString())
            emit(ev="admin_in", msg_type=f.get("35", ""), fields=f)
        except BaseException as exc:  # noqa: BLE001
            emit(ev="error", where="fromAdmin", text=repr(exc))

    def toApp(self, message, session_id):  # noqa: N802
        try:
            with self.lock:
                self.app_out += 1
            if not self.args.quiet:
                f = fields_of(message.toString())
                emit(
                    ev="app_out",
                    msg_type=f.get("35", ""),
                    seq=int(f.get("34", "0")),
                    possdup=f.get("43") == "Y",
                    key=f.get("11") or f.get("17", ""),
                )
        except BaseException as exc:  # noqa: BLE001
            emit(ev="error", where="toApp", text=repr(exc))

    def fromApp(self, message, session_id):  # noqa: N802
        try:
            raw = message.toString()
            f = fields_of(raw)
            msg_type = f.get("35", "")
            with self.lock:
                self.app_in += 1
            if not self.args.quiet:
                emit(
                    ev="app_in",
                    msg_type=msg_type,
                    seq=int(f.get("34", "0")),
                    possdup=f.get("43") == "Y",
                    key=f.get("11") or f.get("17", ""),
                    fields=f if self.args.full or msg_type not in ("D", "8") else None,
                )
            if msg_type == "D" and self.args.answer:
                self.answer_new_order(f, session_id)
            elif msg_type == "8" and self.bench_sent:
                self.bench_answer(f.get("11", ""))
        except BaseException as exc:  # noqa: BLE001
            emit(ev="error", where="fromApp", text=repr(exc))

    # -- application ---------------------------------------------------------------------------

    def answer_new_order(self, f: dict[str, str], session_id) -> None:
        """ExecutionReport(8) New for a NewOrderSingle, built field by field (never raises)."""
        with self.lock:
            self.exec_seq += 1
            n = self.exec_seq
        qty = f.get("38", "0")
        er = fix.Message()
        er.getHeader().setField(fix.MsgType("8"))
        for tag, value in (
            (37, f"QO{n}"),
            (11, f.get("11", "NONE")),
            (17, f"QE{n}"),
            (150, "0"),
            (39, "0"),
            (55, f.get("55", "NONE")),
            (54, f.get("54", "1")),
            (38, qty),
            (151, qty),
            (14, "0"),
            (6, "0"),
            (60, utc_now()),
        ):
            er.setField(tag, value)
        fix.Session.sendToTarget(er, session_id)

    def new_order(self, cl_ord_id: str) -> fix.Message:
        m = fix.Message()
        m.getHeader().setField(fix.MsgType("D"))
        for tag, value in (
            (11, cl_ord_id),
            (21, "1"),
            (55, "7203"),
            (54, "1"),
            (60, utc_now()),
            (38, "100"),
            (40, "2"),
            (44, "2500"),
            (59, "0"),
        ):
            m.setField(tag, value)
        return m

    def bench_answer(self, cl_ord_id: str) -> None:
        sent = self.bench_sent.pop(cl_ord_id, None)
        if sent is None:
            return
        self.bench_rtts.append(time.perf_counter() - sent)
        self.bench_window.release()
        if not self.bench_sent and len(self.bench_rtts) >= self.bench_target:
            self.bench_done.set()

    bench_target = 0

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
            fix.Session.sendToTarget(self.new_order(cl), self.session_id)
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


def run_command(peer: Peer, cmd: dict, stop: threading.Event) -> None:
    op = cmd.get("op")
    answer: dict[str, object] = {"ev": "answer", "id": cmd.get("id"), "op": op}
    session = fix.Session.lookupSession(peer.session_id) if peer.session_id else None
    if op == "orders":
        prefix = cmd.get("prefix", "C")
        ok = 0
        for i in range(int(cmd["count"])):
            ok += bool(fix.Session.sendToTarget(peer.new_order(f"{prefix}{i}"), peer.session_id))
        answer["sent"] = ok
    elif op == "send":
        m = fix.Message()
        m.getHeader().setField(fix.MsgType(cmd["msg_type"]))
        for tag, value in cmd["fields"]:
            m.setField(int(tag), str(value))
        answer["ok"] = bool(fix.Session.sendToTarget(m, peer.session_id))
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
    elif op == "stop":
        peer.force_stop = bool(cmd.get("force"))
        stop.set()
    else:
        answer["error"] = f"unknown op {op!r}"
    emit(**answer)


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--role", choices=("acceptor", "initiator"), required=True)
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--sender", required=True)
    parser.add_argument("--target", required=True)
    parser.add_argument("--dir", required=True)
    parser.add_argument("--dictionary", required=True)
    parser.add_argument("--heartbeat", type=int, default=30)
    parser.add_argument("--reset-on-logon", action="store_true")
    parser.add_argument("--store", choices=("file", "memory"), default="file")
    parser.add_argument("--log", action="store_true", help="QuickFIX's FileLog of every message")
    parser.add_argument("--answer", action="store_true", help="answer each D with an 8")
    parser.add_argument("--quiet", action="store_true", help="no per-message app events")
    parser.add_argument("--full", action="store_true", help="app_in events carry all fields")
    parser.add_argument(
        "--tls-cert", help="PEM certificate: TLS on (acceptor: its own, initiator: CA)"
    )
    parser.add_argument("--tls-key", help="PEM key of --tls-cert")
    parser.add_argument("--username")
    parser.add_argument("--password")
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
    stop = threading.Event()
    for line in sys.stdin:
        line = line.strip()
        if not line:
            continue
        try:
            run_command(peer, json.loads(line), stop)
        except BaseException as exc:  # noqa: BLE001
            emit(ev="error", where="stdin", text=repr(exc))
        if stop.is_set():
            break
    engine.stop(peer.force_stop)
    emit(ev="stopped")
    return 0


if __name__ == "__main__":
    sys.exit(main())
