"""HTTP handler for /api/v1/audit: who changed what, when and from where (admins only)."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from litestar import Controller, get
from litestar.params import QueryParameter

from ..database import PoolDep
from ..errors import responses
from ..timerange import as_utc
from . import service
from .schemas import AuditPage

ACTOR_KINDS = ("user", "token", "cli", "system", "anonymous")
MAX_LIMIT = 1000


def _text(description: str, max_length: int = 200) -> Any:
    # NUL cannot be stored in text, so no row could match one: a 400, not a database error.
    return QueryParameter(max_length=max_length, pattern=r"^[^\x00]*$", description=description)


class AuditController(Controller):
    path = "/api/v1/audit"
    tags = ["audit"]
    opt = {"access": "admin"}

    @get(
        "/",
        operation_id="listAudit",
        summary="The audit log, newest first",
        responses=responses(400, 503),
    )
    async def list_audit(
        self,
        pool: PoolDep,
        actor: Annotated[str | None, _text("Only changes by this user or token name")] = None,
        actor_kind: Annotated[
            str | None,
            QueryParameter(
                pattern=f"^({'|'.join(ACTOR_KINDS)})$",
                description=f"Only this kind of actor: {', '.join(ACTOR_KINDS)}",
            ),
        ] = None,
        object_kind: Annotated[
            str | None,
            _text(
                "Only this kind of object: target, target_dependency, channel, route,"
                " route_channel, push_token, delivery, token, user, session",
                50,
            ),
        ] = None,
        object_id: Annotated[
            str | None, _text("Only this object (its id; with object_kind)", 100)
        ] = None,
        action: Annotated[
            str | None,
            _text("Only this action: create, update, delete, login, login_failed, logout", 50),
        ] = None,
        since: Annotated[
            datetime | None, QueryParameter(description="Oldest time (inclusive); naive is UTC")
        ] = None,
        until: Annotated[
            datetime | None, QueryParameter(description="Newest time (exclusive); naive is UTC")
        ] = None,
        limit: Annotated[int, QueryParameter(ge=1, le=MAX_LIMIT)] = 100,
        cursor: Annotated[
            str | None, QueryParameter(max_length=200, description="`next` of the previous page")
        ] = None,
    ) -> AuditPage:
        """Every change made through the API or the CLI (targets, channels, routes, tokens,
        users...), every sign-in and failed sign-in, and every apply run: who (a user or token
        name), when, from which address, and the before/after of the object with secrets
        masked. Newest first, a page at a time; the filters combine."""
        where = service.AuditFilter(
            actor=actor,
            actor_kind=actor_kind,
            object_kind=object_kind,
            object_id=object_id,
            action=action,
            since=as_utc(since, "since"),
            until=as_utc(until, "until"),
        )
        async with pool.acquire() as conn:
            return await service.page(conn, where, limit, cursor)
