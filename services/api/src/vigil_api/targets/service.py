"""Targets between their API form and their row: validation, mapping and the writes.

The API form has url/host/port and kind options as fields; the row has `address` and a
`settings` jsonb (the contract the worker reads). The same functions serve CRUD and apply.
"""

from __future__ import annotations

from typing import Any

import asyncpg
import msgspec
from vigil_core.db import load_queries

from ..body import convert_strict
from ..errors import Conflict, NotFound
from . import rules
from .schemas import (
    DEFAULT_EXPECTED_STATUS,
    KIND_FIELDS,
    HttpTargetCreate,
    Target,
    TargetCreate,
    TargetUpdate,
    TcpTargetCreate,
)

Q = load_queries(__package__)

# Row columns written from a TargetCreate, in the order of insert_target's parameters.
Params = tuple[str, str, str, float, float, bool, dict, int, int, dict]
_META = ("id", "created_at", "updated_at")


def to_params(target: TargetCreate) -> Params:
    """The row values of a validated target (timeout resolved by rules.check)."""
    settings: dict[str, Any] = {}
    if isinstance(target, HttpTargetCreate):
        address = target.url
        settings = {
            "method": target.method,
            "expected_status": target.expected_status,
            "headers": target.headers,
            "verify_tls": target.verify_tls,
            "follow_redirects": target.follow_redirects,
            "max_redirects": target.max_redirects,
        }
        if target.keyword is not None:
            settings["keyword"] = target.keyword
        if target.keyword_absent is not None:
            settings["keyword_absent"] = target.keyword_absent
    elif isinstance(target, TcpTargetCreate):
        host = f"[{target.host}]" if ":" in target.host else target.host
        address = f"{host}:{target.port}"
    else:
        address = target.host
    kind = target.__struct_config__.tag
    return (target.name, kind, address, float(target.interval_s), float(target.timeout_s),
            target.enabled, settings, target.failure_threshold, target.success_threshold,
            dict(target.labels))


def to_target(row: asyncpg.Record | dict) -> Target:
    kind, address, settings = row["kind"], row["address"], row["settings"] or {}
    url = host = port = None
    if kind == "http":
        url = address
    elif kind == "tcp":
        host_part, _, port_part = address.rpartition(":")
        host, port = host_part.strip("[]"), int(port_part)
    else:
        host = address
    http = kind == "http"
    return Target(
        id=row["id"], name=row["name"], kind=kind, url=url, host=host, port=port,
        method=settings.get("method", "GET") if http else None,
        expected_status=settings.get("expected_status", list(DEFAULT_EXPECTED_STATUS)) if http else None,
        keyword=settings.get("keyword") if http else None,
        keyword_absent=settings.get("keyword_absent") if http else None,
        headers=settings.get("headers", {}) if http else None,
        verify_tls=settings.get("verify_tls", True) if http else None,
        follow_redirects=settings.get("follow_redirects", True) if http else None,
        max_redirects=settings.get("max_redirects", 10) if http else None,
        interval_s=row["interval_s"], timeout_s=row["timeout_s"],
        failure_threshold=row["failure_threshold"], success_threshold=row["success_threshold"],
        labels=row["labels"] or {}, enabled=row["enabled"],
        created_at=row["created_at"], updated_at=row["updated_at"],
        status=row.get("status"), since=row.get("since"), last_checked_at=row.get("last_checked_at"),
        last_latency_ms=row.get("last_latency_ms"), last_error_class=row.get("last_error_class"),
        tls_expires_at=row.get("tls_expires_at"),
    )


def spec_of(target: Target) -> dict[str, Any]:
    """A stored target as the create document that would produce it."""
    spec = msgspec.to_builtins(target)
    allowed = KIND_FIELDS[target.kind] | {"kind", "name", "interval_s", "timeout_s", "failure_threshold",
                                          "success_threshold", "labels", "enabled"}
    return {k: v for k, v in spec.items() if k in allowed and v is not None}


def merge(current: Target, patch: TargetUpdate) -> TargetCreate:
    """Apply a PATCH to a stored target and validate the result as a whole."""
    changes = {f: v for f in patch.__struct_fields__ if (v := getattr(patch, f)) is not msgspec.UNSET}
    spec = spec_of(current)
    if changes.get("kind", current.kind) != current.kind:
        # A new kind keeps only the common fields; its own fields must come with the patch.
        spec = {k: v for k, v in spec.items() if k not in KIND_FIELDS[current.kind]}
    if "interval_s" in changes and "timeout_s" not in changes:
        # Keep the old timeout only if it still fits the new interval; else use the default.
        if spec["timeout_s"] >= changes["interval_s"]:
            spec.pop("timeout_s")
    spec.update(changes)
    spec = {k: v for k, v in spec.items() if v is not None}
    return rules.check(convert_strict(spec, TargetCreate))


async def _with_state(conn: asyncpg.Connection, row: asyncpg.Record | None) -> asyncpg.Record | None:
    """A written row read back as GET shows it, with the status its write left (read in the
    writing transaction, after the targets_sync trigger)."""
    if row is None:
        return None
    return await conn.fetchrow(Q["get_target"], row["id"])


async def require_target(conn: asyncpg.Connection, target_id: int) -> None:
    """Raise NotFound unless the target exists (for reads of a target's history)."""
    if not await conn.fetchval(Q["target_exists"], target_id):
        raise NotFound("target", target_id)


async def insert(conn: asyncpg.Connection, target: TargetCreate) -> asyncpg.Record:
    try:
        async with conn.transaction():
            return await _with_state(conn, await conn.fetchrow(Q["insert_target"], *to_params(target)))
    except asyncpg.UniqueViolationError:
        raise _duplicate(target.name) from None


async def replace(conn: asyncpg.Connection, target_id: int, target: TargetCreate) -> asyncpg.Record:
    try:
        async with conn.transaction():
            row = await _with_state(conn, await conn.fetchrow(Q["replace_target"], target_id, *to_params(target)))
    except asyncpg.UniqueViolationError:
        raise _duplicate(target.name) from None
    if row is None:
        raise NotFound("target", target_id)
    return row


async def patch(conn: asyncpg.Connection, target_id: int, update: TargetUpdate) -> asyncpg.Record:
    """Read, merge and write under a row lock, so two PATCHes never lose each other's fields."""
    try:
        async with conn.transaction():
            row = await conn.fetchrow(Q["get_target_for_update"], target_id)
            if row is None:
                raise NotFound("target", target_id)
            merged = merge(to_target(row), update)
            return await _with_state(conn, await conn.fetchrow(Q["replace_target"], target_id, *to_params(merged)))
    except asyncpg.UniqueViolationError:
        raise _duplicate(update.name) from None


async def set_enabled(conn: asyncpg.Connection, target_id: int, enabled: bool) -> asyncpg.Record:
    async with conn.transaction():
        row = await _with_state(conn, await conn.fetchrow(Q["set_enabled"], target_id, enabled))
    if row is None:
        raise NotFound("target", target_id)
    return row


async def delete(conn: asyncpg.Connection, target_id: int) -> None:
    async with conn.transaction():
        if await conn.fetchval(Q["delete_target"], target_id) is None:
            raise NotFound("target", target_id)


def _duplicate(name: object) -> Conflict:
    return Conflict(f"a target named {name!r} already exists", field="name")
