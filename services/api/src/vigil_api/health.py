"""Liveness (/healthz) and readiness (/readyz) probes.

/healthz answers while the process runs, database or not, so an orchestrator never restarts
the API for a database outage; /readyz fails until the database answers.
"""

from __future__ import annotations

import asyncio

from litestar import Request, Response, get

from .errors import DB_DOWN_ERRORS, Problem, problem, responses


@get("/healthz", operation_id="healthz", summary="The process is alive", tags=["operations"])
async def healthz() -> dict[str, str]:
    return {"status": "ok"}


@get("/readyz", operation_id="readyz", summary="The database answers", tags=["operations"],
     responses=responses(503))
async def readyz(request: Request) -> Response[dict[str, str] | Problem]:
    state = request.app.state
    if state.hub_task is not None and state.hub_task.done():
        return problem(503, "Not ready", "the live-events listener has stopped")
    try:
        async with asyncio.timeout(2):
            pool = await state.db.pool()
            await pool.fetchval("SELECT 1")
    except (*DB_DOWN_ERRORS, Exception):
        return problem(503, "Not ready", "the database does not answer")
    return Response({"status": "ready"})
