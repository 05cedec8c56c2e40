"""Maintenance windows' occurrences (vigil_core.windows): the days daylight saving time changes,
validation, and the occurrences stored in and read back from a real PostgreSQL (migration 0015)."""

from __future__ import annotations

from datetime import UTC, datetime, time, timedelta
from zoneinfo import ZoneInfo

import asyncpg
import pytest

from vigil_core import windows
from vigil_core.windows import Schedule, WindowError

BERLIN = ZoneInfo("Europe/Berlin")
NEW_YORK = ZoneInfo("America/New_York")


def weekly(day: int, at: time, duration_s: int, zone: str) -> Schedule:
    return Schedule(
        kind="weekly", days=(day,), start_time=at, duration_s=duration_s, time_zone=zone
    )


def daily_cron(expression: str, duration_s: int, zone: str) -> Schedule:
    return Schedule(kind="cron", cron=expression, duration_s=duration_s, time_zone=zone)


def local(zone: ZoneInfo, *args: int, fold: int = 0) -> datetime:
    return datetime(*args, tzinfo=zone, fold=fold)  # type: ignore[misc]


# (schedule, a UTC day to look at, the one occurrence expected that day as local start and end)
DST_CASES = [
    pytest.param(
        weekly(7, time(2, 30), 3600, "Europe/Berlin"),
        datetime(2026, 3, 29, tzinfo=UTC),
        (local(BERLIN, 2026, 3, 29, 3, 0), local(BERLIN, 2026, 3, 29, 4, 0)),
        id="berlin-02:30-skipped-starts-at-03:00",
    ),
    pytest.param(
        weekly(7, time(2, 30), 3600, "Europe/Berlin"),
        datetime(2026, 10, 25, tzinfo=UTC),
        # 02:30 happens twice: once, at the first (summer time, UTC+2).
        (local(BERLIN, 2026, 10, 25, 2, 30, fold=0), local(BERLIN, 2026, 10, 25, 2, 30, fold=1)),
        id="berlin-02:30-repeated-happens-once-at-the-first",
    ),
    pytest.param(
        weekly(7, time(2, 30), 3600, "Europe/Berlin"),
        datetime(2026, 3, 22, tzinfo=UTC),
        (local(BERLIN, 2026, 3, 22, 2, 30), local(BERLIN, 2026, 3, 22, 3, 30)),
        id="berlin-02:30-a-week-before-is-02:30-winter-time",
    ),
    pytest.param(
        weekly(7, time(2, 30), 3600, "Europe/Berlin"),
        datetime(2026, 4, 5, tzinfo=UTC),
        (local(BERLIN, 2026, 4, 5, 2, 30), local(BERLIN, 2026, 4, 5, 3, 30)),
        id="berlin-02:30-a-week-after-is-02:30-summer-time",
    ),
    pytest.param(
        weekly(7, time(1, 0), 7200, "Europe/Berlin"),
        datetime(2026, 3, 29, tzinfo=UTC),
        # Elapsed time: two hours after 01:00 is 04:00 on the night the clocks go forward.
        (local(BERLIN, 2026, 3, 29, 1, 0), local(BERLIN, 2026, 3, 29, 4, 0)),
        id="berlin-duration-is-elapsed-time-across-the-gap",
    ),
    pytest.param(
        daily_cron("30 2 * * *", 1800, "America/New_York"),
        datetime(2026, 3, 8, 5, tzinfo=UTC),
        (local(NEW_YORK, 2026, 3, 8, 3, 0), local(NEW_YORK, 2026, 3, 8, 3, 30)),
        id="cron-new-york-skipped-hour",
    ),
    pytest.param(
        daily_cron("30 1 * * *", 1800, "America/New_York"),
        datetime(2026, 11, 1, 4, tzinfo=UTC),
        # 01:30 daylight time (05:30 UTC), not again at 01:30 standard time.
        (datetime(2026, 11, 1, 5, 30, tzinfo=UTC), datetime(2026, 11, 1, 6, 0, tzinfo=UTC)),
        id="cron-new-york-repeated-hour-once",
    ),
    pytest.param(
        weekly(3, time(23, 45), 1800, "Asia/Kolkata"),
        datetime(2026, 6, 17, tzinfo=UTC),
        (
            local(ZoneInfo("Asia/Kolkata"), 2026, 6, 17, 23, 45),
            local(ZoneInfo("Asia/Kolkata"), 2026, 6, 18, 0, 15),
        ),
        id="half-hour-offset-zone-across-midnight",
    ),
]


@pytest.mark.parametrize(("schedule", "day", "expected"), DST_CASES)
def test_occurrences_on_the_days_the_clocks_change(
    schedule: Schedule, day: datetime, expected: tuple[datetime, datetime]
) -> None:
    found = schedule.occurrences(day, day + timedelta(days=1))
    start, end = expected
    assert found == [(start.astimezone(UTC), end.astimezone(UTC))]
    assert found[0][1] - found[0][0] == timedelta(seconds=schedule.duration_s or 0)


def test_a_weekly_window_keeps_its_wall_clock_time_across_a_year() -> None:
    schedule = Schedule(
        kind="weekly",
        days=(2, 4),
        start_time=time(2, 30),
        duration_s=3600,
        time_zone="Europe/Berlin",
    )
    found = schedule.occurrences(datetime(2026, 1, 1, tzinfo=UTC), datetime(2027, 1, 1, tzinfo=UTC))
    assert len(found) == 105  # 52 Tuesdays and 53 Thursdays in 2026, none lost or doubled
    for start, end in found:
        there = start.astimezone(BERLIN)
        assert (there.hour, there.minute) == (2, 30)
        assert there.isoweekday() in (2, 4)
        assert end - start == timedelta(hours=1)


def test_an_occurrence_already_running_overlaps_the_range() -> None:
    schedule = daily_cron("0 1 * * *", 7200, "UTC")
    found = schedule.occurrences(
        datetime(2026, 5, 1, 2, 30, tzinfo=UTC), datetime(2026, 5, 1, 3, tzinfo=UTC)
    )
    assert found == [(datetime(2026, 5, 1, 1, tzinfo=UTC), datetime(2026, 5, 1, 3, tzinfo=UTC))]


def test_a_one_off_window_is_its_one_occurrence_when_it_overlaps() -> None:
    start, end = datetime(2026, 5, 1, 1, tzinfo=UTC), datetime(2026, 5, 1, 2, tzinfo=UTC)
    once = Schedule(kind="once", starts_at=start, ends_at=end)
    assert once.occurrences(start - timedelta(days=1), start) == []
    assert once.occurrences(start, end) == [(start, end)]
    assert once.occurrences(end, end + timedelta(days=1)) == []


NOW = datetime(2026, 5, 1, tzinfo=UTC)
INVALID = [
    pytest.param(Schedule(kind="monthly"), "kind", id="unknown-kind"),
    pytest.param(Schedule(kind="once", starts_at=NOW), "starts_at", id="once-without-end"),
    pytest.param(
        Schedule(kind="once", starts_at=NOW, ends_at=NOW), "ends_at", id="once-ending-at-its-start"
    ),
    pytest.param(
        Schedule(kind="once", starts_at=datetime(2026, 5, 1), ends_at=NOW + timedelta(hours=1)),
        "starts_at",
        id="once-without-offset",
    ),
    pytest.param(
        Schedule(kind="once", starts_at=NOW, ends_at=NOW + timedelta(days=400)),
        "ends_at",
        id="once-too-long",
    ),
    pytest.param(
        Schedule(kind="weekly", days=(1,), start_time=time(2), duration_s=59),
        "duration_s",
        id="weekly-too-short",
    ),
    pytest.param(
        Schedule(kind="weekly", days=(), start_time=time(2), duration_s=600), "days", id="no-days"
    ),
    pytest.param(
        Schedule(kind="weekly", days=(8,), start_time=time(2), duration_s=600), "days", id="day-8"
    ),
    pytest.param(
        Schedule(kind="weekly", days=(1,), duration_s=600), "start_time", id="weekly-no-time"
    ),
    pytest.param(
        Schedule(kind="weekly", days=(1,), start_time=time(2, 0, 30), duration_s=600),
        "start_time",
        id="weekly-seconds",
    ),
    pytest.param(
        Schedule(
            kind="weekly", days=(1,), start_time=time(2), duration_s=600, time_zone="Mars/Olympus"
        ),
        "time_zone",
        id="unknown-zone",
    ),
    pytest.param(
        Schedule(kind="cron", cron="0 2 * *", duration_s=600), "cron", id="cron-four-fields"
    ),
    pytest.param(
        Schedule(kind="cron", cron="61 2 * * *", duration_s=600), "cron", id="cron-minute-61"
    ),
    pytest.param(
        Schedule(kind="cron", cron="0 0 0 * * *", duration_s=600), "cron", id="cron-six-fields"
    ),
    pytest.param(
        Schedule(kind="cron", cron="0 2 * * *", duration_s=8 * 86400),
        "duration_s",
        id="cron-longer-than-a-week",
    ),
]


@pytest.mark.parametrize(("schedule", "field"), INVALID)
def test_invalid_schedules_name_the_field(schedule: Schedule, field: str) -> None:
    with pytest.raises(WindowError) as caught:
        schedule.check()
    assert caught.value.field == field
    assert caught.value.message


def test_day_names_round_trip_and_unknown_days_are_named() -> None:
    assert windows.day_numbers(["Sun", "mon", "wednesday", "mon"]) == (1, 3, 7)
    assert windows.day_names((7, 1, 3)) == ["mon", "wed", "sun"]
    with pytest.raises(WindowError, match="'funday'"):
        windows.day_numbers(["funday"])


async def make_window(db: asyncpg.Connection, name: str, **columns: object) -> int:
    names = ", ".join(["name", *columns])
    places = ", ".join(f"${i}" for i in range(1, len(columns) + 2))
    window_id: int = await db.fetchval(
        f"INSERT INTO maintenance_windows ({names}) VALUES ({places}) RETURNING id",
        name,
        *columns.values(),
    )
    return window_id


async def occurrences(
    db: asyncpg.Connection, window_id: int
) -> list[tuple[datetime, datetime, bool]]:
    rows = await db.fetch(
        "SELECT starts_at, ends_at, ended_early FROM maintenance_occurrences"
        " WHERE window_id = $1 ORDER BY starts_at",
        window_id,
    )
    return [(r["starts_at"], r["ends_at"], r["ended_early"]) for r in rows]


async def test_plan_stores_the_occurrences_and_keeps_one_ended_early(
    db: asyncpg.Connection,
) -> None:
    now = datetime.now(UTC)
    # Every hour on the hour for 30 minutes, starting from the hour before now.
    window_id = await make_window(
        db, "hourly", kind="cron", cron="0 * * * *", duration_s=1800, time_zone="UTC"
    )
    schedule = windows.from_row(
        await db.fetchrow("SELECT * FROM maintenance_windows WHERE id = $1", window_id)
    )
    async with db.transaction():
        stored = await windows.plan(db, window_id, schedule, now)
    planned = await occurrences(db, window_id)
    assert stored == len(planned)
    assert 24 * 35 - 1 <= len(planned) <= 24 * 35 + 1
    until = await db.fetchval(
        "SELECT planned_until FROM maintenance_windows WHERE id = $1", window_id
    )
    assert until == now + windows.PLAN_AHEAD

    # End the running one early (make one run now), then plan again: it stays ended.
    await db.execute(
        "INSERT INTO maintenance_occurrences (window_id, starts_at, ends_at) VALUES ($1, $2, $3)"
        " ON CONFLICT DO NOTHING",
        window_id,
        now - timedelta(seconds=10),
        now + timedelta(minutes=5),
    )
    ended = await windows.end_now(db, window_id, "cron", now)
    assert ended is not None and ended[1] == now
    async with db.transaction():
        await windows.plan(db, window_id, schedule, now)
    kept = [o for o in await occurrences(db, window_id) if o[0] == now - timedelta(seconds=10)]
    assert kept == [(now - timedelta(seconds=10), now, True)]
    assert await windows.end_now(db, window_id, "cron", now) is None  # nothing runs now


async def test_extend_plans_recurring_windows_further_ahead(db: asyncpg.Connection) -> None:
    now = datetime.now(UTC)
    window_id = await make_window(
        db,
        "weekly",
        kind="weekly",
        days=[1, 2, 3, 4, 5, 6, 7],
        start_time=time(3, 0),
        duration_s=600,
        time_zone="Europe/Berlin",
    )
    async with db.transaction():
        added = await windows.extend(db, now)
    assert added == len(await occurrences(db, window_id))
    assert 34 <= added <= 36
    async with db.transaction():  # planned far enough: nothing to do
        assert await windows.extend(db, now) == 0
    async with db.transaction():  # two days later, the plan grows by two days
        assert await windows.extend(db, now + timedelta(days=2)) == 2


async def test_ending_a_one_off_window_moves_its_end(db: asyncpg.Connection) -> None:
    now = datetime.now(UTC)
    window_id = await make_window(
        db,
        "once",
        kind="once",
        starts_at=now - timedelta(minutes=1),
        ends_at=now + timedelta(hours=1),
    )
    schedule = windows.from_row(
        await db.fetchrow("SELECT * FROM maintenance_windows WHERE id = $1", window_id)
    )
    async with db.transaction():
        assert await windows.plan(db, window_id, schedule, now) == 1
        assert await windows.end_now(db, window_id, "once", now) == (
            now - timedelta(minutes=1),
            now,
        )
    assert (
        await db.fetchval("SELECT ends_at FROM maintenance_windows WHERE id = $1", window_id) == now
    )


async def test_targets_in_maintenance_by_id_and_by_labels_and_the_time_excluded(
    db: asyncpg.Connection,
) -> None:
    now = datetime.now(UTC)
    ids = [
        await db.fetchval(
            "INSERT INTO targets (name, kind, address, interval_s, timeout_s, labels)"
            " VALUES ($1, 'tcp', '127.0.0.1:9', 60, 5, $2::jsonb) RETURNING id",
            name,
            labels,
        )
        for name, labels in (("a", {"env": "prod"}), ("b", {"env": "prod"}), ("c", {}))
    ]
    by_id = await make_window(
        db,
        "by id",
        kind="once",
        starts_at=now - timedelta(hours=2),
        ends_at=now + timedelta(hours=1),
    )
    await db.execute("INSERT INTO maintenance_window_targets VALUES ($1, $2)", by_id, ids[2])
    by_label = await make_window(
        db,
        "by label",
        kind="once",
        starts_at=now - timedelta(hours=3),
        ends_at=now - timedelta(hours=1),
        match_labels={"env": "prod"},
    )
    counted = await make_window(
        db,
        "counted",
        kind="once",
        starts_at=now - timedelta(minutes=30),
        ends_at=now + timedelta(minutes=30),
        match_labels={"env": "prod"},
        include_in_uptime=True,
    )
    for window_id in (by_id, by_label, counted):
        schedule = windows.from_row(
            await db.fetchrow("SELECT * FROM maintenance_windows WHERE id = $1", window_id)
        )
        await windows.plan(db, window_id, schedule, now)

    rows = await db.fetch("SELECT target_id, window_id FROM target_maintenance ORDER BY target_id")
    assert [(r["target_id"], r["window_id"]) for r in rows] == [
        (ids[0], counted),
        (ids[1], counted),
        (ids[2], by_id),
    ]
    # One target's window (what a read of one target joins) is the view's, target by target.
    for target_id in ids:
        one = await db.fetchval(
            "SELECT m.window_id FROM targets t"
            " LEFT JOIN LATERAL vigil_target_window(t.id, t.labels, now()) m ON true"
            " WHERE t.id = $1",
            target_id,
        )
        assert one == {r["target_id"]: r["window_id"] for r in rows}.get(target_id)
    assert await db.fetchval("SELECT vigil_target_status(true, 'down', true)") == "maintenance"
    assert await db.fetchval("SELECT vigil_target_status(false, 'down', true)") == "paused"

    since, until = now - timedelta(hours=4), now
    excluded = {
        target_id: await db.fetchval(
            "SELECT vigil_maintenance_excluded_s($1, $2, $3)", target_id, since, until
        )
        for target_id in ids
    }
    # a, b: the label window's two hours (the counted one is counted); c: its window's two hours.
    assert excluded == {ids[0]: 7200.0, ids[1]: 7200.0, ids[2]: 7200.0}
    # Overlapping windows count once: c in the label window too now covers 3 h, not 4 h.
    await db.execute('UPDATE targets SET labels = \'{"env": "prod"}\' WHERE id = $1', ids[2])
    assert (
        await db.fetchval("SELECT vigil_maintenance_excluded_s($1, $2, $3)", ids[2], since, until)
        == 10800.0
    )
