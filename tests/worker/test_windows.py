"""Maintenance windows in the worker, against real PostgreSQL: checks flagged with their window,
left out of the roll-ups unless the window counts in uptime, plans kept ahead, and the windows
task woken by each boundary and by NOTIFY vigil_maintenance (and a database bug shown while it
lasts)."""

from __future__ import annotations

import asyncio
import datetime as dt
import subprocess
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass, field

import asyncpg
import pytest

from vigil_core import windows as schedules
from vigil_core.db import create_pool
from vigil_core.models import CheckResult
from vigil_core.notify import STATUS_CHANNEL, MaintenanceChanged, decode_status_event
from vigil_worker import hourly
from vigil_worker.metrics import WorkerMetrics
from vigil_worker.results import ResultWriter
from vigil_worker.windows import MaintenanceWindows

from .conftest import add_target, running_worker, wait_for, worker_settings

UTC = dt.UTC


# -- windows as the API writes them (vigil_core.windows.plan in the writing transaction) -----


async def once_window(
    db: asyncpg.Connection,
    name: str,
    targets: Sequence[int],
    starts_at: dt.datetime,
    ends_at: dt.datetime,
    *,
    match_labels: dict[str, str] | None = None,
    include_in_uptime: bool = False,
) -> int:
    """A one-off window with its occurrence planned; returns its id."""
    async with db.transaction():
        window_id: int = await db.fetchval(
            """INSERT INTO maintenance_windows (name, kind, starts_at, ends_at, match_labels,
                                                include_in_uptime)
               VALUES ($1, 'once', $2, $3, $4, $5) RETURNING id""",
            name,
            starts_at,
            ends_at,
            match_labels or {},
            include_in_uptime,
        )
        await db.executemany(
            "INSERT INTO maintenance_window_targets (window_id, target_id) VALUES ($1, $2)",
            [(window_id, t) for t in targets],
        )
        await schedules.plan(
            db, window_id, schedules.Schedule("once", starts_at, ends_at), dt.datetime.now(UTC)
        )
    return window_id


async def move_end(db: asyncpg.Connection, window_id: int, ends_at: dt.datetime) -> None:
    """A one-off window's end moved (as a PUT would): its occurrence is planned anew."""
    async with db.transaction():
        row = await db.fetchrow(
            "UPDATE maintenance_windows SET ends_at = $2 WHERE id = $1 RETURNING *",
            window_id,
            ends_at,
        )
        assert row is not None
        await schedules.plan(db, window_id, schedules.from_row(row), dt.datetime.now(UTC))


@dataclass(eq=False)  # hashable: asyncpg keeps listeners in a set
class StatusInbox:
    """MaintenanceChanged events heard on vigil_status, with the time each arrived."""

    heard: list[dt.datetime] = field(default_factory=list)
    _arrived: asyncio.Event = field(default_factory=asyncio.Event)

    def __call__(self, conn: object, pid: int, channel: str, payload: object) -> None:
        if isinstance(decode_status_event(str(payload)), MaintenanceChanged):
            self.heard.append(dt.datetime.now(UTC))
            self._arrived.set()

    async def next(self, timeout: float, after: int | None = None) -> dt.datetime:
        """The time the next MaintenanceChanged arrived after the first `after` (default: those
        seen so far). Take `after` = len(heard) before an action on the inbox's own connection:
        the event can arrive while that action waits for its answer, before next() is called."""
        seen = len(self.heard) if after is None else after
        async with asyncio.timeout(timeout):
            while len(self.heard) <= seen:
                self._arrived.clear()
                await self._arrived.wait()
        return self.heard[seen]


@asynccontextmanager
async def status_inbox(db: asyncpg.Connection) -> AsyncIterator[StatusInbox]:
    inbox = StatusInbox()
    await db.add_listener(STATUS_CHANNEL, inbox)
    try:
        yield inbox
    finally:
        await db.remove_listener(STATUS_CHANNEL, inbox)


@pytest.fixture
async def pool(db_url: str) -> AsyncIterator[asyncpg.Pool]:
    p = await create_pool(db_url, max_size=4)
    yield p
    await p.close()


@asynccontextmanager
async def windows_task(
    pool: asyncpg.Pool, metrics: WorkerMetrics | None = None, **kw: float
) -> AsyncIterator[MaintenanceWindows]:
    """The real task alone (no LISTEN): what wakes it is its own timer."""
    task_obj = MaintenanceWindows(pool, metrics or WorkerMetrics(), **kw)
    task = asyncio.create_task(task_obj.run())
    try:
        await wait_for(lambda: task_obj.rounds >= 1 or task.done(), what="a first round")
        if task.done():
            task.result()
        yield task_obj
    finally:
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)


def result(tid: int, at: dt.datetime, ok: bool = True) -> CheckResult:
    return CheckResult(
        target_id=tid,
        checked_at=at,
        due_at=at,
        ok=ok,
        latency_ms=5.0 if ok else None,
        error_class=None if ok else "refused",
        error_message=None if ok else "connection refused",
    )


# -- hourly.split with results held out (pure) ---------------------------------------------

H0 = dt.datetime(2026, 11, 29, 10, tzinfo=UTC)
N0 = hourly.hour_of(H0)


@pytest.mark.parametrize(
    "current, counted, held, moving, expected",
    [
        # only held results, no current hour yet: an empty one at the newest held hour
        (None, [], [0, 1], True, (1, 0)),
        # only held results: the current hour stays, nothing added
        (0, [], [1], True, (0, 0)),
        # counted and held: only the counted ones count
        (0, [0, 0], [0, 1], True, (0, 2)),
        # a target whose state does not move gets no current hour
        (0, [], [1], False, None),
    ],
    ids=["held-only-new", "held-only-keeps-current", "mixed", "not-moving"],
)
def test_split_gives_every_moving_target_a_current_hour(
    current: int | None,
    counted: list[int],
    held: list[int],
    moving: bool,
    expected: tuple[int, int] | None,
) -> None:
    at = lambda h, i: H0 + dt.timedelta(hours=h, seconds=i)  # noqa: E731
    out = hourly.split(
        [result(7, at(h, i)) for i, h in enumerate(counted)],
        {7: None if current is None else N0 + current},
        {7} if moving else set(),
        [result(7, at(h, 100 + i)) for i, h in enumerate(held)],
    )
    got = out.current.get(7)
    assert (None if got is None else (got[0] - N0, got[1].checks)) == expected
    assert sum(s.checks for _, _, s in out.done) == (0 if moving else len(counted))


# -- the flush ------------------------------------------------------------------------------


async def rollup_checks(db: asyncpg.Connection, tid: int) -> int:
    return await db.fetchval(
        "SELECT coalesce(sum(checks), 0)::integer FROM check_rollups WHERE target_id = $1", tid
    )


async def test_checks_in_a_window_are_flagged_and_left_out_of_uptime_unless_it_counts(
    db: asyncpg.Connection, pool: asyncpg.Pool
) -> None:
    now = dt.datetime.now(UTC).replace(microsecond=0)
    start, end = now - dt.timedelta(minutes=10), now - dt.timedelta(minutes=5)
    listed = await add_target(db, "listed", "tcp", "127.0.0.1:9")
    labelled = await add_target(db, "labelled", "tcp", "127.0.0.1:9")
    await db.execute('UPDATE targets SET labels = \'{"rack": "b"}\' WHERE id = $1', labelled)
    counted = await add_target(db, "counted", "tcp", "127.0.0.1:9")
    both = await add_target(db, "both", "tcp", "127.0.0.1:9")
    other = await add_target(db, "other", "tcp", "127.0.0.1:9")
    excluded_id = await once_window(
        db, "excluded", [listed, both], start, end, match_labels={"rack": "b"}
    )
    # Ends later than `excluded`: the checks of `both` are flagged with it (the window the
    # status shows), and still left out of uptime, since `excluded` covers them too.
    counted_id = await once_window(
        db,
        "counted",
        [counted, both],
        start,
        end + dt.timedelta(seconds=1),
        include_in_uptime=True,
    )
    after = end + dt.timedelta(minutes=1)
    times = [start - dt.timedelta(minutes=1), start, start + dt.timedelta(minutes=2), after]
    oks = [True, False, False, True]  # down during the window, up after it
    targets = [listed, labelled, counted, both, other]
    writer = ResultWriter(pool, 1000, WorkerMetrics())
    # Two flushes, as the results would arrive: before and during, then after.
    await writer.write(
        [result(t, at, ok) for t in targets for at, ok in zip(times[:3], oks[:3], strict=True)]
    )
    await writer.write([result(t, times[3], oks[3]) for t in targets])

    flags = {
        (r["target_id"], r["checked_at"]): r["maintenance_window_id"]
        for r in await db.fetch("SELECT target_id, checked_at, maintenance_window_id FROM checks")
    }
    expected_window = {
        listed: excluded_id,
        labelled: excluded_id,
        counted: counted_id,
        both: counted_id,
    }
    for t in targets:
        inside = expected_window.get(t)
        assert [flags[(t, at)] for at in times] == [None, inside, inside, None], t
    # Left out: two checks of four; the window that counts keeps all four.
    assert {t: await rollup_checks(db, t) for t in targets} == {
        listed: 2,
        labelled: 2,
        counted: 4,
        both: 2,
        other: 4,
    }
    # The state machine ran through the window: an incident opened in it and closed after it.
    for t in targets:
        st = await db.fetchrow(
            "SELECT status, last_checked_at FROM target_state WHERE target_id = $1", t
        )
        assert st is not None and (st["status"], st["last_checked_at"]) == ("up", after)
        spans = await db.fetch("SELECT started_at, ended_at FROM incidents WHERE target_id = $1", t)
        assert [(s["started_at"], s["ended_at"]) for s in spans] == [(start, after)]


async def test_a_target_with_every_result_held_still_moves(
    db: asyncpg.Connection, pool: asyncpg.Pool
) -> None:
    now = dt.datetime.now(UTC).replace(microsecond=0)
    tid = await add_target(db, "new in a window", "tcp", "127.0.0.1:9")
    await once_window(db, "w", [tid], now - dt.timedelta(minutes=30), now + dt.timedelta(hours=1))
    writer = ResultWriter(pool, 1000, WorkerMetrics())
    # Its very first results, all in the window: no current hour yet, none counted.
    await writer.write([result(tid, now - dt.timedelta(seconds=s), ok=False) for s in (20, 10)])
    st = await db.fetchrow("SELECT * FROM target_state WHERE target_id = $1", tid)
    assert st is not None
    assert (st["status"], st["last_checked_at"], st["cur_checks"]) == (
        "down",
        now - dt.timedelta(seconds=10),
        0,
    )
    newest_hour = hourly.hour_start(hourly.hour_of(now - dt.timedelta(seconds=10)))
    assert st["cur_hour"] == newest_hour  # an empty current hour, started by a held result
    assert await rollup_checks(db, tid) == 0
    assert await db.fetchval("SELECT count(*) FROM incidents WHERE target_id = $1", tid) == 1


# -- the windows task -----------------------------------------------------------------------


async def test_the_task_plans_recurring_windows_ahead_once_with_two_workers(
    db: asyncpg.Connection, pool: asyncpg.Pool
) -> None:
    # As a window would stand after a long pause of every worker: planned a day ahead only.
    window_id = await db.fetchval(
        """INSERT INTO maintenance_windows (name, kind, days, start_time, duration_s, time_zone,
                                            planned_until)
           VALUES ('nightly', 'weekly', '{1,2,3,4,5,6,7}', '03:00', 600, 'Europe/Berlin',
                   now() + interval '1 day') RETURNING id"""
    )
    metrics = [WorkerMetrics(), WorkerMetrics()]
    async with windows_task(pool, metrics[0]), windows_task(pool, metrics[1]):
        planned_until = await db.fetchval(
            "SELECT planned_until FROM maintenance_windows WHERE id = $1", window_id
        )
    assert planned_until >= dt.datetime.now(UTC) + schedules.PLAN_AHEAD - dt.timedelta(minutes=1)
    stored = await db.fetchval(
        "SELECT count(*) FROM maintenance_occurrences WHERE window_id = $1", window_id
    )
    planned = [
        m.registry.get_sample_value("vigil_worker_maintenance_occurrences_planned_total")
        for m in metrics
    ]
    # From a day ahead to 35 days ahead: one occurrence a day, planned by one worker or split
    # between the two, never twice.
    assert 33 <= stored <= 35 and sum(p or 0 for p in planned) == stored


async def test_the_task_wakes_at_each_boundary(db: asyncpg.Connection, pool: asyncpg.Pool) -> None:
    tid = await add_target(db, "t", "tcp", "127.0.0.1:9")
    now = dt.datetime.now(UTC)
    starts_at, ends_at = now + dt.timedelta(seconds=3), now + dt.timedelta(seconds=5)
    await once_window(db, "soon", [tid], starts_at, ends_at)
    metrics = WorkerMetrics()
    async with status_inbox(db) as inbox:
        # No LISTEN and a ten-minute safety net: only its boundary timer can wake it.
        async with windows_task(pool, metrics, safety_s=600):
            assert dt.datetime.now(UTC) < starts_at, "the first round came after the start"
            started = await inbox.next(timeout=20)
            ended = await inbox.next(timeout=20)
            changes = "vigil_worker_maintenance_changes_total"
            # Counted once the round's transaction is over, a moment after its NOTIFY arrived.
            await wait_for(lambda: metrics.registry.get_sample_value(changes) == 2, what="2")
    assert starts_at <= started < starts_at + dt.timedelta(seconds=5)
    assert ends_at <= ended < ends_at + dt.timedelta(seconds=5)


async def test_a_worker_hears_windows_change_through_its_listener(
    db: asyncpg.Connection, db_url: str
) -> None:
    tid = await add_target(db, "t", "tcp", "127.0.0.1:9")
    await db.execute("UPDATE targets SET enabled = false WHERE id = $1", tid)
    # The safety net is a minute: each event below within 20 s came by NOTIFY.
    settings = worker_settings(db_url, worker_poll_interval_s=60.0)
    async with status_inbox(db) as inbox, running_worker(settings) as worker:
        assert worker.windows is not None
        windows = worker.windows
        await wait_for(
            lambda: worker.listener and worker.listener.connected and windows.rounds >= 1,
            what="listening, and a first round",
        )
        now = dt.datetime.now(UTC)
        seen = len(inbox.heard)
        window_id = await once_window(db, "now", [tid], now, now + dt.timedelta(hours=1))
        await inbox.next(timeout=20, after=seen)  # it started
        seen = len(inbox.heard)
        async with db.transaction():
            assert await schedules.end_now(db, window_id, "once", dt.datetime.now(UTC))
        await inbox.next(timeout=20, after=seen)  # it ended early
        # A window that runs and gains a target: its statuses changed too.
        other = await add_target(db, "u", "tcp", "127.0.0.1:9")
        now = dt.datetime.now(UTC)
        seen = len(inbox.heard)
        second = await once_window(db, "second", [tid], now, now + dt.timedelta(hours=1))
        await inbox.next(timeout=20, after=seen)
        seen = len(inbox.heard)
        await db.execute("INSERT INTO maintenance_window_targets VALUES ($1, $2)", second, other)
        await inbox.next(timeout=20, after=seen)
        healthy, details = worker.health()
        assert healthy, details


async def test_a_database_bug_is_shown_while_it_lasts(
    db: asyncpg.Connection, pool: asyncpg.Pool
) -> None:
    async with windows_task(pool, safety_s=600, bug_pause_s=0.2) as task:
        assert task.bug is None
        # As before `vigil migrate` ran: a table the task reads is missing.
        await db.execute("ALTER TABLE maintenance_occurrences RENAME TO gone")
        task.notified()
        await wait_for(lambda: task.bug is not None, what="the bug shown")
        await db.execute("ALTER TABLE gone RENAME TO maintenance_occurrences")
        await wait_for(lambda: task.bug is None, what="the bug cleared")  # retried after 0.2 s


def test_the_metrics_pass_promtool() -> None:
    m = WorkerMetrics()
    m.alert_held.labels("webhook").inc()
    m.alert_released.labels("webhook").inc()
    m.maintenance_planned.inc(3)
    m.maintenance_changes.inc()
    lint = subprocess.run(
        ["promtool", "check", "metrics"], input=m.exposition(), capture_output=True
    )
    assert lint.returncode == 0, lint.stdout + lint.stderr
