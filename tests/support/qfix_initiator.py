"""A QuickFIX/C++ initiator driven over stdin/stdout, for testing the exchange simulator.

Run as a subprocess (QuickFIX's threads and a Python exception inside one of its callbacks abort
the whole process under quickfix-ssl 1.15.1, so it must not share the test process, and every
callback catches everything). It validates every message against QuickFIX's own FIX44.xml.

stdin, one JSON object per line:
  {"op": "send", "msg_type": "D", "fields": [[11, "c1"], [55, "7203"], ...], "header": [[43, "Y"]]}
  {"op": "seq"}                         -> reports next sender / target sequence numbers
  {"op": "logout"}                      -> Logout and stay down (no reconnect) until "logon"
  {"op": "logon"}
  {"op": "stop"}                        -> stop the initiator and exit
stdout, one JSON object per line: {"ev": ..., ...}
  logon, logout, create, app_in / admin_in (from the simulator), admin_out (sent by QuickFIX),
  sent, seq, error. Messages carry "msg_type", "fields" ({tag: value}, last wins) and "raw".
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


def describe(message: fix.Message) -> dict[str, object]:
    raw = message.toString()
    fields: dict[str, str] = {}
    for part in raw.split("\x01"):
        if "=" in part:
            tag, _, value = part.partition("=")
            fields[tag] = value
    return {"msg_type": fields.get("35", ""), "fields": fields, "raw": raw.replace("\x01", "|")}


class App(fix.Application):  # type: ignore[misc]
    def __init__(self, username: str | None, password: str | None) -> None:
        super().__init__()
        self.username = username
        self.password = password
        self.session_id: fix.SessionID | None = None
        self.extra_header: list[tuple[int, str]] = []
        self.logged_out = threading.Event()

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
            self.logged_out.set()
            emit(ev="logout", session=session_id.toString())
        except BaseException as exc:  # noqa: BLE001
            emit(ev="error", where="onLogout", text=repr(exc))

    def toAdmin(self, message, session_id):  # noqa: N802
        try:
            msg_type = message.getHeader().getField(35)
            if msg_type == "A":
                if self.username:
                    message.setField(553, self.username)
                if self.password:
                    message.setField(554, self.password)
            emit(ev="admin_out", **describe(message))
        except BaseException as exc:  # noqa: BLE001
            emit(ev="error", where="toAdmin", text=repr(exc))

    def fromAdmin(self, message, session_id):  # noqa: N802
        try:
            emit(ev="admin_in", **describe(message))
        except BaseException as exc:  # noqa: BLE001
            emit(ev="error", where="fromAdmin", text=repr(exc))

    def toApp(self, message, session_id):  # noqa: N802
        try:
            for tag, value in self.extra_header:
                message.getHeader().setField(tag, value)
            emit(ev="app_out", **describe(message))
        except BaseException as exc:  # noqa: BLE001
            emit(ev="error", where="toApp", text=repr(exc))

    def fromApp(self, message, session_id):  # noqa: N802
        try:
            emit(ev="app_in", **describe(message))
        except BaseException as exc:  # noqa: BLE001
            emit(ev="error", where="fromApp", text=repr(exc))


def settings_text(args: argparse.Namespace) -> str:
    store = os.path.join(args.dir, "store")
    log = os.path.join(args.dir, "log")
    os.makedirs(store, exist_ok=True)
    os.makedirs(log, exist_ok=True)
    return "\n".join(
        [
            "[DEFAULT]",
            "ConnectionType=initiator",
            f"ReconnectInterval={args.reconnect}",
            f"FileStorePath={store}",
            f"FileLogPath={log}",
            "StartTime=00:00:00",
            "EndTime=00:00:00",
            "UseDataDictionary=Y",
            f"DataDictionary={args.dictionary}",
            "ValidateUserDefinedFields=Y",
            "ValidateFieldsOutOfOrder=Y",
            "CheckLatency=N",
            "",
            "[SESSION]",
            "BeginString=FIX.4.4",
            f"SenderCompID={args.sender}",
            f"TargetCompID={args.target}",
            "SocketConnectHost=127.0.0.1",
            f"SocketConnectPort={args.port}",
            f"HeartBtInt={args.heartbeat}",
            f"ResetOnLogon={'Y' if args.reset_on_logon else 'N'}",
            "",
        ]
    )


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--sender", default="ORDERGATE")
    parser.add_argument("--target", default="TSE")
    parser.add_argument("--dir", required=True)
    parser.add_argument("--dictionary", required=True)
    parser.add_argument("--heartbeat", type=int, default=30)
    parser.add_argument("--reconnect", type=int, default=1)
    parser.add_argument("--reset-on-logon", action="store_true")
    parser.add_argument("--username")
    parser.add_argument("--password")
    args = parser.parse_args()

    os.makedirs(args.dir, exist_ok=True)
    cfg_path = os.path.join(args.dir, "initiator.cfg")
    with open(cfg_path, "w") as f:
        f.write(settings_text(args))
    settings = fix.SessionSettings(cfg_path)
    app = App(args.username, args.password)
    initiator = fix.SocketInitiator(
        app, fix.FileStoreFactory(settings), settings, fix.FileLogFactory(settings)
    )
    initiator.start()
    emit(ev="started")
    for line in sys.stdin:
        line = line.strip()
        if not line:
            continue
        try:
            cmd = json.loads(line)
            op = cmd.get("op")
            session = fix.Session.lookupSession(app.session_id)
            if op == "send":
                message = fix.Message()
                message.getHeader().setField(fix.MsgType(cmd["msg_type"]))
                # QuickFIX's Session::send removes PossDupFlag/OrigSendingTime, so header
                # fields are added back in toApp (called synchronously from sendToTarget)
                app.extra_header = [(int(t), str(v)) for t, v in cmd.get("header", [])]
                for tag, value in cmd["fields"]:
                    message.setField(int(tag), str(value))
                try:
                    ok = fix.Session.sendToTarget(message, app.session_id)
                finally:
                    app.extra_header = []
                emit(ev="sent", ok=bool(ok), id=cmd.get("id"))
            elif op == "seq":
                emit(
                    ev="seq",
                    id=cmd.get("id"),
                    next_sender=session.getExpectedSenderNum(),
                    next_target=session.getExpectedTargetNum(),
                    logged_on=session.isLoggedOn(),
                )
            elif op == "logout":
                session.logout("test logout")
                emit(ev="done", id=cmd.get("id"))
            elif op == "logon":
                session.logon()
                emit(ev="done", id=cmd.get("id"))
            elif op == "stop":
                break
            else:
                emit(ev="error", where="stdin", text=f"unknown op {op!r}")
        except BaseException as exc:  # noqa: BLE001
            emit(ev="error", where="stdin", text=repr(exc))
    # a graceful Logout first, then a forced stop: QuickFIX's own stop() polls once a second
    try:
        session = fix.Session.lookupSession(app.session_id)
        if session is not None and session.isLoggedOn():
            app.logged_out.clear()
            session.logout("test done")
            app.logged_out.wait(5)
    except BaseException as exc:  # noqa: BLE001
        emit(ev="error", where="stop", text=repr(exc))
    initiator.stop(True)
    emit(ev="stopped")
    return 0


if __name__ == "__main__":
    sys.exit(main())
