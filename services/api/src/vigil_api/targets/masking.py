"""A target's write-only secrets in its writes: each mask a client echoed back (read, edited,
sent again) takes the stored value, for the targets endpoints and apply alike.

Reads mask the secrets in service.to_target (vigil_core.secrets says what they are). A mask is
restored only towards the origin the secret was stored for: a client that may write a target
but never saw its Authorization header cannot point the target at a host of its own and keep
the header.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, TypeVar

import asyncpg
import msgspec

from vigil_core import secrets

from ..errors import FieldError, InvalidInput
from .schemas import HttpFields, TargetFields

T = TypeVar("T", bound=TargetFields)

_NOTHING_STORED = (
    f"is the mask {secrets.MASK!r}, but this target has no stored value for it; send the"
    " value itself"
)
_OTHER_ORIGIN = (
    f"is the mask {secrets.MASK!r}, but the URL's scheme, host or port changed; send the"
    " value itself (a stored secret is kept only for the host it was written for)"
)


Row = asyncpg.Record | Mapping[str, Any]


def restore(target: T, stored: Row | None, prefix: str = "") -> T:
    """The target with each echoed mask replaced by the stored secret. `stored` is the
    target's row (kind, address, settings), None for a new one. Raises InvalidInput naming
    `url` or `headers.<name>` (after `prefix`) for a mask with no stored value to take."""
    if not isinstance(target, HttpFields):
        return target
    old_url, old_headers = _stored_http(stored)
    same_origin = old_url is not None and secrets.origin(old_url) == secrets.origin(target.url)
    url = secrets.unmask_url(target.url, old_url)
    headers = secrets.unmask_headers(target.headers, old_headers if same_origin else {})
    errors = []
    if secrets.url_password(url) == secrets.MASK:
        had = old_url is not None and secrets.url_password(old_url) is not None
        errors.append(FieldError(f"{prefix}url", _OTHER_ORIGIN if had else _NOTHING_STORED))
    known = {name.lower() for name in old_headers}
    for name, value in headers.items():
        if value == secrets.MASK:
            why = _OTHER_ORIGIN if name.lower() in known else _NOTHING_STORED
            errors.append(FieldError(f"{prefix}headers.{name}", why))
    if errors:
        raise InvalidInput(errors)
    if url == target.url and headers == target.headers:
        return target
    return msgspec.structs.replace(target, url=url, headers=headers)


def _stored_http(stored: Row | None) -> tuple[str | None, dict[str, str]]:
    """The stored URL and headers of an HTTP target's row; (None, {}) for another kind."""
    if stored is None or stored["kind"] != "http":
        return None, {}
    headers = (stored["settings"] or {}).get("headers")
    if not isinstance(headers, dict):
        return stored["address"], {}
    return stored["address"], {k: v for k, v in headers.items() if isinstance(v, str)}
