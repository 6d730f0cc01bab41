"""Every engine-over-TCP test runs on both event loops the project uses: asyncio's and uvloop's
(production processes run on uvloop; its transports differ in details, e.g. class hierarchy)."""

from __future__ import annotations

import asyncio

import pytest
import uvloop


@pytest.fixture(scope="session", params=["asyncio", "uvloop"])
def event_loop_policy(request: pytest.FixtureRequest) -> asyncio.AbstractEventLoopPolicy:
    if request.param == "uvloop":
        return uvloop.EventLoopPolicy()
    return asyncio.DefaultEventLoopPolicy()
