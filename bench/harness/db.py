"""Bench-side SQL (named queries in queries.sql): seeding targets and counting checks."""

from __future__ import annotations

import asyncio
import time
from datetime import datetime

import asyncpg

from vigil_core.db import load_queries

Q = load_queries(__package__)


async def insert_targets(
    conn: asyncpg.Connection,
    *,
    prefix: str,
    kind: str,
    address: str,
    count: int,
    interval_s: float,
    timeout_s: float,
    failure_threshold: int = 1,
    success_threshold: int = 1,
) -> list[int]:
    rows = await conn.fetch(
        Q["insert_targets"],
        prefix,
        kind,
        address,
        float(interval_s),
        float(timeout_s),
        failure_threshold,
        success_threshold,
        count,
    )
    return [r["id"] for r in rows]


async def spread_schedule(
    conn: asyncpg.Connection, ids: list[int], start: datetime, over_s: float
) -> None:
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


async def wait_status(
    conn: asyncpg.Connection, target_id: int, status: str, deadline_s: float, step_s: float = 0.01
) -> float:
    """Poll target_state until the target has `status`; returns the seconds it took."""
    t = time.monotonic()
    while (now := time.monotonic()) - t < deadline_s:
        if await conn.fetchval(Q["target_status"], target_id) == status:
            return now - t
        await asyncio.sleep(step_s)
    current = await conn.fetchval(Q["target_status"], target_id)
    raise TimeoutError(f"target {target_id} stayed {current!r}, not {status!r}, for {deadline_s}s")
