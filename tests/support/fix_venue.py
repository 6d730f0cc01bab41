"""A small real FIX venue (our engine's acceptor) for connector tests: records what arrives,
acknowledges NewOrderSingles, optionally refuses OrderStatusRequest."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import simplefix

from connector.config import ConnectorConfig
from fixengine import Acceptor, Application, FixSession


@dataclass
class Venue(Application):
    """Records order messages; ``answer``: acknowledge each NewOrderSingle (ExecType=0);
    ``refuse_status``: answer OrderStatusRequest with BusinessMessageReject."""

    answer: bool = True
    refuse_status: bool = False
    status_answer: str = ""  # answer OrderStatusRequest with ExecType=I and this OrdStatus
    received: list[tuple[bytes, str, bool]] = field(
        default_factory=list
    )  # (type, ClOrdID, possdup)
    n: int = 0
    logons: int = 0

    def on_logon(self, session: FixSession) -> None:
        self.logons += 1

    def on_message(self, session: FixSession, msg: simplefix.FixMessage) -> None:
        mt = msg.get(35)
        cl = (msg.get(11) or b"").decode()
        self.received.append((mt, cl, msg.get(43) == b"Y"))
        if mt == b"D" and self.answer:
            self.n += 1
            er = simplefix.FixMessage()
            er.append_pair(35, "8")
            for tag, value in (
                (37, f"V{self.n}"),
                (11, cl),
                (17, f"E{self.n}"),
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
        elif mt == b"H" and self.status_answer:
            self.n += 1
            er = simplefix.FixMessage()
            er.append_pair(35, "8")
            for tag, value in (
                (37, f"V{self.n}"),
                (11, cl),
                (17, f"S{self.n}"),
                (150, "I"),
                (39, self.status_answer),
                (55, msg.get(55)),
                (54, msg.get(54)),
                (151, "0"),
                (14, "0"),
                (6, "0"),
            ):
                er.append_pair(tag, value)
            session.send(er)
        elif mt == b"H" and self.refuse_status:
            j = simplefix.FixMessage()
            j.append_pair(35, "j")
            j.append_pair(45, msg.get(34))
            j.append_pair(372, "H")
            j.append_pair(380, "3")
            j.append_pair(58, "OrderStatusRequest not supported")
            session.send(j)

    def cl_ord_ids(self, msg_type: bytes = b"D") -> list[str]:
        return [cl for mt, cl, _ in self.received if mt == msg_type]


@dataclass
class VenueHandle:
    venue: Venue
    session: FixSession
    acceptor: Acceptor

    @property
    def port(self) -> int:
        return self.acceptor.port


def connector_config(redis_url: str, port: int, **kw: Any) -> ConnectorConfig:
    base: dict[str, Any] = dict(
        venue="TSE",
        port=port,
        redis_url=redis_url,
        hours="always",
        heartbeat=5,
        lease_ttl=1.5,
        reconnect_interval=0.2,
        max_reconnect_interval=0.5,
    )
    base.update(kw)
    return ConnectorConfig(**base)
