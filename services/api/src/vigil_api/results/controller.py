"""HTTP handlers for /api/v1/targets/{id}/checks: raw results, newest first, keyset-paginated."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated, Any

import msgspec
from litestar import Controller, get
from litestar.params import QueryParameter

from vigil_core.db import load_queries

from ..database import PoolDep
from ..errors import InvalidInput, responses
from ..pagination import decode_cursor, encode_cursor
from ..params import TargetId
from ..targets.service import require_target
from ..timerange import as_utc

Q = load_queries(__package__)

FAR_PAST = datetime(1970, 1, 1, tzinfo=UTC)
FAR_FUTURE = datetime(9999, 1, 1, tzinfo=UTC)
MAX_LIMIT = 1000


class Check(msgspec.Struct, kw_only=True):
    checked_at: datetime
    due_at: datetime | None
    ok: bool
    latency_ms: float | None
    status_code: int | None
    error_class: str | None
    error_message: str | None
    timings: dict[str, Any] | None
    # What the check found besides its verdict: a DNS check's answers, a certificate's
    # subject, issuer, SANs and expiry; null for most checks.
    details: dict[str, Any] | None
    # The maintenance window the check was made in (null: none). A window that does not count
    # in uptime keeps the check out of the roll-ups.
    maintenance_window_id: int | None = None


class CheckPage(msgspec.Struct, kw_only=True):
    """A page of checks, newest first; `next` is the cursor of the following page or null."""

    items: list[Check]
    next: str | None


class CheckController(Controller):
    path = "/api/v1/targets/{target_id:int}/checks"
    tags = ["results"]

    @get(
        "/",
        operation_id="listTargetChecks",
        summary="A target's checks, newest first",
        responses=responses(400, 404, 503),
    )
    async def list_checks(
        self,
        target_id: TargetId,
        pool: PoolDep,
        since: Annotated[
            datetime | None, QueryParameter(description="Oldest check time (inclusive)")
        ] = None,
        until: Annotated[
            datetime | None, QueryParameter(description="Newest check time (exclusive)")
        ] = None,
        limit: Annotated[int, QueryParameter(ge=1, le=MAX_LIMIT)] = 100,
        cursor: Annotated[
            str | None, QueryParameter(max_length=200, description="`next` of the previous page")
        ] = None,
    ) -> CheckPage:
        """Raw check results in [since, until), newest first. Pages never repeat or skip a row,
        even while new checks arrive."""
        lo, hi = as_utc(since, "since") or FAR_PAST, as_utc(until, "until") or FAR_FUTURE
        if lo >= hi:
            raise InvalidInput.one("since", "must be before until")
        before, skip = decode_cursor(cursor, datetime, int) if cursor else (FAR_FUTURE, 0)
        # The skip counts the rows at exactly `before` that earlier pages returned: a target's
        # checks are seconds apart, so never more than one page. A larger one is hand-made,
        # and would make the database step over that many rows.
        if not 0 <= skip <= MAX_LIMIT:
            raise InvalidInput.one(
                "cursor", "is not a cursor this API returned; use the `next` value as is"
            )
        async with pool.acquire() as conn:
            rows = await conn.fetch(Q["list_checks"], target_id, lo, hi, before, skip, limit + 1)
            if not rows:
                await require_target(conn, target_id)
        items = [Check(**dict(r)) for r in rows[:limit]]
        next_cursor = None
        if len(rows) > limit:
            last = items[-1].checked_at
            ties = sum(1 for c in items if c.checked_at == last)
            # The rows at `last` on this page come after those the cursor already skipped.
            next_cursor = encode_cursor(last, ties + (skip if last == before else 0))
        return CheckPage(items=items, next=next_cursor)
