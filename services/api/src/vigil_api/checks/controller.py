"""HTTP handlers for /api/v1/targets/{id}/checks."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import asyncpg
import msgspec
from litestar import Controller, get
from litestar.params import Parameter

from vigil_core.db import load_queries

from ..errors import NotFound

Q = load_queries(__package__)


class Check(msgspec.Struct, kw_only=True):
    target_id: int
    checked_at: datetime
    due_at: datetime | None
    ok: bool
    latency_ms: float | None
    status_code: int | None
    error_class: str | None
    error_message: str | None
    timings: dict[str, Any] | None


class CheckController(Controller):
    path = "/api/v1/targets/{target_id:int}/checks"
    tags = ["results"]

    @get("/", operation_id="listTargetChecks", summary="A target's checks, newest first")
    async def list(
        self,
        target_id: int,
        pool: asyncpg.Pool,
        limit: int = Parameter(default=100, ge=1, le=1000),
    ) -> list[Check]:
        async with pool.acquire() as conn:
            if not await conn.fetchval(Q["target_exists"], target_id):
                raise NotFound("target", target_id)
            rows = await conn.fetch(Q["list_checks"], target_id, limit)
        return [Check(**dict(r)) for r in rows]
