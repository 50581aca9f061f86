"""Is a storage failure worth retrying? The one ``is_transient(exc)`` of the storage package.

``Database.session`` asks it about every driver error and turns each transient one into
``DatabaseUnavailable`` / ``DatabaseWriteFailed`` (both ``TemporaryError``), so callers above
storage (the executor, the trading service, the app's loops) only ever check for
``TemporaryError`` and never import SQLAlchemy.

Transient: the server did not answer or went away (connection refused or reset, a pooled
connection closed by a restart, "the database system is starting up", a timeout), refused this
database for now (``ALTER DATABASE ... ALLOW_CONNECTIONS false``: SQLSTATE 55000 "database ... is
not currently accepting connections", which only that message tells apart from other 55000s such
as an undefined ``currval``), or asked for a retry (serialization failure, deadlock, too many
connections). Everything else (a constraint, bad data, a bug) is not: retrying the same
statement cannot help. An ``IntegrityError`` anywhere in the chain is never transient, whatever
caused it.
"""

from __future__ import annotations

from sqlalchemy.exc import (
    DBAPIError,
    DisconnectionError,
    IntegrityError,
    InterfaceError,
    OperationalError,
)
from sqlalchemy.exc import TimeoutError as PoolTimeout

from sniper_bot.errors import TemporaryError

__all__ = ["is_transient"]

# SQLSTATE classes/codes that mean "try again": 08 connection exception, 53 insufficient
# resources, 57P01-57P03 admin shutdown / crash shutdown / cannot connect now, 40001/40P01.
_TRANSIENT_SQLSTATE_PREFIXES = ("08", "53", "57P0")
_TRANSIENT_SQLSTATES = frozenset({"40001", "40P01"})
# 55000 object_not_in_prerequisite_state is mostly a bug of ours; this message is an outage.
_NOT_ACCEPTING = ("55000", "is not currently accepting connections")
_MAX_DEPTH = 8


def is_transient(exc: BaseException) -> bool:
    """True when ``exc`` (or what caused it) is a storage outage or an explicit retry request."""
    current: BaseException | None = exc
    seen: set[int] = set()
    while current is not None and id(current) not in seen and len(seen) < _MAX_DEPTH:
        seen.add(id(current))
        if isinstance(current, IntegrityError):
            return False
        if isinstance(current, TemporaryError | OSError | DisconnectionError | PoolTimeout):
            return True
        if isinstance(current, OperationalError | InterfaceError):
            return True
        if isinstance(current, DBAPIError) and current.connection_invalidated:
            return True
        state = getattr(current, "sqlstate", None)
        if isinstance(state, str) and (
            state in _TRANSIENT_SQLSTATES or state.startswith(_TRANSIENT_SQLSTATE_PREFIXES)
        ):
            return True
        if state == _NOT_ACCEPTING[0] and _NOT_ACCEPTING[1] in str(current):
            return True
        nxt = getattr(current, "orig", None) if isinstance(current, DBAPIError) else None
        current = nxt or current.__cause__
    return False
