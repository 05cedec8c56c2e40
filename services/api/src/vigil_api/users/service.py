"""Users between their API form and vigil_core.accounts (which the CLI shares): never a password
or its hash in an answer, and never a change that leaves no admin."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from typing import Any

from vigil_core import accounts
from vigil_core.db import Conn, load_queries

from ..errors import Conflict, InvalidInput, NotFound
from .schemas import User, UserCreate, UserUpdate

Q = load_queries(__package__)


@contextmanager
def account_errors(duplicate: str | None = None) -> Iterator[None]:
    """vigil_core.accounts' refusals as API errors: a 400 naming the field, or a 409 for the
    field `duplicate` (once the schema has checked its form, the only error it can still
    have is a clash with a stored name)."""
    try:
        yield
    except accounts.AccountError as exc:
        if exc.field == duplicate:
            raise Conflict(str(exc), field=exc.field) from None
        raise InvalidInput.one(exc.field, str(exc)) from None


def to_user(row: Mapping[str, Any]) -> User:
    return User(
        id=row["id"],
        name=row["name"],
        role=row["role"],
        scopes=accounts.implied(accounts.ROLE_SCOPE[row["role"]]),
        created_at=row["created_at"],
        updated_at=row["updated_at"],
        last_login_at=row["last_login_at"],
    )


def _check_role(role: str) -> None:
    if role not in accounts.ROLES:
        raise InvalidInput.one(
            "role", f"{role!r} is not a role; use one of: {', '.join(accounts.ROLES)}"
        )


async def list_all(conn: Conn) -> list[User]:
    return [to_user(r) for r in await accounts.list_users(conn)]


async def create(conn: Conn, data: UserCreate) -> User:
    _check_role(data.role)
    with account_errors(duplicate="name"):
        return to_user(await accounts.create_user(conn, data.name, data.role, data.password))


async def _locked(conn: Conn, name: str) -> tuple[dict[str, Any], list[str]]:
    """The user and the admins' names, the admins locked (see lock_admins); NotFound."""
    admins = [r["name"] for r in await conn.fetch(Q["lock_admins"])]
    user = await accounts.get_user(conn, name)
    if user is None:
        raise NotFound("user", repr(name))
    return user, admins


def _last_admin(name: str, doing: str) -> Conflict:
    return Conflict(
        f"cannot {doing} {name!r}: it is the last admin, and without one nobody could manage"
        " users or tokens; make another user admin first",
        field="role" if doing == "demote" else None,
    )


async def update(conn: Conn, name: str, data: UserUpdate) -> User:
    """Change the role and/or the password in one transaction; a new password ends the user's
    sessions (tokens stay: revoke those on their own)."""
    if isinstance(data.role, str):
        _check_role(data.role)
    async with conn.transaction():
        user, admins = await _locked(conn, name)
        if isinstance(data.role, str) and data.role != user["role"]:
            if user["role"] == "admin" and admins == [name]:
                raise _last_admin(name, "demote")
            with account_errors():
                user = await accounts.set_role(conn, name, data.role)
        if isinstance(data.password, str):
            with account_errors():
                await accounts.set_password(conn, name, data.password)
            user = await accounts.get_user(conn, name) or user
    return to_user(user)


async def delete(conn: Conn, name: str) -> None:
    """Delete a user; their sessions and the tokens they made go with them."""
    async with conn.transaction():
        user, admins = await _locked(conn, name)
        if user["role"] == "admin" and admins == [name]:
            raise _last_admin(name, "delete")
        with account_errors():
            await accounts.delete_user(conn, name)
