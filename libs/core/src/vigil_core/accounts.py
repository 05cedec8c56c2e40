"""Users, roles and API tokens in the database: what `vigil user`, `vigil token` and the API's
admin routes share. Passwords are argon2id hashes (vigil_core.passwords); tokens are stored as
their keyed hash (vigil_core.tokens) and shown once, when made."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from typing import Any

import asyncpg

from . import passwords, tokens
from .db import Conn, load_queries

Q = load_queries(__package__, "accounts.sql")

ROLES = ("viewer", "editor", "admin")
SCOPES = ("read", "write", "admin")
ROLE_SCOPE = {"viewer": "read", "editor": "write", "admin": "admin"}
_RANK = {scope: rank for rank, scope in enumerate(SCOPES)}
DEFAULT_TOKEN_LIFETIME = timedelta(days=90)
USER_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._@-]{0,63}$")


class AccountError(ValueError):
    """A request about users or tokens that cannot be done; `field` names the culprit."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(message)
        self.field = field


def allows(have: str, need: str) -> bool:
    """`have` covers `need`: admin covers write, which covers read."""
    return _RANK[have] >= _RANK[need]


def implied(scope: str) -> list[str]:
    """Every scope that `scope` covers, weakest first."""
    return list(SCOPES[: _RANK[scope] + 1])


def least(a: str, b: str) -> str:
    return a if _RANK[a] <= _RANK[b] else b


_EXPIRY = re.compile(r"^(\d{1,5})([hdw])$")
_UNITS = {"h": "hours", "d": "days", "w": "weeks"}


def parse_expiry(text: str | None) -> timedelta | None:
    """`30d`, `12h`, `2w` or `never` (None); no value means the default, 90 days."""
    if text is None or text == "":
        return DEFAULT_TOKEN_LIFETIME
    if text == "never":
        return None
    match = _EXPIRY.match(text)
    if not match or int(match[1]) == 0:
        raise AccountError("expires", f"{text!r} is not a lifetime; use e.g. 12h, 30d, 2w or never")
    return timedelta(**{_UNITS[match[2]]: int(match[1])})


def expires_at(lifetime: timedelta | None) -> datetime | None:
    return None if lifetime is None else datetime.now(UTC) + lifetime


def _check_role(role: str) -> None:
    if role not in ROLES:
        raise AccountError("role", f"{role!r} is not a role; use one of {', '.join(ROLES)}")


def _check_name(name: str) -> None:
    if not USER_NAME.match(name):
        raise AccountError(
            "name",
            "a user name is 1-64 letters, digits or . _ @ - and starts with a letter or digit",
        )


async def _audited(conn: Conn, audit: str | None) -> None:
    if audit:
        await conn.execute(Q["set_audit_context"], audit)


def _password_hash(password: str) -> str:
    try:
        return passwords.hash_password(password)
    except passwords.PasswordError as exc:
        raise AccountError("password", str(exc)) from None


async def create_user(
    conn: Conn, name: str, role: str, password: str, *, audit: str | None = None
) -> dict[str, Any]:
    _check_name(name)
    _check_role(role)
    hashed = _password_hash(password)
    async with conn.transaction():
        await _audited(conn, audit)
        try:
            row = await conn.fetchrow(Q["insert_user"], name, role, hashed)
        except asyncpg.UniqueViolationError:
            raise AccountError("name", f"a user named {name!r} already exists") from None
    assert row is not None  # INSERT ... RETURNING
    return dict(row)


async def set_password(conn: Conn, name: str, password: str, *, audit: str | None = None) -> None:
    """A new password; the user's sessions end, so a stolen one stops working."""
    hashed = _password_hash(password)
    async with conn.transaction():
        await _audited(conn, audit)
        user_id = await conn.fetchval(Q["set_password"], name, hashed)
        if user_id is None:
            raise AccountError("name", f"no user named {name!r}")
        await conn.execute(Q["revoke_user_sessions"], user_id)


async def set_role(conn: Conn, name: str, role: str, *, audit: str | None = None) -> dict[str, Any]:
    _check_role(role)
    async with conn.transaction():
        await _audited(conn, audit)
        current = await conn.fetchrow(Q["get_user"], name)
        if current is None:
            raise AccountError("name", f"no user named {name!r}")
        if current["role"] == "admin" and role != "admin":
            await _keep_an_admin(conn, name)
        row = await conn.fetchrow(Q["set_role"], name, role)
    if row is None:  # deleted since it was read
        raise AccountError("name", f"no user named {name!r}")
    return dict(row)


async def _keep_an_admin(conn: Conn, name: str) -> None:
    if await conn.fetchval(Q["admin_count"]) <= 1:
        raise AccountError("name", f"{name!r} is the last admin; make another user admin first")


async def delete_user(conn: Conn, name: str, *, audit: str | None = None) -> None:
    """The user, their sessions and the tokens they made are gone."""
    async with conn.transaction():
        await _audited(conn, audit)
        current = await conn.fetchrow(Q["get_user"], name)
        if current is None:
            raise AccountError("name", f"no user named {name!r}")
        if current["role"] == "admin":
            await _keep_an_admin(conn, name)
        await conn.execute(Q["delete_user"], name)


async def get_user(conn: Conn, name: str) -> dict[str, Any] | None:
    row = await conn.fetchrow(Q["get_user"], name)
    return dict(row) if row else None


async def list_users(conn: Conn) -> list[dict[str, Any]]:
    return [dict(r) for r in await conn.fetch(Q["list_users"])]


async def user_count(conn: Conn) -> int:
    return int(await conn.fetchval(Q["user_count"]))


async def create_token(
    conn: Conn,
    keyring: tokens.Keyring,
    *,
    name: str,
    scope: str,
    expires_at: datetime | None,
    created_by: str,
    created_by_user_id: int | None = None,
    audit: str | None = None,
) -> tuple[str, dict[str, Any]]:
    """A new token (shown to its maker once) and its stored row (without the hash)."""
    if scope not in SCOPES:
        raise AccountError("scope", f"{scope!r} is not a scope; use one of {', '.join(SCOPES)}")
    name = name.strip()
    if not 1 <= len(name) <= 100:
        raise AccountError("name", "a token's name is 1-100 characters")
    token = tokens.generate()
    async with conn.transaction():
        await _audited(conn, audit)
        try:
            row = await conn.fetchrow(
                Q["insert_token"],
                name,
                tokens.display_prefix(token),
                keyring.hash(token),
                scope,
                created_by,
                created_by_user_id,
                expires_at,
            )
        except asyncpg.UniqueViolationError:
            raise AccountError(
                "name", f"an active token named {name!r} exists; revoke it or pick another name"
            ) from None
    assert row is not None  # INSERT ... RETURNING
    return token, dict(row)


async def list_tokens(conn: Conn) -> list[dict[str, Any]]:
    return [dict(r) for r in await conn.fetch(Q["list_tokens"])]


def token_state(row: dict[str, Any], now: datetime | None = None) -> str:
    """active, expired or revoked."""
    if row["revoked_at"] is not None:
        return "revoked"
    if row["expires_at"] is not None and row["expires_at"] <= (now or datetime.now(UTC)):
        return "expired"
    return "active"


async def revoke_token(conn: Conn, name: str, *, audit: str | None = None) -> bool:
    """Revokes the active token of that name; False when there is none."""
    async with conn.transaction():
        await _audited(conn, audit)
        return await conn.fetchval(Q["revoke_token_by_name"], name) is not None


async def revoke_token_id(conn: Conn, token_id: int, *, audit: str | None = None) -> bool:
    async with conn.transaction():
        await _audited(conn, audit)
        return await conn.fetchval(Q["revoke_token_by_id"], token_id) is not None


async def find_token(conn: Conn, keyring: tokens.Keyring, token: str) -> asyncpg.Record | None:
    """The stored token, revoked and expired ones too, with its creator's current role
    (`creator_role`) and whether that creator was deleted (`creator_gone`)."""
    return await conn.fetchrow(Q["find_token"], keyring.candidates(token))


async def token_active(conn: Conn, keyring: tokens.Keyring, token: str) -> bool:
    """The API would accept `token` now (ignoring what its scope allows)."""
    if not tokens.well_formed(token):
        return False
    row = await find_token(conn, keyring, token)
    return row is not None and not row["creator_gone"] and token_state(dict(row)) == "active"
