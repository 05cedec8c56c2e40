"""The channels of an apply document: checked, compared with the stored ones without showing a
secret, and written through the channels service."""

from __future__ import annotations

from collections.abc import Sequence

import asyncpg

from vigil_core.db import Conn

from ..auth import Principal
from ..channels import service as channels
from ..channels.schemas import ChannelCreate
from ..errors import FieldError, InvalidInput
from ..targets.rules import invisible
from .common import Q, duplicates
from .schemas import Change, FieldChange, Section


def check(items: Sequence[ChannelCreate]) -> list[FieldError]:
    """What needs no stored state: unique, visible names."""
    repeated = duplicates("channels", [c.name for c in items])
    errors = []
    for i, channel in enumerate(items):
        if i in repeated:
            errors.append(repeated[i])
        elif (why := invisible(channel.name)) is not None:
            errors.append(FieldError(f"channels[{i}].name", why))
    return errors


async def read(
    conn: Conn, items: Sequence[ChannelCreate], prune: bool
) -> dict[str, asyncpg.Record]:
    """The stored channels the document names (all when pruning), locked until commit."""
    rows = await conn.fetch(Q["channels_for_apply"], [c.name for c in items], prune)
    return {r["name"]: r for r in rows}


def configs(
    items: Sequence[ChannelCreate], stored: dict[str, asyncpg.Record]
) -> tuple[list[dict], list[FieldError]]:
    """Each channel's config as it would be stored (a mask echoed for a stored secret of the
    same kind takes its value), and the errors naming `channels[i].config...`."""
    checked: list[dict] = []
    errors: list[FieldError] = []
    for i, channel in enumerate(items):
        row = stored.get(channel.name)
        old = row["config"] if row is not None and row["kind"] == channel.kind else None
        try:
            checked.append(
                channels.checked_config(channel.kind, channel.config, old, prefix=f"channels[{i}].")
            )
        except InvalidInput as exc:
            errors.extend(exc.errors)
            checked.append({})
    return checked, errors


async def write(
    conn: Conn,
    items: Sequence[ChannelCreate],
    checked: Sequence[dict],
    stored: dict[str, asyncpg.Record],
    prune: bool,
    section: Section,
    principal: Principal,
) -> dict[str, int]:
    """Create, replace (when it differs) and prune; the ids of the document's channels by name.
    A config is compared as stored, and shown only as changed. A channel left as it is needs
    no scope for its secrets; one whose secrets change needs `admin` (channels.service)."""
    ids: dict[str, int] = {}
    for channel, config in sorted(zip(items, checked, strict=True), key=lambda p: p[0].name):
        row = stored.get(channel.name)
        if row is None:
            fields = {
                "kind": FieldChange(None, channel.kind),
                "enabled": FieldChange(None, channel.enabled),
            }
            section.add(
                Change(op="create", name=channel.name, id=None, fields=fields, hidden=["config"])
            )
            ids[channel.name] = (await channels.insert(conn, channel))["id"]
            continue
        ids[channel.name] = row["id"]
        fields = {
            key: FieldChange(row[key], new)
            for key, new in (("kind", channel.kind), ("enabled", channel.enabled))
            if row[key] != new
        }
        hidden = ["config"] if config != row["config"] else []
        if not fields and not hidden:
            section.unchanged.append(channel.name)
            continue
        section.add(
            Change(op="update", name=channel.name, id=row["id"], fields=fields, hidden=hidden)
        )
        await channels.replace(conn, row["id"], channel, principal)
    if prune:
        for name in sorted(set(stored) - set(ids)):
            section.add(Change(op="delete", name=name, id=stored[name]["id"], fields={}))
            await channels.delete(conn, stored[name]["id"])
    return ids
