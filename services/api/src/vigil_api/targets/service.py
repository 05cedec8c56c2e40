"""Targets between their API form and their row: validation, mapping and the writes.

The API form has url/host/port and kind options as fields; the row has `address` and a
`settings` jsonb, the kind's struct of vigil_core.kinds (the contract the worker reads). The
same functions serve CRUD and apply. Reads mask the secrets (header values, a URL's password);
writes restore the masks a client echoed back (masking.restore).
"""

from __future__ import annotations

from typing import Any

import asyncpg
import msgspec

from vigil_core import kinds, secrets
from vigil_core.db import Conn, load_queries
from vigil_core.logging import get_logger

from ..body import convert_strict
from ..errors import Conflict, NotFound
from ..target_writes import DELETE_TARGET, INSERT_TARGET, REPLACE_TARGET
from . import dependencies, masking, rules
from .schemas import (
    ADDRESS_FIELDS,
    CREATE_FIELDS,
    DEFAULT_TIMEOUT_S,
    KIND_FIELDS,
    SCHEDULE_FIELDS,
    DnsFields,
    HttpFields,
    InMaintenance,
    PushFields,
    Target,
    TargetCreate,
    TargetFields,
    TargetUpdate,
    TcpFields,
    TlsFields,
)

Q = load_queries(__package__)
log = get_logger("vigil_api.targets")

# The targets columns a TargetCreate writes, in the order of insert_target's parameters
# (replace_target's after the id).
COLUMNS = (
    "name",
    "kind",
    "address",
    "interval_s",
    "timeout_s",
    "enabled",
    "settings",
    "failure_threshold",
    "success_threshold",
    "labels",
)
# Each kind's options in the API form, by the names of its settings struct's fields.
_OPTIONS: dict[str, frozenset[str]] = {
    kind: fields - ADDRESS_FIELDS - SCHEDULE_FIELDS for kind, fields in KIND_FIELDS.items()
}
# A push target's address: its secret URL is in push_tokens, not in the row.
PUSH_ADDRESS = "push"
# An option of one kind is null in the API form of another.
_NO_OPTIONS = dict.fromkeys(frozenset().union(*_OPTIONS.values()))


def to_row(target: TargetFields) -> dict[str, Any]:
    """The row of a validated target (timeout resolved by rules.check), by column; its
    dependencies are rows of their own (dependencies.write)."""
    kind = str(target.__struct_config__.tag)
    interval_s, timeout_s = _schedule(target)
    options = msgspec.to_builtins({name: getattr(target, name) for name in _OPTIONS[kind]})
    settings = msgspec.convert(options, kinds.SETTINGS[kind])
    return {
        "name": target.name,
        "kind": kind,
        "address": _address(target),
        "interval_s": interval_s,
        "timeout_s": timeout_s,
        "enabled": target.enabled,
        "settings": kinds.encode(settings),
        "failure_threshold": target.failure_threshold,
        "success_threshold": target.success_threshold,
        "labels": dict(target.labels),
    }


def _address(target: TargetFields) -> str:
    if isinstance(target, HttpFields):
        return target.url
    if isinstance(target, TcpFields | TlsFields):
        return kinds.format_host_port(target.host, target.port)
    if isinstance(target, DnsFields):
        return target.query_name
    if isinstance(target, PushFields):
        return PUSH_ADDRESS
    return target.host


def _schedule(target: TargetFields) -> tuple[float, float]:
    """interval_s and timeout_s. A push target's interval is its period; its timeout bounds no
    check, and is stored only because the schema wants one below the interval."""
    if isinstance(target, PushFields):
        return float(target.period_s), min(DEFAULT_TIMEOUT_S, target.period_s / 2)
    if isinstance(target.timeout_s, msgspec.UnsetType):
        raise ValueError("to_row() takes a target that rules.check() returned")
    return float(target.interval_s), float(target.timeout_s)


def params(row: dict[str, Any]) -> tuple[Any, ...]:
    """A to_row() row as insert_target's parameters (replace_target's after the id)."""
    return tuple(row[column] for column in COLUMNS)


def to_target(
    row: asyncpg.Record | dict, push_url: str | None = None, *, reveal: bool = False
) -> Target:
    """A row as the API shows it, its secrets masked. `push_url` only for an answer about this
    one target: it is the secret a push target's pings authenticate with. `reveal` keeps the
    secrets, for comparisons inside a write (apply's diff); never for an answer."""
    address = row["address"] if reveal else secrets.mask_address(row["address"])
    return Target(
        id=row["id"],
        name=row["name"],
        kind=row["kind"],
        **_address_fields(row["kind"], address, row["interval_s"]),
        **_options(row, reveal),
        interval_s=row["interval_s"],
        timeout_s=row["timeout_s"],
        failure_threshold=row["failure_threshold"],
        success_threshold=row["success_threshold"],
        labels=row["labels"] or {},
        enabled=row["enabled"],
        depends_on=list(row["depends_on"]),
        created_at=row["created_at"],
        updated_at=row["updated_at"],
        status=row.get("status"),
        since=row.get("since"),
        last_checked_at=row.get("last_checked_at"),
        last_latency_ms=row.get("last_latency_ms"),
        last_error_class=row.get("last_error_class"),
        tls_expires_at=row.get("tls_expires_at"),
        push_url=push_url,
        maintenance=in_maintenance(row),
    )


def in_maintenance(row: asyncpg.Record | dict) -> InMaintenance | None:
    """The window a read row says the target is in (get_target, the summary), or None."""
    window_id = row.get("maintenance_window_id")
    if window_id is None:
        return None
    return InMaintenance(
        window_id=window_id, name=row["maintenance_name"], ends_at=row["maintenance_ends_at"]
    )


def _address_fields(kind: str, address: str, interval_s: float) -> dict[str, Any]:
    """url, host, port and query_name (each null unless the kind has it), and a push target's
    period_s."""
    fields: dict[str, Any] = dict.fromkeys(ADDRESS_FIELDS | SCHEDULE_FIELDS)
    if kind == "http":
        fields["url"] = address
    elif kind in ("tcp", "tls"):
        fields["host"], fields["port"] = kinds.parse_host_port(address)
    elif kind == "dns":
        fields["query_name"] = address
    elif kind == "push":
        fields["period_s"] = interval_s
    else:
        fields["host"] = address
    return fields


async def push_token(conn: Conn, row: asyncpg.Record) -> str | None:
    """A push target's token (push_tokens, migration 0013); None for other kinds."""
    if row["kind"] != "push":
        return None
    token: str | None = await conn.fetchval(Q["push_token"], row["id"])
    return token


def _options(row: asyncpg.Record | dict, reveal: bool = False) -> dict[str, Any]:
    """The kind's options of a stored target as the API shows them, defaults filled in, header
    values masked unless `reveal`.

    Settings that do not decode (written by hand, or by a newer version) show as null, as the
    worker checks them as `unsupported`; a write of the target stores valid ones again.
    """
    kind = row["kind"]
    try:
        settings = msgspec.to_builtins(kinds.decode(kind, row["settings"]))
    except kinds.SettingsError as exc:
        log.warning("targets.settings_unreadable", target_id=row["id"], kind=kind, error=str(exc))
        return _NO_OPTIONS
    if not reveal and settings.get("headers"):
        settings["headers"] = secrets.mask_headers(settings["headers"])
    return {**_NO_OPTIONS, **{name: settings[name] for name in _OPTIONS.get(kind, ())}}


def spec_of(target: Target) -> dict[str, Any]:
    """A stored target as the create document that would produce it."""
    spec = msgspec.to_builtins(target)
    allowed = CREATE_FIELDS[target.kind]
    return {k: v for k, v in spec.items() if k in allowed and v is not None}


def merge(current: Target, patch: TargetUpdate) -> TargetCreate:
    """Apply a PATCH to a stored target (as reads show it: masking.restore then puts its
    secrets back) and validate the result as a whole."""
    changes = {
        f: v for f in patch.__struct_fields__ if (v := getattr(patch, f)) is not msgspec.UNSET
    }
    spec = spec_of(current)
    kind = changes.get("kind", current.kind)
    if kind != current.kind:
        # A new kind keeps only the common fields it has (a push target has no interval_s);
        # its own fields must come with the patch.
        spec = {
            k: v
            for k, v in spec.items()
            if k not in KIND_FIELDS[current.kind] and k in CREATE_FIELDS[kind]
        }
    if "interval_s" in changes and "timeout_s" not in changes:
        # Keep the old timeout only if it still fits the new interval; else use the default.
        if spec.get("timeout_s", 0) >= changes["interval_s"]:
            spec.pop("timeout_s")
    spec.update(changes)
    spec = {k: v for k, v in spec.items() if v is not None}
    return rules.check(convert_strict(spec, TargetCreate))


async def _with_state(conn: Conn, row: asyncpg.Record | None) -> asyncpg.Record | None:
    """A written row read back as GET shows it, with the status its write left (read in the
    writing transaction, after the targets_sync trigger)."""
    if row is None:
        return None
    return await conn.fetchrow(Q["get_target"], row["id"])


async def require_target(conn: Conn, target_id: int) -> None:
    """Raise NotFound unless the target exists (for reads of a target's history)."""
    if not await conn.fetchval(Q["target_exists"], target_id):
        raise NotFound("target", target_id)


async def insert(conn: Conn, target: TargetCreate) -> asyncpg.Record:
    target = masking.restore(target, None)  # a mask here has nothing to stand for
    try:
        async with conn.transaction():
            if target.depends_on:
                await dependencies.lock(conn)
            row = await conn.fetchrow(INSERT_TARGET, *params(to_row(target)))
            assert row is not None  # the INSERT returns the row it made
            await dependencies.write(conn, row["id"], target.depends_on)
            stored = await _with_state(conn, row)
    except asyncpg.UniqueViolationError:
        raise _duplicate(target.name) from None
    assert stored is not None
    return stored


async def replace(conn: Conn, target_id: int, target: TargetCreate) -> asyncpg.Record:
    """Replace the row, read first under its lock so that the masks the target echoes take
    the secrets stored."""
    try:
        async with conn.transaction():
            if target.depends_on:
                await dependencies.lock(conn)
            current = await conn.fetchrow(Q["get_target_for_update"], target_id)
            if current is None:
                raise NotFound("target", target_id)
            target = masking.restore(target, current)
            row = await conn.fetchrow(REPLACE_TARGET, target_id, *params(to_row(target)))
            assert row is not None  # the row is locked: it cannot go away before the UPDATE
            await dependencies.write(conn, target_id, target.depends_on)
            stored = await _with_state(conn, row)
    except asyncpg.UniqueViolationError:
        raise _duplicate(target.name) from None
    assert stored is not None
    return stored


async def patch(conn: Conn, target_id: int, update: TargetUpdate) -> asyncpg.Record:
    """Read, merge and write under a row lock, so two PATCHes never lose each other's fields.
    Dependencies are written only when the patch sends them."""
    try:
        async with conn.transaction():
            if update.depends_on:
                await dependencies.lock(conn)
            row = await conn.fetchrow(Q["get_target_for_update"], target_id)
            if row is None:
                raise NotFound("target", target_id)
            merged = masking.restore(merge(to_target(row), update), row)
            await conn.execute(REPLACE_TARGET, target_id, *params(to_row(merged)))
            if update.depends_on is not msgspec.UNSET:
                await dependencies.write(conn, target_id, merged.depends_on)
            stored = await _with_state(conn, row)
    except asyncpg.UniqueViolationError:
        raise _duplicate(update.name) from None
    assert stored is not None  # the row is locked: it cannot go away before the UPDATE
    return stored


async def set_enabled(conn: Conn, target_id: int, enabled: bool) -> asyncpg.Record:
    async with conn.transaction():
        row = await _with_state(conn, await conn.fetchrow(Q["set_enabled"], target_id, enabled))
    if row is None:
        raise NotFound("target", target_id)
    return row


async def delete(conn: Conn, target_id: int) -> None:
    async with conn.transaction():
        if await conn.fetchval(DELETE_TARGET, target_id) is None:
            raise NotFound("target", target_id)


def _duplicate(name: object) -> Conflict:
    return Conflict(f"a target named {name!r} already exists", field="name")
