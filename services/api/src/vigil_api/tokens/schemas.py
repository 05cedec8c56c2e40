"""Request and response structs for API tokens: TokenCreate, Token, TokenCreated, TokenList."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal

import msgspec
from msgspec import Meta

from vigil_core.accounts import SCOPES

# A plain string with the scopes as its documented enum: the server answers an unknown one with
# the list (a Literal would only say "invalid enum value").
Scope = Annotated[
    str,
    Meta(
        max_length=20,
        description="read (every GET and the event stream), write (targets, channels, routes,"
        " apply), admin (users, tokens, audit)",
        extra_json_schema={"enum": list(SCOPES)},
    ),
]
TokenName = Annotated[
    str,
    Meta(
        min_length=1,
        max_length=100,
        pattern=r"^[^\s\x00]([^\x00\r\n]*[^\s\x00])?$",
        description="Unique among tokens not revoked; no leading or trailing spaces",
    ),
]
ExpiresIn = Annotated[
    str,
    Meta(
        max_length=10,
        pattern=r"^([0-9]{1,5}[hdw]|never)$",
        description="Lifetime: hours, days or weeks (`12h`, `30d`, `2w`) or `never`",
    ),
]
State = Literal["active", "expired", "revoked"]


class TokenCreate(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    """A new token. `expires_in` null or left out: 90 days."""

    name: TokenName
    scope: Scope
    expires_in: ExpiresIn | None = None


class Token(msgspec.Struct, kw_only=True):
    """A stored token, never its secret. `prefix` is its first characters, to tell tokens
    apart. `scope` is what it was given; `scopes` what it can do now: a token made by a user
    never has more than that user's current role. `created_by` is `user:NAME` or `token:NAME`
    (made through the API) or what the CLI recorded."""

    id: int
    name: str
    prefix: str
    scope: str
    scopes: list[str]
    created_by: str
    created_at: datetime
    expires_at: datetime | None
    last_used_at: datetime | None
    revoked_at: datetime | None
    state: State


class TokenCreated(Token, kw_only=True):
    """A token just made: `token` is the secret itself, shown this once and never again."""

    token: str


class TokenList(msgspec.Struct, kw_only=True):
    """Every token: active ones first, by name."""

    items: list[Token]
