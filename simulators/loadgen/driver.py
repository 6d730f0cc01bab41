"""The open-loop driver: sends request k when it is due, whatever the answers, and times them.

HTTP/1.1 pipelining over a fixed set of keep-alive connections (as ``bench/api.py``): request k
is sent at ``start + due(k)``; the requests due in one loop tick (1 ms) go out together, in one
write, on the next connection in turn (one write and, mostly, one read per tick rather than one
per request: the system calls were most of the generator's CPU), and answers come back in
request order on each connection. Each answer is timed from when
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
from .latency import record
from .profiles import RateSchedule, Request, Share
from .report import RunData, bump
from .stages import StageTracker

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
    """Where answers go: counts and histograms (``RunData``) and, with the stream on, the stage
    tracker. ``start`` is the run's time zero (perf_counter)."""

    def __init__(self, data: RunData, start: float, tracker: StageTracker | None = None) -> None:
        self.data = data
        self.start = start
        self.tracker = tracker
        self.open = True  # False once the run is over: late answers and closes are not counted
        self.order_ids: dict[int, str] = {}  # submit index -> order id (mixed profile)

    def answer(self, op: str, status: int, due: float, written: float, now: float) -> None:
        if not self.open:
            return
        d = self.data
        counts = d.statuses[op]
        counts[status] = counts.get(status, 0) + 1
        record(d.from_due[op], now - due)
        record(d.from_write[op], now - written)
        bump(d.answered_per_s, now - self.start)
        if 200 <= status < 300:
            bump(d.ok_per_s, now - self.start)

    def refused(self, code: str) -> None:
        if self.open:
            self.data.error_codes[code] = self.data.error_codes.get(code, 0) + 1

    def lost(self, n: int) -> None:
        if self.open:
            self.data.connection_errors += n


_ORDER_ID = b'"order_id":"'
_CODE = b'"code":"'


def _text_after(buf: bytearray, marker: bytes, start: int, end: int) -> str | None:
    """The JSON string value after ``marker`` in ``buf[start:end]`` (no escapes expected)."""
    j = buf.find(marker, start, end)
    if j < 0:
        return None
    j += len(marker)
    return buf[j : buf.find(b'"', j)].decode()


# one request in flight: op, due, written, submit index whose order id to keep (or -1), and the
# order id a cancel / replace acts on (None for the others)
_Inflight = tuple[str, float, float, int, "str | None"]
# one request to write: its bytes, op, due, keep, order id acted on
_Outgoing = tuple[bytes, str, float, int, "str | None"]


class _Conn(asyncio.Protocol):
    """One keep-alive connection; answers come back in request order (HTTP/1.1 pipelining).
    Writes made before it is connected wait in ``queued``."""

    def __init__(self, rec: _Recorder) -> None:
        self.rec = rec
        self.buf = bytearray()
        self.inflight: deque[_Inflight] = deque()
        self.queued: list[_Outgoing] = []
        self.transport: asyncio.Transport | None = None
        self.lost = False

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]
        if self.queued:
            queued, self.queued = self.queued, []
            self.send(queued)

    def connection_lost(self, exc: Exception | None) -> None:
        self.lost = True
        self.rec.lost(len(self.inflight) + len(self.queued))
        self.inflight.clear()
        self.queued.clear()

    def send(self, batch: list[_Outgoing]) -> None:
        """Several pipelined requests in one write (one syscall per connection per tick)."""
        if self.transport is None:
            self.queued.extend(batch)
            return
        now = time.perf_counter()
        d = self.rec.data
        lateness = d.lateness
        tracker = self.rec.tracker
        for _, op, due, keep, oid in batch:
            self.inflight.append((op, due, now, keep, oid))
            record(lateness, now - due)
            if oid is not None and tracker is not None:
                tracker.change_sent(oid, due)
        bump(d.sent_per_s, now - self.rec.start, len(batch))
        self.transport.write(b"".join(b[0] for b in batch))

    def data_received(self, data: bytes) -> None:
        self.buf += data
        buf = self.buf
        pos = 0
        now = time.perf_counter()
        rec = self.rec
        tracker = rec.tracker
        while self.inflight:
            answer = next_answer(buf, pos)
            if answer is None:
                break
            status, body, total = answer
            op, due, written, keep, oid = self.inflight.popleft()
            rec.answer(op, status, due, written, now)
            if status == 202 and op == "submit":
                if keep >= 0 or (tracker is not None and tracker.watch):
                    order_id = _text_after(buf, _ORDER_ID, body, total)
                    if order_id is not None:
                        if keep >= 0:
                            rec.order_ids[keep] = order_id
                        if tracker is not None and rec.open:
                            tracker.accepted(order_id, due, now)
                elif tracker is not None and rec.open:
                    tracker.accepted("", due, now)  # not watching: the order id is not needed
            elif status >= 300:
                rec.refused(_text_after(buf, _CODE, body, total) or f"http_{status}")
            elif keep >= 0 and status == 200:  # a replayed submit: the same order
                order_id = _text_after(buf, _ORDER_ID, body, total)
                if order_id is not None:
                    rec.order_ids[keep] = order_id
            if oid is not None and tracker is not None and rec.open:
                tracker.change_answered(oid, status == 202, now)
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


class Driver:
    """The open-loop client over ``connections`` keep-alive connections. ``connect`` first, then
    one or more ``run`` (a schedule from a start time), ``drain``, and ``close``."""

    def __init__(
        self,
        target: Target,
        token: str,
        connections: int,
        tracker: StageTracker | None = None,
        keep_order_ids: bool = False,
    ) -> None:
        self.target = target
        self.token = token
        self.n = connections
        self.keep_order_ids = keep_order_ids
        self.data = RunData()
        self.rec = _Recorder(self.data, 0.0, tracker)
        self.conns: list[_Conn] = []
        self.reconnects: set[asyncio.Task[None]] = set()

    async def connect(self) -> None:
        """Open every connection; ``Unreachable`` if they cannot be opened."""
        loop = asyncio.get_running_loop()
        try:
            for _ in range(self.n):
                conn = _Conn(self.rec)
                await loop.create_connection(
                    lambda new=conn: new,
                    self.target.host,
                    self.target.port,
                    ssl=self.target.ssl_context(),
                )
                self.conns.append(conn)
        except OSError as exc:
            self.close()
            raise Unreachable(f"cannot connect to {self.target.base}: {exc}") from None

    def set_zero(self, t0: float) -> None:
        """The run's time zero (perf_counter): per-second counts are seconds from it."""
        self.rec.start = t0

    async def run(
        self, requests: Iterator[Request], schedule: RateSchedule | Share, start: float
    ) -> None:
        """Send request k at ``start + schedule.due(k)`` (perf_counter), whatever the answers."""
        loop = asyncio.get_running_loop()
        data, rec, target, token = self.data, self.rec, self.target, self.token
        conns = self.conns
        t0 = rec.start
        total = schedule.total
        due_at = schedule.due
        keep_ids = self.keep_order_ids
        k = 0
        pending: list[tuple[int, Request, float]] = []
        slot = -1
        while k < total:
            now = time.perf_counter()
            while k < total and start + due_at(k) <= now:
                req = next(requests)
                due = start + due_at(k)
                bump(data.due_per_s, due - t0)
                pending.append((k, req, due))
                k += 1
            items: list[_Outgoing] = []
            for i, req, due in pending:
                oid = None
                if req.target is not None:
                    oid = rec.order_ids.get(req.target)
                    if oid is None:  # its submit was refused or is not answered yet
                        data.skipped[req.op] = data.skipped.get(req.op, 0) + 1
                        continue
                wire = encode(target, token, req.method, req.path(oid), req.body)
                keep = i if keep_ids and req.op == "submit" else -1
                changes = oid if req.op in ("cancel", "replace") else None
                items.append((wire, req.op, due, keep, changes))
            pending.clear()
            if items:  # this tick's requests: one write, on the next connection in turn
                slot = (slot + 1) % len(conns)
                conn = conns[slot]
                if conn.lost:
                    conn = conns[slot] = _Conn(rec)
                    task = loop.create_task(_connect(target, conn))
                    self.reconnects.add(task)
                    task.add_done_callback(self.reconnects.discard)
                conn.send(items)
                data.sent += len(items)
            if k < total:
                await asyncio.sleep(max(TICK, start + due_at(k) - time.perf_counter()))
        data.send_seconds = time.perf_counter() - t0

    @property
    def in_flight(self) -> int:
        d = self.data
        return d.sent - d.answered - d.connection_errors

    async def drain(self, timeout: float) -> None:
        """Wait until every request is answered and, with the stream on, every accepted order
        acknowledged, every change answered and the fills that follow have stopped coming
        (:func:`drained`), or ``timeout`` s; then count the timeouts."""
        tracker = self.rec.tracker
        deadline = time.perf_counter() + timeout
        resting, since = -1, time.perf_counter()
        while (now := time.perf_counter()) < deadline:
            if tracker is None:
                if self.in_flight <= 0:
                    break
            else:
                if len(tracker.awaiting_fill) != resting:
                    resting, since = len(tracker.awaiting_fill), now
                if drained(self.in_flight, tracker.pending, resting, now - since):
                    break
            await asyncio.sleep(0.005)
        self.data.timeouts = max(0, self.in_flight)

    def close(self) -> None:
        self.rec.open = False
        for c in self.conns:
            if c.transport is not None:
                c.transport.close()


#: after the last ack, fills still on their way (a crossing order's ack and the fills it causes
#: are reported together) are waited for until none has come for this long
FILL_QUIET_S = 0.3


def drained(in_flight: int, pending: int, resting: int, quiet_for: float) -> bool:
    """Done waiting: every answer in, every ack and change answered, and the orders still
    without a fill (``resting``) either none or unchanged for :data:`FILL_QUIET_S` s (a resting
    order may never fill; a fill that follows its ack by milliseconds must not be missed)."""
    if in_flight > 0 or pending > 0:
        return False
    return resting == 0 or quiet_for >= FILL_QUIET_S


async def run_load(
    target: Target,
    token: str,
    requests: Iterator[Request],
    schedule: RateSchedule,
    connections: int,
    drain_timeout: float,
    keep_order_ids: bool = False,
) -> RunData:
    """One schedule from now, then the drain: the answers not back ``drain_timeout`` s after
    the last send are timeouts. ``Unreachable`` if not even the connections could be opened."""
    driver = Driver(target, token, connections, keep_order_ids=keep_order_ids)
    await driver.connect()
    cpu0 = time.process_time()
    start = time.perf_counter() + 0.05
    driver.set_zero(start)
    await driver.run(requests, schedule, start)
    await driver.drain(drain_timeout)
    driver.data.wall_seconds = time.perf_counter() - start
    driver.data.generator_cpu_seconds = time.process_time() - cpu0
    driver.close()
    return driver.data


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
