"""Who a write is made by, for the audit log's triggers (0014).

For an unsafe request the auth middleware sets vigil_api.database.AUDIT_CONTEXT, and every
connection the pool hands out meanwhile carries it as the `vigil.audit` setting (actor, address,
and `via`, e.g. apply), so the triggers record each row the request changes and no handler has to
remember to.
"""

from __future__ import annotations

from typing import Any

import msgspec
from litestar import Request

from .principal import Principal, maybe_principal


def client_address(scope: Any) -> str:
    """The client's IP address as the ASGI server saw it (a proxy's, behind one)."""
    client = scope.get("client")
    return str(client[0]) if client else "unknown"


def context_for(
    principal: Principal | None,
    address: str,
    *,
    actor: str | None = None,
    actor_kind: str = "anonymous",
    via: str | None = None,
) -> str:
    """The `vigil.audit` JSON: the principal, or a named actor (a login attempt)."""
    if principal is not None:
        name, kind = principal.name, principal.kind
    else:
        name, kind = actor or "anonymous", actor_kind
    body: dict[str, Any] = {"actor": name, "actor_kind": kind, "address": address}
    if via:
        body["via"] = via
    return msgspec.json.encode(body).decode()


def audit_context(request: Request, *, via: str | None = None) -> str:
    """The audit context of this request (for explicit vigil_audit rows)."""
    return context_for(maybe_principal(request), client_address(request.scope), via=via)
