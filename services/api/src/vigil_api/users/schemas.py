"""Request and response structs for users: User, UserCreate, UserUpdate, UserList. A password
is only ever written: no answer carries it or its hash."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

import msgspec
from msgspec import UNSET, Meta, UnsetType

from vigil_core.accounts import ROLES, USER_NAME
from vigil_core.passwords import MAX_LENGTH, MIN_LENGTH

UserName = Annotated[
    str,
    Meta(
        pattern=USER_NAME.pattern,
        description="1-64 letters, digits or . _ @ -, starting with a letter or digit",
    ),
]
# A plain string with the roles as its documented enum, so an unknown role is answered with
# the list of roles.
Role = Annotated[
    str,
    Meta(
        max_length=20,
        description="viewer (reads), editor (also writes targets, channels, routes, apply),"
        " admin (also users, tokens, audit)",
        extra_json_schema={"enum": list(ROLES)},
    ),
]
Password = Annotated[
    str,
    Meta(
        min_length=MIN_LENGTH,
        max_length=MAX_LENGTH,
        description=f"{MIN_LENGTH} to {MAX_LENGTH} characters, not only spaces; write-only",
    ),
]


class UserCreate(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    """A new user."""

    name: UserName
    role: Role
    password: Password


class UserUpdate(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    """A change of role and/or password; a new password ends the user's sessions."""

    role: Role | UnsetType = UNSET
    password: Password | UnsetType = UNSET


class User(msgspec.Struct, kw_only=True):
    """A user as every answer shows one (never the password)."""

    id: int
    name: str
    role: str
    scopes: list[str]
    created_at: datetime
    updated_at: datetime
    last_login_at: datetime | None


class UserList(msgspec.Struct, kw_only=True):
    """Every user, by name."""

    items: list[User]
