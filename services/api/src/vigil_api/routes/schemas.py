"""Request and response structs for routes: Route, RouteCreate, RouteUpdate.

match_labels follows the rules of target labels (the same Labels type); `channels` lists
channel ids in the order they are kept (route_channels.position).
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal

import msgspec
from msgspec import UNSET, Meta, UnsetType

from ..targets.schemas import Labels, Name

ChannelRef = Annotated[int, Meta(ge=1, le=2**63 - 1, description="A channel's id")]
ChannelRefs = Annotated[list[ChannelRef], Meta(max_length=100)]
DelayS = Annotated[
    int,
    Meta(
        ge=0,
        le=86400,
        description="Seconds a firing waits before it is sent; an incident that ends sooner"
        " is handled as short_outage says",
    ),
]
RepeatIntervalS = Annotated[
    int,
    Meta(
        ge=60,
        le=2592000,
        description="Seconds between reminders while the incident lasts (null: none)",
    ),
]
ShortOutage = Annotated[
    Literal["silent", "summary"],
    Meta(
        description="An incident shorter than delay_s: send nothing (silent) or one"
        ' "down from .. to" resolve (summary)'
    ),
]
MatchLabels = Annotated[
    Labels,
    Meta(description="Every label must equal the target's; {} matches every target"),
]


class RouteCreate(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    """A route as a client writes it (POST, PUT)."""

    name: Name
    match_labels: MatchLabels = msgspec.field(default_factory=dict)
    channels: ChannelRefs = msgspec.field(default_factory=list)
    send_resolved: bool = True
    delay_s: DelayS = 0
    short_outage: ShortOutage = "silent"
    repeat_interval_s: RepeatIntervalS | None = None
    enabled: bool = True


class RouteUpdate(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    """A partial update: only the fields sent change (null clears repeat_interval_s)."""

    name: Name | UnsetType = UNSET
    match_labels: MatchLabels | UnsetType = UNSET
    channels: ChannelRefs | UnsetType = UNSET
    send_resolved: bool | UnsetType = UNSET
    delay_s: DelayS | UnsetType = UNSET
    short_outage: ShortOutage | UnsetType = UNSET
    repeat_interval_s: RepeatIntervalS | None | UnsetType = UNSET
    enabled: bool | UnsetType = UNSET


class Route(msgspec.Struct, kw_only=True):
    """A stored route; `channels` are channel ids in order."""

    id: int
    name: str
    match_labels: dict[str, str]
    channels: list[int]
    send_resolved: bool
    delay_s: int
    short_outage: Literal["silent", "summary"]
    repeat_interval_s: int | None
    enabled: bool
    created_at: datetime
    updated_at: datetime


class RoutePage(msgspec.Struct, kw_only=True):
    """A page of routes ordered by id; `next` is the cursor of the following page or null."""

    items: list[Route]
    next: str | None
