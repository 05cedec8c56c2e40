"""Request and response structs for channels: Channel, ChannelCreate, ChannelUpdate.

`config` is a plain object here: it is validated against its kind's struct
(vigil_core.channels.CONFIGS) only after the masks a client echoed back are replaced by the
stored secrets (service.checked_config), since "********" is not a valid URL or key.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal

import msgspec
from msgspec import UNSET, Meta, UnsetType

from vigil_core.channels import CONFIGS, MASK

from ..targets.schemas import Name

KINDS = tuple(CONFIGS)
# A plain string with the kinds as its documented enum: the server answers an unknown kind
# with the list of kinds (a Literal would only say "invalid enum value").
Kind = Annotated[
    str,
    Meta(
        max_length=50,
        description="The channel kind; it decides the fields of `config`",
        extra_json_schema={"enum": list(KINDS)},
    ),
]
Config = Annotated[
    dict[str, Any],
    Meta(
        max_length=50,
        description="The kind's settings (the ChannelConfig schemas: WebhookConfig, SlackConfig"
        f", ...). Secrets read back as {MASK!r}; sending that back keeps the stored value. A null"
        " field takes its default.",
    ),
]
Status = Literal["ok", "broken", "disabled"]


class ChannelCreate(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    """A channel as a client writes it (POST, PUT, and `channels:` in apply files)."""

    name: Name
    kind: Kind
    config: Config
    enabled: bool = True


class ChannelUpdate(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    """A partial update: only the fields sent change; `config` is merged key by key (a null
    key takes its default). The kind cannot change: replace the channel (PUT) for that."""

    name: Name | UnsetType = UNSET
    enabled: bool | UnsetType = UNSET
    config: Config | UnsetType = UNSET


class Channel(msgspec.Struct, kw_only=True):
    """A stored channel. `status`: disabled when not enabled, broken while the receiver answers
    404/410 (broken_at, broken_reason; cleared by a successful send or any change), else ok."""

    id: int
    name: str
    kind: str
    config: dict[str, Any]
    enabled: bool
    status: Status
    broken_at: datetime | None
    broken_reason: str | None
    last_error: str | None
    last_error_at: datetime | None
    last_sent_at: datetime | None
    created_at: datetime
    updated_at: datetime


class ChannelPage(msgspec.Struct, kw_only=True):
    """A page of channels ordered by id; `next` is the cursor of the following page or null."""

    items: list[Channel]
    next: str | None
