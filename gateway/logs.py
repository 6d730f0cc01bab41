"""Process logging: one format for every ``ordergate`` command that runs as a service."""

from __future__ import annotations

import logging

FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"


def configure(level: str) -> None:
    """Log to stderr at ``level`` (a name such as ``info``; an unknown name means INFO)."""
    logging.basicConfig(level=getattr(logging, str(level).upper(), logging.INFO), format=FORMAT)
