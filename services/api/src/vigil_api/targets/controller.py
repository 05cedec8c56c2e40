"""HTTP handlers for /api/v1/targets: create, list, read, replace, patch, pause/resume, delete.

Every write runs in one transaction in which the targets trigger sends the NOTIFY that wakes
the workers, so a change takes effect at once.
"""

from __future__ import annotations

from typing import Annotated

import asyncpg
from litestar import Controller, Request, delete, get, patch, post, put
from litestar.params import JSONBody, QueryParameter
from litestar.status_codes import HTTP_204_NO_CONTENT

from vigil_core.db import Conn
from vigil_core.kinds import SETTINGS

from ..body import StrictBody
from ..database import KeyedPoolDep, PoolDep
from ..errors import NotFound, responses
from ..pagination import decode_cursor, encode_cursor
from ..params import TargetId
from ..push.controller import push_url
from . import rules, service
from .schemas import Target, TargetCreate, TargetPage, TargetUpdate

KIND_PATTERN = f"^({'|'.join(SETTINGS)})$"
WRITE_ERRORS = responses(400, 404, 409, 413, 503)


async def _answer(conn: Conn, request: Request, row: asyncpg.Record) -> Target:
    """One target as its own answer shows it: with a push target's secret URL."""
    token = await service.push_token(conn, row)
    if token is None:
        return service.to_target(row)
    return service.to_target(row, push_url=push_url(request, token))


class TargetController(Controller):
    path = "/api/v1/targets"
    tags = ["targets"]

    @post(
        "/",
        operation_id="createTarget",
        summary="Create a target",
        dto=StrictBody.of(TargetCreate),
        return_dto=None,
        responses=responses(400, 409, 413, 503),
    )
    async def create(self, data: JSONBody[TargetCreate], pool: PoolDep, request: Request) -> Target:
        """Create a target; `kind` selects its fields. The worker is notified in the same
        transaction and checks it at once. A push target's answer holds its secret
        `push_url`."""
        target = rules.check(data)
        async with pool.acquire() as conn:
            return await _answer(conn, request, await service.insert(conn, target))

    @get("/", operation_id="listTargets", summary="List targets", responses=responses(400, 503))
    async def list_targets(
        self,
        pool: PoolDep,
        limit: Annotated[int, QueryParameter(ge=1, le=1000, description="Targets per page")] = 100,
        cursor: Annotated[
            str | None, QueryParameter(max_length=200, description="`next` of the previous page")
        ] = None,
        kind: Annotated[
            str | None, QueryParameter(pattern=KIND_PATTERN, description="Only this kind")
        ] = None,
    ) -> TargetPage:
        """Targets in creation order (by id), a page at a time. `push_url` is null here: a
        push target's secret is only in the answers about that one target."""
        after = decode_cursor(cursor, int)[0] if cursor else 0
        rows = await pool.fetch(service.Q["list_targets"], after, limit + 1, kind)
        items = [service.to_target(r) for r in rows[:limit]]
        return TargetPage(
            items=items, next=encode_cursor(items[-1].id) if len(rows) > limit else None
        )

    @get(
        "/{target_id:int}",
        operation_id="getTarget",
        summary="Get a target",
        responses=responses(400, 404, 503),
    )
    async def get_target(
        self, target_id: TargetId, keyed_pool: KeyedPoolDep, request: Request
    ) -> Target:
        """The target, with its state; a push target's with its secret `push_url`. Header
        values and a password in the URL show as "********"."""
        async with keyed_pool.acquire() as conn:
            row = await conn.fetchrow(service.Q["get_target"], target_id)
            if row is None:
                raise NotFound("target", target_id)
            return await _answer(conn, request, row)

    @put(
        "/{target_id:int}",
        operation_id="replaceTarget",
        summary="Replace a target",
        dto=StrictBody.of(TargetCreate),
        return_dto=None,
        responses=WRITE_ERRORS,
    )
    async def replace(
        self, target_id: TargetId, data: JSONBody[TargetCreate], pool: PoolDep, request: Request
    ) -> Target:
        """Replace every field of a target; fields left out take their defaults. A push
        target keeps its push URL. A header value or URL password sent back as "********"
        (as reads show them) keeps its stored value, while the URL keeps its scheme, host and
        port."""
        target = rules.check(data)
        async with pool.acquire() as conn:
            return await _answer(conn, request, await service.replace(conn, target_id, target))

    @patch(
        "/{target_id:int}",
        operation_id="updateTarget",
        summary="Change some fields of a target",
        dto=StrictBody.of(TargetUpdate),
        return_dto=None,
        responses=WRITE_ERRORS,
    )
    async def update(
        self, target_id: TargetId, data: JSONBody[TargetUpdate], pool: PoolDep, request: Request
    ) -> Target:
        """Change only the fields sent (null clears keyword or keyword_absent). `enabled: false`
        pauses the target. A new interval or address takes effect in the worker at once.
        Headers and a URL password kept or sent back as "********" keep their stored values,
        unless the URL's scheme, host or port changes (then send them again)."""
        async with pool.acquire() as conn:
            return await _answer(conn, request, await service.patch(conn, target_id, data))

    @post(
        "/{target_id:int}/pause",
        operation_id="pauseTarget",
        summary="Pause a target",
        status_code=200,
        responses=responses(400, 404, 503),
    )
    async def pause(self, target_id: TargetId, pool: PoolDep, request: Request) -> Target:
        """Stop checking the target (same as PATCH {"enabled": false}); its history is kept."""
        async with pool.acquire() as conn:
            return await _answer(conn, request, await service.set_enabled(conn, target_id, False))

    @post(
        "/{target_id:int}/resume",
        operation_id="resumeTarget",
        summary="Resume a paused target",
        status_code=200,
        responses=responses(400, 404, 503),
    )
    async def resume(self, target_id: TargetId, pool: PoolDep, request: Request) -> Target:
        """Check the target again, starting at once (same as PATCH {"enabled": true})."""
        async with pool.acquire() as conn:
            return await _answer(conn, request, await service.set_enabled(conn, target_id, True))

    @delete(
        "/{target_id:int}",
        operation_id="deleteTarget",
        summary="Delete a target",
        status_code=HTTP_204_NO_CONTENT,
        responses=responses(400, 404, 503),
    )
    async def delete_target(self, target_id: TargetId, pool: PoolDep) -> None:
        """Delete a target with its state and incidents. Raw checks age out with retention."""
        async with pool.acquire() as conn:
            await service.delete(conn, target_id)
