"""The one classifier of database errors, by SQLSTATE and exception type, never by message text.

Every caller needs the same four answers: the connection is gone (reconnect, then retry; a
worker may go offline), the server is busy (retry after a pause), the data is bad (isolate the
row, store the rest; an API answers 400), or it is a bug (log the traceback, fail /healthz,
never retry as if the database were away).
"""

from __future__ import annotations

import asyncio
import enum

import asyncpg
from asyncpg.exceptions import _base as _asyncpg_base


class DbFault(enum.Enum):
    LOST = "lost"  # the connection is gone: refused, reset, closed, server shutting down
    BUSY = "busy"  # the server is there but cannot serve now: timeouts, overload, conflicts
    DATA = "data"  # this data breaks a rule or cannot be encoded: isolate it
    BUG = "bug"  # the statement itself is wrong (undefined column, wrong argument count)


# SQLSTATE classes (first two characters) and codes; see the PostgreSQL manual, appendix A.
_LOST_STATES = frozenset({"57P01", "57P02", "57P03"})  # admin/crash shutdown, cannot connect now
_LOST_CLASSES = frozenset({"08"})  # connection exception
_BUSY_STATES = frozenset(
    {
        "57014",  # query_canceled: statement_timeout, or a cancel from outside
        "55P03",  # lock_not_available: lock_timeout
        "25006",  # read_only_sql_transaction: a failover left us on a standby for now
    }
)
_BUSY_CLASSES = frozenset({"40", "53"})  # transaction rollback (deadlock, serialization); resources
_DATA_CLASSES = frozenset({"22", "23"})  # data exception; integrity constraint violation


def classify(exc: BaseException) -> DbFault:
    """What a database error means for the caller (see the module docstring)."""
    if isinstance(exc, asyncpg.PostgresError):
        state = exc.sqlstate or ""
        if state in _LOST_STATES or state[:2] in _LOST_CLASSES:
            return DbFault.LOST
        if state in _BUSY_STATES or state[:2] in _BUSY_CLASSES:
            return DbFault.BUSY
        if state[:2] in _DATA_CLASSES:
            return DbFault.DATA
        return DbFault.BUG
    # A value asyncpg cannot encode for its column. Parameters raise asyncpg's DataError; a
    # binary COPY raises what the codec raised: OverflowError for a number out of range of
    # smallint, UnicodeEncodeError for a lone surrogate.
    if isinstance(exc, (_asyncpg_base.DataError, OverflowError, UnicodeEncodeError)):
        return DbFault.DATA
    if isinstance(exc, asyncpg.exceptions.OutdatedSchemaCacheError):
        return DbFault.BUSY  # a type changed under a prepared statement: it is re-prepared
    # TimeoutError is an OSError since Python 3.3: an overloaded server times out too.
    if isinstance(exc, (TimeoutError, asyncio.TimeoutError)):
        return DbFault.BUSY
    if isinstance(exc, OSError):
        return DbFault.LOST  # refused, reset, no such socket, unreachable
    if isinstance(exc, asyncpg.InternalClientError):
        return DbFault.LOST  # a protocol state broken by a connection that was just lost
    # An InterfaceError is the client's complaint: a wrong argument count, a closed pool, a
    # call on a connection already closed. The owner of a dedicated connection (LISTEN) knows
    # whether it was closed (is_closed(), a termination listener) and treats that as LOST.
    return DbFault.BUG


def is_retryable(exc: BaseException) -> bool:
    """The connection is gone or the server is busy: the same statement may work later."""
    return classify(exc) in (DbFault.LOST, DbFault.BUSY)


def is_missing_partition(exc: BaseException) -> bool:
    """A row whose time has no partition of `checks` yet.

    PostgreSQL reports it as check_violation (23514) naming no constraint, where a real CHECK
    names its constraint.
    """
    return (
        isinstance(exc, asyncpg.PostgresError)
        and exc.sqlstate == "23514"
        and getattr(exc, "constraint_name", None) is None
    )


def describe(exc: BaseException) -> str:
    """A short, log-friendly name of the error: its SQLSTATE where it has one."""
    state = getattr(exc, "sqlstate", None)
    return f"{type(exc).__name__}({state})" if state else type(exc).__name__
