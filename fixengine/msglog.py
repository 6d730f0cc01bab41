"""FIX message log: every inbound and outbound message with its receive/send timestamp.

A sink receives ``(session_id, direction, epoch_seconds, raw)``; the default writes one line per
message to ``<FileLogPath>/<session>.messages.log`` (``2026-11-27T22:10:00.123456Z IN <raw>``,
raw bytes kept as on the wire, SOH included, except that secrets — Password(554) and
NewPassword(925) of a Logon — are replaced by ``***`` before anything is written, so a log file
(or its copy in the audit archive) never holds a credential). Writes are buffered; the
audit-archive work ships these files to S3.
"""

from __future__ import annotations

import re
import time
from pathlib import Path
from typing import BinaryIO, Protocol

IN = "IN"
OUT = "OUT"
EVENT = "EVENT"


class MessageLog(Protocol):
    def write(self, session_id: str, direction: str, ts: float, raw: bytes) -> None: ...

    def close(self) -> None: ...


_SECRET = re.compile(rb"(\x01(?:554|925)=)[^\x01]*")


def redact_secrets(raw: bytes) -> bytes:
    """``raw`` with the values of Password(554) and NewPassword(925) replaced by ``***``."""
    if b"\x01554=" not in raw and b"\x01925=" not in raw:
        return raw  # the hot path: only Logon messages carry credentials
    return _SECRET.sub(rb"\1***", raw)


def _stamp(ts: float) -> bytes:
    return (
        time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(ts)) + f".{int((ts % 1) * 1e6):06d}Z"
    ).encode()


class NullMessageLog:
    def write(self, session_id: str, direction: str, ts: float, raw: bytes) -> None:
        return None

    def close(self) -> None:
        return None


class MemoryMessageLog:
    """Keeps entries in a list (tests, tools)."""

    def __init__(self) -> None:
        self.entries: list[tuple[str, str, float, bytes]] = []

    def write(self, session_id: str, direction: str, ts: float, raw: bytes) -> None:
        self.entries.append((session_id, direction, ts, raw))

    def close(self) -> None:
        return None


class FileMessageLog:
    """One append-only file per session under ``directory``; buffered, flushed on close."""

    def __init__(self, directory: str | Path, buffer_size: int = 1 << 16) -> None:
        self.directory = Path(directory)
        self.directory.mkdir(parents=True, exist_ok=True)
        self.buffer_size = buffer_size
        self._files: dict[str, BinaryIO] = {}
        self._last: tuple[float, bytes] = (-1.0, b"")  # the session stamps a batch with one ts

    def path_for(self, session_id: str) -> Path:
        safe = re.sub(r"[^A-Za-z0-9_.-]+", "_", session_id)
        return self.directory / f"{safe}.messages.log"

    def write(self, session_id: str, direction: str, ts: float, raw: bytes) -> None:
        f = self._files.get(session_id)
        if f is None:
            f = open(self.path_for(session_id), "ab", buffering=self.buffer_size)  # noqa: SIM115
            self._files[session_id] = f
        last_ts, stamp = self._last
        if ts != last_ts:
            stamp = _stamp(ts)
            self._last = (ts, stamp)
        f.write(b"%b %b %b\n" % (stamp, direction.encode(), redact_secrets(raw)))

    def flush(self) -> None:
        for f in self._files.values():
            f.flush()

    def close(self) -> None:
        for f in self._files.values():
            f.close()
        self._files.clear()
