"""Bench-side SQL (named queries in queries.sql): seeding targets and counting checks."""

from __future__ import annotations

import asyncio
import time
from datetime import datetime

import asyncpg

from vigil_core.db import load_queries

Q = load_queries(__package__)


async def insert_targets(conn: asyncpg.Connection, *, prefix: str, kind: str, address: str, count: int,
                         interval_s: float, timeout_s: float, threshold: int = 1) -> list[int]:
    rows = await conn.fetch(Q["insert_targets"], prefix, kind, address, float(interval_s),
                            float(timeout_s), threshold, count)
    return [r["id"] for r in rows]


async def spread_schedule(conn: asyncpg.Connection, ids: list[int], start: datetime, over_s: float) -> None:
    await conn.execute(Q["spread_schedule"], ids, start, float(over_s))


async def wait_for_checks(conn: asyncpg.Connection, at_least: int, deadline_s: float) -> int:
    """Poll until the checks table holds `at_least` rows; returns the count (raises at the deadline)."""
    end = time.monotonic() + deadline_s
    while True:
        n = await conn.fetchval(Q["count_checks"])
        if n >= at_least:
            return n
        if time.monotonic() > end:
            raise TimeoutError(f"only {n} checks stored within {deadline_s}s (wanted {at_least})")
        await asyncio.sleep(0.1)
