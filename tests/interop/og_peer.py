"""Our FIX engine (``connector.fix``) as an initiator or acceptor in its own process.

The same stdin/stdout protocol as :mod:`qf_peer`, so a test drives either engine the same way and
can SIGKILL ours mid-stream and start it again on the same Redis store.

stdin (JSON lines): {"op": "orders", "count": N, "prefix": "C"}, {"op": "seq"},
  {"op": "logout"}, {"op": "stop", "force": false}; answers are {"ev": "answer", "id": ...}.
stdout (JSON lines): started, logon, logout, app_in / app_out ("msg_type", "seq", "possdup", "key"),
  admin_in / admin_out (every session message, with "fields"), event (the engine's on_event), error.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
import threading
import time
from typing import Any

import simplefix

from connector.fix.settings import SessionSettings
from connector.fix.transport import (
    Acceptor,
    Application,
    FixSession,
    Initiator,
    ssl_context_from_settings,
)

ADMIN = {b"0", b"1", b"2", b"3", b"4", b"5", b"A"}
_out_lock = threading.Lock()


def emit(**event: object) -> None:
    event["t"] = time.time()
    line = json.dumps(event)
    with _out_lock:
        sys.stdout.write(line + "\n")
        sys.stdout.flush()


def fields_of(raw: bytes) -> dict[str, str]:
    out: dict[str, str] = {}
    for part in raw.split(b"\x01"):
        tag, sep, value = part.partition(b"=")
        if sep:
            out[tag.decode()] = value.decode(errors="replace")
    return out


class EmitLog:
    """Message-log sink that reports every session message (and, unless quiet, app messages)."""

    def __init__(self, quiet: bool) -> None:
        self.quiet = quiet

    def write(self, session_id: str, direction: str, ts: float, raw: bytes) -> None:
        f = fields_of(raw)
        msg_type = f.get("35", "")
        side = "in" if direction == "IN" else "out"
        if msg_type.encode() in ADMIN:
            emit(ev=f"admin_{side}", msg_type=msg_type, fields=f)
        elif side == "out" and not self.quiet:
            emit(
                ev="app_out",
                msg_type=msg_type,
                seq=int(f.get("34", "0") or 0),
                possdup=f.get("43") == "Y",
                key=f.get("11") or f.get("17", ""),
            )

    def close(self) -> None:
        return None


class App(Application):
    def __init__(self, args: argparse.Namespace) -> None:
        self.args = args
        self.exec_seq = 0
        self.app_in = 0

    def on_logon(self, session: FixSession) -> None:
        emit(ev="logon", session=session.session_id)

    def on_logout(self, session: FixSession) -> None:
        emit(ev="logout", session=session.session_id)

    def on_event(self, session: FixSession, kind: str, text: str) -> None:
        emit(ev="event", kind=kind, text=text)

    def on_message(self, session: FixSession, msg: simplefix.FixMessage) -> Any:
        self.app_in += 1
        get = msg.get
        msg_type = (msg.message_type or b"").decode()
        if not self.args.quiet:
            emit(
                ev="app_in",
                msg_type=msg_type,
                seq=int(get(34) or 0),
                possdup=get(43) == b"Y",
                key=(get(11) or get(17) or b"").decode(),
            )
        if msg_type == "D" and self.args.answer:
            self.exec_seq += 1
            n = self.exec_seq
            qty = get(38) or b"0"
            er = simplefix.FixMessage()
            er.append_pair(35, "8")
            for tag, value in (
                (37, f"OO{n}".encode()),
                (11, get(11) or b"NONE"),
                (17, f"OE{n}".encode()),
                (150, b"0"),
                (39, b"0"),
                (55, get(55) or b"NONE"),
                (54, get(54) or b"1"),
                (38, qty),
                (151, qty),
                (14, b"0"),
                (6, b"0"),
                (60, time.strftime("%Y%m%d-%H:%M:%S", time.gmtime()).encode()),
            ):
                er.append_pair(tag, value)
            session.send(er)


def new_order(cl_ord_id: str) -> simplefix.FixMessage:
    m = simplefix.FixMessage()
    m.append_pair(35, "D")
    for tag, value in (
        (11, cl_ord_id),
        (21, "1"),
        (55, "7203"),
        (54, "1"),
        (60, time.strftime("%Y%m%d-%H:%M:%S", time.gmtime()) + ".000"),
        (38, "100"),
        (40, "2"),
        (44, "2500"),
        (59, "0"),
    ):
        m.append_pair(tag, value)
    return m


async def make_store(args: argparse.Namespace, settings: SessionSettings) -> Any:
    if args.store == "memory":
        from connector.fix.store import MemoryStore

        return MemoryStore()
    import redis.asyncio as aioredis

    from connector.fix.redis_store import RedisStore

    client = aioredis.Redis.from_url(args.redis_url)
    return RedisStore(client, settings.session_id)


async def run(args: argparse.Namespace) -> int:
    settings = SessionSettings(
        SenderCompID=args.sender,
        TargetCompID=args.target,
        ConnectionType=args.role,
        HeartBtInt=args.heartbeat,
        ResetOnLogon=args.reset_on_logon,
        ReconnectInterval=0.2,
        MaxReconnectInterval=1.0,
        SocketConnectPort=args.port if args.role == "initiator" else 0,
        SocketAcceptPort=args.port if args.role == "acceptor" else 0,
        SocketUseSSL=bool(args.tls_cert),
        CertificateAuthoritiesFile=args.tls_cert if args.role == "initiator" else None,
        ServerCertificateFile=args.tls_cert if args.role == "acceptor" else None,
        ServerCertificateKeyFile=args.tls_key if args.role == "acceptor" else None,
    )
    tls = ssl_context_from_settings(settings)
    app = App(args)
    store = await make_store(args, settings)
    session = FixSession(settings, store=store, app=app, msglog=EmitLog(args.quiet))
    engine: Initiator | Acceptor
    if args.role == "initiator":
        engine = Initiator(
            session, "127.0.0.1", args.port, ssl_context=tls, server_hostname="localhost"
        )
    else:
        engine = Acceptor([session], "127.0.0.1", args.port, ssl_context=tls)
    await engine.start()
    emit(ev="started", role=args.role, port=args.port)

    loop = asyncio.get_running_loop()
    lines: asyncio.Queue[str | None] = asyncio.Queue()

    def read_stdin() -> None:
        for line in sys.stdin:
            loop.call_soon_threadsafe(lines.put_nowait, line)
        loop.call_soon_threadsafe(lines.put_nowait, None)

    threading.Thread(target=read_stdin, daemon=True).start()
    force = False
    while True:
        line = await lines.get()
        if line is None:
            break
        line = line.strip()
        if not line:
            continue
        try:
            cmd = json.loads(line)
            op = cmd.get("op")
            answer: dict[str, Any] = {"ev": "answer", "id": cmd.get("id"), "op": op}
            if op == "orders":
                prefix = cmd.get("prefix", "C")
                for i in range(int(cmd["count"])):
                    session.send(new_order(f"{prefix}{i}"))
                    if i % 100 == 99:
                        await asyncio.sleep(0)
                await session.flushed()
                answer["sent"] = int(cmd["count"])
            elif op == "seq":
                answer.update(
                    next_sender=session.next_sender_seq,
                    next_target=session.next_target_seq,
                    logged_on=session.logged_on,
                    app_in=app.app_in,
                )
            elif op == "logout":
                await session.logout(timeout=5)
            elif op == "stop":
                force = bool(cmd.get("force"))
                emit(**answer)
                break
            else:
                answer["error"] = f"unknown op {op!r}"
            emit(**answer)
        except Exception as exc:  # report and keep serving: the test decides
            emit(ev="error", where="stdin", text=repr(exc))
    await engine.stop(logout=not force)
    emit(ev="stopped")
    return 0


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--role", choices=("acceptor", "initiator"), required=True)
    ap.add_argument("--port", type=int, required=True)
    ap.add_argument("--sender", required=True)
    ap.add_argument("--target", required=True)
    ap.add_argument("--heartbeat", type=int, default=30)
    ap.add_argument("--reset-on-logon", action="store_true")
    ap.add_argument("--store", choices=("memory", "redis"), default="memory")
    ap.add_argument("--redis-url", default="")
    ap.add_argument("--answer", action="store_true")
    ap.add_argument("--quiet", action="store_true")
    ap.add_argument("--tls-cert", help="PEM certificate: TLS on (acceptor: its own, initiator: CA)")
    ap.add_argument("--tls-key", help="PEM key of --tls-cert (acceptor)")
    args = ap.parse_args()
    return asyncio.run(run(args))


if __name__ == "__main__":
    sys.exit(main())
