"""How a configured session becomes the FIX engine's acceptor settings."""

from __future__ import annotations

import pytest

from fixengine import SettingsError
from simulators.exchange.config import SessionConfig
from simulators.exchange.server import session_settings


def test_session_becomes_an_acceptor_with_its_comp_ids_and_address() -> None:
    s = session_settings(SessionConfig("TSE", "ORDERGATE"), "127.0.0.1", 9878)
    assert (s.SenderCompID, s.TargetCompID, s.ConnectionType) == ("TSE", "ORDERGATE", "acceptor")
    assert (s.SocketAcceptHost, s.SocketAcceptPort) == ("127.0.0.1", 9878)
    assert s.UseDataDictionary  # inbound messages are validated by default


def test_quickfix_named_settings_pass_through() -> None:
    cfg = SessionConfig("TSE", "OG", settings={"ResetOnLogon": True, "HeartBtInt": 5})
    s = session_settings(cfg, "127.0.0.1", 0)
    assert s.ResetOnLogon and s.HeartBtInt == 5


def test_unknown_quickfix_setting_is_an_error_naming_it() -> None:
    cfg = SessionConfig("TSE", "OG", settings={"ResetOnLogin": "Y"})
    with pytest.raises(SettingsError, match="ResetOnLogin"):
        session_settings(cfg, "127.0.0.1", 0)


def test_heartbeat_check_becomes_the_engines_check_peer_heartbeats_setting() -> None:
    off = session_settings(SessionConfig("TSE", "OG"), "127.0.0.1", 0)
    on = session_settings(SessionConfig("TSE", "OG", heartbeat_check=True), "127.0.0.1", 0)
    assert (off.CheckPeerHeartbeats, on.CheckPeerHeartbeats) == (False, True)
