"""Every migration applies, rolls back and re-applies cleanly on an empty database."""

from __future__ import annotations

import asyncpg

from vigil_core import migrations

SCHEMA_SQL = """
SELECT c.relname, c.relkind::text, a.attname, format_type(a.atttypid, a.atttypmod), a.attnotnull
  FROM pg_class c
  JOIN pg_namespace n ON n.oid = c.relnamespace
  LEFT JOIN pg_attribute a ON a.attrelid = c.oid AND a.attnum > 0 AND NOT a.attisdropped
 WHERE n.nspname = 'public' AND c.relname NOT LIKE '\\_yoyo%' AND c.relname NOT LIKE 'yoyo%'
 ORDER BY 1, 3
"""
OBJECTS_SQL = """
SELECT 'constraint:' || conname FROM pg_constraint c JOIN pg_namespace n ON n.oid = c.connamespace
 WHERE n.nspname = 'public' AND conname NOT LIKE '%yoyo%'
UNION ALL
SELECT 'trigger:' || tgname FROM pg_trigger WHERE NOT tgisinternal
UNION ALL
SELECT 'function:' || proname FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace
 WHERE n.nspname = 'public'
ORDER BY 1
"""


async def _schema(url: str) -> tuple[list[tuple], list[str]]:
    conn = await asyncpg.connect(url)
    try:
        tables = [tuple(r) for r in await conn.fetch(SCHEMA_SQL)]
        objects = [r[0] for r in await conn.fetch(OBJECTS_SQL)]
        return tables, objects
    finally:
        await conn.close()


async def test_migrations_apply_rollback_reapply(empty_db: str) -> None:
    all_ids = migrations.pending(empty_db)
    assert all_ids, "no migrations found"
    assert migrations.apply(empty_db) == all_ids
    assert migrations.pending(empty_db) == []
    first_tables, first_objects = await _schema(empty_db)
    assert {"targets", "schedule", "checks", "target_state", "incidents", "check_rollups_hourly"} <= {
        t[0] for t in first_tables
    }

    rolled = migrations.rollback(empty_db, len(all_ids))
    assert rolled == list(reversed(all_ids))
    tables, objects = await _schema(empty_db)
    assert tables == [] and objects == [], f"rollback left {tables or objects}"

    assert migrations.apply(empty_db) == all_ids
    assert await _schema(empty_db) == (first_tables, first_objects)


async def test_each_migration_rolls_back_one_at_a_time(empty_db: str) -> None:
    all_ids = migrations.pending(empty_db)
    migrations.apply(empty_db)
    for expected in reversed(all_ids):
        assert migrations.rollback(empty_db, 1) == [expected]
    assert migrations.pending(empty_db) == all_ids


async def test_checks_partitions_exist_ahead(db) -> None:
    days = await db.fetchval(
        """SELECT count(*) FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhparent
            WHERE c.relname = 'checks'"""
    )
    assert days >= 8  # yesterday, today and a week ahead
    # a check written now lands in a partition
    await db.execute("INSERT INTO checks (target_id, checked_at, ok, latency_ms) VALUES (1, now(), true, 1)")
    await db.execute(
        "INSERT INTO checks (target_id, checked_at, ok, latency_ms) VALUES (1, now() + interval '6 days', true, 1)"
    )


async def test_rolling_back_0004_keeps_the_current_hours(empty_db: str) -> None:
    """0004 keeps each target's current roll-up hour in target_state; its rollback moves them
    into check_rollups_hourly (added to a row of the same hour) instead of dropping them."""
    migrations.apply(empty_db)
    conn = await asyncpg.connect(empty_db)
    try:
        tid = await conn.fetchval("INSERT INTO targets (name, kind, address, interval_s, timeout_s)"
                                  " VALUES ('t', 'tcp', '127.0.0.1:9', 60, 5) RETURNING id")
        hour = await conn.fetchval("SELECT date_trunc('hour', now() AT TIME ZONE 'UTC') AT TIME ZONE 'UTC'")
        buckets = [0] * 17
        await conn.execute(
            "INSERT INTO check_rollups_hourly (target_id, hour, checks, ok, latency_buckets) VALUES ($1, $2, 2, 1, $3)",
            tid, hour, buckets)
        await conn.execute(
            """UPDATE target_state SET cur_hour = $2, cur_checks = 5, cur_ok = 4, cur_latency_count = 4,
                      cur_latency_sum_ms = 40, cur_latency_max_ms = 12, cur_latency_buckets = $3
                WHERE target_id = $1""", tid, hour, [0, 0, 0, 4] + [0] * 13)
        viewed = await conn.fetchval("SELECT sum(checks) FROM check_rollups WHERE target_id = $1", tid)
        assert viewed == 7
        while "0004" not in (last := migrations.applied(empty_db)[-1]):
            migrations.rollback(empty_db, 1)  # the migrations after 0004
        assert migrations.rollback(empty_db, 1) == [last]
        row = await conn.fetchrow("SELECT checks, ok, latency_count, latency_buckets FROM check_rollups_hourly"
                                  " WHERE target_id = $1", tid)
        assert (row["checks"], row["ok"], row["latency_count"], row["latency_buckets"][3]) == (7, 5, 4, 4)
    finally:
        await conn.close()
