"""Status pages between their API form and their rows: validation, the mapping to StatusPage,
and the writes.

A page's targets are checked and held (FOR KEY SHARE) in the transaction that writes it, so an
unknown id is a 400 naming it, never a foreign-key error. Groups are written anew on every
write: a page is small, and replacing them keeps positions dense without a reorder protocol.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any
from urllib.parse import urlsplit

import asyncpg
import msgspec

from vigil_core.db import Conn, load_queries

from ..errors import Conflict, FieldError, InvalidInput, NotFound
from ..targets.rules import invisible
from .schemas import SLUG_RULE, Group, StatusPage, StatusPageCreate

Q = load_queries(__package__)

# The same rule as the status_pages_slug_valid constraint (migration 0015).
SLUG = re.compile(r"^[a-z0-9](?:[a-z0-9-]{0,62}[a-z0-9])?$")
_HOST = re.compile(r"^(?:[A-Za-z0-9-]{1,63}\.)*[A-Za-z0-9-]{1,63}\.?$|^\[[0-9A-Fa-f:.]+\]$")


def public_url(slug: str) -> str:
    return f"/status/{slug}"


def to_page(row: asyncpg.Record | Mapping[str, Any]) -> StatusPage:
    return StatusPage(
        id=row["id"],
        slug=row["slug"],
        title=row["title"],
        description=row["description"],
        logo_url=row["logo_url"],
        groups=msgspec.convert(row["groups"] or [], list[Group]),
        url=public_url(row["slug"]),
        created_at=row["created_at"],
        updated_at=row["updated_at"],
    )


def logo_origin(url: str | None) -> str | None:
    """The origin (scheme://host[:port]) of a logo URL, or None unless it is a plain one. The
    public page puts it in its Content-Security-Policy, so nothing but a host name, an address
    and a port may come through."""
    if url is None:
        return None
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError:
        return None
    host = parts.hostname or ""
    netloc = parts.netloc.rsplit("@", 1)[-1]
    if parts.scheme.lower() not in ("http", "https") or not host:
        return None
    bare = netloc.rsplit(":", 1)[0] if port is not None else netloc
    if not _HOST.match(bare):
        return None
    return f"{parts.scheme.lower()}://{bare.lower()}" + (f":{port}" if port is not None else "")


def check_text(data: StatusPageCreate) -> list[FieldError]:
    """What msgspec cannot say: the slug in words, texts with control or format characters, a
    logo URL that is not plain, and a target listed twice in one group."""
    errors = []
    if not SLUG.match(data.slug):
        errors.append(FieldError("slug", SLUG_RULE))
    if (why := invisible(data.title)) is not None:
        errors.append(FieldError("title", why))
    if data.logo_url is not None and logo_origin(data.logo_url) is None:
        errors.append(FieldError("logo_url", "must be an http(s) URL with a host name or address"))
    for i, group in enumerate(data.groups):
        if (why := invisible(group.name)) is not None:
            errors.append(FieldError(f"groups[{i}].name", why))
        seen: set[int] = set()
        for j, item in enumerate(group.targets):
            where = f"groups[{i}].targets[{j}]"
            if item.target_id in seen:
                errors.append(
                    FieldError(
                        f"{where}.target_id", f"lists target {item.target_id} twice in the group"
                    )
                )
            seen.add(item.target_id)
            if item.display_name is not None and (why := invisible(item.display_name)):
                errors.append(FieldError(f"{where}.display_name", why))
    return errors


async def _check_targets(conn: Conn, data: StatusPageCreate) -> list[FieldError]:
    """Each target that does not exist, by its place in the groups."""
    ids = [t.target_id for g in data.groups for t in g.targets]
    if not ids:
        return []
    found = {r["id"] for r in await conn.fetch(Q["existing_targets"], ids)}
    return [
        FieldError(f"groups[{i}].targets[{j}].target_id", f"no target has the id {t.target_id}")
        for i, g in enumerate(data.groups)
        for j, t in enumerate(g.targets)
        if t.target_id not in found
    ]


async def check(conn: Conn, data: StatusPageCreate) -> None:
    """Raise InvalidInput naming every broken rule. Run it inside the writing transaction: it
    holds the targets it found until that commits."""
    errors = check_text(data)
    if not errors:
        errors = await _check_targets(conn, data)
    if errors:
        raise InvalidInput(errors)


def _params(data: StatusPageCreate) -> tuple[Any, ...]:
    return (data.slug, data.title, data.description, data.logo_url)


async def get(conn: Conn, page_id: int) -> asyncpg.Record:
    row = await conn.fetchrow(Q["pages"], page_id)
    if row is None:
        raise NotFound("status page", page_id)
    return row


async def _write_groups(conn: Conn, page_id: int, data: StatusPageCreate) -> asyncpg.Record:
    await conn.execute(Q["clear_groups"], page_id)
    await conn.execute(Q["add_groups"], page_id, [g.name for g in data.groups])
    rows = [
        (i, t.target_id, j, t.display_name)
        for i, g in enumerate(data.groups)
        for j, t in enumerate(g.targets)
    ]
    if rows:
        group_pos, target_ids, positions, names = (list(c) for c in zip(*rows, strict=True))
        await conn.execute(Q["add_group_targets"], page_id, group_pos, target_ids, positions, names)
    return await get(conn, page_id)


async def insert(conn: Conn, data: StatusPageCreate) -> asyncpg.Record:
    try:
        async with conn.transaction():
            await check(conn, data)
            page_id = await conn.fetchval(Q["insert_page"], *_params(data))
            return await _write_groups(conn, page_id, data)
    except asyncpg.UniqueViolationError:
        raise _duplicate(data.slug) from None


async def replace(conn: Conn, page_id: int, data: StatusPageCreate) -> asyncpg.Record:
    """Replace every field and all the groups; fields left out take their defaults."""
    try:
        async with conn.transaction():
            if await conn.fetchval(Q["lock_page"], page_id) is None:
                raise NotFound("status page", page_id)
            await check(conn, data)
            await conn.execute(Q["replace_page"], page_id, *_params(data))
            return await _write_groups(conn, page_id, data)
    except asyncpg.UniqueViolationError:
        raise _duplicate(data.slug) from None


async def delete(conn: Conn, page_id: int) -> None:
    """Delete a page with its groups; its address answers 404 from then on."""
    async with conn.transaction():
        if await conn.fetchval(Q["delete_page"], page_id) is None:
            raise NotFound("status page", page_id)


def _duplicate(slug: str) -> Conflict:
    return Conflict(f"a status page with the slug {slug!r} already exists", field="slug")
