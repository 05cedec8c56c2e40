"""HTTP handlers for /api/v1/deliveries: the log of alerts sent (filtered, newest first), one
delivery, and retrying a failed one."""

from __future__ import annotations

from typing import Annotated, TypeAlias

from litestar import Controller, get, post
from litestar.params import PathParameter, QueryParameter

from ..database import PoolDep
from ..errors import responses
from ..pagination import decode_cursor, encode_cursor
from . import service
from .schemas import STATUSES, Delivery, DeliveryPage

DeliveryId: TypeAlias = Annotated[
    int, PathParameter(ge=1, le=2**63 - 1, description="The delivery's id")
]


def _id_filter(what: str) -> QueryParameter:
    return QueryParameter(ge=1, le=2**63 - 1, description=f"Only deliveries of this {what}")


STATUS_PATTERN = f"^({'|'.join(STATUSES)})$"


class DeliveryController(Controller):
    path = "/api/v1/deliveries"
    tags = ["deliveries"]

    @get(
        "/",
        operation_id="listDeliveries",
        summary="Deliveries, newest first",
        responses=responses(400, 503),
    )
    async def list_deliveries(
        self,
        pool: PoolDep,
        target_id: Annotated[int | None, _id_filter("target")] = None,
        incident_id: Annotated[int | None, _id_filter("incident")] = None,
        channel_id: Annotated[int | None, _id_filter("channel")] = None,
        status: Annotated[
            str | None,
            QueryParameter(
                pattern=STATUS_PATTERN, description=f"Only this status: {', '.join(STATUSES)}"
            ),
        ] = None,
        limit: Annotated[int, QueryParameter(ge=1, le=1000)] = 50,
        cursor: Annotated[
            str | None, QueryParameter(max_length=200, description="`next` of the previous page")
        ] = None,
    ) -> DeliveryPage:
        """Every event to every channel with its status, attempts and last error, newest
        first (by id), a page at a time; the filters combine."""
        before = decode_cursor(cursor, int)[0] if cursor else None
        rows = await pool.fetch(
            service.Q["list_deliveries"],
            before,
            target_id,
            incident_id,
            channel_id,
            status,
            limit + 1,
        )
        items = [service.to_delivery(r) for r in rows[:limit]]
        return DeliveryPage(
            items=items, next=encode_cursor(items[-1].id) if len(rows) > limit else None
        )

    @get(
        "/{delivery_id:int}",
        operation_id="getDelivery",
        summary="Get a delivery",
        responses=responses(400, 404, 503),
    )
    async def get_delivery(self, delivery_id: DeliveryId, pool: PoolDep) -> Delivery:
        """One delivery with its status, attempts, next attempt time and last error."""
        return service.to_delivery(await service.get(pool, delivery_id))

    @post(
        "/{delivery_id:int}/retry",
        operation_id="retryDelivery",
        summary="Retry a failed delivery",
        status_code=200,
        responses=responses(400, 404, 409, 503),
    )
    async def retry(self, delivery_id: DeliveryId, pool: PoolDep) -> Delivery:
        """Send a failed delivery again: it goes back to pending, due now, with another 24 h of
        retries (attempts are kept). A delivery that is not failed: 409 saying why."""
        async with pool.acquire() as conn:
            return service.to_delivery(await service.retry(conn, delivery_id))
