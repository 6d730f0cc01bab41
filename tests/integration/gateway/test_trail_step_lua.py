"""The scripts' trail steps are the one encoder's compact JSON (gateway.trail), byte for byte."""

import json
from typing import Any

import pytest

from gateway import trail
from gateway.scripts import prelude

# cjson escapes "/" and writes non-ASCII raw where json.dumps writes \uXXXX (both read back the
# same), and orders a table's keys by hash: the cases use one-key details of plain text
CASES = [
    ("2026-11-27T01:00:00.000001Z", "cancel_requested", "api", "api@h:1", {}),
    ("2026-11-27T01:00:00.000002Z", "sent", "connector", 'q"uote\\', {"entry_id": "1-0"}),
]
CALL = "\nreturn step(ARGV[1], ARGV[2], ARGV[3], ARGV[4], cjson.decode(ARGV[5]))"


@pytest.mark.parametrize(("at", "step", "component", "process", "detail"), CASES)
async def test_lua_step_writes_what_step_json_writes(
    redis: Any, at: str, step: str, component: str, process: str, detail: dict[str, Any]
) -> None:
    args = (at, step, component, process, json.dumps(detail))
    got = await redis.eval(prelude() + CALL, 1, "og:{0}:x", *args)
    got = got.decode() if isinstance(got, bytes) else got
    assert got == trail.step_json(at, step, component, process, detail, compact=True)
