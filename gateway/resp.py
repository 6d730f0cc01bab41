"""RESP, the Redis wire protocol, packed by hand: one ``%`` format per argument.

redis-py's own packer checks and encodes every argument through several layers; on the submit
and report paths it cost more client CPU than everything else together. The project's only
RESP packer: used by the script calls (``gateway.scripts``), the batcher's connection
(``gateway.resp_pipe``), the report applier's direct packing (``gateway.reports``) and the
connector's pipelines.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any


def _bulk(a: Any) -> bytes:
    """One argument as a RESP bulk string (the type checks in the order of frequency)."""
    t = type(a)
    if t is str:
        b = a.encode()
    elif t is bytes:
        b = a
    elif t is int:
        b = b"%d" % a
    elif isinstance(a, bytes | bytearray | memoryview):
        b = bytes(a)
    elif isinstance(a, str):
        b = str(a).encode()
    elif isinstance(a, int):
        b = b"%d" % int(a)
    else:
        b = repr(a).encode()
    return b"$%d\r\n%s\r\n" % (len(b), b)


class RespBulk(bytes):
    """An argument already encoded as a RESP bulk string (``$<len>\\r\\n<data>\\r\\n``): the
    submit path encodes its per-account constants once. Only for a client that
    ``packs_itself`` (single Redis): every other path would send these bytes as the value."""


def resp_bulk(value: str | bytes | int) -> RespBulk:
    return RespBulk(_bulk(value))


def _pack_into(out: list[bytes], args: Iterable[Any]) -> None:
    """Append each argument as a RESP bulk string (inlined: this runs ~40 times per submit)."""
    for a in args:
        t = type(a)
        if t is str:
            b = a.encode()
        elif t is bytes:
            b = a
        elif t is RespBulk:
            out.append(a)
            continue
        elif t is int:
            b = b"%d" % a
        else:
            b = _bulk(a)
            out.append(b)
            continue
        out.append(b"$%d\r\n%s\r\n" % (len(b), b))


def command_head(total: int, *first: Any) -> bytes:
    """``*<total>`` and the command's first arguments (name, SHA, key count...): the constant
    head of a command whose other arguments are packed after it."""
    out = [b"*%d\r\n" % total]
    _pack_into(out, first)
    return b"".join(out)


def bulks_format(n: int) -> bytes:
    """The format of ``n`` bulk strings, for ``bulks_format(n) % lens_utf8(...)``."""
    return b"$%d\r\n%b\r\n" * n


def str_bulks_format(n: int) -> str:
    """``bulks_format`` as text: ``% (len, s, ...)`` of ASCII strings, then ``.encode()``, is
    one format for ``n`` arguments (the report path's per-report packing); text that is not
    ASCII (lengths would count characters, not bytes) goes through ``bulks_utf8``."""
    return "$%d\r\n%s\r\n" * n


def lens_utf8(*items: str) -> tuple[int | bytes, ...]:
    """(len, bytes, len, bytes, ...) of UTF-8 encoded ``items``: the values of a
    ``bulks_format``."""
    out: list[int | bytes] = []
    for s in items:
        b = s.encode()
        out += (len(b), b)
    return tuple(out)


def bulks_utf8(*items: str) -> bytes:
    """RESP bulk strings of ``items`` encoded as UTF-8 (lengths in bytes)."""
    return bulks_format(len(items)) % lens_utf8(*items)


def pack_commands(commands: Sequence[Sequence[Any]]) -> bytes:
    """RESP encoding of several commands (str, bytes, int, float args), in one buffer.

    redis-py's own packer checks and encodes every argument through several layers; on the
    submit and report paths it cost more client CPU than everything else together. One
    ``%`` format per argument is the cheapest pure-Python encoding measured."""
    out: list[bytes] = []
    for args in commands:
        out.append(b"*%d\r\n" % len(args))
        _pack_into(out, args)
    return b"".join(out)
