"""Maintenance windows between their API form and their rows: validation (vigil_core.windows
checks the schedule), the mapping to MaintenanceWindow, and the writes. The same functions serve
CRUD and `vigil apply`.

Every write plans the window's occurrences (windows.plan) in its own transaction, with the
database's clock: a window that starts now is in force for every read once it commits, and the
NOTIFY vigil_maintenance its triggers send wakes the workers. A window's targets are checked and
held (FOR KEY SHARE) in that transaction, so an unknown id is a 400 naming it.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, time, timedelta
from typing import Any

import asyncpg

from vigil_core import windows
from vigil_core.db import Conn, load_queries
from vigil_core.logging import get_logger
from vigil_core.windows import Schedule, WindowError

from ..errors import Conflict, FieldError, InvalidInput, NotFound
from ..targets.rules import invisible
from .schemas import (
    MaintenanceOccurrence,
    MaintenanceSpan,
    MaintenanceWindow,
    MaintenanceWindowCreate,
    WindowFields,
)

Q = load_queries(__package__)
log = get_logger("vigil_api.maintenance")

Row = asyncpg.Record | Mapping[str, Any]

# The fields only one kind has: sent with another kind, each is refused by name.
KIND_FIELDS = {
    "once": ("starts_at", "ends_at"),
    "weekly": ("days", "start_time"),
    "cron": ("cron",),
}
# A generated name lists this many targets, then "and N more".
NAMED_TARGETS = 3
# How far past its plan a recurring window's next occurrences are looked for (a cron
# expression for 29 February fires once in four years).
LOOK_AHEAD = timedelta(days=5 * 366)


@dataclass(frozen=True, slots=True)
class Checked:
    """A window as it will be stored, its schedule checked; name and targets aside."""

    description: str
    match_labels: dict[str, str]
    schedule: Schedule
    include_in_uptime: bool

    def params(self) -> tuple[Any, ...]:
        """insert_window's parameters after the name (replace_window's after id and name)."""
        s = self.schedule
        return (
            self.description,
            s.kind,
            self.match_labels,
            s.starts_at,
            s.ends_at,
            list(s.days) if s.kind == "weekly" else None,
            s.start_time,
            s.cron,
            s.duration_s if s.kind != "once" else None,
            s.time_zone,
            self.include_in_uptime,
        )


def kind_of(data: WindowFields) -> str:
    """The kind sent, or the one the fields say: `cron` is a cron window, `days` a weekly one."""
    if data.kind is not None:
        return data.kind
    if data.cron is not None:
        return "cron"
    if data.days is not None or data.start_time is not None:
        return "weekly"
    return "once"


def check(data: WindowFields, now: datetime | None, prefix: str = "") -> Checked:
    """The window's stored form, or InvalidInput naming each field (after `prefix`) that breaks
    a rule. A one-off window without starts_at starts at `now`; without `now` (an apply file,
    which would start it again each time it is applied) it needs starts_at."""
    kind = kind_of(data)
    errors = [
        FieldError(f"{prefix}{field}", f"is not a field of a {kind} window")
        for other, fields in KIND_FIELDS.items()
        if other != kind
        for field in fields
        if getattr(data, field) is not None
    ]
    for key, value in data.match_labels.items():
        if (why := invisible(value)) is not None:
            errors.append(FieldError(f"{prefix}match_labels.{key}", why))
    if errors:
        raise InvalidInput(errors)
    try:
        windows.zone(data.time_zone)  # first: the schedule's times mean nothing without it
        schedule = _schedule(data, kind, now)
        schedule.check()
    except WindowError as exc:
        raise InvalidInput.one(f"{prefix}{exc.field}", exc.message) from None
    return Checked(
        description=data.description,
        match_labels=dict(data.match_labels),
        schedule=schedule,
        include_in_uptime=data.include_in_uptime,
    )


def _schedule(data: WindowFields, kind: str, now: datetime | None) -> Schedule:
    if kind == "once":
        return _once(data, now)
    if kind == "weekly":
        if data.days is None:
            raise WindowError("days", 'a weekly window needs days, e.g. ["sat", "sun"]')
        return Schedule(
            kind="weekly",
            days=windows.day_numbers(data.days),
            start_time=_clock(data.start_time),
            duration_s=data.duration_s,
            time_zone=data.time_zone,
        )
    return Schedule(
        kind="cron",
        # One space between fields, so that equal expressions are stored (and compared) alike.
        cron=" ".join(data.cron.split()) if data.cron is not None else None,
        duration_s=data.duration_s,
        time_zone=data.time_zone,
    )


def _once(data: WindowFields, now: datetime | None) -> Schedule:
    starts_at = data.starts_at
    if starts_at is None:
        if now is None:
            raise WindowError(
                "starts_at",
                "a one-off window in an apply file needs starts_at (applied again, a window"
                " from now would start again)",
            )
        starts_at = now
    starts_at = _utc(starts_at, "starts_at")
    ends_at = _utc(data.ends_at, "ends_at") if data.ends_at is not None else None
    if data.duration_s is not None:
        try:
            by_duration = starts_at + timedelta(seconds=data.duration_s)
        except OverflowError:
            raise WindowError("duration_s", "would end after the year 9999") from None
        if ends_at is None:
            ends_at = by_duration
        elif ends_at != by_duration:
            raise WindowError(
                "duration_s",
                "disagrees with ends_at - starts_at: send ends_at or duration_s, not both",
            )
    elif ends_at is None:
        raise WindowError("ends_at", "a one-off window needs ends_at, or duration_s")
    return Schedule(kind="once", starts_at=starts_at, ends_at=ends_at, time_zone=data.time_zone)


def _utc(value: datetime, field: str) -> datetime:
    if value.tzinfo is None:
        return value  # Schedule.check says that it needs an offset
    try:
        return value.astimezone(UTC)
    except OverflowError:
        raise WindowError(
            field, "is out of range: in UTC it falls outside the years 1 to 9999"
        ) from None


def _clock(text: str | None) -> time | None:
    if text is None:
        return None
    hours, minutes = text.split(":")  # the schema's pattern: H:MM or HH:MM
    return time(int(hours), int(minutes))


# Reading -------------------------------------------------------------------------------------


def to_window(row: Row) -> MaintenanceWindow:
    kind = row["kind"]
    upcoming = _span(row, "next")
    if upcoming is None and kind != "once":
        upcoming = _next_beyond_plan(row)
    return MaintenanceWindow(
        id=row["id"],
        name=row["name"],
        description=row["description"],
        kind=kind,
        targets=list(row["targets"]),
        match_labels=row["match_labels"] or {},
        starts_at=row["starts_at"],
        ends_at=row["ends_at"],
        days=windows.day_names(row["days"]) if row["days"] else None,
        start_time=row["start_time"].strftime("%H:%M") if row["start_time"] else None,
        cron=row["cron"],
        duration_s=row["duration_s"] if kind != "once" else _length_s(row),
        time_zone=row["time_zone"],
        include_in_uptime=row["include_in_uptime"],
        state=row["state"],
        current=_span(row, "current"),
        next=upcoming,
        created_at=row["created_at"],
        updated_at=row["updated_at"],
    )


def _span(row: Row, which: str) -> MaintenanceSpan | None:
    start = row[f"{which}_starts_at"]
    return (
        MaintenanceSpan(starts_at=start, ends_at=row[f"{which}_ends_at"])
        if start is not None
        else None
    )


def _length_s(row: Row) -> int:
    return round((row["ends_at"] - row["starts_at"]).total_seconds())


def following(schedule: Schedule, since: datetime, count: int) -> list[tuple[datetime, datetime]]:
    """The first `count` occurrences of a recurring schedule that start at or after `since`."""
    assert schedule.duration_s is not None
    # occurrences() takes those that end after its `since`; ending after since + length - 1 µs
    # is starting at or after since.
    after = since - timedelta(microseconds=1) + timedelta(seconds=schedule.duration_s)
    return schedule.occurrences(after, since + LOOK_AHEAD, limit=count)


def _next_beyond_plan(row: Row) -> MaintenanceSpan | None:
    """A recurring window's next occurrence when none is planned: past the plan's end (the
    worker keeps the plan 35 days ahead; some schedules fire less often)."""
    since = max(row["now"], row["planned_until"] or row["now"])
    found = following(windows.from_row(row), since, 1)
    return MaintenanceSpan(starts_at=found[0][0], ends_at=found[0][1]) if found else None


async def db_now(conn: Conn) -> datetime:
    """The database's clock: what reads compare occurrences with (now())."""
    now: datetime = await conn.fetchval(Q["now"])
    return now


async def get(conn: Conn, window_id: int) -> MaintenanceWindow:
    row = await conn.fetchrow(Q["windows"], window_id, None, None, 1)
    if row is None:
        raise NotFound("maintenance window", window_id)
    return to_window(row)


async def listing(
    conn: Conn | asyncpg.Pool, state: str | None, target_id: int | None, limit: int
) -> list[MaintenanceWindow]:
    return [to_window(r) for r in await conn.fetch(Q["windows"], None, state, target_id, limit)]


async def occurrences(conn: Conn, window_id: int, limit: int) -> list[MaintenanceOccurrence]:
    """The `limit` most recent ended occurrences and the `limit` next ones, oldest first. A
    recurring window's next ones go past its plan when it holds fewer."""
    window = await conn.fetchrow(Q["schedule"], window_id)
    if window is None:
        raise NotFound("maintenance window", window_id)
    now = window["now"]
    rows = await conn.fetch(Q["occurrences"], window_id, now, limit)
    items = [MaintenanceOccurrence(**dict(r)) for r in rows]
    missing = limit - sum(1 for o in items if o.ends_at > now)
    if window["kind"] != "once" and missing > 0:
        since = max(now, window["planned_until"] or now)
        items += [
            MaintenanceOccurrence(starts_at=start, ends_at=end, ended_early=False)
            for start, end in following(windows.from_row(window), since, missing)
        ]
    return items


# Writing -------------------------------------------------------------------------------------


async def check_targets(conn: Conn, ids: Sequence[int], prefix: str = "") -> dict[int, str]:
    """The names of the targets `ids` names, held until commit; InvalidInput naming each
    `targets[i]` that does not exist."""
    found = {r["id"]: r["name"] for r in await conn.fetch(Q["existing_targets"], list(ids))}
    errors = [
        FieldError(f"{prefix}targets[{i}]", f"target {target_id} does not exist")
        for i, target_id in enumerate(ids)
        if target_id not in found
    ]
    if errors:
        raise InvalidInput(errors)
    return {target_id: found[target_id] for target_id in ids}


def covers_something(
    targets: Sequence[object], match_labels: Mapping[str, str], prefix: str = ""
) -> list[FieldError]:
    if targets or match_labels:
        return []
    return [
        FieldError(
            f"{prefix}targets",
            "name at least one target, or match_labels to cover targets by their labels",
        )
    ]


async def write(
    conn: Conn,
    window_id: int | None,
    name: str,
    checked: Checked,
    target_ids: Sequence[int],
    now: datetime,
) -> int:
    """Insert (window_id None) or replace a window, its targets and its occurrences, in the
    caller's transaction. Returns its id."""
    if window_id is None:
        window_id = await conn.fetchval(Q["insert_window"], name, *checked.params())
        assert window_id is not None  # the INSERT returns the id it made
    else:
        await conn.execute(Q["replace_window"], window_id, name, *checked.params())
    await conn.execute(Q["set_window_targets"], window_id, sorted(set(target_ids)))
    await windows.plan(conn, window_id, checked.schedule, now)
    return window_id


async def _checked(
    conn: Conn, data: MaintenanceWindowCreate, now: datetime, window_id: int | None
) -> tuple[str, Checked]:
    """Everything wrong with the body at once (the schedule, the targets), else its name (one
    made up from its targets when it has none) and stored form."""
    errors: list[FieldError] = []
    if data.name is not None and (why := invisible(data.name)) is not None:
        errors.append(FieldError("name", why))
    errors += covers_something(data.targets, data.match_labels)
    checked = None
    try:
        checked = check(data, now)
    except InvalidInput as exc:
        errors += exc.errors
    try:
        names = await check_targets(conn, data.targets)
    except InvalidInput as exc:
        errors += exc.errors
    if errors:
        raise InvalidInput(errors)
    assert checked is not None
    name = data.name or await _made_up_name(
        conn, list(names.values()), data.match_labels, window_id
    )
    return name, checked


async def _made_up_name(
    conn: Conn, targets: list[str], labels: Mapping[str, str], window_id: int | None
) -> str:
    """ "Maintenance of web, db", unique: "Maintenance of web (2)" when that is taken."""
    shown = ", ".join(targets[:NAMED_TARGETS]) or ", ".join(
        f"{k}={v}" for k, v in sorted(labels.items())
    )
    if len(targets) > NAMED_TARGETS:
        shown += f" and {len(targets) - NAMED_TARGETS} more"
    base = f"Maintenance of {shown}"[:190].rstrip()
    taken = {r["name"] for r in await conn.fetch(Q["names_like"], base, window_id or 0)}
    for n in range(1, len(taken) + 2):
        name = base if n == 1 else f"{base} ({n})"
        if name not in taken:
            return name
    raise AssertionError("one of len(taken) + 1 names is free")


async def create(conn: Conn, data: MaintenanceWindowCreate) -> MaintenanceWindow:
    name = data.name
    try:
        async with conn.transaction():
            now = await db_now(conn)
            name, checked = await _checked(conn, data, now, None)
            window_id = await write(conn, None, name, checked, data.targets, now)
            window = await get(conn, window_id)
    except asyncpg.UniqueViolationError:
        raise _duplicate(name) from None
    log.info("maintenance.created", window_id=window.id, kind=window.kind, state=window.state)
    return window


async def replace(conn: Conn, window_id: int, data: MaintenanceWindowCreate) -> MaintenanceWindow:
    """Replace every field; fields left out take their defaults. Occurrences that have not
    ended are planned anew, but one ended early stays ended."""
    name = data.name
    try:
        async with conn.transaction():
            if await conn.fetchrow(Q["lock_window"], window_id) is None:
                raise NotFound("maintenance window", window_id)
            now = await db_now(conn)
            name, checked = await _checked(conn, data, now, window_id)
            await write(conn, window_id, name, checked, data.targets, now)
            window = await get(conn, window_id)
    except asyncpg.UniqueViolationError:
        raise _duplicate(name) from None
    log.info("maintenance.replaced", window_id=window_id, kind=window.kind, state=window.state)
    return window


async def end(conn: Conn, window_id: int) -> MaintenanceWindow:
    """End the occurrence running now (Conflict when none is)."""
    async with conn.transaction():
        row = await conn.fetchrow(Q["lock_window"], window_id)
        if row is None:
            raise NotFound("maintenance window", window_id)
        now = await db_now(conn)
        ended = await windows.end_now(conn, window_id, row["kind"], now)
        if ended is None:
            raise Conflict(
                f"maintenance window {window_id} is not active: no occurrence of it runs now",
                field="state",
            )
        window = await get(conn, window_id)
    log.info("maintenance.ended_early", window_id=window_id, started_at=ended[0].isoformat())
    return window


async def delete(conn: Conn, window_id: int) -> None:
    """Delete a window with its occurrences; held firings of its targets are released by the
    workers (NOTIFY vigil_maintenance)."""
    async with conn.transaction():
        if await conn.fetchval(Q["delete_window"], window_id) is None:
            raise NotFound("maintenance window", window_id)


def _duplicate(name: object) -> Conflict:
    return Conflict(f"a maintenance window named {name!r} already exists", field="name")
