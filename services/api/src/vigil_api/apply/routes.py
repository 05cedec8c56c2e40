"""The routes of an apply document: checked, compared with the stored ones (channels by name,
in order), and written through the routes service once the document's channels exist."""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

import asyncpg
import msgspec

from vigil_core.db import Conn

from ..errors import FieldError
from ..routes import service as routes
from ..routes.schemas import RouteCreate
from .common import Q, duplicates, unknown
from .schemas import ApplyRoute, Change, FieldChange, Section


def _create(route: ApplyRoute, channel_ids: list[int]) -> RouteCreate:
    # The same fields with the same constraints, already checked when the document decoded.
    return RouteCreate(**{**msgspec.structs.asdict(route), "channels": channel_ids})


def check(items: Sequence[ApplyRoute]) -> list[FieldError]:
    """What needs no stored state: unique, visible names and labels, no channel twice."""
    repeated = duplicates("routes", [r.name for r in items])
    errors: list[FieldError] = []
    for i, route in enumerate(items):
        if i in repeated:
            errors.append(repeated[i])
            continue
        errors += routes.check_text(_create(route, []), f"routes[{i}].")
        twice = {name for j, name in enumerate(route.channels) if name in route.channels[:j]}
        errors += [
            FieldError(f"routes[{i}].channels", f"lists the channel {json.dumps(name)} twice")
            for name in sorted(twice)
        ]
    return errors


async def read(conn: Conn, items: Sequence[ApplyRoute], prune: bool) -> dict[str, asyncpg.Record]:
    """The stored routes the document names (all when pruning), locked until commit."""
    rows = await conn.fetch(Q["routes_for_apply"], [r.name for r in items], prune)
    return {r["name"]: r for r in rows}


def unknown_channels(items: Sequence[ApplyRoute], known: set[str]) -> list[FieldError]:
    return [
        error
        for i, route in enumerate(items)
        for error in unknown(f"routes[{i}].channels", "channel", route.channels, known)
    ]


def _view(route: ApplyRoute) -> dict[str, Any]:
    return {k: v for k, v in msgspec.structs.asdict(route).items() if k != "name"}


def _stored_view(row: asyncpg.Record) -> dict[str, Any]:
    view = {k: row[k] for k in ApplyRoute.__struct_fields__ if k not in ("name", "channels")}
    return {
        **view,
        "match_labels": row["match_labels"] or {},
        "channels": list(row["channel_names"]),
    }


async def write(
    conn: Conn,
    items: Sequence[ApplyRoute],
    stored: dict[str, asyncpg.Record],
    channel_ids: dict[str, int],
    prune: bool,
    section: Section,
) -> None:
    """Create, replace (when it differs) and prune, naming channels by their ids now."""
    for route in sorted(items, key=lambda r: r.name):
        data = _create(route, [channel_ids[name] for name in route.channels])
        new = _view(route)
        row = stored.get(route.name)
        if row is None:
            fields = {k: FieldChange(None, v) for k, v in new.items() if v is not None}
            section.add(Change(op="create", name=route.name, id=None, fields=fields))
            await routes.insert(conn, data)
            continue
        old = _stored_view(row)
        fields = {k: FieldChange(old[k], v) for k, v in new.items() if old[k] != v}
        if not fields:
            section.unchanged.append(route.name)
            continue
        section.add(Change(op="update", name=route.name, id=row["id"], fields=fields))
        await routes.replace(conn, row["id"], data)
    if prune:
        for name in sorted(set(stored) - {r.name for r in items}):
            section.add(Change(op="delete", name=name, id=stored[name]["id"], fields={}))
            await routes.delete(conn, stored[name]["id"])
