"""The simulator process: FIX acceptor + matching engine + control API in one event loop.

:class:`Simulator` wires the pieces and is the control API's target: it resolves session names,
applies faults through the FIX engine's knobs (``FixSession.faults``) and the engine's own
(``inject_rejects``, kill switch), and renders state, orders and books as JSON.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import gc
import logging
import signal
import sys
import time
from decimal import Decimal
from typing import Any

from fixengine import Acceptor, FixSession, SessionSettings, SettingsError

from .arrivals import arrival_json, iso
from .config import SessionConfig, SimulatorConfig
from .control import ControlError, ControlServer
from .engine import MatchingEngine, SessionRules
from .faults import Fault, FaultKind, FaultLog
from .fix_app import ExchangeApplication
from .fixmap import fix_decimal
from .instruments import from_reference_data
from .phases import Phase, SimClock

log = logging.getLogger("ordergate.simulator")

TICK_SECONDS = 0.1  # how often the engine's phase clock is brought up to date
GC_THRESHOLDS = (100_000, 50, 100)  # as bench/matching.py's "gc_tuned" figures


def session_settings(cfg: SessionConfig, host: str, port: int) -> SessionSettings:
    """The FIX engine's settings for one acceptor session (SettingsError names bad keys)."""
    raw: dict[str, Any] = dict(cfg.settings)
    raw.update(
        SenderCompID=cfg.sender_comp_id,
        TargetCompID=cfg.target_comp_id,
        ConnectionType="acceptor",
        SocketAcceptHost=host,
        SocketAcceptPort=port,
        CheckPeerHeartbeats=cfg.heartbeat_check,
    )
    return SessionSettings.from_dict(raw)


def _money(value: Decimal | None) -> str | None:
    """A price or amount for JSON: a string, as on the wire (``2851``, ``2851.5``)."""
    return None if value is None else fix_decimal(value)


class Simulator:
    """One running simulator (see the module docstring)."""

    def __init__(self, cfg: SimulatorConfig) -> None:
        self.cfg = cfg
        self.clock = SimClock.parse(cfg.clock)
        instruments = from_reference_data(
            cfg.reference_data, on=self.clock.now().date(), venue=cfg.venue
        )
        phase = Phase(cfg.phase) if cfg.phase else None
        self.engine = MatchingEngine(instruments, clock=self.clock, venue=cfg.venue, phase=phase)
        for s in cfg.sessions:
            self.engine.configure_session(
                s.name,
                SessionRules(
                    self_trade_prevention=s.self_trade_prevention,
                    max_order_value=s.max_order_value,
                    max_value_per_second=s.max_value_per_second,
                    symbols=frozenset(s.symbols) if s.symbols is not None else None,
                ),
            )
        self.app = ExchangeApplication(self.engine, cfg.sessions)
        self.sessions: dict[str, FixSession] = {}
        self.configs: dict[str, SessionConfig] = {}
        for s in cfg.sessions:
            fs = FixSession(session_settings(s, cfg.host, cfg.port), app=self.app)
            self.app.attach(fs)
            self.sessions[s.name] = fs
            self.configs[s.name] = s
        self.acceptor = Acceptor(self.sessions.values(), cfg.host, cfg.port)
        self.control = ControlServer(self, cfg.control_host, cfg.control_port)
        self.faults = FaultLog()
        self.started_at = time.time()
        self._ticker: asyncio.Task[None] | None = None
        self.liquidity: Any = None

    # --- lifecycle -----------------------------------------------------------------------

    async def start(self) -> None:
        await self.acceptor.start()
        await self.control.start()
        self._load_book()
        if self.cfg.liquidity:
            self._start_liquidity()
        self._ticker = asyncio.get_running_loop().create_task(self._tick())
        log.info(
            "simulator %s: FIX on %s:%d, control API on http://%s:%d, sessions %s",
            self.engine.venue,
            self.cfg.host,
            self.acceptor.port,
            self.cfg.control_host,
            self.control.port,
            ", ".join(self.sessions),
        )

    def _start_liquidity(self) -> None:
        from .liquidity import RandomWalkLiquidity

        self.liquidity = RandomWalkLiquidity(self.engine, seed=self.cfg.seed)
        self.app.dispatch(self.liquidity.step())

    def _load_book(self) -> None:
        """Deterministic mode with a book file: place it (again, after a reset)."""
        if self.cfg.book:
            from .liquidity import load_book

            self.app.dispatch(load_book(self.engine, self.cfg.book))

    async def stop(self) -> None:
        if self._ticker is not None:
            self._ticker.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._ticker
        await self.acceptor.stop(logout=True)
        await self.control.stop()
        for fs in self.sessions.values():
            fs.msglog.close()  # flush the message logs (FileLogPath / --message-log)

    async def _tick(self) -> None:
        while True:
            await asyncio.sleep(TICK_SECONDS)
            try:
                events = self.engine.tick()
                if self.liquidity is not None:
                    events = [*events, *self.liquidity.tick()]
                if events:
                    self.app.dispatch(events)
            except Exception:  # the clock must keep running whatever one tick did
                log.exception("engine tick failed")

    # --- session names -------------------------------------------------------------------

    def resolve(self, name: str | None) -> list[str]:
        """Session names an operator's ``session`` means (None: the only one; "*": all)."""
        if name is None:
            if len(self.sessions) == 1:
                return list(self.sessions)
            raise ControlError(
                "session_required",
                'several sessions: name one in "session" (or "*" for all): '
                + ", ".join(self.sessions),
            )
        if name == "*":
            return list(self.sessions)
        found = [n for n, cfg in self.configs.items() if name in cfg.aliases()]
        if len(found) != 1:
            raise ControlError(
                "unknown_session",
                f"no session {name!r} (sessions: {', '.join(self.sessions)})"
                if not found
                else f"{name!r} names several sessions: {', '.join(found)}",
            )
        return found

    # --- control API target --------------------------------------------------------------

    def state(self) -> dict[str, Any]:
        engine = self.engine
        sessions = []
        for name, fs in self.sessions.items():
            cfg = self.configs[name]
            stats = self.app.stats[name]
            c = fs.counters
            sessions.append(
                {
                    "session": name,
                    "sender_comp_id": cfg.sender_comp_id,
                    "target_comp_id": cfg.target_comp_id,
                    "status": fs.state.value,
                    "logged_on": fs.logged_on,
                    "next_inbound_seq": fs.next_target_seq,
                    "next_outbound_seq": fs.next_sender_seq,
                    "last_disconnect_reason": fs.last_disconnect_reason,
                    "kill_switch": engine.kill_switch_on(name),
                    "cancel_on_disconnect": cfg.cancel_on_disconnect,
                    "heartbeat_check": cfg.heartbeat_check,
                    "self_trade_prevention": cfg.self_trade_prevention,
                    "max_order_value": _money(cfg.max_order_value),
                    "max_value_per_second": _money(cfg.max_value_per_second),
                    "faults": {
                        "drop_outbound": fs.faults.drop_outbound,
                        "garble_outbound": fs.faults.garble_outbound,
                        "delay_outbound_ms": round(fs.faults.delay_outbound * 1000),
                        "heartbeats_stopped": fs.faults.heartbeats_stopped,
                        "refuse_logons_until": iso(fs.faults.logons_refused_until)
                        if fs.faults.logons_refused_until > time.time()
                        else None,
                        "reject_next_orders": engine.pending_rejects(name),
                    },
                    "counters": {
                        "messages_received": c.received,
                        "messages_sent": c.sent,
                        "orders_received": stats.orders_received,
                        "poss_dup_received": stats.poss_dup_received,
                        "execution_reports_sent": stats.reports_sent,
                        "cancel_rejects_sent": stats.cancel_rejects_sent,
                        "app_rejects_sent": stats.app_rejects_sent,
                        "duplicates_sent": stats.duplicates_sent,
                        "pending_reports": len(stats.pending),
                        "logons": stats.logons,
                        "logons_refused": stats.logons_refused,
                        "disconnects": stats.disconnects,
                        "canceled_on_disconnect": stats.canceled_on_disconnect,
                        "session_rejects_sent": c.rejects_sent,
                        "session_rejects_received": c.rejects_received,
                        "business_rejects_sent": c.business_rejects_sent,
                        "resend_requests_received": c.resend_requests_received,
                        "resend_requests_sent": c.resend_requests_sent,
                        "gap_fills_sent": c.gap_fills_sent,
                        "possdup_ignored": c.possdup_ignored,
                        "garbled_received": fs.garbled,
                    },
                }
            )
        ec = engine.counters
        return {
            "venue": engine.venue,
            "phase": engine.phase.value,
            "phase_pinned": engine.pinned,
            "clock": engine.now().isoformat(),
            "clock_speed": self.clock.speed,
            "started_at": iso(self.started_at),
            "fix": {"host": self.cfg.host, "port": self.acceptor.port},
            "connections_refused": self.acceptor.refused,
            "liquidity": self.liquidity is not None,
            "engine": {
                "orders": ec.orders,
                "rejects": ec.rejects,
                "trades": ec.trades,
                "volume": ec.volume,
            },
            "sessions": sessions,
            "faults": self.faults.to_json(),
        }

    def orders(self) -> list[dict[str, Any]]:
        rows = []
        for a in self.app.arrivals:
            view = self.engine.order_view(a.session, a.cl_ord_id)
            order = None
            if view is not None:
                order = {
                    "order_id": view.order_id,
                    "symbol": view.symbol,
                    "side": view.side.name.lower(),
                    "price": _money(view.price),
                    "order_qty": view.order_qty,
                    "status": view.status.name.lower(),
                    "cum_qty": view.cum_qty,
                    "leaves_qty": view.leaves_qty,
                    "avg_px": _money(view.avg_px),
                    "current_cl_ord_id": view.cl_ord_id,
                }
            rows.append(arrival_json(a, order))
        return rows

    def book(self, symbol: str) -> dict[str, Any]:
        view = self.engine.book_view(symbol)
        if view is None:
            raise ControlError("unknown_symbol", f"no symbol {symbol!r} on this venue", 404)

        def levels(side: list[Any]) -> list[dict[str, Any]]:
            return [
                {"price": _money(lv.price), "quantity": lv.quantity, "count": lv.count}
                for lv in side
            ]

        return {
            "symbol": view.symbol,
            "base_price": _money(view.base_price),
            "lower_limit": _money(view.lower_limit),
            "upper_limit": _money(view.upper_limit),
            "last_price": _money(view.last_price),
            "phase": self.engine.phase.value,
            "bids": levels(view.bids),
            "asks": levels(view.asks),
            "market_buy_qty": view.market_buy_qty,
            "market_sell_qty": view.market_sell_qty,
            "at_open_count": view.at_open_count,
            "at_close_count": view.at_close_count,
        }

    async def inject(self, fault: Fault) -> dict[str, Any]:
        names = self.resolve(fault.session)
        outcomes = {name: self._apply_fault(fault, name) for name in names}
        outcome = "; ".join(f"{n}: {o}" for n, o in outcomes.items())
        record = self.faults.add(fault, names, outcome)
        log.warning("fault injected: %s on %s (%s)", fault.kind.value, names, outcome)
        return record.to_json()

    def _apply_fault(self, fault: Fault, name: str) -> str:
        fs = self.sessions[name]
        k = fault.kind
        p = fault.params
        if k is FaultKind.DISCONNECT:
            if fs.state.value == "disconnected":
                return "not connected"
            fs.faults.disconnect_now()
            return "disconnected"
        if k is FaultKind.REFUSE_LOGONS:
            fs.faults.refuse_logons_until(
                time.time() + p["seconds"], "logon refused (simulator fault refuse_logons)"
            )
            return f"logons refused for {p['seconds']} s"
        if k is FaultKind.DELAY_OUTBOUND:
            fs.faults.delay(p["ms"])
            return f"outbound delayed {p['ms']} ms" if p["ms"] else "outbound delay lifted"
        if k is FaultKind.DROP_OUTBOUND:
            fs.faults.drop_next(p["count"])
            return f"next {p['count']} outbound dropped (stored, numbered)"
        if k is FaultKind.SKIP_SEQ:
            fs.faults.skip_sequence_numbers(p["count"])
            return f"outbound MsgSeqNum jumps by {p['count']}"
        if k is FaultKind.GARBLE_NEXT:
            fs.faults.garble_next(p["count"])
            return f"next {p['count']} outbound garbled"
        if k is FaultKind.DUPLICATE_EXEC_REPORT:
            seq = self.app.duplicate_last_report(name)
            if seq is None:
                raise ControlError(
                    "nothing_to_duplicate",
                    f"{name}: no ExecutionReport to duplicate, or the session is not logged on",
                    409,
                )
            return f"last ExecutionReport sent again as MsgSeqNum {seq} with PossDupFlag=Y"
        if k is FaultKind.REJECT_NEXT_ORDERS:
            self.engine.inject_rejects(name, p["count"])
            return f"next {p['count']} orders rejected"
        if k is FaultKind.STOP_HEARTBEATS:
            fs.faults.stop_heartbeats(True)
            return "heartbeats stopped"
        # CLEAR
        self._clear_faults(name)
        return "faults lifted"

    def _clear_faults(self, name: str) -> None:
        fs = self.sessions[name]
        fs.faults.drop_outbound = 0
        fs.faults.garble_outbound = 0
        fs.faults.delay(0)
        fs.faults.stop_heartbeats(False)
        fs.faults.refuse_logons_until(0.0)
        self.engine.inject_rejects(name, 0)

    async def kill_switch(self, session: str | None, active: bool) -> dict[str, Any]:
        names = self.resolve(session)
        canceled = 0
        for name in names:
            events = self.engine.set_kill_switch(name, active)
            canceled += sum(1 for e in events if e.session == name)
            self.app.dispatch(events)
        log.warning("kill switch %s for %s", "ON" if active else "off", names)
        return {"sessions": names, "kill_switch": active, "canceled": canceled}

    async def cancel_on_disconnect(self, session: str | None, active: bool) -> dict[str, Any]:
        """Turn the session's cancel-on-disconnect behaviour on or off (until restart)."""
        names = self.resolve(session)
        for name in names:
            cfg = dataclasses.replace(self.configs[name], cancel_on_disconnect=active)
            self.configs[name] = cfg
            self.app.configs[name] = cfg  # what on_logout reads
        log.warning("cancel on disconnect %s for %s", "ON" if active else "off", names)
        return {"sessions": names, "cancel_on_disconnect": active}

    async def set_phase(self, phase: str | None) -> dict[str, Any]:
        try:
            pinned = Phase(phase) if phase is not None else None
        except ValueError:
            raise ControlError(
                "unknown_phase",
                f"unknown phase {phase!r} (one of: {', '.join(p.value for p in Phase)})",
            ) from None
        events = self.engine.pin_phase(pinned)
        self.app.dispatch(events)
        log.warning("phase %s", f"pinned to {pinned.value}" if pinned else "follows the clock")
        return {"phase": self.engine.phase.value, "pinned": self.engine.pinned}

    async def reset(self) -> dict[str, Any]:
        for name in self.sessions:
            self.app.dispatch(self.engine.set_kill_switch(name, False))
            self._clear_faults(name)
        self.engine.reset()
        self.app.reset()
        self._load_book()
        if self.liquidity is not None:
            self._start_liquidity()  # a fresh walk from the same seed
        log.warning("simulator reset: books, orders, faults and kill switches cleared")
        return {"reset": True}


async def run_simulator(cfg: SimulatorConfig, stop: asyncio.Event) -> None:
    sim = Simulator(cfg)
    await sim.start()
    # the hot path allocates many short-lived objects: collect young objects less often, and
    # keep everything alive at start-up (reference data, modules) out of the collector's scans
    gc.freeze()
    gc.set_threshold(*GC_THRESHOLDS)
    try:
        await stop.wait()
    finally:
        await sim.stop()


def serve_forever(cfg: SimulatorConfig) -> int:
    """Run until SIGINT/SIGTERM on uvloop; exit 0, or 2 on a setup error."""
    import uvloop

    async def main() -> int:
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(sig, stop.set)
        try:
            await run_simulator(cfg, stop)
        except (SettingsError, ValueError, OSError) as exc:  # BookFileError is a ValueError
            print(f"ordergate simulator: {exc}", file=sys.stderr)
            return 2
        return 0

    return uvloop.run(main())
