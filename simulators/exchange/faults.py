"""The simulator's fault model: what an operator may inject, checked strictly, and its log.

Pure: parsing and validating a fault request (the JSON body of ``POST /faults``) and keeping the
record of what was injected. Applying a fault to a live FIX session is the process's job
(:mod:`simulators.exchange.server`), through the FIX engine's fault knobs. A request that names an
unknown fault or parameter, or gives a parameter of the wrong type, raises :class:`FaultError` with
a message that says exactly what is wrong, and changes nothing.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any


class FaultKind(StrEnum):
    """Every fault of the issue's item 6 (plus ``clear``, which lifts the lasting ones)."""

    DISCONNECT = "disconnect"  # drop the TCP connection now, no Logout
    REFUSE_LOGONS = "refuse_logons"  # answer Logons with Logout + disconnect for N seconds
    DELAY_OUTBOUND = "delay_outbound"  # hold every outbound message X ms (0 lifts it)
    DROP_OUTBOUND = "drop_outbound"  # stored and numbered, never written: peer must resend
    SKIP_SEQ = "skip_seq"  # jump the next outbound MsgSeqNum forward by N
    GARBLE_NEXT = "garble_next"  # the next outbound message goes out with a bad checksum
    DUPLICATE_EXEC_REPORT = "duplicate_exec_report"  # resend last ExecutionReport, PossDupFlag=Y
    REJECT_NEXT_ORDERS = "reject_next_orders"  # next N orders rejected (OrdRejReason 0)
    STOP_HEARTBEATS = "stop_heartbeats"  # no Heartbeats or TestRequest answers until cleared
    CLEAR = "clear"  # lift every lasting fault of the session


@dataclass(frozen=True)
class _Param:
    name: str
    kind: type  # int or bool
    default: Any
    minimum: int = 0
    maximum: int = 10**9


# fault -> its parameters (name, type, default). Anything else in the body is an error.
PARAMS: dict[FaultKind, tuple[_Param, ...]] = {
    FaultKind.DISCONNECT: (),
    FaultKind.REFUSE_LOGONS: (_Param("seconds", int, None, 0, 86_400),),
    FaultKind.DELAY_OUTBOUND: (_Param("ms", int, None, 0, 600_000),),
    FaultKind.DROP_OUTBOUND: (_Param("count", int, 1, 1, 1_000_000),),
    FaultKind.SKIP_SEQ: (_Param("count", int, 1, 1, 1_000_000),),
    FaultKind.GARBLE_NEXT: (_Param("count", int, 1, 1, 1_000),),
    FaultKind.DUPLICATE_EXEC_REPORT: (),
    FaultKind.REJECT_NEXT_ORDERS: (_Param("count", int, 1, 1, 1_000_000),),
    FaultKind.STOP_HEARTBEATS: (),
    FaultKind.CLEAR: (),
}

# the keys every body may carry besides the fault's own parameters
_COMMON = ("fault", "session")


class FaultError(ValueError):
    """A fault request that cannot be applied; the message is shown to the operator (HTTP 400)."""


@dataclass(frozen=True)
class Fault:
    """One validated fault request."""

    kind: FaultKind
    session: str | None  # None: the only session; "*": every session
    params: dict[str, int] = field(default_factory=dict)

    def to_json(self) -> dict[str, Any]:
        return {"fault": self.kind.value, "session": self.session, **self.params}


def parse_fault(body: Any) -> Fault:
    """Validate the JSON body of ``POST /faults``; raise :class:`FaultError` on anything odd."""
    if not isinstance(body, dict):
        raise FaultError('body must be a JSON object like {"fault": "drop_outbound", "count": 2}')
    name = body.get("fault")
    if not isinstance(name, str):
        raise FaultError('missing "fault" (one of: ' + ", ".join(k.value for k in FaultKind) + ")")
    try:
        kind = FaultKind(name)
    except ValueError:
        raise FaultError(
            f"unknown fault {name!r} (one of: " + ", ".join(k.value for k in FaultKind) + ")"
        ) from None
    session = body.get("session")
    if session is not None and (not isinstance(session, str) or not session):
        raise FaultError('"session" must be a non-empty string')
    specs = {p.name: p for p in PARAMS[kind]}
    unknown = sorted(k for k in body if k not in _COMMON and k not in specs)
    if unknown:
        allowed = ", ".join(specs) or "none"
        raise FaultError(
            f"unknown parameter {unknown[0]!r} for fault {name!r} (allowed: {allowed})"
        )
    params: dict[str, int] = {}
    for spec in specs.values():
        if spec.name not in body:
            if spec.default is None:
                raise FaultError(f"fault {name!r} needs parameter {spec.name!r}")
            params[spec.name] = spec.default
            continue
        value = body[spec.name]
        # bool is an int subclass in Python: refuse true/false where a number is meant
        if not isinstance(value, int) or isinstance(value, bool):
            raise FaultError(f"parameter {spec.name!r} of {name!r} must be an integer")
        if not spec.minimum <= value <= spec.maximum:
            raise FaultError(
                f"parameter {spec.name!r} of {name!r} must be between {spec.minimum} and {spec.maximum}"
            )
        params[spec.name] = value
    return Fault(kind, session, params)


@dataclass
class FaultRecord:
    """One injected fault, as the log and ``GET /state`` show it."""

    at: float  # wall clock, seconds since the epoch
    fault: Fault
    sessions: list[str]
    outcome: str

    def to_json(self) -> dict[str, Any]:
        return {
            "at": self.at,
            "fault": self.fault.kind.value,
            "params": dict(self.fault.params),
            "sessions": list(self.sessions),
            "outcome": self.outcome,
        }


@dataclass
class FaultLog:
    """Every fault injected since start (bounded), newest last."""

    limit: int = 1000
    records: list[FaultRecord] = field(default_factory=list)

    def add(
        self, fault: Fault, sessions: list[str], outcome: str, at: float | None = None
    ) -> FaultRecord:
        record = FaultRecord(time.time() if at is None else at, fault, sessions, outcome)
        self.records.append(record)
        if len(self.records) > self.limit:
            del self.records[: len(self.records) - self.limit]
        return record

    def to_json(self) -> list[dict[str, Any]]:
        return [r.to_json() for r in self.records]
