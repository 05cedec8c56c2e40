"""HTTP handler for GET /api/v1/summary: the dashboard in one request."""

from __future__ import annotations

from typing import Annotated

from datetime import UTC, datetime, timedelta

import msgspec
from litestar import Controller, get
from litestar.params import QueryParameter

from vigil_core.db import load_queries

from ..database import PoolDep
from ..errors import InvalidInput, responses
from ..pagination import decode_cursor, encode_cursor
from ..timerange import floor_hour

Q = load_queries(__package__)

STATES = ("up", "down", "pending", "unknown", "paused")


class Counts(msgspec.Struct, kw_only=True):
    up: int = 0
    down: int = 0
    pending: int = 0
    unknown: int = 0
    paused: int = 0
    total: int = 0


class SummaryItem(msgspec.Struct, kw_only=True):
    """One target's state. `status` is "paused" when the target is disabled; `for_s` is the
    time since the last change of status."""

    id: int
    name: str
    kind: str
    address: str
    enabled: bool
    status: str
    since: datetime
    for_s: float
    last_checked_at: datetime | None
    last_latency_ms: float | None
    last_error_class: str | None
    uptime_24h: float | None


class Summary(msgspec.Struct, kw_only=True):
    counts: Counts
    items: list[SummaryItem]
    next: str | None


def parse_labels(values: list[str] | None) -> dict[str, str] | None:
    if not values:
        return None
    labels = {}
    for value in values:
        key, sep, val = value.partition(":")
        if not sep or not key:
            raise InvalidInput.one("label", f"{value!r} must look like key:value")
        labels[key] = val
    return labels


class SummaryController(Controller):
    path = "/api/v1/summary"
    tags = ["dashboard"]

    @get("/", operation_id="getSummary", summary="Every target's state, with counts by state",
         responses=responses(400, 503))
    async def summary(
        self,
        pool: PoolDep,
        state_filter: Annotated[str | None, QueryParameter(name="state", pattern="^(up|down|pending|unknown|paused)$",
                                             description="Only targets in this state")] = None,
        kind: Annotated[str | None, QueryParameter(pattern="^(http|tcp|icmp)$")] = None,
        label: Annotated[list[str] | None, QueryParameter(description="key:value; repeat to require several",
                                            max_items=20)] = None,
        q: Annotated[str | None, QueryParameter(max_length=200, description="Part of the name, any case")] = None,
        limit: Annotated[int, QueryParameter(ge=1, le=1000)] = 100,
        cursor: Annotated[str | None, QueryParameter(max_length=600, description="`next` of the previous page")] = None,
    ) -> Summary:
        """Targets ordered by name with status, time since the last change, last latency and
        24 h uptime; counts by state under the same kind/label/name filters."""
        labels = parse_labels(label)
        after = decode_cursor(cursor, str)[0] if cursor else None
        now = datetime.now(UTC)
        async with pool.acquire() as conn:
            rows = await conn.fetch(Q["summary_page"], kind, labels, q, state_filter, after, limit + 1,
                                    floor_hour(now - timedelta(hours=24)))
            count_rows = await conn.fetch(Q["summary_counts"], kind, labels, q)
        counts = Counts(**{r["status"]: r["n"] for r in count_rows if r["status"] in STATES})
        counts.total = sum(r["n"] for r in count_rows)
        items = [SummaryItem(**dict(r), for_s=max(0.0, (now - r["since"]).total_seconds())) for r in rows[:limit]]
        return Summary(counts=counts, items=items,
                       next=encode_cursor(items[-1].name) if len(rows) > limit else None)
