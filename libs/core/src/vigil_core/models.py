"""The result of one check, as the worker buffers and stores it (msgspec)."""

from __future__ import annotations

from datetime import datetime

import msgspec


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
    # What the check found besides its verdict (stored in checks.details): a DNS check's
    # answers, a certificate's subject, issuer and SANs. None for most checks.
    details: dict[str, object] | None = None
