"""Who is asking: the user behind a session or the token a request carries, with its scope."""

from __future__ import annotations

from dataclasses import dataclass

from litestar import Request
from litestar.connection import ASGIConnection

from vigil_core import accounts

# Litestar reads scope["user"] for request.user; the middleware puts the principal there.
PRINCIPAL_KEY = "user"


@dataclass(frozen=True, slots=True)
class Principal:
    kind: str  # "user" (a browser session) or "token"
    name: str  # the user's name or the token's name
    scope: str  # read | write | admin: what it may do now
    user_id: int | None  # the user, or the user who made the token (None: made by the CLI)
    role: str | None = None  # a session's user role
    token_id: int | None = None
    session_id: int | None = None
    csrf_token: str | None = None  # sessions only, under the current key
    csrf_accepted: tuple[str, ...] = ()  # the same under every accepted key (a rotation)
    valid_until: float = float("inf")  # epoch seconds: expiry, or the end of the idle time

    def allows(self, need: str) -> bool:
        return accounts.allows(self.scope, need)


def principal_of(request: Request | ASGIConnection) -> Principal:
    """The request's principal (set by the auth middleware for every non-public route)."""
    principal = request.scope.get(PRINCIPAL_KEY)
    if not isinstance(principal, Principal):
        raise LookupError("no principal: the route is public or the middleware did not run")
    return principal


def maybe_principal(request: Request | ASGIConnection) -> Principal | None:
    principal = request.scope.get(PRINCIPAL_KEY)
    return principal if isinstance(principal, Principal) else None
