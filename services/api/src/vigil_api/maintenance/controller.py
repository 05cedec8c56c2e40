"""HTTP handlers for /api/v1/maintenance: create, list (active / upcoming / past), read,
replace, delete, end early, and a window's occurrences.

A window takes effect when its write commits: reads show its targets as `maintenance` at once,
and the NOTIFY vigil_maintenance sent by the tables' triggers wakes the workers, which hold the
targets' alerts and release them when it ends.
"""

from __future__ import annotations

from typing import Annotated, TypeAlias

from litestar import Controller, delete, get, post, put
from litestar.params import JSONBody, PathParameter, QueryParameter
from litestar.status_codes import HTTP_204_NO_CONTENT

from ..body import StrictBody
from ..database import PoolDep
from ..errors import responses
from . import service
from .schemas import (
    STATES,
    MaintenanceOccurrenceList,
    MaintenanceWindow,
    MaintenanceWindowCreate,
    MaintenanceWindowList,
)

WindowId: TypeAlias = Annotated[
    int, PathParameter(ge=1, le=2**63 - 1, description="The maintenance window's id")
]
STATE_PATTERN = f"^({'|'.join(STATES)})$"


class MaintenanceController(Controller):
    path = "/api/v1/maintenance"
    tags = ["maintenance"]

    @post(
        "/",
        operation_id="createMaintenanceWindow",
        summary="Create a maintenance window",
        dto=StrictBody.of(MaintenanceWindowCreate),
        return_dto=None,
        responses=responses(400, 409, 413, 503),
    )
    async def create(
        self, data: JSONBody[MaintenanceWindowCreate], pool: PoolDep
    ) -> MaintenanceWindow:
        """Create a window over `targets` (ids) and/or the targets `match_labels` selects: a
        one-off one (`starts_at`, `ends_at`), a weekly one (`days`, `start_time`,
        `duration_s`, `time_zone`) or a cron one (`cron`, `duration_s`, `time_zone`); `kind`
        is inferred when left out. `{"targets": [1], "duration_s": 1800}` is one from now for
        30 minutes, named after its targets."""
        async with pool.acquire() as conn:
            return await service.create(conn, data)

    @get(
        "/",
        operation_id="listMaintenanceWindows",
        summary="List maintenance windows",
        responses=responses(400, 503),
    )
    async def list_windows(
        self,
        pool: PoolDep,
        state_filter: Annotated[
            str | None,
            QueryParameter(
                name="state", pattern=STATE_PATTERN, description="active, upcoming or past"
            ),
        ] = None,
        target_id: Annotated[
            int | None,
            QueryParameter(
                ge=1,
                le=2**63 - 1,
                description="Only windows covering this target (listed or by labels)",
            ),
        ] = None,
        limit: Annotated[
            int, QueryParameter(ge=1, le=1000, description="At most this many windows")
        ] = 100,
    ) -> MaintenanceWindowList:
        """Active windows first (ending soonest first), then upcoming ones by their next start,
        then past ones, the newest first; beyond `limit`, the oldest past ones are left out."""
        return MaintenanceWindowList(
            items=await service.listing(pool, state_filter, target_id, limit)
        )

    @get(
        "/{window_id:int}",
        operation_id="getMaintenanceWindow",
        summary="Get a maintenance window",
        responses=responses(400, 404, 503),
    )
    async def get_window(self, window_id: WindowId, pool: PoolDep) -> MaintenanceWindow:
        """A window with its state, the occurrence running now and the next one."""
        async with pool.acquire() as conn:
            return await service.get(conn, window_id)

    @put(
        "/{window_id:int}",
        operation_id="replaceMaintenanceWindow",
        summary="Replace a maintenance window",
        dto=StrictBody.of(MaintenanceWindowCreate),
        return_dto=None,
        responses=responses(400, 404, 409, 413, 503),
    )
    async def replace(
        self, window_id: WindowId, data: JSONBody[MaintenanceWindowCreate], pool: PoolDep
    ) -> MaintenanceWindow:
        """Replace every field; fields left out take their defaults. Its occurrences that have
        not ended are planned anew; one ended early stays ended."""
        async with pool.acquire() as conn:
            return await service.replace(conn, window_id, data)

    @delete(
        "/{window_id:int}",
        operation_id="deleteMaintenanceWindow",
        summary="Delete a maintenance window",
        status_code=HTTP_204_NO_CONTENT,
        responses=responses(400, 404, 503),
    )
    async def delete_window(self, window_id: WindowId, pool: PoolDep) -> None:
        """Delete a window and its occurrences. Its targets leave maintenance at once, and a
        firing it held for an incident still open is sent."""
        async with pool.acquire() as conn:
            await service.delete(conn, window_id)

    @post(
        "/{window_id:int}/end",
        operation_id="endMaintenanceWindow",
        summary="End a maintenance window's occurrence now",
        status_code=200,
        responses=responses(400, 404, 409, 503),
    )
    async def end(self, window_id: WindowId, pool: PoolDep) -> MaintenanceWindow:
        """End the occurrence that runs now (a recurring window's next ones still come); 409
        when none runs. A firing it held for an incident still open is sent."""
        async with pool.acquire() as conn:
            return await service.end(conn, window_id)

    @get(
        "/{window_id:int}/occurrences",
        operation_id="listMaintenanceOccurrences",
        summary="A maintenance window's recent and next occurrences",
        responses=responses(400, 404, 503),
    )
    async def occurrences(
        self,
        window_id: WindowId,
        pool: PoolDep,
        limit: Annotated[
            int,
            QueryParameter(ge=1, le=500, description="At most this many ended, and this many next"),
        ] = 10,
    ) -> MaintenanceOccurrenceList:
        """Oldest first: the `limit` occurrences that ended last, then the `limit` next ones
        (the one running now first), in UTC, as computed in the window's time zone."""
        async with pool.acquire() as conn:
            return MaintenanceOccurrenceList(
                items=await service.occurrences(conn, window_id, limit)
            )
