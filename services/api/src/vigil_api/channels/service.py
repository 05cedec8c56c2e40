"""Channels between their API form and their row: config validation with write-only secrets,
the mapping to Channel, and the writes. The same functions serve CRUD and `vigil apply`.

A client never sees a secret (reads mask it) and may send back what it read: every write
first puts the stored secret in place of each mask it echoed (vigil_core.channels.unmask),
then validates the result against the kind's struct. Setting, replacing or clearing a secret
needs the `admin` scope (scope.py); a mask echoed back changes nothing, so an editor may
change the rest of a channel. A write clears broken_at: a changed channel deserves
a fresh try.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import asyncpg
import msgspec
import msgspec.inspect

from vigil_core import channels
from vigil_core.db import Conn, load_queries
from vigil_core.text import storable

from ..auth import Principal
from ..body import convert_strict
from ..errors import Conflict, FieldError, InvalidInput, NotFound
from ..targets.rules import invisible
from .schemas import KINDS, Channel, ChannelCreate, ChannelUpdate, Status
from .scope import check_secret_scope

Q = load_queries(__package__)


def checked_config(
    kind: str, config: dict, stored: dict | None = None, *, prefix: str = ""
) -> dict:
    """The `channels.config` value to store for a config a client sent.

    `stored` is the channel's current config when it has this kind (None for a new channel or
    a change of kind): each mask echoed in a secret field takes its value. Null fields take
    their defaults. Raises InvalidInput naming `kind` or `config.<field>` (after `prefix`,
    e.g. "channels[2].") and the rule it breaks.
    """
    struct = channels.CONFIGS.get(kind)
    if struct is None:
        raise InvalidInput.one(
            f"{prefix}kind", f"is not a channel kind; use one of: {', '.join(KINDS)}"
        )
    sent = channels.unmask(kind, config, stored or {})
    values = {k: v for k, v in sent.items() if v is not None}
    if (field := _unresolved_mask(kind, values)) is not None:
        raise InvalidInput.one(
            f"{prefix}config.{field}",
            f"is the mask {channels.MASK!r} but this channel has no stored value for it;"
            " send the secret itself",
        )
    try:
        encoded = channels.encode(convert_strict(values, struct, prefix=f"{prefix}config"))
    except InvalidInput as exc:
        raise InvalidInput(
            [_with_choices(e, struct, f"{prefix}config.") for e in exc.errors]
        ) from None
    if (field := _unstorable(encoded)) is not None:
        raise InvalidInput.one(f"{prefix}config{field}", "must not hold NUL characters")
    return encoded


def _with_choices(error: FieldError, struct: type, prefix: str) -> FieldError:
    """msgspec says only "Invalid enum value 'ssl'"; say what the field takes too."""
    if not error.message.startswith("Invalid enum value") or not error.field.startswith(prefix):
        return error
    name = error.field.removeprefix(prefix)
    info = msgspec.inspect.type_info(struct)
    for field in getattr(info, "fields", ()):
        if field.encode_name == name and isinstance(field.type, msgspec.inspect.LiteralType):
            choices = ", ".join(str(v) for v in field.type.values)
            return FieldError(error.field, f"{error.message}; use one of: {choices}")
    return error


def _unresolved_mask(kind: str, values: Mapping[str, Any]) -> str | None:
    """The first secret (a field, a header, a list item) still holding the mask after unmask:
    a value copied from a read of another channel, which would store the mask as the secret."""
    for name in sorted(channels.SECRETS.get(kind, frozenset()) & values.keys()):
        value = values[name]
        if value == channels.MASK:
            return name
        if isinstance(value, dict):
            for key, item in value.items():
                if item == channels.MASK:
                    return f"{name}.{key}"
        if isinstance(value, list):
            for i, item in enumerate(value):
                if item == channels.MASK:
                    return f"{name}[{i}]"
    return None


def _unstorable(value: Any, path: str = "") -> str | None:
    """The path of the first string PostgreSQL cannot store in jsonb (a NUL), if any."""
    if isinstance(value, str):
        return path if storable(value) != value else None
    if isinstance(value, dict):
        items: Any = ((f"{path}.{k}", v) for k, v in value.items())
    elif isinstance(value, list):
        items = ((f"{path}[{i}]", v) for i, v in enumerate(value))
    else:
        return None
    for sub, item in items:
        if (found := _unstorable(item, sub)) is not None:
            return found
    return None


def _check_name(name: str, prefix: str = "") -> None:
    if (why := invisible(name)) is not None:
        raise InvalidInput.one(f"{prefix}name", why)


def status_of(row: asyncpg.Record | Mapping[str, Any]) -> Status:
    if not row["enabled"]:
        return "disabled"
    return "broken" if row["broken_at"] is not None else "ok"


def to_channel(row: asyncpg.Record | Mapping[str, Any]) -> Channel:
    """A stored channel as every read shows it: secrets masked."""
    return Channel(
        id=row["id"],
        name=row["name"],
        kind=row["kind"],
        config=channels.mask(row["kind"], row["config"] or {}),
        enabled=row["enabled"],
        status=status_of(row),
        broken_at=row["broken_at"],
        broken_reason=row["broken_reason"],
        last_error=row["last_error"],
        last_error_at=row["last_error_at"],
        last_sent_at=row["last_sent_at"],
        created_at=row["created_at"],
        updated_at=row["updated_at"],
    )


async def get(conn: Conn, channel_id: int) -> asyncpg.Record:
    row = await conn.fetchrow(Q["get_channel"], channel_id)
    if row is None:
        raise NotFound("channel", channel_id)
    return row


async def insert(conn: Conn, data: ChannelCreate) -> asyncpg.Record:
    _check_name(data.name)
    config = checked_config(data.kind, data.config)
    # A new channel's secrets are its maker's own: an editor may create one (scope.py).
    try:
        async with conn.transaction():
            row = await conn.fetchrow(
                Q["insert_channel"], data.name, data.kind, config, data.enabled
            )
    except asyncpg.UniqueViolationError:
        raise _duplicate(data.name) from None
    assert row is not None  # the INSERT returns the row it made
    return row


async def replace(
    conn: Conn, channel_id: int, data: ChannelCreate, principal: Principal
) -> asyncpg.Record:
    """Replace every field; a secret sent back masked keeps its stored value (same kind only:
    another kind's secrets never carry over)."""
    _check_name(data.name)
    try:
        async with conn.transaction():
            current = await conn.fetchrow(Q["get_channel_for_update"], channel_id)
            if current is None:
                raise NotFound("channel", channel_id)
            stored = current["config"] if current["kind"] == data.kind else None
            config = checked_config(data.kind, data.config, stored)
            check_secret_scope(principal, data.kind, config, stored, data.name)
            row = await conn.fetchrow(
                Q["replace_channel"], channel_id, data.name, data.kind, config, data.enabled
            )
    except asyncpg.UniqueViolationError:
        raise _duplicate(data.name) from None
    assert row is not None  # the row is locked: it cannot go away before the UPDATE
    return row


async def patch(
    conn: Conn, channel_id: int, update: ChannelUpdate, principal: Principal
) -> asyncpg.Record:
    """Change the fields sent, under a row lock; `config` merges key by key into the stored
    one and the result is validated as a whole."""
    if isinstance(update.name, str):
        _check_name(update.name)
    try:
        async with conn.transaction():
            current = await conn.fetchrow(Q["get_channel_for_update"], channel_id)
            if current is None:
                raise NotFound("channel", channel_id)
            kind, config = current["kind"], current["config"]
            if not isinstance(update.config, msgspec.UnsetType):
                stored = config
                config = checked_config(kind, {**stored, **update.config}, stored)
                check_secret_scope(principal, kind, config, stored, current["name"])
            row = await conn.fetchrow(
                Q["replace_channel"],
                channel_id,
                _or(update.name, current["name"]),
                kind,
                config,
                _or(update.enabled, current["enabled"]),
            )
    except asyncpg.UniqueViolationError:
        raise _duplicate(update.name) from None
    assert row is not None
    return row


def _or(value: Any, default: Any) -> Any:
    return default if isinstance(value, msgspec.UnsetType) else value


async def delete(conn: Conn, channel_id: int) -> None:
    """Delete a channel; it leaves every route, and its deliveries go with it."""
    async with conn.transaction():
        if await conn.fetchval(Q["delete_channel"], channel_id) is None:
            raise NotFound("channel", channel_id)


class ChannelDisabled(Conflict):
    def __init__(self, channel_id: int) -> None:
        super().__init__(
            f"channel {channel_id} is disabled; enable it to send a test", field="enabled"
        )


async def insert_test(conn: Conn, channel_id: int) -> int:
    """Write a test event and its delivery to the channel, due now, and wake the dispatchers,
    in one transaction; the delivery's id. NotFound, or ChannelDisabled (a 409)."""
    async with conn.transaction():
        channel = await conn.fetchrow(Q["lock_channel"], channel_id)
        if channel is None:
            raise NotFound("channel", channel_id)
        if not channel["enabled"]:
            raise ChannelDisabled(channel_id)
        delivery_id: int = await conn.fetchval(Q["insert_test"], channel_id)
    return delivery_id


def _duplicate(name: object) -> Conflict:
    return Conflict(f"a channel named {name!r} already exists", field="name")
