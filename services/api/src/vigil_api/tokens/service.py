"""API tokens between their API form and vigil_core.accounts, which makes, lists and revokes
them for the CLI too. What is particular to the API: a token never gets more than the principal
making it, and the maker is recorded by kind and name."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any, cast

import msgspec
from litestar.exceptions import PermissionDeniedException

from vigil_core import accounts
from vigil_core.db import Conn
from vigil_core.tokens import Keyring

from ..auth import Principal
from ..errors import InvalidInput, NotFound
from ..users.service import account_errors
from .schemas import State, Token, TokenCreate, TokenCreated


def maker(principal: Principal) -> str:
    """created_by of a token made through the API: `user:alice` or `token:ci`, so a user and a
    token of the same name are told apart."""
    return f"{principal.kind}:{principal.name}"


def check_grantable(principal: Principal, scope: str) -> None:
    """A token never gets more than its maker: PermissionDeniedException (403) naming both."""
    if not principal.allows(scope):
        raise PermissionDeniedException(
            detail=f"a token cannot have more than its creator: a `{scope}` token needs the"
            f" `{scope}` scope; you have `{principal.scope}`"
        )


def to_token(
    row: Mapping[str, Any], roles: Mapping[int, str], now: datetime | None = None
) -> Token:
    """A token row as lists show it; `roles` maps user ids to their current role, which caps
    what the tokens they made can do."""
    scope = row["scope"]
    creator = row["created_by_user_id"]
    if creator is not None and creator in roles:
        scope = accounts.least(scope, accounts.ROLE_SCOPE[roles[creator]])
    return Token(
        id=row["id"],
        name=row["name"],
        prefix=row["prefix"],
        scope=row["scope"],
        scopes=accounts.implied(scope),
        created_by=row["created_by"],
        created_at=row["created_at"],
        expires_at=row["expires_at"],
        last_used_at=row["last_used_at"],
        revoked_at=row["revoked_at"],
        state=cast(State, accounts.token_state(dict(row), now)),
    )


async def _roles(conn: Conn) -> dict[int, str]:
    return {u["id"]: u["role"] for u in await accounts.list_users(conn)}


async def list_all(conn: Conn) -> list[Token]:
    now = datetime.now(UTC)
    roles = await _roles(conn)
    return [to_token(r, roles, now) for r in await accounts.list_tokens(conn)]


async def create(
    conn: Conn, keyring: Keyring, principal: Principal, data: TokenCreate
) -> TokenCreated:
    if data.scope not in accounts.SCOPES:
        raise InvalidInput.one(
            "scope", f"{data.scope!r} is not a scope; use one of: {', '.join(accounts.SCOPES)}"
        )
    check_grantable(principal, data.scope)
    try:
        lifetime = accounts.parse_expiry(data.expires_in)
    except accounts.AccountError as exc:
        raise InvalidInput.one("expires_in", str(exc)) from None
    # The schema checked the name's form: a `name` error here can only be a duplicate.
    with account_errors(duplicate="name"):
        secret, row = await accounts.create_token(
            conn,
            keyring,
            name=data.name,
            scope=data.scope,
            expires_at=accounts.expires_at(lifetime),
            created_by=maker(principal),
            created_by_user_id=principal.user_id,
        )
    created = to_token(row, await _roles(conn))
    return TokenCreated(token=secret, **msgspec.structs.asdict(created))


async def revoke(conn: Conn, token_id: int) -> None:
    """Revoke a token; one revoked already stays as it is (the answer is the same)."""
    async with conn.transaction():
        if await accounts.revoke_token_id(conn, token_id):
            return
        if not any(t["id"] == token_id for t in await accounts.list_tokens(conn)):
            raise NotFound("token", token_id)
