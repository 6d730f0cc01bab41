"""Connector integration fixtures: a real FIX acceptor (our engine, in this loop) on a free port."""

from __future__ import annotations

import sys
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parents[2]))

from support.fix_venue import Venue, VenueHandle  # noqa: E402

from fixengine import (  # noqa: E402
    Acceptor,
    FixSession,
    SessionSettings,  # noqa: E402
)


@pytest.fixture
async def venue() -> AsyncIterator[VenueHandle]:
    settings = SessionSettings.from_dict(
        {
            "SenderCompID": "TSE",
            "TargetCompID": "ORDERGATE",
            "ConnectionType": "acceptor",
            "HeartBtInt": "5",
        }
    )
    app = Venue()
    session = FixSession(settings, app=app)
    acceptor = Acceptor([session], "127.0.0.1", 0)
    await acceptor.start()
    yield VenueHandle(app, session, acceptor)
    await acceptor.stop(logout=False)
