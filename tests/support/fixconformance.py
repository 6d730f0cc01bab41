"""Raw FIX scripts over real TCP for the conformance suite: what the scripted peer sends, what
must come back, or a disconnect; one runner for both roles of the engine under test.

``Peer`` is the scripted counterparty on a blocking socket. In the ``acceptor`` role it has
connected to the simulator and logs on first; in the ``initiator`` role the engine connected to
it, so it reads the engine's Logon before answering. Messages are written with
``support.fixscript.wire`` (fields as given, BodyLength and CheckSum computed) unless a step
gives raw bytes.
"""

from __future__ import annotations

import socket
import time
from collections.abc import Callable
from dataclasses import dataclass, field

import simplefix

from fixengine import FrameSplitter, parse, sending_time

from .fixscript import wire

Fields = tuple[tuple[int | str, object], ...]


@dataclass
class Peer:
    """The scripted side: its own CompID (``me``), the engine's (``engine``), its role."""

    sock: socket.socket
    me: str
    engine: str
    role: str  # the ENGINE's role: "acceptor" (the simulator) or "initiator"
    splitter: FrameSplitter = field(default_factory=FrameSplitter)
    pending: list[simplefix.FixMessage] = field(default_factory=list)
    closed: bool = False

    def send(self, raw: bytes) -> None:
        try:
            self.sock.sendall(raw)
        except OSError:
            self.closed = True

    def receive(self, timeout: float) -> simplefix.FixMessage | None:
        """The next message from the engine; None on disconnect or timeout (see ``closed``)."""
        deadline = time.monotonic() + timeout
        while not self.pending:
            left = deadline - time.monotonic()
            if left <= 0 or self.closed:
                return None
            self.sock.settimeout(left)
            try:
                data = self.sock.recv(65536)
            except TimeoutError:
                return None
            except OSError:
                data = b""
            if not data:
                self.closed = True
                return None
            for raw in self.splitter.feed(data):
                msg = parse(raw)
                assert msg is not None, f"the engine sent an unparseable message: {raw!r}"
                self.pending.append(msg)
        return self.pending.pop(0)


class Step:
    def run(self, peer: Peer) -> None:
        raise NotImplementedError


@dataclass
class Send(Step):
    """One message from the scripted peer: header 35/49/56/34/52 then ``fields``; ``raw``
    instead gives the bytes (``{me}``, ``{engine}``, ``{time}`` filled in)."""

    msg_type: str = ""
    seq: int = 0
    fields: Fields = ()
    begin: str = "FIX.4.4"
    time_offset: float = 0.0
    sender: str | None = None
    target: str | None = None
    drop: tuple[int, ...] = ()
    raw: bytes | None = None
    bare: bool = False  # ``fields`` is the whole message after 8 and 9, in its own order
    corrupt: bool = False  # CheckSum off by one

    def bytes_for(self, peer: Peer) -> bytes:
        now = sending_time(time.time() + self.time_offset).decode()
        if self.raw is not None:
            text = self.raw.decode().format(me=peer.me, engine=peer.engine, time=now)
            return text.replace("|", "\x01").encode()
        header: Fields = (
            (35, self.msg_type),
            (49, self.sender if self.sender is not None else peer.me),
            (56, self.target if self.target is not None else peer.engine),
            (34, self.seq),
            (52, now),
        )
        fields = self.fields if self.bare else header + self.fields
        out = wire(
            *((t, _fill(v, peer)) for t, v in fields if t not in self.drop), begin=self.begin
        )
        if self.corrupt:
            total = int(out[-4:-1])
            out = out[:-4] + b"%03d\x01" % ((total + 1) % 256)
        return out

    def run(self, peer: Peer) -> None:
        peer.send(self.bytes_for(peer))


def _fill(value: object, peer: Peer) -> object:
    """``"<TIME+n>"`` in a field value: a UTCTimestamp n seconds from now; ``"<ME>"`` and
    ``"<ENGINE>"``: the two CompIDs."""
    if value == "<ME>":
        return peer.me
    if value == "<ENGINE>":
        return peer.engine
    if isinstance(value, str) and value.startswith("<TIME"):
        offset = float(value[5:-1] or 0)
        return sending_time(time.time() + offset)
    return value


@dataclass
class Expect(Step):
    """The next message from the engine has this MsgType and these field values (None: the
    field must be absent)."""

    msg_type: str
    fields: dict[int, str | None] = field(default_factory=dict)
    timeout: float = 5.0
    skip: tuple[str, ...] = ()  # message types passed over first (periodic Heartbeats)

    def run(self, peer: Peer) -> None:
        msg = peer.receive(self.timeout)
        while msg is not None and (msg.message_type or b"").decode() in self.skip:
            msg = peer.receive(self.timeout)
        assert msg is not None, f"expected 35={self.msg_type} {self.fields}, got " + (
            "a disconnect" if peer.closed else f"nothing in {self.timeout} s"
        )
        got = {t: (msg.get(t) or b"").decode() or None for t in (35, *self.fields)}
        want = {35: self.msg_type, **self.fields}
        assert got == want, f"expected {want}, got {msg}"


@dataclass
class ExpectDisconnect(Step):
    """The engine closes the connection, sending nothing else first."""

    timeout: float = 5.0

    def run(self, peer: Peer) -> None:
        msg = peer.receive(self.timeout)
        assert msg is None, f"expected a disconnect, got {msg}"
        assert peer.closed, f"expected a disconnect within {self.timeout} s; still connected"


@dataclass
class Do(Step):
    """Anything else (a second connection, for instance)."""

    action: Callable[[Peer], None]

    def run(self, peer: Peer) -> None:
        self.action(peer)


@dataclass
class Logon(Step):
    """The Logon exchange in the role's order: towards an acceptor, send ours and expect its
    answer; towards an initiator, read its Logon and answer. ``answer=False``: the engine must
    not answer (the steps after say what it does instead)."""

    seq: int = 1
    hb: int = 30
    fields: Fields = ()
    begin: str = "FIX.4.4"
    time_offset: float = 0.0
    sender: str | None = None
    target: str | None = None
    raw: bytes | None = None
    answer: bool = True
    message: Send | None = None  # sent instead of a Logon (case 1e)

    def run(self, peer: Peer) -> None:
        ours = self.message or Send(
            "A",
            self.seq,
            ((98, 0), (108, self.hb), *self.fields),
            begin=self.begin,
            time_offset=self.time_offset,
            sender=self.sender,
            target=self.target,
            raw=self.raw,
        )
        if peer.role == "initiator":
            Expect("A", {34: "1", 108: str(self.hb)}).run(peer)
            ours.run(peer)
        else:
            ours.run(peer)
            if self.answer:
                Expect("A", {34: "1"}).run(peer)


@dataclass(frozen=True)
class Case:
    """One spec case: its id (the spec's, plus a suffix where one id has several scripts), the
    HeartBtInt both sides use, the roles it applies to, and the script (Logon included)."""

    id: str
    steps: tuple[Step, ...]
    hb: int = 30
    roles: tuple[str, ...] = ("acceptor", "initiator")


def play(peer: Peer, case: Case) -> None:
    for step in case.steps:
        step.run(peer)
