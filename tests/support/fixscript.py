"""Scripted FIX messages for session tests: what a peer would send, as (FixMessage, raw)."""

from __future__ import annotations

import simplefix

from fixengine import Actions, Session, SessionSettings, parse, sending_time
from fixengine.codec import frame, to_bytes

T0 = 1_795_000_000.0  # a fixed "now" (2026-11-18) so tests never read the clock
US, THEM = "BROKER", "EXCH"


def settings(**kw: object) -> SessionSettings:
    base: dict[str, object] = {"SenderCompID": US, "TargetCompID": THEM, "HeartBtInt": 30}
    base.update(kw)
    return SessionSettings(**base)  # type: ignore[arg-type]


def peer(
    msg_type: str,
    seq: int,
    *fields: tuple[int, object],
    now: float = T0,
    sender: str = THEM,
    target: str = US,
    possdup: bool = False,
    orig: float | None = None,
    sending: bytes | None = None,
) -> tuple[simplefix.FixMessage, bytes]:
    m = simplefix.FixMessage()
    m.append_pair(8, "FIX.4.4")
    m.append_pair(35, msg_type)
    m.append_pair(49, sender)
    m.append_pair(56, target)
    m.append_pair(34, seq)
    if possdup:
        m.append_pair(43, "Y")
    m.append_pair(52, sending if sending is not None else sending_time(now))
    if orig is not None:
        m.append_pair(122, sending_time(orig))
    for tag, value in fields:
        m.append_pair(tag, value)
    raw = m.encode()
    parsed = parse(raw)
    assert parsed is not None
    return parsed, raw


def wire(*fields: tuple[int | str, object], begin: str = "FIX.4.4") -> bytes:
    """A raw message: ``fields`` exactly as given (any order, empty or odd tags) after 8 and 9,
    with BodyLength and CheckSum computed; for cases a builder would refuse to write."""
    body = b"".join(str(t).encode() + b"=" + to_bytes(v) + b"\x01" for t, v in fields)
    return frame(body, begin.encode())


def feed_raw(s: Session, raw: bytes, now: float = T0) -> Actions:
    """``raw`` parsed and fed to ``s`` (it must parse)."""
    msg = parse(raw)
    assert msg is not None, raw
    return s.on_message(msg, raw, now)


def feed(
    s: Session, msg_type: str, seq: int, *fields: tuple[int, object], now: float = T0, **kw: object
) -> Actions:
    msg, raw = peer(msg_type, seq, *fields, now=now, **kw)  # type: ignore[arg-type]
    return s.on_message(msg, raw, now)


def sent(a: Actions) -> list[simplefix.FixMessage]:
    """The messages an Actions writes, parsed back."""
    out = []
    for ob in a.send:
        m = parse(ob.raw)
        assert m is not None
        out.append(m)
    return out


def types(a: Actions) -> list[bytes]:
    return [ob.msg_type for ob in a.send]


def logged_on_session(
    next_sender: int = 1, next_target: int = 1, dictionary: object = None, **kw: object
) -> Session:
    """An initiator session whose Logon exchange completed (numbers as given afterwards)."""
    s = Session(settings(**kw), next_sender, next_target, dictionary=dictionary)  # type: ignore[arg-type]
    s.on_connected(T0)
    a = feed(s, "A", next_target, (98, 0), (108, s.settings.HeartBtInt))
    assert a.disconnect is None and s.logged_on
    return s


def app(text: str = "x") -> simplefix.FixMessage:
    m = simplefix.FixMessage()
    m.append_pair(35, "D")
    m.append_pair(11, text)
    return m
