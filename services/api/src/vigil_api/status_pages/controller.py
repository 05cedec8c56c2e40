"""HTTP handlers for /api/v1/status-pages: create, list, read, replace, delete.

A write also empties this process's cache of public pages, so an editor who opens the page
right after saving sees the change; other API processes show it within their cache's TTL.
"""

from __future__ import annotations

from typing import Annotated, TypeAlias

from litestar import Controller, Request, delete, get, post, put
from litestar.params import JSONBody, PathParameter
from litestar.status_codes import HTTP_204_NO_CONTENT

from ..body import StrictBody
from ..cache import forget_public
from ..database import PoolDep
from ..errors import responses
from . import service
from .schemas import StatusPage, StatusPageCreate, StatusPageList

PageId: TypeAlias = Annotated[
    int, PathParameter(ge=1, le=2**63 - 1, description="The status page's id")
]
WRITE_ERRORS = responses(400, 404, 409, 413, 503)


class StatusPageController(Controller):
    path = "/api/v1/status-pages"
    tags = ["status pages"]

    @post(
        "/",
        operation_id="createStatusPage",
        summary="Create a status page",
        dto=StrictBody.of(StatusPageCreate),
        return_dto=None,
        responses=responses(400, 409, 413, 503),
    )
    async def create(
        self, data: JSONBody[StatusPageCreate], pool: PoolDep, request: Request
    ) -> StatusPage:
        """Create a public page at /status/<slug>: groups of targets in order, each under its
        display_name (default: the target's name now). An unknown target id is a 400 naming
        it."""
        async with pool.acquire() as conn:
            page = service.to_page(await service.insert(conn, data))
        forget_public(request.app.state)
        return page

    @get(
        "/",
        operation_id="listStatusPages",
        summary="List status pages",
        responses=responses(503),
    )
    async def list_pages(self, pool: PoolDep) -> StatusPageList:
        """Every status page with its groups, by slug."""
        rows = await pool.fetch(service.Q["pages"], None)
        return StatusPageList(items=[service.to_page(r) for r in rows])

    @get(
        "/{page_id:int}",
        operation_id="getStatusPage",
        summary="Get a status page",
        responses=responses(400, 404, 503),
    )
    async def get_page(self, page_id: PageId, pool: PoolDep) -> StatusPage:
        """A status page with its groups and their targets in order."""
        async with pool.acquire() as conn:
            return service.to_page(await service.get(conn, page_id))

    @put(
        "/{page_id:int}",
        operation_id="replaceStatusPage",
        summary="Replace a status page",
        dto=StrictBody.of(StatusPageCreate),
        return_dto=None,
        responses=WRITE_ERRORS,
    )
    async def replace(
        self, page_id: PageId, data: JSONBody[StatusPageCreate], pool: PoolDep, request: Request
    ) -> StatusPage:
        """Replace every field; `groups` replaces all the groups and their targets (a target
        without display_name takes its name now)."""
        async with pool.acquire() as conn:
            page = service.to_page(await service.replace(conn, page_id, data))
        forget_public(request.app.state)
        return page

    @delete(
        "/{page_id:int}",
        operation_id="deleteStatusPage",
        summary="Delete a status page",
        status_code=HTTP_204_NO_CONTENT,
        responses=responses(400, 404, 503),
    )
    async def delete_page(self, page_id: PageId, pool: PoolDep, request: Request) -> None:
        """Delete a page; /status/<slug> and the badges of targets on no other page answer 404."""
        async with pool.acquire() as conn:
            await service.delete(conn, page_id)
        forget_public(request.app.state)
