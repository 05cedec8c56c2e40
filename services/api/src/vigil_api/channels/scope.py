"""Who may change an existing channel's secrets: a write that sets, replaces or clears one, or
sends the ones it keeps to another receiver, needs the `admin` scope; the rest of a channel is
`write`'s. A new channel's secrets are its maker's own, so an editor may create one with them.

Secrets are where alerts go (a Slack URL) and what they are authenticated with (a webhook's
Authorization header, a bot token). An editor who may not set them must not move them either:
a kept header sent to a receiver of the editor's choosing would be a read of it.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from litestar.exceptions import PermissionDeniedException

from vigil_core import channels, secrets

from ..auth import Principal

# The fields that say where a kind's secrets are sent, when they are not the secret itself.
# A URL moves by its origin (scheme, host, port), as for a target's kept headers.
RECEIVERS: dict[str, tuple[str, ...]] = {
    "webhook": ("url",),
    "telegram": ("api_url",),
    "ntfy": ("server_url",),
    "pagerduty": ("api_url",),
    "email": ("host", "port", "security"),
}


def _set(value: Any) -> Any:
    """A secret's value, None when unset: an empty map or list holds none."""
    return None if value in ({}, []) else value


def changed_secrets(
    kind: str, config: Mapping[str, Any], stored: Mapping[str, Any] | None
) -> list[str]:
    """The secret fields whose value a write of `config` (as checked_config returned it, masks
    restored) sets, replaces or clears; `stored` is the channel's config when it has this
    kind, None for a new channel or another kind."""
    old = stored or {}
    return sorted(
        name
        for name in channels.SECRETS.get(kind, frozenset())
        if _set(config.get(name)) != _set(old.get(name))
    )


def moved_receivers(
    kind: str, config: Mapping[str, Any], stored: Mapping[str, Any] | None
) -> list[str]:
    """The receiver fields a write changes while it keeps a stored secret."""
    if stored is None:
        return []
    kept = [n for n in channels.SECRETS.get(kind, frozenset()) if _set(stored.get(n)) is not None]
    if not kept:
        return []
    return [
        name
        for name in RECEIVERS.get(kind, ())
        if _where(config.get(name)) != _where(stored.get(name))
    ]


def _where(value: Any) -> Any:
    if isinstance(value, str) and "://" in value:
        return secrets.origin(value)
    return value


def check_secret_scope(
    principal: Principal,
    kind: str,
    config: Mapping[str, Any],
    stored: Mapping[str, Any] | None,
    name: str,
) -> None:
    """Raise PermissionDeniedException (403) unless the principal may make this write to the
    channel's secrets. `name` is the channel's: an apply document holds many."""
    if principal.allows("admin"):
        return
    has = f"the {principal.kind} {principal.name!r} has `{principal.scope}`"
    if changed := changed_secrets(kind, config, stored):
        raise PermissionDeniedException(
            detail=f"channel {name!r}: changing a channel's secret fields"
            f" ({', '.join(changed)}) needs the `admin` scope; {has}"
        )
    if moved := moved_receivers(kind, config, stored):
        raise PermissionDeniedException(
            detail=f"channel {name!r}: changing where a channel sends its secrets"
            f" ({', '.join(moved)}) needs the `admin` scope; {has}"
        )
