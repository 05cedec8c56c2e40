"""Request and response bodies of /api/v1/auth."""

from __future__ import annotations

from typing import Annotated

import msgspec


class Login(msgspec.Struct, forbid_unknown_fields=True):
    username: Annotated[
        str, msgspec.Meta(min_length=1, max_length=200, pattern=r"^[^\x00-\x1f\x7f]+$")
    ]
    password: Annotated[str, msgspec.Meta(min_length=1, max_length=1024)]


class LoggedInUser(msgspec.Struct):
    name: str
    role: str


class LoginAnswer(msgspec.Struct):
    user: LoggedInUser
    csrf_token: str


class Me(msgspec.Struct):
    """Who the request's credentials belong to, and what they may do."""

    kind: str  # user | token
    name: str
    scope: str
    scopes: list[str]
    role: str | None = None
    csrf_token: str | None = None  # sessions: send it as X-CSRF-Token on unsafe requests
