"""A pooled connection goes back to the pool as it is (vigil_core.db.keep_session): no reset
round trip per release, which asyncpg's default would send, and still no open transaction."""

from __future__ import annotations

import asyncpg

from vigil_core.db import create_pool

LAST_QUERY = "SELECT state, query FROM pg_stat_activity WHERE pid = $1"


async def test_a_release_sends_nothing_to_the_server(db_url: str, db: asyncpg.Connection) -> None:
    pool = await create_pool(db_url, min_size=1, max_size=1)
    try:
        pid = await pool.fetchval("SELECT pg_backend_pid()")
        assert await pool.fetchval("SELECT 41 + 1") == 42
        # The backend's last statement is still the query: asyncpg's default reset would show
        # here as "SELECT pg_advisory_unlock_all(); CLOSE ALL; UNLISTEN *; RESET ALL;".
        row = await db.fetchrow(LAST_QUERY, pid)
        assert row is not None
        assert (row["state"], row["query"]) == ("idle", "SELECT 41 + 1")
    finally:
        await pool.close()


async def test_a_transaction_left_open_is_rolled_back(db_url: str, db: asyncpg.Connection) -> None:
    await db.execute("CREATE TABLE pool_reset_probe (n integer)")
    pool = await create_pool(db_url, min_size=1, max_size=1)
    try:
        conn = await pool.acquire()
        tx = conn.transaction()
        await tx.start()
        await conn.execute("INSERT INTO pool_reset_probe VALUES (1)")
        await pool.release(conn)  # neither committed nor rolled back by its user

        async with pool.acquire() as again:
            assert not again.is_in_transaction()
            assert await again.fetchval("SELECT count(*) FROM pool_reset_probe") == 0
        assert await db.fetchval("SELECT count(*) FROM pool_reset_probe") == 0
    finally:
        await pool.close()
