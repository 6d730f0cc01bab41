"""One script loader: every Lua script is read, hashed and loaded by ``gateway.scripts.Script``."""

import re
from pathlib import Path

import connector.scripts
from gateway.scripts import NAMES, Script

ROOT = Path(__file__).resolve().parents[3]
PACKAGES = ("gateway", "connector", "stateless_api", "console", "simulators", "fixengine")


def test_no_module_but_the_loader_reads_or_loads_a_lua_script():
    offenders = []
    for pkg in PACKAGES:
        for path in (ROOT / pkg).rglob("*.py"):
            if path == ROOT / "gateway" / "scripts.py":
                continue
            text = path.read_text()
            if re.search(r"register_script|script_load|\.lua\"\)\.read_text|hashlib\.sha1", text):
                offenders.append(str(path.relative_to(ROOT)))
    assert offenders == []


def test_every_connector_script_is_loaded_once_through_the_core_loader():
    lua_dir = ROOT / "connector" / "lua"
    loaded = {v.name: v for v in vars(connector.scripts).values() if isinstance(v, Script)}
    assert sorted(loaded) == sorted(p.stem for p in lua_dir.glob("*.lua"))
    for script in loaded.values():
        assert script.source == (lua_dir / f"{script.name}.lua").read_text()


def test_gateway_scripts_carry_the_prelude_and_connector_scripts_do_not():
    assert all("local STATES =" in Script(n).source for n in NAMES)
    assert "local STATES =" not in connector.scripts.SENT_AND_ACK.source
