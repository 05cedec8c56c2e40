"""Time ranges in query strings: naive times are UTC, windows have names (1h, 24h, 7d, 30d)."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from typing import NamedTuple

from .errors import InvalidInput

WINDOWS: dict[str, timedelta] = {
    "1h": timedelta(hours=1),
    "24h": timedelta(hours=24),
    "7d": timedelta(days=7),
    "30d": timedelta(days=30),
}
WINDOW_PATTERN = "^(1h|24h|7d|30d)$"


def as_utc(value: datetime | None, field: str) -> datetime | None:
    """The time in UTC (a naive one is UTC already); InvalidInput naming the query parameter
    `field` when its offset moves it outside the years 1 to 9999 (0001-01-01T00:00+05:00)."""
    if value is None:
        return None
    if value.tzinfo is None:
        return value.replace(tzinfo=UTC)
    try:
        return value.astimezone(UTC)
    except OverflowError:
        raise InvalidInput.one(
            field, "is out of range: in UTC it falls outside the years 1 to 9999"
        ) from None


def floor_hour(value: datetime) -> datetime:
    return value.replace(minute=0, second=0, microsecond=0)


def ceil_hour(value: datetime) -> datetime:
    floored = floor_hour(value)
    return floored if floored == value else floored + timedelta(hours=1)


class DaySplit(NamedTuple):
    """[since, until) as hours [since, head_end), whole UTC days [first_day, end_day) and
    hours [tail_start, until); a part that is empty has an empty range."""

    head_end: datetime
    first_day: date
    end_day: date
    tail_start: datetime


def split_days(since: datetime, until: datetime) -> DaySplit:
    """Split a UTC range at midnights, so its whole days can be read from daily roll-ups."""
    first = since.date() if since.time() == time.min else since.date() + timedelta(days=1)
    end = until.date()
    if first >= end:  # no whole day inside: all of it is hours
        return DaySplit(until, end, end, until)
    return DaySplit(
        datetime.combine(first, time.min, UTC), first, end, datetime.combine(end, time.min, UTC)
    )
