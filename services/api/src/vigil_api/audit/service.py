"""Reading the audit log: a filtered page, newest first, under a keyset cursor of (at, id)."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any

import asyncpg
import msgspec

from vigil_core.db import Conn, load_queries

from ..errors import InvalidInput
from ..pagination import decode_cursor, encode_cursor
from .schemas import AuditEntry, AuditPage

Q = load_queries(__package__)


class AuditFilter(msgspec.Struct, kw_only=True, frozen=True):
    """What a page is limited to; None: no limit on that field. [since, until) in UTC."""

    actor: str | None = None
    actor_kind: str | None = None
    object_kind: str | None = None
    object_id: str | None = None
    action: str | None = None
    since: datetime | None = None
    until: datetime | None = None


def to_entry(row: asyncpg.Record | Mapping[str, Any]) -> AuditEntry:
    return AuditEntry(
        id=row["id"],
        at=row["at"],
        actor=row["actor"],
        actor_kind=row["actor_kind"],
        address=row["address"],
        action=row["action"],
        object_kind=row["object_kind"],
        object_id=row["object_id"],
        object_name=row["object_name"],
        before=row["before"],
        after=row["after"],
        via=row["via"],
    )


async def page(conn: Conn, where: AuditFilter, limit: int, cursor: str | None) -> AuditPage:
    if where.since is not None and where.until is not None and where.since >= where.until:
        raise InvalidInput.one("since", "must be before until")
    at, ident = decode_cursor(cursor, datetime, int) if cursor else (None, None)
    rows = await conn.fetch(
        Q["list_audit"],
        at,
        ident,
        where.since,
        where.until,
        where.actor,
        where.actor_kind,
        where.object_kind,
        where.object_id,
        where.action,
        limit + 1,
    )
    items = [to_entry(r) for r in rows[:limit]]
    last = items[-1] if items else None
    return AuditPage(
        items=items,
        next=encode_cursor(last.at, last.id) if last and len(rows) > limit else None,
    )
