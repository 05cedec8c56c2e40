"""HTTP handlers for /api/v1/routes: create, list, read, replace, patch, delete.

A route takes effect with the next alert event: the trigger on incidents reads the routes
when an incident opens, so no worker needs to be told.
"""

from __future__ import annotations

from typing import Annotated, TypeAlias

from litestar import Controller, delete, get, patch, post, put
from litestar.params import JSONBody, PathParameter, QueryParameter
from litestar.status_codes import HTTP_204_NO_CONTENT

from ..body import StrictBody
from ..database import PoolDep
from ..errors import responses
from ..pagination import decode_cursor, encode_cursor
from . import service
from .schemas import Route, RouteCreate, RoutePage, RouteUpdate

RouteId: TypeAlias = Annotated[int, PathParameter(ge=1, le=2**63 - 1, description="The route's id")]
WRITE_ERRORS = responses(400, 404, 409, 413, 503)


class RouteController(Controller):
    path = "/api/v1/routes"
    tags = ["routes"]

    @post(
        "/",
        operation_id="createRoute",
        summary="Create a route",
        dto=StrictBody.of(RouteCreate),
        return_dto=None,
        responses=responses(400, 409, 413, 503),
    )
    async def create(self, data: JSONBody[RouteCreate], pool: PoolDep) -> Route:
        """Create a route: the events of targets whose labels include every match_labels entry
        go to its channels (ids, in order; an unknown id is a 400 naming it)."""
        async with pool.acquire() as conn:
            return service.to_route(await service.insert(conn, data))

    @get("/", operation_id="listRoutes", summary="List routes", responses=responses(400, 503))
    async def list_routes(
        self,
        pool: PoolDep,
        limit: Annotated[int, QueryParameter(ge=1, le=1000, description="Routes per page")] = 100,
        cursor: Annotated[
            str | None, QueryParameter(max_length=200, description="`next` of the previous page")
        ] = None,
    ) -> RoutePage:
        """Routes in creation order (by id), a page at a time."""
        after = decode_cursor(cursor, int)[0] if cursor else 0
        rows = await pool.fetch(service.Q["list_routes"], after, limit + 1)
        items = [service.to_route(r) for r in rows[:limit]]
        return RoutePage(
            items=items, next=encode_cursor(items[-1].id) if len(rows) > limit else None
        )

    @get(
        "/{route_id:int}",
        operation_id="getRoute",
        summary="Get a route",
        responses=responses(400, 404, 503),
    )
    async def get_route(self, route_id: RouteId, pool: PoolDep) -> Route:
        """A route with its channel ids in order."""
        async with pool.acquire() as conn:
            return service.to_route(await service.get(conn, route_id))

    @put(
        "/{route_id:int}",
        operation_id="replaceRoute",
        summary="Replace a route",
        dto=StrictBody.of(RouteCreate),
        return_dto=None,
        responses=WRITE_ERRORS,
    )
    async def replace(self, route_id: RouteId, data: JSONBody[RouteCreate], pool: PoolDep) -> Route:
        """Replace every field of a route; fields left out take their defaults. Firings already
        made keep the send_resolved they were made with."""
        async with pool.acquire() as conn:
            return service.to_route(await service.replace(conn, route_id, data))

    @patch(
        "/{route_id:int}",
        operation_id="updateRoute",
        summary="Change some fields of a route",
        dto=StrictBody.of(RouteUpdate),
        return_dto=None,
        responses=WRITE_ERRORS,
    )
    async def update(self, route_id: RouteId, data: JSONBody[RouteUpdate], pool: PoolDep) -> Route:
        """Change only the fields sent; `channels` replaces the whole list, null
        repeat_interval_s stops reminders."""
        async with pool.acquire() as conn:
            return service.to_route(await service.patch(conn, route_id, data))

    @delete(
        "/{route_id:int}",
        operation_id="deleteRoute",
        summary="Delete a route",
        status_code=HTTP_204_NO_CONTENT,
        responses=responses(400, 404, 503),
    )
    async def delete_route(self, route_id: RouteId, pool: PoolDep) -> None:
        """Delete a route. Its deliveries stay in the log, and a firing it sent still gets its
        resolve."""
        async with pool.acquire() as conn:
            await service.delete(conn, route_id)
