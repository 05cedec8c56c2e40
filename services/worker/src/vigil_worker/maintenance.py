"""History upkeep: daily partitions of `checks` created ahead and dropped after retention, and
alert events and digests past retention deleted, maintenance occurrences over a year old,
and ended sessions, old failed logins and audit rows past the audit retention deleted.

Any number of workers run this loop; a transaction-level advisory lock lets one of them do
the work each round and the others skip it.
"""

from __future__ import annotations

import asyncio

import asyncpg

from vigil_core.db import load_queries
from vigil_core.dberrors import classify, describe, is_retryable
from vigil_core.logging import get_logger

Q = load_queries(__package__)
log = get_logger("vigil_worker.maintenance")

DAYS_AHEAD = 7
# Past maintenance occurrences are kept this long: uptime reports and status pages look back
# 90 days at most, and a year of windows is history worth reading.
OCCURRENCE_RETENTION_DAYS = 400


async def run_once(
    pool: asyncpg.Pool, retention_days: int, audit_retention_days: int = 365
) -> dict[str, int] | None:
    """One round; returns what it did, or None when another worker holds the lock."""
    async with pool.acquire() as conn, conn.transaction():
        if not await conn.fetchval(Q["maintenance_lock"]):
            return None
        ensured = await conn.fetchrow(Q["ensure_partitions"], 1, DAYS_AHEAD)
        assert ensured is not None  # a function call returns one row
        created = ensured[1]
        dropped = await conn.fetchval(Q["drop_old_partitions"], retention_days)
        deleted = await conn.fetchrow(Q["drop_old_alerts"], retention_days)
        assert deleted is not None  # an aggregate returns one row
        events, digests = deleted
        occurrences = await conn.fetchval(Q["drop_old_occurrences"], OCCURRENCE_RETENTION_DAYS)
        credentials = await conn.fetchrow(Q["drop_old_credentials"], audit_retention_days)
        assert credentials is not None  # an aggregate returns one row
        sessions, audit_rows, _ = credentials
    log.info(
        "maintenance.done",
        partitions_created=created,
        partitions_dropped=dropped,
        alert_events_deleted=events,
        digests_deleted=digests,
        occurrences_deleted=occurrences,
        sessions_deleted=sessions,
        audit_rows_deleted=audit_rows,
        retention_days=retention_days,
    )
    return {
        "created": created,
        "dropped": dropped,
        "alert_events": events,
        "digests": digests,
        "occurrences": occurrences,
        "sessions": sessions,
        "audit_rows": audit_rows,
    }


async def run(
    pool: asyncpg.Pool, retention_days: int, every_s: float, audit_retention_days: int = 365
) -> None:
    while True:
        try:
            await run_once(pool, retention_days, audit_retention_days)
            delay = every_s
        except Exception as exc:  # noqa: BLE001 - classified right below
            if is_retryable(exc):
                log.warning("maintenance.failed", error=repr(exc), fault=classify(exc).value)
            else:  # a bug: the traceback, and the next round still comes
                log.error("maintenance.bug", error=describe(exc), exc_info=exc)
            delay = min(every_s, 30.0)
        await asyncio.sleep(delay)
