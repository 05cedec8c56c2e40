"""Synthetic targets and history generated straight in SQL (roll-ups hour by hour, then the days; raw checks in chunks of targets), for scale and api."""

from __future__ import annotations

import time

import asyncpg

from vigil_core.rollups import BUCKET_COUNT, bucket_index

from .db import Q, insert_targets


def typical_hour_buckets() -> list[int]:
    """60 checks an hour spread over the 5-20 ms buckets, as a loopback HTTP target shows."""
    buckets = [0] * BUCKET_COUNT
    for latency, n in ((4.0, 10), (8.0, 30), (15.0, 18), (40.0, 2)):
        buckets[bucket_index(latency)] += n
    return buckets


async def generate(
    conn: asyncpg.Connection,
    *,
    targets: int,
    address: str,
    interval_s: float,
    rollup_hours: int,
    raw_hours: float,
    raw_every_s: float,
    rollup_targets: int | None = None,
    chunk: int = 5000,
    progress: bool = False,
) -> dict[str, float]:
    """Targets, their state, `rollup_hours` of hourly roll-ups and `raw_hours` of raw checks.

    Returns how long each part took (seconds). Roll-ups go to the first `rollup_targets` targets
    (all by default).
    """
    took: dict[str, float] = {}
    t = time.monotonic()
    ids = await insert_targets(
        conn,
        prefix="scale",
        kind="http",
        address=address,
        count=targets,
        interval_s=interval_s,
        timeout_s=min(5.0, interval_s / 2),
    )
    first, last = ids[0], ids[-1]
    took["targets_s"] = time.monotonic() - t

    t = time.monotonic()
    await conn.execute(Q["fill_state"], first, last)
    took["state_s"] = time.monotonic() - t

    t = time.monotonic()
    buckets = typical_hour_buckets()
    roll_last = first + (rollup_targets or targets) - 1
    # A bulk load: the row trigger that keeps the daily roll-ups would add an upsert per row,
    # so it is off here and the days are rebuilt in one pass at the end.
    await conn.execute("SET session_replication_role = replica")
    try:
        for age in range(rollup_hours - 1, -1, -1):  # oldest hour first, as time would write them
            await conn.execute(Q["fill_rollups"], first, roll_last, age, buckets)
            done = rollup_hours - age
            if progress and (done % 24 == 0 or done == rollup_hours):
                print(f"   roll-ups: {done} of {rollup_hours} hours", flush=True)
    finally:
        await conn.execute("RESET session_replication_role")
    took["rollups_s"] = time.monotonic() - t

    t = time.monotonic()
    days = await conn.fetchval(Q["rebuild_daily_rollups"])
    if progress:
        print(f"   daily roll-ups: {days or 0:,} rows", flush=True)
    took["daily_rollups_s"] = time.monotonic() - t

    t = time.monotonic()
    if raw_hours:
        await conn.fetchval(Q["ensure_partitions"], int(raw_hours // 24) + 1)
        for lo in range(first, last + 1, chunk):
            await conn.execute(
                Q["fill_checks"], lo, min(lo + chunk - 1, last), raw_hours, raw_every_s
            )
    took["checks_s"] = time.monotonic() - t

    t = time.monotonic()
    await conn.execute("ANALYZE")
    took["analyze_s"] = time.monotonic() - t
    return took
