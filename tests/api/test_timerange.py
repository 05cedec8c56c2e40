"""split_days: a range's whole UTC days (read from daily roll-ups) and its partial days at either end."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest

from vigil_api.timerange import split_days


def at(day: int, hour: int = 0) -> datetime:
    return datetime(2026, 3, day, hour, tzinfo=UTC)


@pytest.mark.parametrize(
    ("since", "until", "head_end", "days", "tail_start"),
    [
        # 30 days from mid-day: a partial day at each end and 29 whole days between
        (at(1, 14), at(31, 14), at(2), (date(2026, 3, 2), date(2026, 3, 31)), at(31)),
        # starts and ends at midnight: whole days only
        (at(1), at(8), at(1), (date(2026, 3, 1), date(2026, 3, 8)), at(8)),
        # 24 hours across midnight: no whole day, all hours
        (at(1, 14), at(2, 14), at(2, 14), None, at(2, 14)),
        # within one day
        (at(1, 3), at(1, 4), at(1, 4), None, at(1, 4)),
    ],
)
def test_split_days(since, until, head_end, days, tail_start) -> None:
    part = split_days(since, until)
    assert (part.head_end, part.tail_start) == (head_end, tail_start)
    if days is None:
        assert part.first_day >= part.end_day  # an empty range of days
    else:
        assert (part.first_day, part.end_day) == days


def test_every_hour_falls_in_exactly_one_part() -> None:
    since, until = at(1, 5), at(9, 17)
    part = split_days(since, until)
    hour = since
    while hour < until:
        parts = [
            since <= hour < part.head_end,
            part.first_day <= hour.date() < part.end_day,
            part.tail_start <= hour < until,
        ]
        assert sum(parts) == 1, hour
        hour += timedelta(hours=1)
