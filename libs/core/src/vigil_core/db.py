"""The one asyncpg pool factory and the loader for named SQL queries kept in .sql files."""

from __future__ import annotations

import re
from importlib import resources
from typing import TYPE_CHECKING, Any, TypeAlias

import asyncpg
import msgspec

if TYPE_CHECKING:
    from asyncpg.pool import PoolAcquireContext, PoolConnectionProxy

    # What a query helper takes: a connection of its own or one on loan from a pool.
    Conn: TypeAlias = asyncpg.Connection[asyncpg.Record] | PoolConnectionProxy[asyncpg.Record]
else:
    Conn = asyncpg.Connection


_json_encode = msgspec.json.Encoder().encode
_json_decode = msgspec.json.Decoder().decode


def _jsonb_encode(value: object) -> bytes:
    return b"\x01" + _json_encode(value)  # jsonb's binary format: version 1, then the text


def _jsonb_decode(data: bytes) -> object:
    return _json_decode(memoryview(data)[1:])


async def _init_connection(conn: Conn) -> None:
    # jsonb columns come back as Python objects and go in from them. Binary, so that binary
    # COPY (the worker's result writer) can carry jsonb too.
    await conn.set_type_codec(
        "jsonb", encoder=_jsonb_encode, decoder=_jsonb_decode, schema="pg_catalog", format="binary"
    )
    await conn.set_type_codec(
        "json", encoder=_json_encode, decoder=_json_decode, schema="pg_catalog", format="binary"
    )


async def connect(dsn: str, **kwargs: Any) -> asyncpg.Connection:
    """A single connection with Vigil's codecs (for LISTEN and tools)."""
    conn = await asyncpg.connect(dsn, **kwargs)
    await _init_connection(conn)
    return conn


async def keep_session(conn: Conn) -> None:
    """A pool's `reset` that returns a connection as it is (asyncpg still rolls back an open
    transaction and drops its listeners first).

    asyncpg's default reset sends `pg_advisory_unlock_all(); CLOSE ALL; UNLISTEN *; RESET ALL`
    on every release: a round trip that cost 55 µs of client CPU, 37 µs of the backend's and
    100 µs of wall time a release (`SELECT 1` through a one-connection pool, 3 x 3,000, PG 15).
    Vigil's pooled connections leave none of that behind: their advisory locks and set_config
    calls are transaction-scoped, they open no cursors outside a transaction, and LISTEN runs
    on connections of its own (vigil_core.listen). A pool whose users do set session state
    passes a reset of its own (the API's audit context).
    """


class BoundedPool(asyncpg.Pool):
    """A pool whose every acquire is bounded, including the implicit one of pool.fetch() & co.

    asyncpg waits for a free connection for ever by default: a pool drained by stuck calls
    would hang every caller instead of failing them, and a failure is what gets retried.
    """

    def __init__(self, *args: Any, acquire_timeout: float | None = None, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.acquire_timeout = acquire_timeout

    def acquire(self, *, timeout: float | None = None) -> PoolAcquireContext:
        return super().acquire(timeout=self.acquire_timeout if timeout is None else timeout)


async def create_pool(
    dsn: str,
    *,
    min_size: int = 1,
    max_size: int = 10,
    acquire_timeout: float | None = None,
    command_timeout: float | None = None,
    statement_timeout_s: float | None = None,
    lock_timeout_s: float | None = None,
    server_settings: dict[str, str] | None = None,
    **kwargs: Any,
) -> asyncpg.Pool:
    """The one pool factory. The timeouts come from Settings.pool_options(); 0 server-side
    timeouts mean none (PostgreSQL's own default). A released connection goes back as it is
    (keep_session) unless `reset` says otherwise."""
    settings = dict(server_settings or {})
    if statement_timeout_s is not None:
        settings.setdefault("statement_timeout", str(int(statement_timeout_s * 1000)))
    if lock_timeout_s is not None:
        settings.setdefault("lock_timeout", str(int(lock_timeout_s * 1000)))
    # asyncpg.create_pool's defaults, which the Pool constructor wants spelled out.
    options = {
        "max_queries": 50000,
        "max_inactive_connection_lifetime": 300.0,
        "setup": None,
        "reset": keep_session,
        "loop": None,
        "connection_class": asyncpg.Connection,
        "record_class": asyncpg.Record,
        **kwargs,
    }
    return await BoundedPool(
        dsn,
        min_size=min_size,
        max_size=max_size,
        init=_init_connection,
        acquire_timeout=acquire_timeout,
        command_timeout=command_timeout,
        server_settings=settings or None,
        **options,
    )


_NAME = re.compile(r"^--\s*name:\s*(\w+)\s*$", re.MULTILINE)


def parse_queries(text: str) -> dict[str, str]:
    """Split a .sql file into {name: statement} on `-- name: xyz` lines."""
    parts = _NAME.split(text)
    queries: dict[str, str] = {}
    for name, body in zip(parts[1::2], parts[2::2], strict=True):
        if name in queries:
            raise ValueError(f"duplicate query name {name!r}")
        queries[name] = body.strip()
    return queries


def load_queries(package: str, filename: str = "queries.sql") -> dict[str, str]:
    """Read the named queries that live beside a module, once at import time."""
    return parse_queries(resources.files(package).joinpath(filename).read_text("utf-8"))
