"""One encoder for an order's trail step, the JSON object every component appends to
``keys.trail`` (``{"at", "step", "component", "process", "detail"}``, in that order).

Every writer goes through here: ``step_json`` for a step written now and then; ``template``
for the hot writers (the API's submit, the connector's ``sent`` steps), a ``%`` format made
once from ``step_json`` itself, so the hot text cannot drift from it; ``lua_step()`` is the
Lua function spliced into the scripts' prelude (``gateway/scripts.py``), built from the same
field order. Two spacings exist on the wire and both stay: the API and the scripts write
compact JSON, the connector ``json.dumps``' default; ``parse`` reads both into a ``TrailStep``.
"""

from __future__ import annotations

import json
from json.encoder import encode_basestring_ascii as _q
from typing import Any

from gateway.model import TrailStep

FIELDS = ("at", "step", "component", "process", "detail")
COMPACT = (",", ":")
_SPACED = json.JSONEncoder(default=str)  # one encoder: json.dumps(default=...) builds one per call
_COMPACT = json.JSONEncoder(default=str, separators=COMPACT)


def step_json(
    at: str,
    step: str,
    component: str,
    process: str,
    detail: dict[str, Any] | None = None,
    *,
    compact: bool = False,
) -> str:
    """One step as JSON text (what ``json.dumps`` writes, with ``default=str``)."""
    enc = _COMPACT if compact else _SPACED
    return enc.encode(
        {"at": at, "step": step, "component": component, "process": process, "detail": detail or {}}
    )


def template(
    step: str,
    component: str,
    detail_keys: tuple[str, ...],
    *,
    compact: bool,
    raw: tuple[str, ...] = ("at",),
) -> str:
    """``step_json`` of ``step`` as a ``%`` format with one ``%s`` per slot, in order: ``at``,
    ``process``, then each of ``detail_keys``. A slot takes JSON text (a ``_q``-quoted string,
    an int), except the ``raw`` ones, whose quotes are in the format (text that needs no
    escaping: the ISO time, a Redis entry id)."""
    names = ("at", "process", *detail_keys)
    marks = {n: f"\x00{i}\x00" for i, n in enumerate(names)}
    text = step_json(
        marks["at"],
        step,
        component,
        marks["process"],
        {k: marks[k] for k in detail_keys},
        compact=compact,
    ).replace("%", "%%")
    for n, m in marks.items():
        quoted = json.dumps(m)
        text = text.replace(quoted, f'"{"%s"}"' if n in raw else "%s")
    return text


def detail_json(d: dict[str, Any]) -> str:
    """``d`` as ``json.dumps`` writes it. Fast path for the flat str / int details the
    connector attaches to every report (the general encoder cost ~3.5 us per report)."""
    if not d:
        return "{}"
    parts = []
    for k, v in d.items():
        t = type(v)
        if type(k) is not str:
            return _SPACED.encode(d)
        if t is str:
            parts.append(f"{_q(k)}: {_q(v)}")
        elif t is int:
            parts.append(f"{_q(k)}: {v}")
        else:
            return _SPACED.encode(d)
    return "{" + ", ".join(parts) + "}"


def parse(raw: str | bytes) -> TrailStep | None:
    """A stored step (either spacing); None for text that is not a JSON object."""
    try:
        d = json.loads(raw)
    except ValueError:
        return None
    if not isinstance(d, dict):
        return None
    detail = d.get("detail")
    if not isinstance(detail, dict):  # cjson encodes an empty table as {} or []
        detail = {}
    return TrailStep(
        str(d.get("at", "")),
        str(d.get("step", "")),
        str(d.get("component", "")),
        str(d.get("process", "")),
        detail,
    )


def lua_step() -> str:
    """The scripts' ``step(at, name, component, process, detail)``: compact JSON, fields in
    ``FIELDS`` order (cjson would order a table's keys by hash)."""
    args = {"at": "at", "step": "name", "component": "component", "process": "process"}
    parts = []
    for i, f in enumerate(FIELDS):
        value = "cjson.encode(detail or {})" if f == "detail" else f"cjson.encode({args[f]})"
        parts.append(f"'{'{' if i == 0 else ','}\"{f}\":' .. {value}")
    return (
        "local function step(at, name, component, process, detail)\n"
        f"  return {' .. '.join(parts)} .. '}}'\nend"
    )
