"""HTTP handlers for a target's uptime, daily uptime and hourly latency, from the roll-up views.

Roll-ups are hourly (view check_rollups) and daily (check_rollups_days, for the whole UTC days
of a range), so a range is widened to whole hours: `since` is rounded down and `until` up to
the hour, and the answer reports the range it covers. Percentiles are estimated from the
latency buckets (vigil_core.rollups), exact to within one bucket.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from typing import Annotated

import asyncpg
import msgspec
from litestar import Controller, get
from litestar.params import QueryParameter

from vigil_core.db import load_queries
from vigil_core.rollups import percentile

from ..database import PoolDep
from ..errors import InvalidInput, NotFound, responses
from ..params import TargetId
from ..targets.service import require_target
from ..timerange import WINDOW_PATTERN, WINDOWS, as_utc, ceil_hour, floor_hour, split_days

Q = load_queries(__package__)


class Latency(msgspec.Struct, kw_only=True):
    avg: float | None
    p50: float | None
    p95: float | None
    p99: float | None
    max: float | None


class Uptime(msgspec.Struct, kw_only=True):
    """Uptime over [since, until): null uptime_pct when there were no checks. maintenance_s:
    the seconds of it that maintenance windows not counted in uptime covered (their checks are
    not in `checks`)."""

    window: str | None
    since: datetime
    until: datetime
    uptime_pct: float | None
    checks: int
    ok: int
    latency_ms: Latency
    maintenance_s: float = 0.0


class DailyUptime(msgspec.Struct, kw_only=True):
    day: date
    uptime_pct: float | None
    checks: int
    # Seconds of the day that maintenance windows not counted in uptime covered.
    maintenance_s: float = 0.0


class LatencyPoint(msgspec.Struct, kw_only=True):
    t: datetime
    avg_ms: float | None
    max_ms: float | None
    checks: int


def _pct(ok: int, checks: int) -> float | None:
    return round(100.0 * ok / checks, 4) if checks else None


def uptime_from_row(
    row: asyncpg.Record, window: str | None, since: datetime, until: datetime
) -> Uptime:
    buckets = list(row["buckets"] or [])
    max_ms = row["latency_max_ms"]
    count = row["latency_count"]
    return Uptime(
        window=window,
        since=since,
        until=until,
        uptime_pct=_pct(row["ok"], row["checks"]),
        checks=row["checks"],
        ok=row["ok"],
        latency_ms=Latency(
            avg=row["latency_sum_ms"] / count if count else None,
            p50=percentile(buckets, 0.50, max_ms) if count else None,
            p95=percentile(buckets, 0.95, max_ms) if count else None,
            p99=percentile(buckets, 0.99, max_ms) if count else None,
            max=max_ms,
        ),
        maintenance_s=row["maintenance_s"],
    )


def resolve_range(
    window: str | None, since: datetime | None, until: datetime | None, default: str = "24h"
) -> tuple[str | None, datetime, datetime]:
    """The hour-aligned [since, until) a request asks for; a window counts back from now."""
    since, until = as_utc(since, "since"), as_utc(until, "until")
    if window is not None and (since is not None or until is not None):
        raise InvalidInput.one("window", "cannot be combined with since/until")
    now = datetime.now(UTC)
    if since is None and until is None:
        window = window or default
        return window, floor_hour(now - WINDOWS[window]), now
    until = until or now
    if since is None:
        raise InvalidInput.one("since", "is required with until")
    if since >= until:
        raise InvalidInput.one("since", "must be before until")
    if until - since > timedelta(days=400):
        raise InvalidInput.one("since", "must be at most 400 days before until")
    try:
        return None, floor_hour(since), ceil_hour(until)
    except OverflowError:
        raise InvalidInput.one("until", "is out of range") from None


class UptimeController(Controller):
    path = "/api/v1/targets/{target_id:int}"
    tags = ["results"]

    @get(
        "/uptime",
        operation_id="getTargetUptime",
        summary="Uptime and latency over a window",
        responses=responses(400, 404, 503),
    )
    async def uptime(
        self,
        target_id: TargetId,
        pool: PoolDep,
        window: Annotated[
            str | None,
            QueryParameter(pattern=WINDOW_PATTERN, description="1h, 24h, 7d or 30d (default 24h)"),
        ] = None,
        since: Annotated[
            datetime | None,
            QueryParameter(description="Instead of window: start (rounded down to the hour)"),
        ] = None,
        until: Annotated[
            datetime | None, QueryParameter(description="End (rounded up to the hour; default now)")
        ] = None,
    ) -> Uptime:
        """Uptime %, check count and latency avg/p50/p95/p99/max, from the roll-ups."""
        window, lo, hi = resolve_range(window, since, until)
        end = ceil_hour(hi)
        part = split_days(lo, end)
        row = await pool.fetchrow(
            Q["uptime"],
            target_id,
            lo,
            end,
            part.first_day,
            part.end_day,
            part.head_end,
            part.tail_start,
            hi,
        )
        if row is None or not row["found"]:
            raise NotFound("target", target_id)
        return uptime_from_row(row, window, lo, hi)

    @get(
        "/uptime/daily",
        operation_id="getTargetDailyUptime",
        summary="Uptime per UTC day",
        responses=responses(400, 404, 503),
    )
    async def daily(
        self,
        target_id: TargetId,
        pool: PoolDep,
        days: Annotated[
            int, QueryParameter(ge=1, le=400, description="Days back, today included")
        ] = 90,
    ) -> list[DailyUptime]:
        """One entry per UTC day, oldest first, today last; days without checks have null uptime."""
        today = datetime.now(UTC).date()
        async with pool.acquire() as conn:
            await require_target(conn, target_id)
            rows = await conn.fetch(Q["daily"], target_id, today - timedelta(days=days - 1), today)
        return [
            DailyUptime(
                day=r["day"],
                uptime_pct=_pct(r["ok"], r["checks"]),
                checks=r["checks"],
                maintenance_s=r["maintenance_s"],
            )
            for r in rows
        ]

    @get(
        "/latency",
        operation_id="getTargetLatency",
        summary="Hourly latency points",
        responses=responses(400, 404, 503),
    )
    async def latency(
        self,
        target_id: TargetId,
        pool: PoolDep,
        window: Annotated[
            str, QueryParameter(pattern=WINDOW_PATTERN, description="1h, 24h, 7d or 30d")
        ] = "24h",
    ) -> list[LatencyPoint]:
        """Average and maximum latency per hour, oldest first; hours without checks are left out."""
        now = datetime.now(UTC)
        async with pool.acquire() as conn:
            await require_target(conn, target_id)
            rows = await conn.fetch(
                Q["latency"], target_id, floor_hour(now - WINDOWS[window]), ceil_hour(now)
            )
        return [LatencyPoint(**dict(r)) for r in rows]
