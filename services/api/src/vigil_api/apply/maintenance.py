"""The maintenance windows of an apply document (`maintenance:`, keyed by name): checked as
POST /api/v1/maintenance checks them, compared with the stored ones (targets by name; equal
ones are not written, so their occurrences stay as planned), and written through the
maintenance service once the document's targets exist."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import asyncpg
import msgspec

from vigil_core import windows
from vigil_core.db import Conn

from ..body import convert_strict
from ..errors import FieldError, InvalidInput
from ..maintenance import service
from ..targets.rules import invisible
from ..targets.schemas import Name
from .common import Q, unknown
from .schemas import ApplyWindow, Change, FieldChange, Section


@dataclass(frozen=True, slots=True)
class Window:
    """A window of the document, checked: its name, its targets by name and its stored form."""

    name: str
    field: str  # `maintenance.<name>`, what its errors start with
    targets: list[str]
    checked: service.Checked


def check(section: Mapping[str, Mapping[str, Any]]) -> tuple[list[Window], list[FieldError]]:
    """Each window decoded and checked, and what is wrong in them without looking at stored
    state, each error naming `maintenance.<name>.<field>`."""
    items: list[Window] = []
    errors: list[FieldError] = []
    for name, body in section.items():
        field = f"maintenance.{name}"
        try:
            items.append(_check_one(name, body, field))
        except InvalidInput as exc:
            errors.extend(exc.errors)
    return items, errors


def _check_one(name: str, body: Mapping[str, Any], field: str) -> Window:
    try:
        msgspec.convert(name, Name)
    except msgspec.ValidationError:
        raise InvalidInput.one(
            field, "is not a window name: 1 to 200 characters, no leading or trailing spaces"
        ) from None
    if (why := invisible(name)) is not None:
        raise InvalidInput.one(field, why)
    if isinstance(body, Mapping) and isinstance(body.get("start_time"), int):
        # YAML 1.1 reads an unquoted 2:30 as the sexagesimal number 150.
        raise InvalidInput.one(
            f"{field}.start_time",
            'must be quoted, e.g. start_time: "02:30" (YAML reads an unquoted 2:30 as the'
            " number 150)",
        )
    window = convert_strict(body, ApplyWindow, field)
    errors = service.covers_something(window.targets, window.match_labels, f"{field}.")
    try:
        checked = service.check(window, None, f"{field}.")
    except InvalidInput as exc:
        errors += exc.errors
    if errors:
        raise InvalidInput(errors)
    return Window(name, field, sorted(set(window.targets)), checked)


async def read(conn: Conn, items: list[Window], prune: bool) -> dict[str, asyncpg.Record]:
    """The stored windows the document names (all when pruning), locked until commit."""
    rows = await conn.fetch(Q["windows_for_apply"], [w.name for w in items], prune)
    return {r["name"]: r for r in rows}


def unknown_targets(items: list[Window], known: set[str]) -> list[FieldError]:
    return [
        error
        for window in items
        for error in unknown(f"{window.field}.targets", "target", window.targets, known)
    ]


def _view(checked: service.Checked, targets: list[str]) -> dict[str, Any]:
    """A window as apply compares and shows it: the API's fields, targets by name."""
    s = checked.schedule
    return {
        "description": checked.description,
        "kind": s.kind,
        "targets": targets,
        "match_labels": checked.match_labels,
        "starts_at": s.starts_at,
        "ends_at": s.ends_at,
        "days": windows.day_names(s.days) if s.kind == "weekly" else None,
        "start_time": s.start_time.strftime("%H:%M") if s.start_time else None,
        "cron": s.cron,
        "duration_s": s.duration_s if s.kind != "once" else None,
        "time_zone": s.time_zone,
        "include_in_uptime": checked.include_in_uptime,
    }


def _stored(row: asyncpg.Record) -> dict[str, Any]:
    checked = service.Checked(
        description=row["description"],
        match_labels=row["match_labels"] or {},
        schedule=windows.from_row(row),
        include_in_uptime=row["include_in_uptime"],
    )
    return _view(checked, sorted(row["target_names"]))


async def write(
    conn: Conn,
    items: list[Window],
    stored: dict[str, asyncpg.Record],
    target_ids: dict[str, int],
    prune: bool,
    section: Section,
) -> None:
    """Create, replace (when it differs) and prune, naming targets by their ids now."""
    now: datetime = await service.db_now(conn)
    for window in sorted(items, key=lambda w: w.name):
        ids = [target_ids[name] for name in window.targets]
        new = _view(window.checked, window.targets)
        row = stored.get(window.name)
        if row is None:
            fields = {k: FieldChange(None, v) for k, v in new.items() if v not in (None, [], {})}
            section.add(Change(op="create", name=window.name, id=None, fields=fields))
            await service.write(conn, None, window.name, window.checked, ids, now)
            continue
        old = _stored(row)
        fields = {k: FieldChange(old[k], v) for k, v in new.items() if old[k] != v}
        if not fields:
            section.unchanged.append(window.name)
            continue
        section.add(Change(op="update", name=window.name, id=row["id"], fields=fields))
        await service.write(conn, row["id"], window.name, window.checked, ids, now)
    if prune:
        for name in sorted(set(stored) - {w.name for w in items}):
            section.add(Change(op="delete", name=name, id=stored[name]["id"], fields={}))
            await service.delete(conn, stored[name]["id"])
