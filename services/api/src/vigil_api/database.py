"""The API's handle on PostgreSQL: a pool created on first use, so the API starts and stays up
while the database is down, and serves again as soon as it is back.

asyncpg replaces a broken connection on the next acquire, so once the pool exists a database
restart costs the requests in flight (503) and nothing more. Every call is bounded (Settings'
acquire, command, statement and lock timeouts), so a stuck lock or a half-open connection ends
in a 503 instead of a request that hangs.
"""

from __future__ import annotations

import asyncio
import time
from contextvars import ContextVar
from typing import TypeAlias

import asyncpg
from litestar.di import NamedDependency

from vigil_core.db import create_pool
from vigil_core.dberrors import DbFault, classify, describe
from vigil_core.logging import get_logger
from vigil_core.settings import Settings

from .errors import DatabaseUnavailable

log = get_logger("vigil_api.database")

CONNECT_TIMEOUT_S = 5.0
# After a failed attempt, requests answer 503 at once for this long instead of each waiting
# for its own connection attempt.
CONNECT_RETRY_S = 0.5
# asyncpg prepares every statement once per connection, and after five runs PostgreSQL may
# switch it to a generic plan made without the parameter values. For the summary's optional
# filters (`$1 IS NULL OR kind = $1`) that plan cannot drop the filters that are off: it
# seq-scanned and sorted all targets (289 ms at 100k) where the plan for the real values walks
# the name index (1 ms). Planning every execution costs the API's small statements ~0.1 ms.
SERVER_SETTINGS = {"plan_cache_mode": "force_custom_plan"}
# Reads of one row by its key have one good plan whatever the key, so theirs are kept: a second
# pool of the same size (`Database.keyed_pool`) under PostgreSQL's default. Re-planning GET
# /api/v1/targets/{id} (its maintenance window and dependencies) cost 360 µs of Postgres CPU a
# read against 55 µs with the plan kept (10k targets, 3,000 reads on one connection). Half the
# size cost it a third of its throughput under 32 clients (bench api, 2026-12-02).
KEYED_SETTINGS = {"plan_cache_mode": "auto"}


# Who the current request's writes are made by (JSON for the `vigil.audit` setting that 0014's
# triggers read), set by the auth middleware for unsafe requests. Each connection handed out
# while it is set carries it, and loses it again when it goes back to the pool.
AUDIT_CONTEXT: ContextVar[str | None] = ContextVar("vigil_audit_context", default=None)
_SET_AUDIT = "SELECT set_config('vigil.audit', $1, false)"


async def _audit_setup(conn: asyncpg.Connection) -> None:
    if (context := AUDIT_CONTEXT.get()) is not None:
        await conn.execute(_SET_AUDIT, context)


async def _keep_session(conn: asyncpg.Connection) -> None:
    """Return a connection to the pool as it is (vigil_core.db.keep_session), but for the
    audit context of a write: the API's only session setting."""
    if AUDIT_CONTEXT.get() is not None:
        await conn.execute(_SET_AUDIT, "")


def cannot_connect(exc: BaseException) -> bool:
    """Connecting failed for a reason outside this process: the server is away or busy, or it
    turned us away (authentication, no such database), which is fixed there, not by a restart.
    Anything else (a client-side bug) is raised as it is."""
    return classify(exc) is not DbFault.BUG or isinstance(exc, asyncpg.PostgresError)


class Database:
    def __init__(
        self,
        dsn: str,
        *,
        min_size: int = 1,
        max_size: int = 10,
        timeouts: dict[str, float] | None = None,
    ) -> None:
        self.dsn = dsn
        self._min_size = min_size
        self.max_size = max_size
        # Settings.pool_options(): acquire, command, statement and lock timeouts.
        self.timeouts = dict(timeouts or {})
        self._pool: asyncpg.Pool | None = None
        self._keyed: asyncpg.Pool | None = None
        self._lock = asyncio.Lock()
        self._retry_at = 0.0

    @classmethod
    def from_settings(cls, settings: Settings) -> Database:
        return cls(
            settings.require_database_url(),
            min_size=settings.db_pool_min_size,
            max_size=settings.db_pool_max_size,
            timeouts=settings.pool_options(),
        )

    @property
    def pool_or_none(self) -> asyncpg.Pool | None:
        return self._pool

    async def pool(self) -> asyncpg.Pool:
        """The pool, created now if need be; DatabaseUnavailable when Postgres cannot be reached."""
        if self._pool is None:
            self._pool = await self._open(keyed=False)
        return self._pool

    async def keyed_pool(self) -> asyncpg.Pool:
        """The pool for reads of one row by its key (see KEYED_SETTINGS), as large as the
        main one; created and failing as `pool()`."""
        if self._keyed is None:
            self._keyed = await self._open(keyed=True)
        return self._keyed

    async def _open(self, *, keyed: bool) -> asyncpg.Pool:
        settings = KEYED_SETTINGS if keyed else SERVER_SETTINGS
        async with self._lock:
            # Another request may have opened it while this one waited for the lock.
            opened = self._keyed if keyed else self._pool
            if opened is not None:
                return opened
            if time.monotonic() < self._retry_at:
                raise DatabaseUnavailable("the database was unreachable moments ago")
            try:
                pool = await create_pool(
                    self.dsn,
                    min_size=self._min_size,
                    max_size=self.max_size,
                    timeout=CONNECT_TIMEOUT_S,
                    server_settings=settings,
                    setup=_audit_setup,
                    reset=_keep_session,
                    **self.timeouts,
                )
            except Exception as exc:
                if not cannot_connect(exc):
                    raise
                self._retry_at = time.monotonic() + CONNECT_RETRY_S
                log.warning(
                    "db.connect_failed",
                    fault=classify(exc).value,
                    error=describe(exc),
                    detail=str(exc),
                )
                raise DatabaseUnavailable(str(exc)) from exc
            log.info(
                "db.pool_created",
                min_size=self._min_size,
                max_size=self.max_size,
                plan_cache_mode=settings["plan_cache_mode"],
            )
            return pool

    async def warm(self) -> None:
        """Try to create the pool now; a database that is down is not an error here."""
        try:
            await self.pool()
        except DatabaseUnavailable:
            pass

    async def close(self) -> None:
        pools = [p for p in (self._pool, self._keyed) if p is not None]
        self._pool = self._keyed = None
        for pool in pools:
            try:
                async with asyncio.timeout(5):
                    await pool.close()
            except TimeoutError:
                # Shutdown must not hang on a connection a request never gave back.
                pool.terminate()
            except asyncio.CancelledError:
                for left in pools:
                    left.terminate()
                raise


# The pool as handlers declare it; the app provides it through Database.pool().
PoolDep: TypeAlias = NamedDependency[asyncpg.Pool]
# The keyed-reads pool (Database.keyed_pool), for handlers that read one row by its key.
KeyedPoolDep: TypeAlias = NamedDependency[asyncpg.Pool]
