"""The connector's Redis message store: the FIX engine's ``MessageStore`` (``fixengine.store``) on
Redis, the production backend, under the session's own hash tag.

Layout (names from ``gateway.keys``, all sharing the tag ``{FIX.4.4:SENDER->TARGET}``):

- ``fix_state``  hash ``next_sender``, ``next_target``, ``creation_time``
- ``fix_out``    hash MsgSeqNum -> raw outbound application message (for resend)
- ``fix_fence``  string, the current fencing token (bumped by whoever takes the leader lease)

``save`` is ONE round trip (EVALSHA of ``lua/store_save.lua``) however many messages the batch
holds, and is refused with :class:`FencedError` when a fencing token is set and is no longer
the current one.

With ``sent_id`` (a function of a raw outbound message: the id the application knows it by,
or None) the same fenced script also records ``id -> MsgSeqNum`` in ``fix_sent`` for every
message that has one: the connector records the ClOrdIDs it sent, so that after a crash it
never sends an order twice. ``fix_sent`` survives sequence resets.
"""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable, Sequence
from typing import Any, cast

import redis.asyncio as aioredis
from redis.exceptions import NoScriptError, ResponseError

from connector.scripts import STORE_SAVE
from fixengine import FencedError, StoreState
from gateway import keys
from gateway.scripts import pipeline

_HMGET_CHUNK = 1000


class RedisStore:
    def __init__(
        self,
        client: aioredis.Redis,
        session_id: str,
        fence_token: int | str | None = None,
        *,
        sent_id: Callable[[bytes], str | None] | None = None,
    ) -> None:
        self.client = client
        self.session_id = session_id
        self.fence_token = fence_token
        self.state_key = keys.fix_state(session_id)
        self.out_key = keys.fix_out(session_id)
        self.fence_key = keys.fix_fence(session_id)
        self.sent_key = keys.fix_sent(session_id)
        self.sent_id = sent_id
        self._keys = [self.state_key, self.out_key, self.fence_key]
        if sent_id is not None:
            self._keys.append(self.sent_key)
        self.round_trips = 0

    async def load(self) -> StoreState:
        # redis-py 5 types its commands ``Awaitable[T] | T`` (one signature for both clients)
        raw = await cast(Awaitable[dict[bytes, bytes]], self.client.hgetall(self.state_key))
        self.round_trips += 1
        if not raw:
            now = time.time()
            await cast(
                Awaitable[Any], self.client.hsetnx(self.state_key, "creation_time", repr(now))
            )
            return StoreState(1, 1, now)
        get = {k.decode(): v.decode() for k, v in raw.items()}
        return StoreState(
            int(get.get("next_sender", 1)),
            int(get.get("next_target", 1)),
            float(get.get("creation_time", time.time())),
        )

    async def save(
        self,
        next_sender: int,
        next_target: int,
        messages: Sequence[tuple[int, bytes]] = (),
        reset: bool = False,
        *,
        sent_ids: Sequence[str | None] | None = None,
    ) -> None:
        """The fenced write-ahead, one round trip. ``sent_ids``: ``sent_id`` of each message,
        when the caller already has them (else computed here)."""
        args: list[bytes | str | int] = [
            "" if self.fence_token is None else str(self.fence_token),
            next_sender,
            next_target,
            "1" if reset else "0",
            repr(time.time()),
            len(messages),
        ]
        sent: list[str | int] = []
        if sent_ids is None and self.sent_id is not None:
            sent_ids = [self.sent_id(raw) for _, raw in messages]
        for seq, raw in messages:
            args.append(seq)
            args.append(raw)
        if sent_ids is not None and self.sent_id is not None:
            for (seq, _), ident in zip(messages, sent_ids, strict=True):
                if ident is not None:
                    sent.append(ident)
                    sent.append(seq)
        args += sent
        try:
            # packed by gateway.scripts (redis-py's per-argument packer cost more than the rest)
            (res,) = await pipeline(self.client, [STORE_SAVE.evalsha(self._keys, args)])
            if isinstance(res, NoScriptError):  # Redis restarted or failed over
                (res,) = await pipeline(self.client, [STORE_SAVE.eval(self._keys, args)])
            if isinstance(res, Exception):
                raise res
        except ResponseError as exc:
            if "FENCED" in str(exc):
                raise FencedError(str(exc)) from None
            raise
        finally:
            self.round_trips += 1

    async def get_messages(self, begin: int, end: int) -> dict[int, bytes]:
        out: dict[int, bytes] = {}
        for lo in range(begin, end + 1, _HMGET_CHUNK):
            seqs = list(range(lo, min(lo + _HMGET_CHUNK, end + 1)))
            values = await cast(
                Awaitable[list[Any]], self.client.hmget(self.out_key, [str(s) for s in seqs])
            )
            self.round_trips += 1
            for s, v in zip(seqs, values, strict=True):
                if v is not None:
                    out[s] = bytes(v)
        return out

    async def close(self) -> None:
        return None
