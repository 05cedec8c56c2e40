"""Routes between their API form and their rows (routes + route_channels): validation, the
mapping to Route, and the writes. The same functions serve CRUD and `vigil apply`.

A route's channels are checked and held (FOR KEY SHARE) in the transaction that writes it, so
an unknown id is a 400 naming it, never a foreign-key error.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import asyncpg
import msgspec

from vigil_core.db import Conn, load_queries

from ..errors import Conflict, FieldError, InvalidInput, NotFound
from ..targets.rules import invisible
from .schemas import Route, RouteCreate, RouteUpdate

Q = load_queries(__package__)

# The routes columns a RouteCreate writes, in the order of insert_route's parameters
# (replace_route's after the id).
COLUMNS = (
    "name",
    "match_labels",
    "send_resolved",
    "delay_s",
    "short_outage",
    "repeat_interval_s",
    "enabled",
)


def params(data: RouteCreate) -> tuple[Any, ...]:
    values = {**msgspec.structs.asdict(data), "match_labels": dict(data.match_labels)}
    return tuple(values[column] for column in COLUMNS)


def to_route(row: asyncpg.Record | Mapping[str, Any]) -> Route:
    return Route(
        id=row["id"],
        name=row["name"],
        match_labels=row["match_labels"] or {},
        channels=list(row["channels"] or ()),
        send_resolved=row["send_resolved"],
        delay_s=row["delay_s"],
        short_outage=row["short_outage"],
        repeat_interval_s=row["repeat_interval_s"],
        enabled=row["enabled"],
        created_at=row["created_at"],
        updated_at=row["updated_at"],
    )


def check_text(data: RouteCreate, prefix: str) -> list[FieldError]:
    """What msgspec cannot say: names and label values with control or format characters."""
    errors = []
    if (why := invisible(data.name)) is not None:
        errors.append(FieldError(f"{prefix}name", why))
    for key, value in data.match_labels.items():
        if (why := invisible(value)) is not None:
            errors.append(FieldError(f"{prefix}match_labels.{key}", why))
    return errors


async def _check_channels(conn: Conn, ids: list[int], prefix: str) -> list[FieldError]:
    """Each channel listed twice or not existing, by its place in `channels`."""
    errors = []
    found = {r["id"] for r in await conn.fetch(Q["existing_channels"], ids)}
    seen: set[int] = set()
    for i, channel_id in enumerate(ids):
        if channel_id not in found:
            errors.append(
                FieldError(f"{prefix}channels[{i}]", f"channel {channel_id} does not exist")
            )
        elif channel_id in seen:
            errors.append(FieldError(f"{prefix}channels[{i}]", f"lists channel {channel_id} twice"))
        seen.add(channel_id)
    return errors


async def check(conn: Conn, data: RouteCreate, prefix: str = "") -> None:
    """Raise InvalidInput naming every broken rule. Run it inside the writing transaction: it
    holds the channels it found until that commits."""
    errors = check_text(data, prefix) + await _check_channels(conn, data.channels, prefix)
    if errors:
        raise InvalidInput(errors)


async def get(conn: Conn, route_id: int) -> asyncpg.Record:
    row = await conn.fetchrow(Q["get_route"], route_id)
    if row is None:
        raise NotFound("route", route_id)
    return row


async def _write_channels(conn: Conn, route_id: int, ids: list[int]) -> asyncpg.Record:
    await conn.execute(Q["clear_route_channels"], route_id)
    await conn.execute(Q["add_route_channels"], route_id, ids)
    return await get(conn, route_id)


async def insert(conn: Conn, data: RouteCreate) -> asyncpg.Record:
    try:
        async with conn.transaction():
            await check(conn, data)
            route_id = await conn.fetchval(Q["insert_route"], *params(data))
            return await _write_channels(conn, route_id, data.channels)
    except asyncpg.UniqueViolationError:
        raise _duplicate(data.name) from None


async def replace(conn: Conn, route_id: int, data: RouteCreate) -> asyncpg.Record:
    """Replace every field; fields left out take their defaults."""
    try:
        async with conn.transaction():
            if await conn.fetchrow(Q["get_route_for_update"], route_id) is None:
                raise NotFound("route", route_id)
            return await _replace_locked(conn, route_id, data)
    except asyncpg.UniqueViolationError:
        raise _duplicate(data.name) from None


async def _replace_locked(conn: Conn, route_id: int, data: RouteCreate) -> asyncpg.Record:
    await check(conn, data)
    await conn.execute(Q["replace_route"], route_id, *params(data))
    return await _write_channels(conn, route_id, data.channels)


async def patch(conn: Conn, route_id: int, update: RouteUpdate) -> asyncpg.Record:
    """Change only the fields sent, under a row lock, so two PATCHes never lose each other's."""
    try:
        async with conn.transaction():
            current = await conn.fetchrow(Q["get_route_for_update"], route_id)
            if current is None:
                raise NotFound("route", route_id)
            return await _replace_locked(conn, route_id, merge(current, update))
    except asyncpg.UniqueViolationError:
        raise _duplicate(update.name) from None


def merge(current: asyncpg.Record | Mapping[str, Any], update: RouteUpdate) -> RouteCreate:
    """A stored route with a PATCH applied (each field was validated when it was decoded)."""
    fields = {name: current[name] for name in RouteCreate.__struct_fields__}
    fields["channels"] = list(fields["channels"] or ())
    fields.update(
        (name, value)
        for name in update.__struct_fields__
        if (value := getattr(update, name)) is not msgspec.UNSET
    )
    return RouteCreate(**fields)


async def delete(conn: Conn, route_id: int) -> None:
    """Delete a route. Deliveries it made stay in the log (their route_id becomes null), and a
    firing it sent still gets its resolve."""
    async with conn.transaction():
        if await conn.fetchval(Q["delete_route"], route_id) is None:
            raise NotFound("route", route_id)


def _duplicate(name: object) -> Conflict:
    return Conflict(f"a route named {name!r} already exists", field="name")
