"""check_rollups_daily stays the sum of check_rollups_hourly per UTC day, whoever writes the hours."""

from __future__ import annotations

import random
from collections import defaultdict
from datetime import UTC, datetime, timedelta

import asyncpg

from vigil_core import migrations
from vigil_core.rollups import BUCKET_COUNT

UPSERT_HOUR = """
INSERT INTO check_rollups_hourly AS r (target_id, hour, checks, ok, latency_sum_ms, latency_max_ms,
                                       latency_count, latency_buckets)
VALUES ($1, $2, $3, $4, $5, $6, $7, $8)
ON CONFLICT (target_id, hour) DO UPDATE SET
    checks = r.checks + EXCLUDED.checks, ok = r.ok + EXCLUDED.ok,
    latency_sum_ms = r.latency_sum_ms + EXCLUDED.latency_sum_ms,
    latency_max_ms = greatest(r.latency_max_ms, EXCLUDED.latency_max_ms),
    latency_count = r.latency_count + EXCLUDED.latency_count,
    latency_buckets = ARRAY(SELECT a + b FROM unnest(r.latency_buckets, EXCLUDED.latency_buckets) AS x(a, b))
"""
DAYS_FROM_HOURS = """
SELECT target_id, (hour AT TIME ZONE 'UTC')::date AS day, sum(checks) AS checks, sum(ok) AS ok,
       sum(latency_count) AS latency_count, max(latency_max_ms) AS latency_max_ms,
       round(sum(latency_sum_ms)::numeric, 3) AS latency_sum_ms, array_agg(latency_buckets) AS buckets
  FROM check_rollups_hourly GROUP BY 1, 2 ORDER BY 1, 2
"""
DAYS = """
SELECT target_id, day, checks, ok, latency_count, latency_max_ms,
       round(latency_sum_ms::numeric, 3) AS latency_sum_ms, latency_buckets
  FROM check_rollups_daily WHERE checks > 0 ORDER BY 1, 2
"""


def _random_hours(rng: random.Random, targets: list[int], start: datetime, n: int) -> list[tuple]:
    rows = []
    for _ in range(n):
        checks = rng.randint(1, 60)
        ok = rng.randint(0, checks)
        buckets = [0] * BUCKET_COUNT
        for _ in range(ok):
            buckets[rng.randrange(BUCKET_COUNT)] += 1
        rows.append(
            (
                rng.choice(targets),
                start + timedelta(hours=rng.randrange(72)),
                checks,
                ok,
                ok * 10.5,
                float(rng.randint(1, 500)),
                ok,
                buckets,
            )
        )
    return rows


async def _expected(conn: asyncpg.Connection) -> list[tuple]:
    out = []
    for r in await conn.fetch(DAYS_FROM_HOURS):
        summed = [sum(col) for col in zip(*r["buckets"], strict=False)]
        out.append(
            (
                r["target_id"],
                r["day"],
                r["checks"],
                r["ok"],
                r["latency_count"],
                r["latency_max_ms"],
                r["latency_sum_ms"],
                summed,
            )
        )
    return out


async def _days(conn: asyncpg.Connection) -> list[tuple]:
    return [
        (
            r["target_id"],
            r["day"],
            r["checks"],
            r["ok"],
            r["latency_count"],
            r["latency_max_ms"],
            r["latency_sum_ms"],
            list(r["latency_buckets"]),
        )
        for r in await conn.fetch(DAYS)
    ]


async def test_inserts_and_merges_keep_each_day_the_sum_of_its_hours(db) -> None:
    rng = random.Random(5)
    start = datetime(2026, 3, 1, 20, tzinfo=UTC)  # 72 hours over four UTC days
    # upserts that land on the same hour merge into it (an UPDATE the trigger sees)
    await db.executemany(UPSERT_HOUR, _random_hours(rng, [1, 2, 3], start, 300))
    merged = await db.fetchval("SELECT sum(checks) FROM check_rollups_hourly")
    assert await db.fetchval("SELECT count(*) FROM check_rollups_hourly") < 300  # some merged
    assert await _days(db) == await _expected(db)
    assert await db.fetchval("SELECT sum(checks) FROM check_rollups_daily") == merged
    # the day is UTC: 23:00 on March 1st and 00:00 on March 2nd fall on different days
    assert {r[1].isoformat() for r in await _days(db)} == {
        "2026-03-01",
        "2026-03-02",
        "2026-03-03",
        "2026-03-04",
    }


async def test_a_deleted_hour_leaves_its_day(db) -> None:
    rng = random.Random(9)
    start = datetime(2026, 3, 1, 20, tzinfo=UTC)
    await db.executemany(UPSERT_HOUR, _random_hours(rng, [1, 2], start, 120))
    await db.execute(
        "DELETE FROM check_rollups_hourly WHERE target_id = 1 AND hour < $1",
        start + timedelta(hours=30),
    )
    expected = await _expected(db)
    got = await _days(db)
    # counts, sums and buckets come back out; a maximum cannot, so it may stay higher
    assert [r[:5] + r[6:] for r in got] == [r[:5] + r[6:] for r in expected]
    assert all(g[5] >= e[5] for g, e in zip(got, expected, strict=False))


async def test_the_rebuild_gives_what_the_trigger_kept(db) -> None:
    rng = random.Random(11)
    await db.executemany(
        UPSERT_HOUR, _random_hours(rng, [1, 2, 3], datetime(2026, 3, 1, tzinfo=UTC), 200)
    )
    kept = await _days(db)
    written = await db.fetchval("SELECT vigil_rollups_daily_rebuild('2026-03-01', '2026-03-05')")
    assert written == len(kept)
    assert await _days(db) == kept


async def test_applying_the_migration_fills_the_days_of_existing_hours(empty_db: str) -> None:
    migrations.apply(empty_db)
    while "0005" not in (last := migrations.applied(empty_db)[-1]):
        migrations.rollback(empty_db, 1)  # the migrations after 0005
    assert migrations.rollback(empty_db, 1) == [last]
    conn = await asyncpg.connect(empty_db)
    try:
        await conn.executemany(
            UPSERT_HOUR,
            _random_hours(random.Random(3), [7, 8], datetime(2026, 3, 1, tzinfo=UTC), 50),
        )
        migrations.apply(empty_db)
        days = await _days(conn)
        assert days and days == await _expected(conn)
    finally:
        await conn.close()


async def test_the_days_view_adds_the_current_hour_to_its_day(db) -> None:
    """The view adds each target's current hour (kept in target_state) to its day."""
    tid = await db.fetchval(
        "INSERT INTO targets (name, kind, address, interval_s, timeout_s)"
        " VALUES ('t', 'tcp', '127.0.0.1:9', 60, 5) RETURNING id"
    )
    hour = datetime(2026, 3, 4, 5, tzinfo=UTC)
    await db.execute(
        """UPDATE target_state SET cur_hour = $2, cur_checks = 5, cur_ok = 4, cur_latency_count = 4,
                               cur_latency_buckets = $3 WHERE target_id = $1""",
        tid,
        hour,
        [1] * 4 + [0] * 13,
    )
    await db.execute(
        UPSERT_HOUR, tid, hour - timedelta(hours=1), 3, 3, 30.0, 12.0, 3, [3] + [0] * 16
    )
    rows = await db.fetch(
        "SELECT day, sum(checks) AS checks, sum(ok) AS ok FROM check_rollups_days"
        " WHERE target_id = $1 GROUP BY day",
        tid,
    )
    assert [(r["day"].isoformat(), r["checks"], r["ok"]) for r in rows] == [("2026-03-04", 8, 7)]


async def test_buckets_add_covers_every_bucket(db) -> None:
    """vigil_buckets_add spells out each bucket (so that it is inlined): a new bucket in
    vigil_core.rollups must be added there too."""
    a, b = list(range(1, BUCKET_COUNT + 1)), [10 * i for i in range(1, BUCKET_COUNT + 1)]
    assert await db.fetchval("SELECT vigil_buckets_add($1, $2)", a, b) == [
        x + y for x, y in zip(a, b, strict=False)
    ]
    assert await db.fetchval("SELECT vigil_buckets_add($1, $2, -1)", b, a) == [
        y - x for x, y in zip(a, b, strict=False)
    ]
