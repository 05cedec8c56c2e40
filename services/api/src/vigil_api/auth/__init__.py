"""Authentication and authorization of the API: tokens, sessions, scopes, CSRF and the Host
check (docs/security.md)."""

from .audit import audit_context
from .principal import Principal, maybe_principal, principal_of

__all__ = ["Principal", "audit_context", "maybe_principal", "principal_of"]
