"""HTTP handlers for /api/v1/targets."""

from __future__ import annotations

import asyncpg
from litestar import Controller, get, post
from litestar.exceptions import ValidationException
from litestar.params import Parameter

from vigil_core.db import load_queries

from ..errors import Conflict, NotFound, Problem
from .schemas import Target, TargetCreate

Q = load_queries(__package__)

ERRORS = {
    400: Problem,
    404: Problem,
    409: Problem,
    503: Problem,
}


def to_target(row: asyncpg.Record) -> Target:
    return Target(
        id=row["id"],
        name=row["name"],
        kind=row["kind"],
        url=row["address"] if row["kind"] == "http" else None,
        interval_s=row["interval_s"],
        timeout_s=row["timeout_s"],
        enabled=row["enabled"],
        settings=row["settings"],
        labels=row["labels"],
        failure_threshold=row["failure_threshold"],
        success_threshold=row["success_threshold"],
        created_at=row["created_at"],
        updated_at=row["updated_at"],
    )


class TargetController(Controller):
    path = "/api/v1/targets"
    tags = ["targets"]

    @post("/", operation_id="createTarget", summary="Create a target")
    async def create(self, data: TargetCreate, pool: asyncpg.Pool) -> Target:
        """Create a target. The worker is notified in the same transaction and checks it at once."""
        if data.timeout_s >= data.interval_s:
            raise ValidationException(
                "timeout_s must be less than interval_s",
                extra=[{"key": "timeout_s", "message": "must be less than interval_s"}],
            )
        try:
            row = await pool.fetchrow(
                Q["insert_target"], data.name, data.kind, data.url, data.interval_s,
                data.timeout_s, data.enabled,
            )
        except asyncpg.UniqueViolationError:
            raise Conflict(f"a target named {data.name!r} already exists") from None
        return to_target(row)

    @get("/", operation_id="listTargets", summary="List targets")
    async def list(
        self,
        pool: asyncpg.Pool,
        limit: int = Parameter(default=100, ge=1, le=1000),
        offset: int = Parameter(default=0, ge=0),
    ) -> list[Target]:
        """Every target, oldest first."""
        rows = await pool.fetch(Q["list_targets"], limit, offset)
        return [to_target(r) for r in rows]

    @get("/{target_id:int}", operation_id="getTarget", summary="Get a target")
    async def get(self, target_id: int, pool: asyncpg.Pool) -> Target:
        row = await pool.fetchrow(Q["get_target"], target_id)
        if row is None:
            raise NotFound("target", target_id)
        return to_target(row)
