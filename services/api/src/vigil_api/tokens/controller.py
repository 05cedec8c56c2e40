"""HTTP handlers for /api/v1/tokens: list, create (the token is shown once) and revoke (admins
only)."""

from __future__ import annotations

from typing import Annotated, TypeAlias

from litestar import Controller, Request, delete, get, post
from litestar.params import JSONBody, PathParameter
from litestar.status_codes import HTTP_204_NO_CONTENT

from ..auth import principal_of
from ..body import StrictBody
from ..database import PoolDep
from ..errors import responses
from . import service
from .schemas import TokenCreate, TokenCreated, TokenList

TokenId: TypeAlias = Annotated[int, PathParameter(ge=1, le=2**63 - 1, description="The token's id")]


class TokenController(Controller):
    path = "/api/v1/tokens"
    tags = ["tokens"]
    opt = {"access": "admin"}

    @get("/", operation_id="listTokens", summary="List API tokens", responses=responses(503))
    async def list_tokens(self, pool: PoolDep) -> TokenList:
        """Every token, active ones first: its prefix (never the secret), scope, who made it,
        when it expires, was last used or was revoked, and its state (active, expired,
        revoked)."""
        async with pool.acquire() as conn:
            return TokenList(items=await service.list_all(conn))

    @post(
        "/",
        operation_id="createToken",
        summary="Create an API token",
        dto=StrictBody.of(TokenCreate),
        return_dto=None,
        responses=responses(400, 403, 409, 413, 503),
    )
    async def create(
        self, data: JSONBody[TokenCreate], pool: PoolDep, request: Request
    ) -> TokenCreated:
        """Make a token; the answer's `token` is the secret, shown this once (only its keyed
        hash is stored). Send it as `Authorization: Bearer <token>`. It expires after
        `expires_in` (default 90 days; `never` allowed) and never has more than its creator:
        asking for more is a 403. An active token with that name: 409."""
        keyring = request.app.state.authenticator.keyring
        async with pool.acquire() as conn:
            return await service.create(conn, keyring, principal_of(request), data)

    @delete(
        "/{token_id:int}",
        operation_id="revokeToken",
        summary="Revoke an API token",
        status_code=HTTP_204_NO_CONTENT,
        responses=responses(400, 404, 503),
    )
    async def revoke(self, token_id: TokenId, pool: PoolDep, request: Request) -> None:
        """Revoke a token: refused at once by this API replica, within moments by the others.
        It stays in the list as revoked; its name is free again. Revoking a revoked token
        changes nothing."""
        async with pool.acquire() as conn:
            await service.revoke(conn, token_id)
        # The other replicas hear NOTIFY vigil_auth; this one need not wait for it.
        request.app.state.authenticator.clear()
