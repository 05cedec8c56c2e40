"""What every check takes and returns."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import aiohttp


@dataclass(slots=True)
class ClaimedTarget:
    """A target whose slot this worker claimed."""

    id: int
    name: str
    kind: str
    address: str
    interval_s: float
    timeout_s: float
    settings: dict[str, Any]
    due_at: datetime


@dataclass(slots=True)
class Outcome:
    """A check's verdict. A target's failure is ok=False with a short error class, never an exception."""

    ok: bool
    status_code: int | None = None
    error_class: str | None = None
    error_message: str | None = None
    timings: dict[str, float] | None = None
    tls_expires_at: datetime | None = None


@dataclass(slots=True)
class CheckContext:
    """Long-lived resources the checks share; the caller owns the deadline."""

    http: aiohttp.ClientSession
    extra: dict[str, Any] = field(default_factory=dict)


def failure(error_class: str, message: str, **kw: Any) -> Outcome:
    return Outcome(ok=False, error_class=error_class, error_message=message[:500], **kw)
