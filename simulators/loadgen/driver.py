"""The open-loop driver: sends request k when it is due, whatever the answers, and times them.

HTTP/1.1 pipelining over a fixed set of keep-alive connections (as ``bench/api.py``): request k
goes on connection ``k mod n`` at ``start + due(k)``, several due in the same loop tick in one
write, and answers come back in request order on each connection. Each answer is timed from when
its request was DUE (so a stalled server is charged for the wait: no coordinated omission) and
from when it was WRITTEN (leaving out the generator's own lateness, which is recorded apart: a
load test must tell a slow server from a slow generator). A connection the server closes (keep-
alive timeout, ``Connection: close``) is opened again on its next request; what was in flight on
it counts as connection errors.
"""

from __future__ import annotations

import asyncio
import json
import ssl
import time
from collections import deque
from collections.abc import Iterator
from dataclasses import dataclass
from urllib.parse import urlsplit

from .framing import next_answer
from .profiles import RateSchedule, Request
from .report import RunData, bump

# the event loop's timers have millisecond resolution: a tick carries every request due by then
TICK = 0.001


@dataclass(frozen=True, slots=True)
class Target:
    """Where the load goes: ``scheme://host:port`` and an optional path prefix."""

    scheme: str
    host: str
    port: int
    prefix: str = ""

    @property
    def host_header(self) -> str:
        default = 443 if self.scheme == "https" else 80
        host = f"[{self.host}]" if ":" in self.host else self.host
        return host if self.port == default else f"{host}:{self.port}"

    @property
    def base(self) -> str:
        return f"{self.scheme}://{self.host_header}{self.prefix}"

    def ssl_context(self) -> ssl.SSLContext | None:
        return ssl.create_default_context() if self.scheme == "https" else None


def parse_url(url: str) -> Target:
    """``http(s)://HOST[:PORT][/prefix]``; ``ValueError`` says what is wrong."""
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError as exc:
        raise ValueError(f"--url {url!r}: {exc}") from None
    if parts.scheme not in ("http", "https"):
        raise ValueError(f"--url {url!r}: the scheme must be http or https")
    if not parts.hostname:
        raise ValueError(f"--url {url!r}: no host")
    if parts.query or parts.fragment or parts.username or parts.password:
        raise ValueError(f"--url {url!r}: give only scheme, host, port and an optional path")
    if port is None:
        port = 443 if parts.scheme == "https" else 80
    return Target(parts.scheme, parts.hostname, port, parts.path.rstrip("/"))


def encode(target: Target, token: str, method: str, path: str, body: bytes | None) -> bytes:
    """One HTTP/1.1 request, ready for the socket."""
    head = (
        f"{method} {target.prefix}{path} HTTP/1.1\r\nHost: {target.host_header}\r\n"
        f"Authorization: Bearer {token}\r\n"
    )
    if body is None:
        return (head + "\r\n").encode()
    return (
        head + f"Content-Type: application/json\r\nContent-Length: {len(body)}\r\n\r\n"
    ).encode() + body


class _Recorder:
    def __init__(self, data: RunData, start: float) -> None:
        self.data = data
        self.start = start
        self.open = True  # False once the run is over: late answers and closes are not counted
        self.order_ids: dict[int, str] = {}  # submit index -> order id (mixed profile)

    def answer(self, op: str, status: int, due: float, written: float, now: float) -> None:
        if not self.open:
            return
        d = self.data
        counts = d.statuses[op]
        counts[status] = counts.get(status, 0) + 1
        d.from_due[op].append(now - due)
        d.from_write[op].append(now - written)
        bump(d.answered_per_s, now - self.start)
        if 200 <= status < 300:
            bump(d.ok_per_s, now - self.start)

    def lost(self, n: int) -> None:
        if self.open:
            self.data.connection_errors += n


_ORDER_ID = b'"order_id":"'


class _Conn(asyncio.Protocol):
    """One keep-alive connection; answers come back in request order (HTTP/1.1 pipelining).
    Writes made before it is connected wait in ``queued``."""

    def __init__(self, rec: _Recorder) -> None:
        self.rec = rec
        self.buf = bytearray()
        # (op, due, written, submit index whose order id to keep or -1) per request in flight
        self.inflight: deque[tuple[str, float, float, int]] = deque()
        self.queued: list[tuple[bytes, str, float, int]] = []
        self.transport: asyncio.Transport | None = None
        self.lost = False

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]
        if self.queued:
            queued, self.queued = self.queued, []
            now = time.perf_counter()
            for _, op, due, keep in queued:
                self.inflight.append((op, due, now, keep))
                self.rec.data.lateness.append(now - due)
                bump(self.rec.data.sent_per_s, now - self.rec.start)
            self.transport.write(b"".join(q[0] for q in queued))  # type: ignore[union-attr]

    def connection_lost(self, exc: Exception | None) -> None:
        self.lost = True
        self.rec.lost(len(self.inflight) + len(self.queued))
        self.inflight.clear()
        self.queued.clear()

    def send(self, batch: list[tuple[bytes, str, float, int]]) -> None:
        """Several pipelined requests in one write (one syscall per connection per tick)."""
        if self.transport is None:
            self.queued.extend(batch)
            return
        now = time.perf_counter()
        d = self.rec.data
        for _, op, due, keep in batch:
            self.inflight.append((op, due, now, keep))
            d.lateness.append(now - due)
        bump(d.sent_per_s, now - self.rec.start, len(batch))
        self.transport.write(b"".join(b[0] for b in batch))

    def data_received(self, data: bytes) -> None:
        self.buf += data
        buf = self.buf
        pos = 0
        now = time.perf_counter()
        while self.inflight:
            answer = next_answer(buf, pos)
            if answer is None:
                break
            status, body, total = answer
            op, due, written, keep = self.inflight.popleft()
            if keep >= 0 and status in (200, 202):
                j = buf.find(_ORDER_ID, body, total)
                if j >= 0:
                    j += len(_ORDER_ID)
                    self.rec.order_ids[keep] = buf[j : buf.find(b'"', j)].decode()
            self.rec.answer(op, status, due, written, now)
            pos = total
        if pos:
            del buf[:pos]


class Unreachable(Exception):
    """The API could not be reached at all (before the run started)."""


async def _connect(target: Target, conn: _Conn) -> None:
    loop = asyncio.get_running_loop()
    try:
        await loop.create_connection(
            lambda: conn, target.host, target.port, ssl=target.ssl_context()
        )
    except OSError:
        conn.connection_lost(None)


async def run_load(
    target: Target,
    token: str,
    requests: Iterator[Request],
    schedule: RateSchedule,
    connections: int,
    drain_timeout: float,
    keep_order_ids: bool = False,
) -> RunData:
    """Run the schedule; the answers not back ``drain_timeout`` s after the last send are
    timeouts. ``keep_order_ids``: remember each submit's order id, for later requests that act
    on it (``Request.target``). ``Unreachable`` if not even the connections could be opened."""
    loop = asyncio.get_running_loop()
    data = RunData()
    rec = _Recorder(data, 0.0)
    conns: list[_Conn] = []
    try:
        for _ in range(connections):
            conn = _Conn(rec)
            await loop.create_connection(
                lambda new=conn: new, target.host, target.port, ssl=target.ssl_context()
            )
            conns.append(conn)
    except OSError as exc:
        for c in conns:
            if c.transport is not None:
                c.transport.close()
        raise Unreachable(f"cannot connect to {target.base}: {exc}") from None
    total = schedule.total
    cpu0 = time.process_time()
    start = time.perf_counter() + 0.05
    rec.start = start
    k = 0
    pending: list[tuple[int, Request, float]] = []
    reconnects: set[asyncio.Task[None]] = set()
    while k < total:
        now = time.perf_counter()
        batch: dict[int, list[tuple[bytes, str, float, int]]] = {}
        while k < total and start + schedule.due(k) <= now:
            req = next(requests)
            due = start + schedule.due(k)
            bump(data.due_per_s, due - start)
            pending.append((k, req, due))
            k += 1
        for i, req, due in pending:
            if req.target is not None:
                order_id = rec.order_ids.get(req.target)
                if order_id is None:  # its submit was refused or is not answered yet
                    data.skipped[req.op] = data.skipped.get(req.op, 0) + 1
                    continue
                wire = encode(target, token, req.method, req.path(order_id), req.body)
            else:
                wire = encode(target, token, req.method, req.path(), req.body)
            keep = i if keep_order_ids and req.op == "submit" else -1
            batch.setdefault(i % len(conns), []).append((wire, req.op, due, keep))
        pending.clear()
        for slot, items in batch.items():
            conn = conns[slot]
            if conn.lost:
                conn = conns[slot] = _Conn(rec)
                reconnects.add(task := loop.create_task(_connect(target, conn)))
                task.add_done_callback(reconnects.discard)
            conn.send(items)
            data.sent += len(items)
        if k < total:
            await asyncio.sleep(max(TICK, start + schedule.due(k) - time.perf_counter()))
    data.send_seconds = time.perf_counter() - start
    deadline = time.perf_counter() + drain_timeout
    while data.answered + data.connection_errors < data.sent and time.perf_counter() < deadline:
        await asyncio.sleep(0.005)
    data.timeouts = data.sent - data.answered - data.connection_errors
    data.wall_seconds = time.perf_counter() - start
    data.generator_cpu_seconds = time.process_time() - cpu0
    rec.open = False
    for c in conns:
        if c.transport is not None:
            c.transport.close()
    return data


@dataclass(frozen=True, slots=True)
class Health:
    """What the API said before the run: its environment, and how it took the token."""

    environment: str
    auth_status: int | None = None  # of GET /v1/orders?account=...&limit=1 with the token
    auth_detail: str = ""


async def _get(target: Target, path: str, token: str, timeout: float) -> tuple[int, bytes]:
    """One GET on its own connection (``Connection: close``, read to the end)."""
    reader, writer = await asyncio.wait_for(
        asyncio.open_connection(target.host, target.port, ssl=target.ssl_context()), timeout
    )
    try:
        auth = f"Authorization: Bearer {token}\r\n" if token else ""
        writer.write(
            f"GET {target.prefix}{path} HTTP/1.1\r\nHost: {target.host_header}\r\n{auth}"
            "Connection: close\r\n\r\n".encode()
        )
        raw = await asyncio.wait_for(reader.read(), timeout)
    finally:
        writer.close()
    head, _, body = raw.partition(b"\r\n\r\n")
    try:
        return int(head[9:12]), body
    except ValueError:
        raise Unreachable(f"{target.base}{path}: not an HTTP answer") from None


async def probe(target: Target, token: str, account: str, timeout: float = 5.0) -> Health:
    """GET /healthz (reachable? which environment?) and, with a token, a one-order listing for
    ``account`` (is the token accepted?). ``Unreachable`` says why the run cannot start."""
    try:
        status, body = await _get(target, "/healthz", "", timeout)
        if status != 200:
            raise Unreachable(f"{target.base}/healthz answered {status}: is it an ordergate API?")
        try:
            environment = str(json.loads(body).get("environment", ""))
        except (ValueError, AttributeError):
            raise Unreachable(f"{target.base}/healthz: not an ordergate API answer") from None
        if not token:
            return Health(environment)
        status, body = await _get(target, f"/v1/orders?account={account}&limit=1", token, timeout)
    except TimeoutError:
        raise Unreachable(f"cannot reach {target.base}: no answer within {timeout:g} s") from None
    except OSError as exc:
        raise Unreachable(f"cannot reach {target.base}: {exc}") from None
    detail = ""
    if status >= 400:
        try:
            detail = str(json.loads(body)["error"]["code"])
        except (ValueError, KeyError, TypeError):
            detail = ""
    return Health(environment, status, detail)
