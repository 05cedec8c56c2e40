"""Request and response structs for status pages: StatusPage, StatusPageCreate (POST, PUT) and
their groups.

The slug's rule is checked in service.py, so a bad one is answered in words rather than with
the regular expression; the database holds the same rule (status_pages_slug_valid).
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

import msgspec
from msgspec import Meta

from ..targets.schemas import Name

SLUG_RULE = (
    "must be 1 to 64 characters of a-z, 0-9 and '-', starting and ending with a letter or"
    " a digit (for example 'status' or 'acme-cloud')"
)
Slug = Annotated[
    str,
    Meta(
        min_length=1, max_length=200, description=f"The page's address /status/<slug>: {SLUG_RULE}"
    ),
]
Description = Annotated[
    str,
    Meta(max_length=5000, pattern=r"^[^\x00]*$", description="Plain text shown under the title"),
]
LogoUrl = Annotated[
    str,
    Meta(
        min_length=8,
        max_length=2048,
        pattern=r"^(?i:https?)://[^\s/?#\x00]+[^\s\x00]*$",
        description="An http(s) image URL shown beside the title (the page's CSP allows its origin)",
    ),
]
TargetRef = Annotated[int, Meta(ge=1, le=2**63 - 1, description="A target's id")]
DisplayName = Annotated[
    str,
    Meta(
        min_length=1,
        max_length=200,
        pattern=r"^[^\s\x00]([^\x00\r\n]*[^\s\x00])?$",
        description="What the page calls the target; default: the target's name when written",
    ),
]


class GroupTargetIn(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    target_id: TargetRef
    display_name: DisplayName | None = None


class GroupIn(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    name: Name
    targets: Annotated[list[GroupTargetIn], Meta(max_length=1000)] = msgspec.field(
        default_factory=list
    )


class StatusPageCreate(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    """A page as an editor writes it (POST, PUT: groups are replaced as a whole)."""

    slug: Slug
    title: Name
    description: Description = ""
    logo_url: LogoUrl | None = None
    groups: Annotated[list[GroupIn], Meta(max_length=100)] = msgspec.field(default_factory=list)


class GroupTarget(msgspec.Struct, kw_only=True):
    target_id: int
    display_name: str


class Group(msgspec.Struct, kw_only=True):
    name: str
    targets: list[GroupTarget]


class StatusPage(msgspec.Struct, kw_only=True):
    """A stored page; `url` is its public address (relative to the API's)."""

    id: int
    slug: str
    title: str
    description: str
    logo_url: str | None
    groups: list[Group]
    url: str
    created_at: datetime
    updated_at: datetime


class StatusPageList(msgspec.Struct, kw_only=True):
    """Every page, by slug."""

    items: list[StatusPage]
