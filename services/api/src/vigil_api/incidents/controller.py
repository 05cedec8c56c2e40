"""HTTP handlers for /api/v1/incidents and /api/v1/targets/{id}/incidents."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

import msgspec
from litestar import Controller, get
from litestar.params import QueryParameter

from vigil_core.db import Conn, load_queries

from ..database import PoolDep
from ..errors import responses
from ..pagination import decode_cursor, encode_cursor
from ..params import TargetId
from ..targets.service import require_target

Q = load_queries(__package__)


class Incident(msgspec.Struct, kw_only=True):
    """A down period; ended_at is null while it lasts, and duration_s then counts up to now."""

    id: int
    target_id: int
    target_name: str
    started_at: datetime
    ended_at: datetime | None
    duration_s: float
    cause: str


class IncidentPage(msgspec.Struct, kw_only=True):
    items: list[Incident]
    next: str | None


async def _page(
    conn: Conn, target_id: int | None, open_: bool | None, limit: int, cursor: str | None
) -> IncidentPage:
    started, ident = decode_cursor(cursor, datetime, int) if cursor else (None, None)
    rows = await conn.fetch(Q["list_incidents"], target_id, started, ident, open_, limit + 1)
    items = [Incident(**dict(r)) for r in rows[:limit]]
    last = items[-1] if items else None
    return IncidentPage(
        items=items,
        next=encode_cursor(last.started_at, last.id) if last and len(rows) > limit else None,
    )


Limit = Annotated[int, QueryParameter(ge=1, le=1000)]
Cursor = Annotated[
    str | None, QueryParameter(max_length=200, description="`next` of the previous page")
]
Open = Annotated[
    bool | None, QueryParameter(name="open", description="true: only ongoing; false: only ended")
]


class IncidentController(Controller):
    path = "/api/v1"
    tags = ["results"]

    @get(
        "/incidents",
        operation_id="listIncidents",
        summary="Incidents of all targets, newest first",
        responses=responses(400, 503),
    )
    async def list_all(
        self, pool: PoolDep, limit: Limit = 50, cursor: Cursor = None, open_: Open = None
    ) -> IncidentPage:
        """Every target's down periods with start, end, duration and cause."""
        async with pool.acquire() as conn:
            return await _page(conn, None, open_, limit, cursor)

    @get(
        "/targets/{target_id:int}/incidents",
        operation_id="listTargetIncidents",
        summary="A target's incidents, newest first",
        responses=responses(400, 404, 503),
    )
    async def list_for_target(
        self,
        target_id: TargetId,
        pool: PoolDep,
        limit: Limit = 50,
        cursor: Cursor = None,
        open_: Open = None,
    ) -> IncidentPage:
        async with pool.acquire() as conn:
            await require_target(conn, target_id)
            return await _page(conn, target_id, open_, limit, cursor)
