"""Response structs of /api/v1/audit: one AuditEntry per change, a page of them."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

import msgspec

ActorKind = Literal["user", "token", "cli", "system", "anonymous"]


class AuditEntry(msgspec.Struct, kw_only=True):
    """One change or sign-in. `actor` is the user or token name (`actor_kind` says which);
    `before`/`after` hold the row before and after (an update: only the keys that changed; a
    create: `after` alone; a delete: `before` alone), secrets shown as "********". `via` says
    through what the change came (e.g. "apply")."""

    id: int
    at: datetime
    actor: str
    actor_kind: ActorKind
    address: str | None
    action: str
    object_kind: str
    object_id: str | None
    object_name: str | None
    before: dict[str, Any] | None
    after: dict[str, Any] | None
    via: str | None


class AuditPage(msgspec.Struct, kw_only=True):
    """A page of audit entries, newest first; `next` is the cursor of the following page or
    null."""

    items: list[AuditEntry]
    next: str | None
