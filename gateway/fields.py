"""One home for the Redis hash field names that more than one writer spells.

``keys.py`` names the keys; this module names the fields inside them that the API, the
connector and the Lua scripts share. The scripts get them from ``lua_constants()``, spliced
into their prelude by ``gateway/scripts.py`` (like the state table), so no Lua file spells one.
"""

from __future__ import annotations

# order hash (``keys.order``): the ClOrdID the venue knows the order by now (a replace changes it)
ORDER_CLORDID = "clordid"

# halt hash (``keys.halt``): one field per halt in force, value = JSON {at, by, reason}
HALT_ALL = "all"
HALT_VENUE = "venue:"  # + venue
HALT_ACCOUNT = "account:"  # + account


def halt_venue(venue: str) -> str:
    return HALT_VENUE + venue


def halt_account(account: str) -> str:
    return HALT_ACCOUNT + account


_LUA = {
    "F_CLORDID": ORDER_CLORDID,
    "HALT_ALL": HALT_ALL,
    "HALT_VENUE": HALT_VENUE,
    "HALT_ACCOUNT": HALT_ACCOUNT,
}


def lua_constants() -> str:
    """The names as Lua locals, one line each (``local HALT_ALL = 'all'``)."""
    return "\n".join(f"local {name} = '{value}'" for name, value in _LUA.items())
