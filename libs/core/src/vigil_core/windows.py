"""Maintenance windows' schedules and their occurrences.

A window is one of three kinds (migration 0015):

- `once`: from `starts_at` to `ends_at`;
- `weekly`: on some days of the week at a wall-clock `start_time` in an IANA `time_zone`, for
  `duration_s`;
- `cron`: at the times a 5-field cron expression names, in `time_zone`, for `duration_s`.

Occurrences are computed here, on the server, with zoneinfo and cronsim; the API stores them
when a window is written and the worker keeps them planned ahead (PLAN_AHEAD). A weekly window is
the cron expression `M H * * DAYS`, so both recurring kinds share one rule for the days that
daylight saving time changes, the one Debian's cron follows:

- a start time the clocks skip (02:30 on the night they go forward) starts the window at the
  first minute that exists after it (03:00);
- a start time the clocks repeat (02:30 on the night they go back) starts the window once, at
  the first of the two.

A duration is elapsed time: a two-hour window that starts at 01:00 on the night the clocks go
forward ends at 04:00 local time, two hours later.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError, available_timezones

import asyncpg
from cronsim import CronSim, CronSimError

from .db import Conn, load_queries

Q = load_queries(__package__, "windows.sql")

KINDS = ("once", "weekly", "cron")
# ISO weekday numbers (Monday 1 .. Sunday 7), as the API names them.
DAY_NAMES = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
MIN_DURATION_S = 60
MAX_DURATION_S = 7 * 86400  # a recurring window lasts at most a week
MAX_ONCE_S = 366 * 86400
# How far ahead occurrences are stored; the worker extends the plan as time passes.
PLAN_AHEAD = timedelta(days=35)
# An upper bound on the occurrences one window stores ahead (a cron firing every minute would
# otherwise write 50,000 rows for 35 days).
MAX_PLANNED = 2000


class WindowError(ValueError):
    """A schedule that cannot be: `field` names the offending input."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(message)
        self.field = field
        self.message = message


@dataclass(frozen=True, slots=True)
class Schedule:
    """A window's schedule, as stored (migration 0015's columns)."""

    kind: str
    starts_at: datetime | None = None
    ends_at: datetime | None = None
    days: tuple[int, ...] = ()
    start_time: time | None = None
    cron: str | None = None
    duration_s: int | None = None
    time_zone: str = "UTC"

    def check(self) -> None:
        """Raise WindowError for a schedule that cannot be stored or computed."""
        if self.kind not in KINDS:
            raise WindowError("kind", f"kind must be one of {', '.join(KINDS)}")
        zone(self.time_zone)
        if self.kind == "once":
            self._check_once()
        else:
            self._check_recurring()

    def _check_once(self) -> None:
        if self.starts_at is None or self.ends_at is None:
            raise WindowError("starts_at", "a one-off window needs starts_at and ends_at")
        for name, value in (("starts_at", self.starts_at), ("ends_at", self.ends_at)):
            if value.tzinfo is None:
                raise WindowError(name, f"{name} needs a UTC offset, e.g. 2026-12-01T02:00:00Z")
        if self.ends_at <= self.starts_at:
            raise WindowError("ends_at", "ends_at must be after starts_at")
        if (self.ends_at - self.starts_at).total_seconds() > MAX_ONCE_S:
            raise WindowError("ends_at", "a one-off window lasts at most 366 days")

    def _check_recurring(self) -> None:
        if self.duration_s is None or not MIN_DURATION_S <= self.duration_s <= MAX_DURATION_S:
            raise WindowError(
                "duration_s",
                f"duration_s must be between {MIN_DURATION_S} and {MAX_DURATION_S} seconds",
            )
        if self.kind == "weekly":
            if not self.days or any(d not in range(1, 8) for d in self.days):
                raise WindowError(
                    "days", f"days must name days of the week: {', '.join(DAY_NAMES)}"
                )
            if self.start_time is None:
                raise WindowError("start_time", "a weekly window needs start_time, e.g. 02:30")
            if self.start_time.second or self.start_time.microsecond:
                raise WindowError("start_time", "start_time is hours and minutes, e.g. 02:30")
        else:
            cron_expression(self.cron)

    def expression(self) -> str:
        """The cron expression of a recurring schedule (a weekly one as `M H * * DAYS`)."""
        if self.kind == "weekly":
            assert self.start_time is not None
            days = ",".join(str(d % 7) for d in sorted(set(self.days)))  # cron: Sunday is 0
            return f"{self.start_time.minute} {self.start_time.hour} * * {days}"
        assert self.cron is not None
        return self.cron

    def occurrences(
        self, since: datetime, until: datetime, limit: int = MAX_PLANNED
    ) -> list[tuple[datetime, datetime]]:
        """The occurrences (start, end, in UTC) that overlap [since, until), at most `limit`."""
        if self.kind == "once":
            assert self.starts_at is not None and self.ends_at is not None
            if self.starts_at < until and self.ends_at > since:
                return [(self.starts_at.astimezone(UTC), self.ends_at.astimezone(UTC))]
            return []
        assert self.duration_s is not None
        length = timedelta(seconds=self.duration_s)
        out: list[tuple[datetime, datetime]] = []
        for start in self._starts(since - length):
            if start >= until or len(out) >= limit:
                break
            end = start + length
            if end > since:
                out.append((start, end))
        return out

    def _starts(self, after: datetime) -> Iterator[datetime]:
        """The start times after `after`, in UTC, in order."""
        tz = zone(self.time_zone)
        local = after.astimezone(tz)
        for start in CronSim(self.expression(), local):
            yield start.astimezone(UTC)


def zone(name: str) -> ZoneInfo:
    """The IANA time zone `name`, or WindowError naming it."""
    if not name or name != name.strip() or name.startswith("/") or ".." in name:
        raise WindowError(
            "time_zone", f"unknown time zone {name!r}: use an IANA name such as Europe/Berlin"
        )
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        raise WindowError(
            "time_zone", f"unknown time zone {name!r}: use an IANA name such as Europe/Berlin"
        ) from None


def time_zones() -> list[str]:
    """Every IANA time zone name this machine knows, sorted (for forms)."""
    return sorted(available_timezones())


def cron_expression(expression: str | None) -> str:
    """A valid 5-field cron expression, or WindowError("cron") saying what is wrong."""
    if not expression or len(expression.split()) != 5:
        raise WindowError(
            "cron", "cron needs five fields: minute hour day-of-month month day-of-week"
        )
    try:
        CronSim(expression, datetime(2000, 1, 1, tzinfo=UTC))
    except CronSimError as exc:
        raise WindowError("cron", f"invalid cron expression {expression!r}: {exc}") from None
    return expression


def day_numbers(names: Sequence[str]) -> tuple[int, ...]:
    """ISO weekday numbers of day names (`mon` .. `sun`), or WindowError("days")."""
    numbers: list[int] = []
    for name in names:
        key = name.strip().lower()[:3]
        if key not in DAY_NAMES:
            raise WindowError("days", f"unknown day {name!r}: use {', '.join(DAY_NAMES)}")
        numbers.append(DAY_NAMES.index(key) + 1)
    if not numbers:
        raise WindowError("days", f"days must name at least one of {', '.join(DAY_NAMES)}")
    return tuple(sorted(set(numbers)))


def day_names(numbers: Sequence[int]) -> list[str]:
    """The API's names of ISO weekday numbers."""
    return [DAY_NAMES[n - 1] for n in sorted(numbers)]


def from_row(row: Mapping[str, Any] | asyncpg.Record) -> Schedule:
    """The schedule of a maintenance_windows row (or a record with its columns)."""
    return Schedule(
        kind=row["kind"],
        starts_at=row["starts_at"],
        ends_at=row["ends_at"],
        days=tuple(row["days"] or ()),
        start_time=row["start_time"],
        cron=row["cron"],
        duration_s=row["duration_s"],
        time_zone=row["time_zone"],
    )


async def plan(conn: Conn, window_id: int, schedule: Schedule, now: datetime) -> int:
    """(Re)plan a window whose schedule was written, in the caller's transaction: its
    occurrences that have not ended are replaced by the schedule's up to now + PLAN_AHEAD (a
    one-off window's one occurrence, whenever it is; one ended early stays ended). Returns
    how many occurrences it stored."""
    await conn.execute(Q["drop_planned"], window_id, now)
    if schedule.kind == "once":  # all of it: one occurrence, whenever it is
        assert schedule.starts_at is not None and schedule.ends_at is not None
        return await _add(conn, window_id, schedule, schedule.starts_at, schedule.ends_at)
    return await _add(conn, window_id, schedule, now, now + PLAN_AHEAD)


async def extend(conn: Conn, now: datetime) -> int:
    """Plan recurring windows up to now + PLAN_AHEAD where their plan ends sooner (the worker,
    in the caller's transaction; rows other workers hold are skipped). Returns how many
    occurrences it added."""
    horizon = now + PLAN_AHEAD
    added = 0
    for row in await conn.fetch(Q["windows_to_extend"], horizon - timedelta(days=1)):
        since = max(row["planned_until"] or now, now)
        added += await _add(conn, row["id"], from_row(row), since, horizon)
    return added


async def end_now(
    conn: Conn, window_id: int, kind: str, now: datetime
) -> tuple[datetime, datetime] | None:
    """End the window's running occurrence at `now` (a one-off window's schedule too), in the
    caller's transaction. Returns the occurrence (start, new end), or None if none was running."""
    row = await conn.fetchrow(Q["end_occurrence"], window_id, now)
    if row is None:
        return None
    if kind == "once":
        await conn.execute(Q["end_once"], window_id, row["ends_at"])
    return row["starts_at"], row["ends_at"]


async def _add(
    conn: Conn, window_id: int, schedule: Schedule, since: datetime, until: datetime
) -> int:
    found = schedule.occurrences(since, until)
    if found:
        await conn.execute(
            Q["add_occurrences"], window_id, [s for s, _ in found], [e for _, e in found]
        )
    await conn.execute(Q["set_planned_until"], window_id, until)
    return len(found)
