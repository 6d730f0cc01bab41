"""Message store: next sequence numbers and outbound application messages, for resend.

The transport persists through this interface BEFORE bytes reach the socket: one ``save`` per
batch of outbound messages (one round trip for the Redis backend). ``MemoryStore`` is for unit
tests and benchmarks; a durable backend implements the same protocol (this project's is the
connector's ``connector.redis_store.RedisStore``).
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol


class FencedError(RuntimeError):
    """The store refused a write: another holder owns the session's fencing token now."""


@dataclass(frozen=True, slots=True)
class StoreState:
    next_sender: int
    next_target: int
    creation_time: float


class MessageStore(Protocol):
    async def load(self) -> StoreState:
        """The stored sequence numbers (1/1 and a fresh creation time for a new session)."""
        ...

    async def save(
        self,
        next_sender: int,
        next_target: int,
        messages: Sequence[tuple[int, bytes]] = (),
        reset: bool = False,
    ) -> None:
        """Persist sequence numbers and messages in one step; ``reset`` first clears everything."""
        ...

    async def get_messages(self, begin: int, end: int) -> dict[int, bytes]:
        """Stored outbound messages with ``begin <= seq <= end``."""
        ...

    async def close(self) -> None: ...


class MemoryStore:
    """In-process store. ``save_now`` is synchronous so the transport can skip a loop turn."""

    synchronous = True

    def __init__(self, next_sender: int = 1, next_target: int = 1) -> None:
        self.next_sender = next_sender
        self.next_target = next_target
        self.creation_time = time.time()
        self.messages: dict[int, bytes] = {}
        self.saves = 0

    async def load(self) -> StoreState:
        return StoreState(self.next_sender, self.next_target, self.creation_time)

    def save_now(
        self,
        next_sender: int,
        next_target: int,
        messages: Sequence[tuple[int, bytes]] = (),
        reset: bool = False,
    ) -> None:
        if reset:
            self.messages.clear()
            self.creation_time = time.time()
        self.next_sender = next_sender
        self.next_target = next_target
        for seq, raw in messages:
            self.messages[seq] = raw
        self.saves += 1

    async def save(
        self,
        next_sender: int,
        next_target: int,
        messages: Sequence[tuple[int, bytes]] = (),
        reset: bool = False,
    ) -> None:
        self.save_now(next_sender, next_target, messages, reset)

    async def get_messages(self, begin: int, end: int) -> dict[int, bytes]:
        return {s: m for s, m in self.messages.items() if begin <= s <= end}

    async def close(self) -> None:
        return None
