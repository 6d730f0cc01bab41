"""The connector's own Lua scripts (``connector/lua/``), each loaded once per process through
the core's loader (``gateway.scripts.Script``) and shared by every concern that calls it."""

from __future__ import annotations

from pathlib import Path

from gateway.scripts import Script

LUA_DIR = Path(__file__).parent / "lua"

SENT_AND_ACK = Script("sent_and_ack", LUA_DIR)  # sent records' trail steps + XACK, one slot
STORE_SAVE = Script("store_save", LUA_DIR)  # the FIX store's fenced write-ahead
LEASE_ACQUIRE = Script("lease_acquire", LUA_DIR)
LEASE_RENEW = Script("lease_renew", LUA_DIR)
LEASE_RELEASE = Script("lease_release", LUA_DIR)
