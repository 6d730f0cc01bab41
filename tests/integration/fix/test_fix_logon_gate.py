"""The acceptor's Logon gate over real TCP: the session's schedule window is checked first, then
the application's ``logon_validator``; a validator (credentials) never opens a closed window."""

from __future__ import annotations

from support.fixtcp import BROKER, EXCH, Recorder, make_settings, window
from support.procs import async_wait_until

from fixengine import Acceptor, FixSession, Initiator, MemoryStore
from simulators.exchange.config import SessionConfig, SimulatorConfig
from simulators.exchange.server import Simulator


async def _log_on(port: int, **initiator_kw: object) -> tuple[str, Recorder]:
    """Log on to ``port`` as BROKER: the acceptor's Logout text ("" if it accepted), the app."""
    app = Recorder()
    broker = FixSession(make_settings("initiator", **initiator_kw), store=MemoryStore(), app=app)
    ini = Initiator(broker, "127.0.0.1", port)
    await ini.start()
    try:

        async def refused() -> bool:
            return bool(broker.core.last_logout_text) or app.logons > 0

        await async_wait_until(refused, 10, "the acceptor's answer to the Logon")
        return broker.core.last_logout_text, app
    finally:
        await ini.stop(logout=False)


async def test_logon_validator_runs_only_inside_the_schedule_window() -> None:
    seen: list[bytes] = []

    def accept_anyone(msg) -> str | None:  # type: ignore[no-untyped-def]
        seen.append(msg.get(553) or b"")
        return None

    exch = FixSession(
        make_settings("acceptor", **window(1, 2)),
        store=MemoryStore(),
        logon_validator=accept_anyone,
    )
    acceptor = Acceptor([exch], "127.0.0.1", 0)
    await acceptor.start()
    try:
        text, app = await _log_on(acceptor.port, Username="u", Password="p")
        assert text == "outside the session window"
        assert app.logons == 0 and seen == []
    finally:
        await acceptor.stop(logout=False)


async def test_logon_validator_log_on_is_the_logout_text() -> None:
    exch = FixSession(
        make_settings("acceptor"), store=MemoryStore(), logon_validator=lambda _m: "not you"
    )
    acceptor = Acceptor([exch], "127.0.0.1", 0)
    await acceptor.start()
    try:
        text, app = await _log_on(acceptor.port)
        assert text == "not you" and app.logons == 0
    finally:
        await acceptor.stop(logout=False)


async def _simulator(window: dict[str, str]) -> Simulator:
    session = SessionConfig(EXCH, BROKER, settings=dict(window), password="s3cret")
    sim = Simulator(SimulatorConfig(port=0, control_port=0, sessions=(session,)))
    await sim.start()
    return sim


async def test_simulator_session_with_credentials_refuses_logons_outside_its_window() -> None:
    sim = await _simulator(window(1, 2))
    try:
        text, app = await _log_on(sim.acceptor.port, Username="og", Password="s3cret")
        assert text == "outside the session window" and app.logons == 0
    finally:
        await sim.stop()


async def test_simulator_session_with_credentials_accepts_the_right_password_in_its_window() -> (
    None
):
    sim = await _simulator(window(-1, 1))
    try:
        text, app = await _log_on(sim.acceptor.port, Username="og", Password="s3cret")
        assert app.logons == 1 and text == ""
    finally:
        await sim.stop()
