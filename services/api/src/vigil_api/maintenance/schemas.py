"""Request and response structs for maintenance windows: MaintenanceWindow,
MaintenanceWindowCreate (POST, PUT) and the fields both it and an apply document's window share
(WindowFields).

One struct takes every kind, as the contract's JSON does: `kind` may be left out and is then
inferred (`cron` makes a cron window, `days` a weekly one, anything else a one-off), and the
rules that span fields (which fields a kind has, the schedule itself) are in service.py, with
vigil_core.windows computing the schedule.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal

import msgspec
from msgspec import Meta

from vigil_core.windows import MAX_ONCE_S

from ..targets.schemas import Labels, Name

Kind = Literal["once", "weekly", "cron"]
State = Literal["active", "upcoming", "past"]
STATES = ("active", "upcoming", "past")

Description = Annotated[str, Meta(max_length=2000, pattern=r"^[^\x00]*$")]
DayName = Annotated[
    str, Meta(min_length=2, max_length=10, description="mon, tue, wed, thu, fri, sat or sun")
]
Days = Annotated[list[DayName], Meta(min_length=1, max_length=7)]
StartTime = Annotated[
    str,
    Meta(
        pattern=r"^([01]?[0-9]|2[0-3]):[0-5][0-9]$",
        description="Wall-clock start in time_zone, HH:MM",
        examples=["02:30"],
    ),
]
Cron = Annotated[
    str,
    Meta(
        min_length=1,
        max_length=200,
        description="5 fields: minute hour day-of-month month day-of-week, in time_zone",
        examples=["30 2 * * 0"],
    ),
]
DurationS = Annotated[
    int,
    Meta(
        ge=1,
        le=MAX_ONCE_S,
        description="Seconds a recurring window lasts (60 s to 7 days); for a one-off window,"
        " instead of ends_at (up to 366 days)",
    ),
]
TimeZone = Annotated[
    str,
    Meta(
        min_length=1,
        max_length=64,
        description="IANA time zone the schedule's wall-clock times are in",
        examples=["Europe/Berlin"],
    ),
]
MatchLabels = Annotated[
    Labels,
    Meta(
        description="Also cover every target whose labels include all of these;"
        " {} covers only the targets listed"
    ),
]
TargetRef = Annotated[int, Meta(ge=1, le=2**63 - 1, description="A target's id")]


class WindowFields(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    """What a window is, but for its name and targets (ids in the API, names in apply)."""

    description: Description = ""
    kind: Kind | None = None
    match_labels: MatchLabels = msgspec.field(default_factory=dict)
    starts_at: datetime | None = None
    ends_at: datetime | None = None
    days: Days | None = None
    start_time: StartTime | None = None
    cron: Cron | None = None
    duration_s: DurationS | None = None
    time_zone: TimeZone = "UTC"
    include_in_uptime: bool = False


class MaintenanceWindowCreate(WindowFields, kw_only=True, forbid_unknown_fields=True):
    """A window as a client writes it (POST, PUT). `{"targets": [1], "duration_s": 1800}` is a
    one-off window from now, named after its targets."""

    name: Name | None = None
    targets: Annotated[list[TargetRef], Meta(max_length=1000)] = msgspec.field(default_factory=list)


class MaintenanceSpan(msgspec.Struct, kw_only=True):
    starts_at: datetime
    ends_at: datetime


class MaintenanceOccurrence(msgspec.Struct, kw_only=True):
    """One occurrence; `ended_early` when POST .../end cut it short."""

    starts_at: datetime
    ends_at: datetime
    ended_early: bool


class MaintenanceWindow(msgspec.Struct, kw_only=True):
    """A stored window. `targets` are ids; `current` is the occurrence running now, `next` the
    next one to start; `state` is active (one runs now), upcoming or past."""

    id: int
    name: str
    description: str
    kind: Kind
    targets: list[int]
    match_labels: dict[str, str]
    starts_at: datetime | None
    ends_at: datetime | None
    days: list[str] | None
    start_time: str | None
    cron: str | None
    duration_s: int | None
    time_zone: str
    include_in_uptime: bool
    state: State
    current: MaintenanceSpan | None
    next: MaintenanceSpan | None
    created_at: datetime
    updated_at: datetime


class MaintenanceWindowList(msgspec.Struct, kw_only=True):
    """Active windows first, then upcoming ones by their next start, then past ones, newest
    first."""

    items: list[MaintenanceWindow]


class MaintenanceOccurrenceList(msgspec.Struct, kw_only=True):
    """Oldest first: the most recent ended occurrences, then those still to come."""

    items: list[MaintenanceOccurrence]
