"""Liveness (/healthz) and readiness (/readyz) probes."""

from __future__ import annotations

import asyncio

import asyncpg
from litestar import Response, get

from .errors import problem


@get("/healthz", operation_id="healthz", summary="The process is alive", include_in_schema=True)
async def healthz() -> dict[str, str]:
    return {"status": "ok"}


@get("/readyz", operation_id="readyz", summary="The database answers")
async def readyz(pool: asyncpg.Pool) -> Response:
    try:
        async with asyncio.timeout(2):
            await pool.fetchval("SELECT 1")
    except Exception:
        return problem(503, "Not ready", "the database does not answer")
    return Response({"status": "ready"})
