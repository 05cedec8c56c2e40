"""How a batch's hourly sums split against each target's current roll-up hour (pure), and the
bucket count both sides agree on."""

from __future__ import annotations

import datetime as dt

import asyncpg
import pytest

from vigil_core.models import CheckResult
from vigil_core.rollups import BUCKET_COUNT
from vigil_worker import hourly

H0 = dt.datetime(2026, 11, 29, 10, tzinfo=dt.UTC)
N0 = hourly.hour_of(H0)


def results(tid: int, per_hour: dict[int, int]) -> list[CheckResult]:
    return [
        CheckResult(
            target_id=tid, checked_at=H0 + dt.timedelta(hours=h, seconds=i), ok=True, latency_ms=3.0
        )
        for h, n in per_hour.items()
        for i in range(n)
    ]


@pytest.mark.parametrize(
    "current, batch, new_current, done, moved",
    [
        # no current hour yet: the newest batch hour starts it, older ones go to the table
        (None, {0: 2}, (0, 2), [], False),
        (None, {0: 1, 1: 2}, (1, 2), [(0, 1)], False),
        # the same hour: added to it
        (0, {0: 2}, (0, 2), [], False),
        # a later hour replaces the current one, which moves; what the batch has of the old
        # current hour, and of any hour in between, goes to the table beside it
        (0, {1: 3}, (1, 3), [], True),
        (0, {0: 1, 1: 3}, (1, 3), [(0, 1)], True),
        (0, {1: 1, 2: 1}, (2, 1), [(1, 1)], True),
        # an earlier hour (out-of-order flushes) goes to the table; the current one stays
        (1, {0: 2}, (1, 0), [(0, 2)], False),
        (1, {0: 2, 1: 1}, (1, 1), [(0, 2)], False),
    ],
)
def test_split(current, batch, new_current, done, moved) -> None:
    cur = None if current is None else hourly.hour_of(H0 + dt.timedelta(hours=current))
    out = hourly.split(results(7, batch), {7: cur}, {7})
    hour, sums = out.current[7]
    assert (hour - N0, sums.checks) == new_current
    assert [(h - N0, s.checks) for _, h, s in out.done] == done
    assert out.moved == ([7] if moved else [])


def test_a_target_whose_state_does_not_move_keeps_its_current_hour() -> None:
    out = hourly.split(
        results(7, {0: 1, 1: 1}), {7: hourly.hour_of(H0 + dt.timedelta(hours=1))}, set()
    )
    assert out.current == {} and out.moved == []
    assert [(h - N0, s.checks) for _, h, s in out.done] == [(0, 1), (1, 1)]


def test_sums_count_latency_of_successful_checks_only() -> None:
    rs = [
        CheckResult(target_id=1, checked_at=H0, ok=True, latency_ms=3.0),
        CheckResult(target_id=1, checked_at=H0, ok=False, latency_ms=900.0),
        CheckResult(target_id=1, checked_at=H0, ok=True, latency_ms=40.0),
    ]
    hour, s = hourly.split(rs, {1: None}, {1}).current[1]
    assert (hour, s.checks, s.ok, s.latency_count, s.latency_sum_ms, s.latency_max_ms) == (
        N0,
        3,
        2,
        2,
        43.0,
        40.0,
    )
    buckets = [int(b) for b in s.buckets_literal().strip("{}").split(",")]
    assert (
        len(buckets) == BUCKET_COUNT and buckets[2] == 1 and buckets[5] == 1 and sum(buckets) == 2
    )
    single = hourly.split(rs[:1], {1: None}, {1}).current[1][1].buckets_literal()
    assert single == "{" + ",".join("1" if i == 2 else "0" for i in range(BUCKET_COUNT)) + "}"
    assert hourly.hour_start(N0) == H0


async def test_sql_has_the_bucket_count_of_vigil_core(db: asyncpg.Connection) -> None:
    """vigil_latency_bucket_count() is SQL's home of the count; vigil_buckets_add spells the
    buckets out one by one, and both must say what vigil_core.rollups says."""
    assert await db.fetchval("SELECT vigil_latency_bucket_count()") == BUCKET_COUNT
    ones = [1] * BUCKET_COUNT
    assert await db.fetchval("SELECT vigil_buckets_add($1, $1)", ones) == [2] * BUCKET_COUNT
