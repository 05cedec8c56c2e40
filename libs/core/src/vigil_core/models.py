"""Domain structs shared by the API and the worker (msgspec)."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

import msgspec

Kind = Literal["http", "tcp", "icmp"]
Status = Literal["up", "down", "pending", "unknown"]


class Target(msgspec.Struct, kw_only=True):
    """A target as stored in `targets`."""

    id: int
    name: str
    kind: Kind
    address: str
    interval_s: float
    timeout_s: float
    enabled: bool = True
    settings: dict[str, Any] = msgspec.field(default_factory=dict)
    failure_threshold: int = 1
    success_threshold: int = 1
    labels: dict[str, str] = msgspec.field(default_factory=dict)
    created_at: datetime | None = None
    updated_at: datetime | None = None


class CheckResult(msgspec.Struct, kw_only=True, gc=False):
    """The outcome of one check. A target's failure is a value: ok=False and an error class."""

    target_id: int
    checked_at: datetime
    ok: bool
    latency_ms: float | None = None
    due_at: datetime | None = None
    status_code: int | None = None
    error_class: str | None = None
    error_message: str | None = None
    timings: dict[str, float] | None = None
    tls_expires_at: datetime | None = None
