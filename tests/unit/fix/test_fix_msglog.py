"""The FIX message log never writes a credential."""

from __future__ import annotations

from pathlib import Path

import simplefix

from fixengine import FileMessageLog
from fixengine.msglog import IN, redact_secrets


def _logon(password: bytes) -> bytes:
    m = simplefix.FixMessage()
    m.append_pair(8, "FIX.4.4", header=True)
    m.append_pair(35, "A", header=True)
    m.append_pair(49, "ORDERGATE", header=True)
    m.append_pair(56, "TSE", header=True)
    m.append_pair(34, 1, header=True)
    m.append_pair(98, 0)
    m.append_pair(108, 30)
    m.append_pair(553, "og-user")
    m.append_pair(554, password)
    m.append_pair(925, b"next-" + password)
    return bytes(m.encode())


def test_password_and_new_password_are_redacted_in_the_file(tmp_path: Path) -> None:
    log = FileMessageLog(tmp_path)
    log.write("FIX.4.4:ORDERGATE->TSE", "OUT", 1_700_000_000.25, _logon(b"s3cr3t-pw"))
    log.close()
    text = log.path_for("FIX.4.4:ORDERGATE->TSE").read_bytes()
    assert b"s3cr3t-pw" not in text
    assert b"\x01554=***\x01" in text and b"\x01925=***\x01" in text
    assert b"\x01553=og-user\x01" in text  # the username stays: it names who logged on


def test_messages_without_credentials_are_logged_byte_for_byte() -> None:
    raw = b"8=FIX.4.4\x019=5\x0135=0\x0110=000\x01"
    assert redact_secrets(raw) is raw


def test_a_tag_that_merely_ends_in_554_is_not_redacted() -> None:
    raw = b"8=FIX.4.4\x019=12\x0135=0\x015554=x\x0110=000\x01"
    assert redact_secrets(raw) == raw


def test_each_line_carries_the_stamp_of_its_own_time(tmp_path: Path) -> None:
    """The file log reuses a stamp while the time is the same (one per batch): a new time
    still gets its own stamp."""
    log = FileMessageLog(tmp_path)
    times = [1764205200.25, 1764205200.25, 1764205201.5, 1764205200.25]
    for i, ts in enumerate(times):
        log.write("S", IN, ts, b"8=FIX.4.4\x0134=%d\x01" % i)
    log.close()
    lines = log.path_for("S").read_bytes().splitlines()
    stamps = [line.split(b" ", 1)[0] for line in lines]
    assert stamps == [
        b"2025-11-27T01:00:00.250000Z",
        b"2025-11-27T01:00:00.250000Z",
        b"2025-11-27T01:00:01.500000Z",
        b"2025-11-27T01:00:00.250000Z",
    ]
    assert lines[2] == b"2025-11-27T01:00:01.500000Z IN 8=FIX.4.4\x0134=2\x01"
