"""Our initiator against our acceptor over real TCP, for engine tests."""

from __future__ import annotations

import asyncio
import datetime
import ssl
import time
from dataclasses import dataclass, field
from pathlib import Path
from zoneinfo import ZoneInfo

import simplefix

from fixengine import (
    Acceptor,
    Application,
    FixSession,
    Initiator,
    MemoryStore,
    MessageStore,
    SessionSettings,
)

from .tls import self_signed_cert

BROKER, EXCH = "BROKER", "EXCH"


class Recorder(Application):
    """Keeps every delivered application message; optionally answers NewOrderSingle."""

    def __init__(self, answer: bool = False) -> None:
        self.messages: list[simplefix.FixMessage] = []
        self.logons = 0
        self.logouts = 0
        self.events: list[tuple[str, str]] = []
        self.answer = answer
        self.exec_id = 0

    def on_logon(self, session: FixSession) -> None:
        self.logons += 1

    def on_logout(self, session: FixSession) -> None:
        self.logouts += 1

    def on_event(self, session: FixSession, kind: str, text: str) -> None:
        self.events.append((kind, text))

    def on_message(self, session: FixSession, msg: simplefix.FixMessage) -> None:
        self.messages.append(msg)
        if self.answer and msg.message_type == b"D":
            self.exec_id += 1
            er = simplefix.FixMessage()
            er.append_pair(35, "8")
            for tag, value in (
                (37, f"O{self.exec_id}"),
                (11, msg.get(11)),
                (17, f"E{self.exec_id}"),
                (150, "0"),
                (39, "0"),
                (55, msg.get(55)),
                (54, msg.get(54)),
                (38, msg.get(38)),
                (151, msg.get(38)),
                (14, "0"),
                (6, "0"),
            ):
                er.append_pair(tag, value)
            session.send(er)

    def ids(self, tag: int = 11) -> list[str]:
        return [(m.get(tag) or b"").decode() for m in self.messages]


def order(cl_ord_id: str) -> simplefix.FixMessage:
    """A NewOrderSingle valid against the project's dictionary."""
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


@dataclass
class Pair:
    acceptor: Acceptor
    initiator: Initiator
    exch: FixSession
    broker: FixSession
    exch_app: Recorder
    broker_app: Recorder
    extra: dict[str, object] = field(default_factory=dict)

    async def stop(self) -> None:
        await self.initiator.stop(logout=False)
        await self.acceptor.stop(logout=False)


def window(start_h: float, end_h: float) -> dict[str, str]:
    """StartTime/EndTime settings (Asia/Tokyo, the default TimeZone) hours away from now."""
    tokyo = datetime.datetime.now(ZoneInfo("Asia/Tokyo"))
    return {
        "StartTime": (tokyo + datetime.timedelta(hours=start_h)).strftime("%H:%M:%S"),
        "EndTime": (tokyo + datetime.timedelta(hours=end_h)).strftime("%H:%M:%S"),
    }


def make_settings(role: str, **kw: object) -> SessionSettings:
    sender, target = (BROKER, EXCH) if role == "initiator" else (EXCH, BROKER)
    base: dict[str, object] = {
        "SenderCompID": sender,
        "TargetCompID": target,
        "ConnectionType": role,
        "HeartBtInt": 30,
        "ReconnectInterval": 0.05,
        "MaxReconnectInterval": 0.4,
    }
    base.update(kw)
    return SessionSettings(**base)  # type: ignore[arg-type]


async def start_pair(
    broker_store: MessageStore | None = None,
    exch_store: MessageStore | None = None,
    server_ssl: ssl.SSLContext | None = None,
    client_ssl: ssl.SSLContext | None = None,
    broker_kw: dict[str, object] | None = None,
    exch_kw: dict[str, object] | None = None,
    answer: bool = True,
) -> Pair:
    exch_app, broker_app = Recorder(answer=answer), Recorder()
    exch = FixSession(
        make_settings("acceptor", **(exch_kw or {})),
        store=exch_store or MemoryStore(),
        app=exch_app,
    )
    acceptor = Acceptor([exch], "127.0.0.1", 0, ssl_context=server_ssl)
    await acceptor.start()
    broker = FixSession(
        make_settings("initiator", **(broker_kw or {})),
        store=broker_store or MemoryStore(),
        app=broker_app,
    )
    initiator = Initiator(
        broker,
        "127.0.0.1",
        acceptor.port,
        ssl_context=client_ssl,
        server_hostname="localhost" if client_ssl else None,
    )
    await initiator.start()
    await asyncio.wait_for(broker.wait_logged_on(), 10)
    await asyncio.wait_for(exch.wait_logged_on(), 10)
    return Pair(acceptor, initiator, exch, broker, exch_app, broker_app)


def self_signed_tls() -> tuple[ssl.SSLContext, ssl.SSLContext]:
    """A server and a client context around a certificate made now (cryptography)."""
    cert_path, key_path = self_signed_files()
    server = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    server.load_cert_chain(cert_path, key_path)
    client = ssl.create_default_context(ssl.Purpose.SERVER_AUTH, cafile=str(cert_path))
    return server, client


def self_signed_files() -> tuple[Path, Path]:
    """cert.pem and key.pem (localhost, 127.0.0.1) in a fresh temporary directory."""
    return self_signed_cert()
