"""What every concern of the connector shares: its component name on the trail, and two small
conversions of Redis replies and clock readings."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from gateway.model import utc_iso

COMPONENT = "connector"


def text(v: Any) -> str:
    """A Redis reply value (bytes or not) as str."""
    return v.decode() if isinstance(v, bytes) else str(v)


def utc_iso_now() -> str:
    return utc_iso(datetime.now(UTC))
