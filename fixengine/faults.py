"""Fault injection on one session's outbound side, for the exchange simulator and chaos tests."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

from fixengine.framing import checksum

if TYPE_CHECKING:
    from fixengine.transport import FixSession


class Faults:
    """Fault-injection knobs for the exchange simulator and chaos tests. All off by default."""

    def __init__(self, session: FixSession) -> None:
        self._s = session
        self.drop_outbound = 0  # drop the next N outbound messages AFTER numbering and storing
        self.garble_outbound = 0  # replace the next N outbound messages with garbled bytes
        self.delay_outbound = 0.0  # seconds added before outbound bytes are written
        # any other manipulation: called with the raw messages about to be written (already
        # numbered and stored), returns what to write instead
        self.interceptor: Callable[[list[bytes]], list[bytes]] | None = None

    def drop_next(self, n: int = 1) -> None:
        self.drop_outbound += n

    def garble_next(self, n: int = 1) -> None:
        self.garble_outbound += n

    def delay(self, ms: float) -> None:
        self.delay_outbound = ms / 1000.0

    def skip_sequence_numbers(self, n: int) -> None:
        self._s.core.skip_outbound(n)

    def stop_heartbeats(self, stop: bool = True) -> None:
        self._s.core.suppress_heartbeats = stop

    def refuse_logons_until(self, epoch_seconds: float, text: str = "logon refused") -> None:
        self._s.core.refuse_logons_until = epoch_seconds
        self._s.core.refuse_logon_text = text

    @property
    def heartbeats_stopped(self) -> bool:
        return bool(self._s.core.suppress_heartbeats)

    @property
    def logons_refused_until(self) -> float:
        """Epoch seconds until which Logons are refused (0: not refused)."""
        return float(self._s.core.refuse_logons_until)

    def disconnect_now(self) -> None:
        self._s.abort("fault injection: disconnect now")

    @property
    def active(self) -> bool:
        return bool(
            self.drop_outbound or self.garble_outbound or self.delay_outbound or self.interceptor
        )

    def apply(self, raws: list[bytes]) -> list[bytes]:
        out = []
        for raw in raws:
            if self.drop_outbound > 0:
                self.drop_outbound -= 1
                continue
            if self.garble_outbound > 0:
                self.garble_outbound -= 1
                body = raw[: raw.rfind(b"10=")]
                raw = body + b"10=%03d\x01" % ((checksum(body) + 1) % 256)
            out.append(raw)
        if self.interceptor is not None:
            out = self.interceptor(out)
        return out
