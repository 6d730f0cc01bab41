"""The callbacks a FIX session calls: what an application built on the engine overrides."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Any

import simplefix

from fixengine.session import State

if TYPE_CHECKING:
    from fixengine.transport import FixSession


class Application:
    """Callbacks; override what you need.

    Application messages reach ``on_message`` one at a time, in MsgSeqNum order. It may be a
    coroutine function: it is then awaited in order, and the stored inbound number advances
    past a message only once it returned.

    Batched delivery: an application that defines ``on_messages(session, msgs)`` as a
    coroutine function gets, instead of ``on_message``, every application message that is
    ready, in MsgSeqNum order, in one call. The list GROWS while the call runs: messages parsed
    meanwhile are appended in order (up to ``LIVE_BATCH_MAX`` in all; the rest come in the next
    call), so an application that awaits (Redis) between chunks and reads ``msgs`` by index up to
    ``len(msgs)`` keeps its round trips busy instead of finishing a batch before it sees the next.
    The stored inbound number advances past a batch only once the call returned, so a crash
    re-delivers, never loses. If the call raises, the batch is NOT taken
    as delivered: the session reports ``on_event(session, "apply_failure", repr(exc))`` and
    stops delivering; the batch (with anything newer) is offered again with the next inbound
    application message. An application that cannot retry (the connector) ends the session
    then, and the next session asks the peer again from the stored number.
    """

    on_messages: Callable[[FixSession, list[simplefix.FixMessage]], Awaitable[Any]] | None = None

    def on_logon(self, session: FixSession) -> None:
        return None

    def on_logout(self, session: FixSession) -> None:
        return None

    def on_message(self, session: FixSession, msg: simplefix.FixMessage) -> Any:
        return None

    def on_state_change(self, session: FixSession, old: State, new: State) -> None:
        return None

    def on_event(self, session: FixSession, kind: str, text: str) -> None:
        """Everything else worth a log line: reject_received, garbled, disconnect reasons."""
        return None
