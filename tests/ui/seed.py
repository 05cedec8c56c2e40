"""Plausible monitoring history for screenshots: 30 days of hourly roll-ups, recent checks with
phase timings, incidents and TLS expiry, written straight to the tables the API reads."""

from __future__ import annotations

import math
import random
from datetime import UTC, datetime, timedelta

import asyncpg

from vigil_core.db import load_queries
from vigil_core.rollups import BUCKET_COUNT, bucket_index

Q = load_queries(__package__, "seed.sql")


def _buckets(latencies: list[float]) -> list[int]:
    out = [0] * BUCKET_COUNT
    for v in latencies:
        out[bucket_index(v)] += 1
    return out


async def seed_history(
    conn: asyncpg.Connection,
    target_id: int,
    *,
    base_ms: float,
    status: str,
    seed: int,
    outages: int = 2,
    tls_days: float | None = None,
    since_hours: float = 30,
) -> None:
    rnd = random.Random(seed)
    now = datetime.now(UTC)
    this_hour = now.replace(minute=0, second=0, microsecond=0)
    down_hours = {rnd.randrange(1, 24 * 30) for _ in range(outages)}
    rows = []
    for back in range(24 * 30, -1, -1):  # back == 0: this hour, which holds the recent checks
        hour = this_hour - timedelta(hours=back)
        daily = 1 + 0.35 * math.sin((hour.hour - 8) / 24 * 2 * math.pi)
        lat = [max(0.5, rnd.gauss(base_ms * daily, base_ms * 0.12)) for _ in range(60)]
        if rnd.random() < 0.02:
            lat[rnd.randrange(60)] *= 6
        ok = (
            60
            - (rnd.randint(8, 40) if back in down_hours else 0)
            - (6 if back == 0 and status == "down" else 0)
        )
        rows.append(
            (target_id, hour, 60, ok, sum(lat[:ok]), max(lat[:ok] or [0]), ok, _buckets(lat[:ok]))
        )
    await conn.executemany(Q["rollup"], rows)
    for back in down_hours:
        start = this_hour - timedelta(hours=back, minutes=-rnd.randint(0, 20))
        await conn.execute(
            Q["incident"],
            target_id,
            start,
            start + timedelta(minutes=rnd.randint(3, 35)),
            "refused: connection refused",
        )
    checks = []
    for i in range(60, 0, -1):
        at = now - timedelta(minutes=i)
        failed = status == "down" and i <= 6
        total = max(1.0, rnd.gauss(base_ms, base_ms * 0.1))
        # The worker's keys: ttfb and total count from the start of the check.
        timings = (
            None
            if failed
            else {
                "dns": round(total * 0.06, 2),
                "connect": round(total * 0.14, 2),
                "tls": round(total * 0.25, 2),
                "ttfb": round(total * 0.88, 2),
                "total": round(total, 2),
            }
        )
        checks.append(
            (
                target_id,
                at,
                not failed,
                None if failed else total,
                None if failed else 200,
                "refused" if failed else None,
                "Cannot connect to host: Connection refused" if failed else None,
                timings,
            )
        )
    await conn.executemany(Q["check"], checks)
    last = checks[-1]
    tls = now + timedelta(days=tls_days) if tls_days is not None else None
    await conn.execute(
        Q["state"],
        target_id,
        status,
        now - timedelta(hours=since_hours),
        last[1],
        last[2],
        last[3],
        last[4],
        last[5],
        tls,
    )
    if status == "down":
        await conn.execute(
            Q["incident"],
            target_id,
            now - timedelta(minutes=6),
            None,
            "refused: connection refused",
        )


async def seed_many(conn: asyncpg.Connection, count: int) -> None:
    await conn.execute(Q["many_targets"], count)
    await conn.execute(Q["many_states"])
