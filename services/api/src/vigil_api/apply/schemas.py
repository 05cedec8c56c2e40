"""The apply document (`vigil apply` files) and the result: what changed, section by section.

Targets, channels and routes take the form of their create bodies, except that references are
names, so that one file can create a channel and the route that uses it, or two targets of
which one depends on the other: a target's `depends_on` names targets, a route's `channels`
names channels. Maintenance windows are keyed by their names, and name their targets.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

import msgspec
from msgspec import UNSET, Meta, UnsetType

from ..channels.schemas import ChannelCreate
from ..maintenance.schemas import WindowFields
from ..routes.schemas import DelayS, MatchLabels, RepeatIntervalS, ShortOutage
from ..targets.schemas import (
    MAX_DEPENDENCIES,
    DnsFields,
    HttpFields,
    IcmpFields,
    Name,
    PushFields,
    TcpFields,
    TlsFields,
)

MAX_TARGETS = 20_000
MAX_CHANNELS = 1_000
MAX_ROUTES = 1_000
MAX_WINDOWS = 1_000

TargetNames = Annotated[
    list[Name],
    Meta(
        max_length=MAX_DEPENDENCIES,
        description="Names of the targets this one depends on: in this document, or stored",
    ),
]
ChannelNames = Annotated[
    list[Name],
    Meta(
        max_length=100, description="Names of the channels, in order: in this document, or stored"
    ),
]


class HttpApplyTarget(HttpFields, tag="http"):
    """An HTTP(S) target as POST /api/v1/targets takes it, `depends_on` by name."""

    depends_on: TargetNames = msgspec.field(default_factory=list)


class TcpApplyTarget(TcpFields, tag="tcp"):
    """A TCP target as POST /api/v1/targets takes it, `depends_on` by name."""

    depends_on: TargetNames = msgspec.field(default_factory=list)


class IcmpApplyTarget(IcmpFields, tag="icmp"):
    """An ICMP target as POST /api/v1/targets takes it, `depends_on` by name."""

    depends_on: TargetNames = msgspec.field(default_factory=list)


class DnsApplyTarget(DnsFields, tag="dns"):
    """A DNS target as POST /api/v1/targets takes it, `depends_on` by name."""

    depends_on: TargetNames = msgspec.field(default_factory=list)


class TlsApplyTarget(TlsFields, tag="tls"):
    """A TLS target as POST /api/v1/targets takes it, `depends_on` by name."""

    depends_on: TargetNames = msgspec.field(default_factory=list)


class PushApplyTarget(PushFields, tag="push"):
    """A push target as POST /api/v1/targets takes it, `depends_on` by name. Re-applying it
    keeps its push URL; the URL is never in apply's answer (GET the target for it)."""

    depends_on: TargetNames = msgspec.field(default_factory=list)


ApplyTarget = (
    HttpApplyTarget
    | TcpApplyTarget
    | IcmpApplyTarget
    | DnsApplyTarget
    | TlsApplyTarget
    | PushApplyTarget
)


class ApplyRoute(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    """A route as POST /api/v1/routes takes it (RouteCreate), `channels` by name."""

    name: Name
    match_labels: MatchLabels = msgspec.field(default_factory=dict)
    channels: ChannelNames = msgspec.field(default_factory=list)
    send_resolved: bool = True
    delay_s: DelayS = 0
    short_outage: ShortOutage = "silent"
    repeat_interval_s: RepeatIntervalS | None = None
    enabled: bool = True


class ApplyWindow(WindowFields, kw_only=True, forbid_unknown_fields=True):
    """A maintenance window as POST /api/v1/maintenance takes it (WindowCreate), `targets` by
    name; its name is its key in `maintenance`. A one-off window needs starts_at."""

    targets: Annotated[
        list[Name],
        Meta(max_length=1000, description="Names of its targets: in this document, or stored"),
    ] = msgspec.field(default_factory=list)


# Decoded window by window (apply.maintenance), so that an error names the window:
# `maintenance.<name>.days`. Each value is an ApplyWindow.
Windows = Annotated[
    dict[str, dict[str, Any]],
    Meta(
        max_length=MAX_WINDOWS,
        description="Maintenance windows by name, each as POST /api/v1/maintenance takes it"
        " but for `name`, with `targets` by name",
    ),
]


class ApplyDocument(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    """Every target, channel, route and maintenance window that should exist. A section left
    out is not touched (nor pruned); an empty one holds none."""

    channels: Annotated[list[ChannelCreate], Meta(max_length=MAX_CHANNELS)] | UnsetType = UNSET
    targets: list[ApplyTarget] | UnsetType = UNSET
    routes: Annotated[list[ApplyRoute], Meta(max_length=MAX_ROUTES)] | UnsetType = UNSET
    maintenance: Windows | UnsetType = UNSET


class FieldChange(msgspec.Struct):
    old: Any
    new: Any


class Change(msgspec.Struct, kw_only=True):
    """One item created, updated or deleted. `hidden` lists fields that changed but whose
    values are not shown: a channel's config, and a target's `headers` or `url` when only a
    secret in them (a header value, the URL's password) changed. Secrets in `fields` show as
    "********"."""

    op: Literal["create", "update", "delete"]
    name: str
    id: int | None
    fields: dict[str, FieldChange]
    hidden: list[str] = msgspec.field(default_factory=list)


class Section(msgspec.Struct, kw_only=True):
    """What apply did (or would do) to one kind of item, by name."""

    created: list[str] = msgspec.field(default_factory=list)
    updated: list[str] = msgspec.field(default_factory=list)
    deleted: list[str] = msgspec.field(default_factory=list)
    unchanged: list[str] = msgspec.field(default_factory=list)
    changes: list[Change] = msgspec.field(default_factory=list)

    def add(self, change: Change) -> None:
        names = {"create": self.created, "update": self.updated, "delete": self.deleted}
        names[change.op].append(change.name)
        self.changes.append(change)


class ApplyResult(Section, kw_only=True):
    """The top-level lists are the targets' (as before apply took channels and routes)."""

    dry_run: bool
    channels: Section = msgspec.field(default_factory=Section)
    routes: Section = msgspec.field(default_factory=Section)
    maintenance: Section = msgspec.field(default_factory=Section)
