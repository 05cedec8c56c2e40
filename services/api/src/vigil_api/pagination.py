"""Opaque keyset cursors: the sort key of the last row of a page, base64url-encoded JSON.

A cursor is only a position; clients pass back what they were given and never build one.
"""

from __future__ import annotations

import base64
import binascii
import json
from datetime import UTC, datetime
from typing import Any

from vigil_core.text import storable

from .errors import InvalidInput


def encode_cursor(*key: Any) -> str:
    values = [v.isoformat() if isinstance(v, datetime) else v for v in key]
    raw = json.dumps(values, separators=(",", ":")).encode()
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


def decode_cursor(cursor: str, *types: type) -> tuple[Any, ...]:
    """Decode a cursor made by encode_cursor with values of `types`; InvalidInput if it is not one."""
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
        values = json.loads(raw)
        if not isinstance(values, list) or len(values) != len(types):
            raise ValueError("wrong shape")
        out = []
        for value, typ in zip(values, types, strict=True):
            if typ is datetime:
                value = datetime.fromisoformat(value)
                if value.tzinfo is None:
                    raise ValueError("naive time")
                value = value.astimezone(UTC)  # OverflowError past the years 1 to 9999
            elif typ is int:
                if type(value) is not int or not -(2**63) <= value < 2**63:
                    raise ValueError("not a bigint")
            elif not isinstance(value, typ):
                raise ValueError("wrong type")
            elif isinstance(value, str) and storable(value) != value:
                raise ValueError("not text PostgreSQL can take")
            out.append(value)
        return tuple(out)
    except (ValueError, TypeError, OverflowError, binascii.Error, UnicodeDecodeError):
        raise InvalidInput.one(
            "cursor", "is not a cursor this API returned; use the `next` value as is"
        ) from None
