"""HTTP handlers for /api/v1/incidents/{id}/updates: what editors tell visitors about an
incident (investigating, identified, monitoring, resolved). Every public status page that
shows the incident's target shows them, newest first.

An update is words only: `resolved` does not end the incident, which ends when its target is
up again.
"""

from __future__ import annotations

import unicodedata
from datetime import datetime
from typing import Annotated, Literal, TypeAlias

import msgspec
from litestar import Controller, Request, delete, get, post
from litestar.params import JSONBody, PathParameter
from litestar.status_codes import HTTP_204_NO_CONTENT
from msgspec import Meta

from ..auth.principal import principal_of
from ..body import StrictBody
from ..cache import forget_public
from ..database import PoolDep
from ..errors import InvalidInput, NotFound, responses
from .controller import Q

IncidentId: TypeAlias = Annotated[
    int, PathParameter(ge=1, le=2**63 - 1, description="The incident's id")
]
UpdateId: TypeAlias = Annotated[
    int, PathParameter(ge=1, le=2**63 - 1, description="The update's id")
]
UpdateStatus = Literal["investigating", "identified", "monitoring", "resolved"]
Message = Annotated[
    str,
    Meta(
        min_length=1,
        max_length=5000,
        pattern=r"^[^\x00]*$",
        description="Plain text for visitors; leading and trailing white space is dropped",
    ),
]


class IncidentUpdateCreate(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    status: UpdateStatus
    message: Message


class IncidentUpdate(msgspec.Struct, kw_only=True):
    """An update; `author` is the user or token that posted it (never shown on public pages)."""

    id: int
    incident_id: int
    status: UpdateStatus
    message: str
    author: str
    created_at: datetime


class IncidentUpdateList(msgspec.Struct, kw_only=True):
    """An incident's updates, oldest first."""

    items: list[IncidentUpdate]


def _checked(text: str) -> str:
    """The message trimmed; InvalidInput when nothing is left or it holds a control character
    other than a line break or a tab (they corrupt the Atom feed and what a page shows)."""
    message = text.strip()
    if not message:
        raise InvalidInput.one("message", "must not be empty or only white space")
    for i, ch in enumerate(message):
        if ch not in "\n\r\t" and unicodedata.category(ch) == "Cc":
            raise InvalidInput.one(
                "message", f"must not hold control characters (U+{ord(ch):04X} at position {i})"
            )
    return message


class IncidentUpdateController(Controller):
    path = "/api/v1/incidents/{incident_id:int}/updates"
    tags = ["results"]

    @get(
        "/",
        operation_id="listIncidentUpdates",
        summary="An incident's updates, oldest first",
        responses=responses(400, 404, 503),
    )
    async def list_updates(self, incident_id: IncidentId, pool: PoolDep) -> IncidentUpdateList:
        """Every update of the incident in the order they were posted, with their authors."""
        async with pool.acquire() as conn:
            rows = await conn.fetch(Q["list_updates"], incident_id)
            if not rows and not await conn.fetchval(Q["incident_exists"], incident_id):
                raise NotFound("incident", incident_id)
        return IncidentUpdateList(items=[IncidentUpdate(**dict(r)) for r in rows])

    @post(
        "/",
        operation_id="createIncidentUpdate",
        summary="Post an update to an incident",
        dto=StrictBody.of(IncidentUpdateCreate),
        return_dto=None,
        responses=responses(400, 404, 413, 503),
    )
    async def create(
        self,
        incident_id: IncidentId,
        data: JSONBody[IncidentUpdateCreate],
        pool: PoolDep,
        request: Request,
    ) -> IncidentUpdate:
        """Post an update under the caller's name; it shows on every status page that shows
        the incident's target."""
        message = _checked(data.message)
        author = principal_of(request).name
        row = await pool.fetchrow(Q["insert_update"], incident_id, data.status, message, author)
        if row is None:
            raise NotFound("incident", incident_id)
        forget_public(request.app.state)
        return IncidentUpdate(**dict(row))

    @delete(
        "/{update_id:int}",
        operation_id="deleteIncidentUpdate",
        summary="Delete an update",
        status_code=HTTP_204_NO_CONTENT,
        responses=responses(400, 404, 503),
    )
    async def delete_update(
        self, incident_id: IncidentId, update_id: UpdateId, pool: PoolDep, request: Request
    ) -> None:
        """Delete an update; public pages stop showing it (this process at once, others within
        their cache's TTL)."""
        if await pool.fetchval(Q["delete_update"], incident_id, update_id) is None:
            raise NotFound("update of that incident", update_id)
        forget_public(request.app.state)
