"""Our FIX engine (``fixengine``) as an initiator or acceptor in its own process.

The same stdin/stdout protocol as QuickFIX's ``tests/support/qfix_process.py`` (driven by
``support.qfix_peer.OurPeer``), so a test drives either engine the same way and can SIGKILL ours
mid-stream and start it again on the same Redis store.

stdin (JSON lines): {"op": "orders", "count": N, "prefix": "C"}, {"op": "seq"},
  {"op": "logout"}, {"op": "stop", "force": false}; answers are {"ev": "answer", "id": ...}.
stdout (JSON lines): started, logon, logout, app_in / app_out, admin_in / admin_out (every session
  message), each with "msg_type", "seq", "possdup", "key" and "fields"; event (the engine's
  on_event), error.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
import threading
from pathlib import Path
from typing import Any

import simplefix

from fixengine import (
    Acceptor,
    Application,
    FixSession,
    Initiator,
    SessionSettings,
    ssl_context_from_settings,
)

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # tests/, for support.*
from support.qfix_protocol import (  # noqa: E402
    emit,
    fields_of,
    message_event,
    new_order_fields,
    new_report_fields,
    peer_arguments,
)

ADMIN = {"0", "1", "2", "3", "4", "5", "A"}


def message(msg_type: str, fields: list[tuple[int, str]]) -> simplefix.FixMessage:
    m = simplefix.FixMessage()
    m.append_pair(35, msg_type)
    for tag, value in fields:
        m.append_pair(tag, value)
    return m


class EmitLog:
    """Message-log sink that reports every session message (and, unless quiet, app messages)."""

    def __init__(self, quiet: bool) -> None:
        self.quiet = quiet

    def write(self, session_id: str, direction: str, ts: float, raw: bytes) -> None:
        event = message_event(fields_of(raw.decode(errors="replace")))
        side = "in" if direction == "IN" else "out"
        if event["msg_type"] in ADMIN:
            emit(ev=f"admin_{side}", **event)
        elif side == "out" and not self.quiet:
            emit(ev="app_out", **event)

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
        f = {tag.decode(): value.decode(errors="replace") for tag, value in msg.pairs}
        if not self.args.quiet:
            emit(ev="app_in", **message_event(f))
        if f.get("35") == "D" and self.args.answer:
            self.exec_seq += 1
            session.send(message("8", new_report_fields(f, self.exec_seq, "O")))


async def make_store(args: argparse.Namespace, settings: SessionSettings) -> Any:
    if args.store == "memory":
        from fixengine import MemoryStore

        return MemoryStore()
    import redis.asyncio as aioredis

    from connector.redis_store import RedisStore

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
                    session.send(message("D", new_order_fields(f"{prefix}{i}")))
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
    ap = peer_arguments()
    ap.add_argument("--store", choices=("memory", "redis"), default="memory")
    ap.add_argument("--redis-url", default="")
    args = ap.parse_args()
    return asyncio.run(run(args))


if __name__ == "__main__":
    sys.exit(main())
