"""fixengine: a FIX 4.4 session engine on asyncio and simplefix, initiator and acceptor.

The session rules are a pure state machine (:class:`Session`: events in, :class:`Actions` out;
no socket, clock or store I/O), wrapped by a thin asyncio shell (:class:`FixSession`) that
persists through a :class:`MessageStore` before any byte reaches the socket. Two roles make the
connections: :class:`Initiator` (connects, reconnects with backoff) and :class:`Acceptor`
(listens, routes each connection to its session by CompIDs). The engine depends on nothing but
the standard library, ``simplefix`` and ``tzdata``; a durable store (the project's Redis one
lives in ``connector.redis_store``) plugs in through the ``MessageStore`` protocol.

Usage::

    from fixengine import Application, FixSession, Initiator, MemoryStore, SessionSettings

    class App(Application):                 # every callback optional
        async def on_message(self, session, msg):  # application messages, in MsgSeqNum order
            ...

    settings = SessionSettings.from_dict(
        {"SenderCompID": "OG", "TargetCompID": "TSE", "SocketConnectPort": "9878"}
    )
    session = FixSession(settings, store=MemoryStore(), app=App())
    initiator = Initiator(session)
    await initiator.start()                 # loads stored numbers, connects, reconnects
    await session.wait_logged_on(timeout=30)
    session.send(msg)                       # numbered, stored, then written
    await initiator.stop(logout=True)

    # an acceptor with its own Logon check, run after the session's schedule window check
    venue = FixSession(acceptor_settings, app=Venue(), logon_validator=check_password)
    acceptor = Acceptor([venue], "0.0.0.0", 9878)
    await acceptor.start()

Submodules are public too, for what the top level does not re-export: ``fixengine.codec``
(``frame``, ``Template`` and the hot templates), ``fixengine.framing``, ``fixengine.parser``,
``fixengine.dictionary``, ``fixengine.session`` (the constants of the session rules).
"""

from fixengine.acceptor import Acceptor
from fixengine.application import Application
from fixengine.codec import Template, sending_time
from fixengine.dictionary import DataDictionary
from fixengine.faults import Faults
from fixengine.framing import FrameSplitter
from fixengine.initiator import Initiator
from fixengine.msglog import FileMessageLog, MemoryMessageLog, MessageLog, NullMessageLog
from fixengine.parser import parse
from fixengine.schedule import SessionSchedule
from fixengine.session import Actions, Counters, NotLoggedOn, Session, State
from fixengine.settings import SessionSettings, SettingsError, load_quickfix_cfg
from fixengine.store import FencedError, MemoryStore, MessageStore, StoreState
from fixengine.tls import ssl_context_from_settings
from fixengine.transport import FixSession, LogonValidator, load_dictionary

__all__ = [
    "Acceptor",
    "Actions",
    "Application",
    "Counters",
    "DataDictionary",
    "Faults",
    "FencedError",
    "FileMessageLog",
    "FixSession",
    "FrameSplitter",
    "Initiator",
    "LogonValidator",
    "MemoryMessageLog",
    "MemoryStore",
    "MessageLog",
    "MessageStore",
    "NotLoggedOn",
    "NullMessageLog",
    "Session",
    "SessionSchedule",
    "SessionSettings",
    "SettingsError",
    "State",
    "StoreState",
    "Template",
    "load_dictionary",
    "load_quickfix_cfg",
    "parse",
    "sending_time",
    "ssl_context_from_settings",
]
