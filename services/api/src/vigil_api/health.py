"""Liveness (/healthz) and readiness (/readyz) probes.

/healthz answers 200 while the process can do its work, database or not, so an orchestrator
never restarts the API for a database outage; it answers 503 when a side task that should run
for the life of the process (the events hub or its results fetcher) has died, which only a
restart cures. /readyz fails until the database answers, and while a side task is dead.
"""

from __future__ import annotations

import asyncio

from litestar import Request, Response, get

from vigil_core.dberrors import describe

from .errors import Problem, problem, responses

READY_TIMEOUT_S = 2.0


def _dead_tasks(request: Request) -> str | None:
    hub = request.app.state.hub
    if hub is None or not hub.dead:
        return None
    return ", ".join(f"{name} ({why})" for name, why in sorted(hub.dead.items()))


@get(
    "/healthz",
    opt={"access": "health"},
    operation_id="healthz",
    summary="The process is alive",
    tags=["operations"],
    responses=responses(503),
)
async def healthz(request: Request) -> Response[dict[str, str] | Problem]:
    if dead := _dead_tasks(request):
        return problem(503, "Unhealthy", f"side task died: {dead}; restart the process")
    return Response({"status": "ok"})


@get(
    "/readyz",
    opt={"access": "health"},
    operation_id="readyz",
    summary="The database answers",
    tags=["operations"],
    responses=responses(503),
)
async def readyz(request: Request) -> Response[dict[str, str] | Problem]:
    if dead := _dead_tasks(request):
        return problem(503, "Not ready", f"side task died: {dead}")
    try:
        # Bounded whatever the pool's timeouts are: a probe that hangs is a probe that fails late.
        async with asyncio.timeout(READY_TIMEOUT_S):
            pool = await request.app.state.db.pool()
            await pool.fetchval("SELECT 1")
    except Exception as exc:  # whatever it is, the database does not serve us now
        return problem(503, "Not ready", f"the database does not answer ({describe(exc)})")
    return Response({"status": "ready"})
