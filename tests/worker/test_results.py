"""The result writer against a real database: state, incidents, roll-ups, NOTIFYs, partitions."""

from __future__ import annotations

import asyncio
import datetime as dt
from collections.abc import AsyncIterator

import asyncpg
import pytest

from vigil_core.db import create_pool
from vigil_core.models import CheckResult
from vigil_core.notify import (
    STATUS_CHANNEL,
    ResultsStored,
    StateChanged,
    StatusEvent,
    decode_status_event,
)
from vigil_core.rollups import BUCKET_COUNT, bucket_index
from vigil_worker import maintenance
from vigil_worker.metrics import WorkerMetrics
from vigil_worker.results import OfflineResult, ResultWriter

from .conftest import add_target, wait_for


@pytest.fixture
async def pool(db_url: str):
    p = await create_pool(db_url, max_size=3)
    yield p
    await p.close()


class StatusInbox:
    """The vigil_status events heard on the test's own LISTEN connection, decoded."""

    SENTINEL = "vigil-test-sentinel"  # not a status event

    def __init__(self) -> None:
        self.events: list[StatusEvent | None] = []
        self._sentinel = asyncio.Event()

    def __call__(self, conn: object, pid: int, channel: str, payload: str) -> None:
        if payload == self.SENTINEL:
            self._sentinel.set()
        else:
            self.events.append(decode_status_event(payload))

    async def settle(self, conn: asyncpg.Connection) -> list[StatusEvent | None]:
        """Every event committed so far: a NOTIFY sent now is delivered after all of them."""
        self._sentinel.clear()
        await conn.execute("SELECT pg_notify($1, $2)", STATUS_CHANNEL, self.SENTINEL)
        await asyncio.wait_for(self._sentinel.wait(), 10)
        return self.events


@pytest.fixture
async def status_events(db: asyncpg.Connection) -> AsyncIterator[StatusInbox]:
    inbox = StatusInbox()
    await db.add_listener(STATUS_CHANNEL, inbox)
    yield inbox
    await db.remove_listener(STATUS_CHANNEL, inbox)


def result(tid: int, at: dt.datetime, ok: bool, latency: float = 12.0, **kw) -> CheckResult:
    return CheckResult(
        target_id=tid,
        checked_at=at,
        due_at=at,
        ok=ok,
        latency_ms=latency,
        error_class=None if ok else "refused",
        error_message=None if ok else "connection refused",
        **kw,
    )


async def test_thresholds_open_and_close_incidents_exactly_once(db, pool, status_events) -> None:
    tid = await add_target(
        db, "flaky", "tcp", "127.0.0.1:9", failure_threshold=2, success_threshold=2
    )
    writer = ResultWriter(pool, 1000, WorkerMetrics())
    t0 = dt.datetime.now(dt.UTC).replace(microsecond=0)
    at = lambda i: t0 + dt.timedelta(seconds=i)  # noqa: E731
    # one flush per result, as a slow trickle would do, then some in one batch
    for i, ok in enumerate([True, False, False, False, True]):
        await writer.write([result(tid, at(i), ok)])
    await writer.write([result(tid, at(5), True), result(tid, at(6), True)])

    incidents = await db.fetch(
        "SELECT started_at, ended_at, cause FROM incidents WHERE target_id = $1", tid
    )
    assert [(r["started_at"], r["ended_at"]) for r in incidents] == [(at(2), at(5))]
    assert incidents[0]["cause"] == "refused: connection refused"
    st = await db.fetchrow("SELECT * FROM target_state WHERE target_id = $1", tid)
    assert (st["status"], st["since"], st["consecutive_ok"], st["last_checked_at"]) == (
        "up",
        at(5),
        3,
        at(6),
    )
    events = await status_events.settle(db)
    states = [e for e in events if isinstance(e, StateChanged)]
    assert [(e.previous, e.status) for e in states] == [
        ("pending", "up"),
        ("up", "down"),
        ("down", "up"),
    ]
    assert states[1].since == at(2).isoformat()
    stored = [e for e in events if isinstance(e, ResultsStored)]
    assert len(stored) == 6 and all(e.target_ids == [tid] for e in stored)


async def test_rollups_follow_each_flush(db, pool) -> None:
    tid = await add_target(db, "rolled", "tcp", "127.0.0.1:9")
    writer = ResultWriter(pool, 1000, WorkerMetrics())
    hour = dt.datetime.now(dt.UTC).replace(minute=0, second=0, microsecond=0)
    await writer.write(
        [
            result(tid, hour + dt.timedelta(seconds=1), True, 0.5),
            result(tid, hour + dt.timedelta(seconds=2), True, 40.0),
        ]
    )
    await writer.write(
        [
            result(tid, hour + dt.timedelta(seconds=3), False, 900.0),
            result(tid, hour - dt.timedelta(seconds=1), True, 3.0),
        ]
    )
    rows = await db.fetch("SELECT * FROM check_rollups WHERE target_id = $1 ORDER BY hour", tid)
    assert [(r["hour"], r["checks"], r["ok"]) for r in rows] == [
        (hour - dt.timedelta(hours=1), 1, 1),
        (hour, 3, 2),
    ]
    this = rows[1]
    # latency figures cover successful checks only
    assert (this["latency_count"], this["latency_sum_ms"], this["latency_max_ms"]) == (
        2,
        40.5,
        40.0,
    )
    buckets = this["latency_buckets"]
    assert sum(buckets) == 2 and buckets[0] == 1 and buckets[5] == 1  # <=1 ms and <=50 ms
    # The current hour lives in target_state; the late one went straight to the table.
    table = "SELECT hour, checks FROM check_rollups_hourly WHERE target_id = $1 ORDER BY hour"
    assert [tuple(r) for r in await db.fetch(table, tid)] == [(hour - dt.timedelta(hours=1), 1)]

    # The first result of the next hour completes this one: it moves to the table, whole.
    await writer.write([result(tid, hour + dt.timedelta(hours=1, seconds=5), True, 7.0)])
    assert [tuple(r) for r in await db.fetch(table, tid)] == [
        (hour - dt.timedelta(hours=1), 1),
        (hour, 3),
    ]
    st = await db.fetchrow(
        "SELECT cur_hour, cur_checks, cur_latency_buckets FROM target_state WHERE target_id = $1",
        tid,
    )
    assert (st["cur_hour"], st["cur_checks"], sum(st["cur_latency_buckets"])) == (
        hour + dt.timedelta(hours=1),
        1,
        1,
    )
    viewed = await db.fetch(
        "SELECT hour, checks, ok, latency_count FROM check_rollups WHERE target_id = $1 ORDER BY hour",
        tid,
    )
    assert [tuple(r) for r in viewed] == [
        (hour - dt.timedelta(hours=1), 1, 1, 1),
        (hour, 3, 2, 2),
        (hour + dt.timedelta(hours=1), 1, 1, 1),
    ]


@pytest.mark.parametrize(
    "flushes",
    [
        [
            [0.5],
            [40.0],
            [3.0, 3.5],
            [None],
            [0.2, 700.0],
            [40.0],
        ],  # one bucket, repeated, none, several
        [[12.0, 12.5, 900.0], [12.0], [None, 2.0], [2.0]],
    ],
)
async def test_the_current_hour_buckets_add_up_flush_after_flush(db, pool, flushes) -> None:
    """Each flush adds its latencies to the current hour's buckets (one bucket, the same bucket
    several times, none for a failed check, several buckets): the sum is every check's bucket."""
    tid = await add_target(db, "buckets", "tcp", "127.0.0.1:9")
    writer = ResultWriter(pool, 1000, WorkerMetrics())
    hour = dt.datetime.now(dt.UTC).replace(minute=0, second=0, microsecond=0)
    want = [0] * BUCKET_COUNT
    second = 0
    for latencies in flushes:
        batch = []
        for latency in latencies:
            second += 1
            batch.append(
                result(
                    tid,
                    hour + dt.timedelta(seconds=second),
                    latency is not None,
                    latency if latency is not None else 5.0,
                )
            )
            if latency is not None:
                want[bucket_index(latency)] += 1
        await writer.write(batch)
        got = await db.fetchval(
            "SELECT cur_latency_buckets FROM target_state WHERE target_id = $1", tid
        )
        assert list(got) == want, latencies


async def test_parts_of_one_hour_merge_into_its_row(db, pool) -> None:
    """An hour can reach check_rollups_hourly in parts: a result older than the state's last
    one goes there directly, then move_hours copies the completed current hour onto that row,
    and a late part of the same hour in the moving batch is merged into it as well."""
    tid = await add_target(db, "merged", "tcp", "127.0.0.1:9")
    writer = ResultWriter(pool, 1000, WorkerMetrics())
    hour = dt.datetime.now(dt.UTC).replace(minute=0, second=0, microsecond=0)
    at = lambda s: hour + dt.timedelta(seconds=s)  # noqa: E731
    await writer.write([result(tid, at(10), True, 0.5)])  # the current hour starts
    await writer.write([result(tid, at(5), True, 40.0)])  # older than the state: to the table
    await writer.write([result(tid, at(20), True, 3.0), result(tid, at(3601), True, 7.0)])
    row = await db.fetchrow(
        "SELECT checks, ok, latency_count, latency_sum_ms, latency_max_ms, latency_buckets"
        " FROM check_rollups_hourly WHERE target_id = $1 AND hour = $2",
        tid,
        hour,
    )
    want = [0] * BUCKET_COUNT
    for latency in (0.5, 40.0, 3.0):
        want[bucket_index(latency)] += 1
    assert (
        row["checks"],
        row["ok"],
        row["latency_count"],
        row["latency_sum_ms"],
        row["latency_max_ms"],
    ) == (3, 3, 3, 43.5, 40.0)
    assert list(row["latency_buckets"]) == want
    day = await db.fetchrow(
        "SELECT checks, latency_buckets FROM check_rollups_daily WHERE target_id = $1", tid
    )
    assert (day["checks"], list(day["latency_buckets"])) == (3, want)


async def test_missing_partition_is_created_and_the_insert_retried(db, pool) -> None:
    tid = await add_target(db, "far", "tcp", "127.0.0.1:9")
    writer = ResultWriter(pool, 1000, WorkerMetrics())
    old = dt.datetime.now(dt.UTC) - dt.timedelta(days=3)  # before the first partition
    await writer.write([result(tid, old, True)])
    assert await db.fetchval("SELECT count(*) FROM checks WHERE target_id = $1", tid) == 1


async def test_results_of_deleted_targets_and_stored_offline_slots_are_skipped(db, pool) -> None:
    kept = await add_target(db, "kept", "tcp", "127.0.0.1:9")
    gone = await add_target(db, "gone", "tcp", "127.0.0.1:9")
    await db.execute("DELETE FROM targets WHERE id = $1", gone)
    writer = ResultWriter(pool, 1000, WorkerMetrics())
    now = dt.datetime.now(dt.UTC)
    await writer.write([result(kept, now, True), result(gone, now, True)])
    # the same slot checked offline by this worker and stored by another: recorded once
    dup = OfflineResult(
        target_id=kept,
        checked_at=now + dt.timedelta(milliseconds=3),
        due_at=now,
        ok=True,
        latency_ms=1.0,
    )
    await writer.write([dup])
    rows = await db.fetch("SELECT target_id, due_at FROM checks")
    assert [(r["target_id"], r["due_at"]) for r in rows] == [(kept, now)]


async def test_buffer_is_bounded_and_drops_are_counted(pool) -> None:
    metrics = WorkerMetrics()
    writer = ResultWriter(pool, 5, metrics)
    now = dt.datetime.now(dt.UTC)
    for _ in range(8):
        writer.add(result(1, now, True))
    assert len(writer) == 5 and writer.dropped == 3
    assert metrics.registry.get_sample_value("vigil_worker_results_dropped_total") == 3
    assert metrics.registry.get_sample_value("vigil_worker_result_buffer_depth") == 5


async def test_maintenance_creates_ahead_drops_old_and_runs_once_at_a_time(
    db, pool, db_url
) -> None:
    await db.execute("SELECT vigil_ensure_check_partitions(40, 0)")

    def names():
        return db.fetch(
            "SELECT c.relname FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid "
            "JOIN pg_class p ON p.oid = i.inhparent WHERE p.relname = 'checks' ORDER BY 1"
        )

    today = dt.datetime.now(dt.UTC).date()
    done = await maintenance.run_once(pool, retention_days=30)
    parts = [r[0] for r in await names()]
    days = [dt.datetime.strptime(p[7:], "%Y%m%d").date() for p in parts]
    assert min(days) == today - dt.timedelta(days=30)  # ends today-29: inside retention
    assert max(days) == today + dt.timedelta(days=maintenance.DAYS_AHEAD)
    assert done["dropped"] == 10
    # while another worker holds the maintenance lock, this one skips the round
    async with pool.acquire() as other, other.transaction():
        await other.execute("SELECT pg_advisory_xact_lock(vigil_maintenance_lock_key())")
        assert await maintenance.run_once(pool, retention_days=30) is None


# Backends waiting for a lock this connection holds (pg_locks is read live; pg_stat_activity
# would stay the same snapshot for the whole transaction).
LOCK_WAITERS = "SELECT count(*) FROM pg_locks WHERE NOT granted AND pg_backend_pid() = ANY (pg_blocking_pids(pid))"


async def test_overlapping_flushes_never_share_a_target(db, pool) -> None:
    """Under a backlog, flushes overlap; a target's later results wait for its flush in flight."""
    slow = await add_target(db, "slow", "tcp", "127.0.0.1:9", failure_threshold=2)
    other = await add_target(db, "other", "tcp", "127.0.0.1:9")
    writer = ResultWriter(pool, 1000, WorkerMetrics(), max_batch=10)  # overlap from 1 waiting
    running = asyncio.create_task(writer.run())
    t0 = dt.datetime.now(dt.UTC)
    count = "SELECT count(*) FROM checks WHERE target_id = $1"
    try:
        async with db.transaction():
            # Hold slow's state row: the flush that takes slow's first result blocks on it.
            await db.execute("SELECT 1 FROM target_state WHERE target_id = $1 FOR UPDATE", slow)
            writer.add(result(slow, t0, False))
            await wait_for(
                lambda: db.fetchval(LOCK_WAITERS), what="the first flush waiting for the row lock"
            )
            writer.add(result(other, t0, True))
            writer.add(result(slow, t0 + dt.timedelta(seconds=1), False))
            deadline = asyncio.get_running_loop().time() + 10
            while await db.fetchval(count, other) == 0:
                assert asyncio.get_running_loop().time() < deadline, "the second flush never ran"
                await asyncio.sleep(0.05)
            assert len(writer) == 2  # slow's two results: one blocked in flight, one held back
        await asyncio.wait_for(writer.drain(), 10)
    finally:
        running.cancel()
    assert await db.fetchval(count, slow) == 2
    st = await db.fetchrow(
        "SELECT status, consecutive_fail FROM target_state WHERE target_id = $1", slow
    )
    assert (st["status"], st["consecutive_fail"]) == ("down", 2)  # both applied, in order


async def test_flushes_update_target_state_in_place(db, pool) -> None:
    """Each flush rewrites the state rows of its targets; with room on their pages (migration
    0006) that is a HOT update: a row's new version stays on its page, nothing is added to
    the indexes, and the table does not grow round after round."""
    ids = [await add_target(db, f"hot-{i}", "tcp", "127.0.0.1:9") for i in range(300)]
    writer = ResultWriter(pool, 10_000, WorkerMetrics())
    t0 = dt.datetime.now(dt.UTC).replace(microsecond=0)
    pages = "SELECT target_id, (ctid::text::point)[0] AS page FROM target_state WHERE target_id = ANY($1)"
    seen = []
    for round_ in range(
        4
    ):  # the first rounds fill the rows in (they grow), the later ones are steady
        await writer.write(
            [
                result(tid, t0 + dt.timedelta(seconds=round_), round_ != 2, 5.0 + round_)
                for tid in ids
            ]
        )
        seen.append({r["target_id"]: r["page"] for r in await db.fetch(pages, ids)})
    assert seen[3] == seen[2]
    assert await db.fetchval("SELECT pg_relation_size('target_state') / 8192") <= 2 * len(
        set(seen[3].values())
    )


async def test_maintenance_deletes_ended_sessions_old_failures_and_old_audit_rows(db, pool) -> None:
    user_id = await db.fetchval(
        "INSERT INTO users (name, role, password_hash) VALUES ('u', 'viewer', 'x') RETURNING id"
    )
    await db.execute(
        """INSERT INTO sessions (hash, user_id, expires_at, revoked_at) VALUES
             ('\\x01', $1, now() - interval '2 days', NULL),
             ('\\x02', $1, now() + interval '1 day', now() - interval '2 days'),
             ('\\x03', $1, now() + interval '1 day', NULL),
             ('\\x04', $1, now() + interval '1 day', now())""",
        user_id,
    )
    await db.execute(
        """INSERT INTO login_failures (at, username, address) VALUES
             (now() - interval '2 days', 'u', 'a'), (now(), 'u', 'a')"""
    )
    await db.execute(
        """INSERT INTO audit_log (at, actor, actor_kind, action, object_kind) VALUES
             (now() - interval '400 days', 'u', 'user', 'login', 'session'),
             (now() - interval '10 days', 'u', 'user', 'login', 'session')"""
    )
    done = await maintenance.run_once(pool, retention_days=30, audit_retention_days=365)
    assert done["sessions"] == 2 and done["audit_rows"] == 1
    assert await db.fetchval("SELECT count(*) FROM sessions") == 2  # live, and just logged out
    assert await db.fetchval("SELECT count(*) FROM login_failures") == 1
    assert await db.fetchval("SELECT count(*) FROM audit_log") == 1


async def test_maintenance_deletes_occurrences_ended_over_a_year_ago(db, pool) -> None:
    window_id = await db.fetchval(
        "INSERT INTO maintenance_windows (name, kind, cron, duration_s, match_labels)"
        " VALUES ('nightly', 'cron', '0 2 * * *', 3600, '{\"team\": \"db\"}') RETURNING id"
    )
    await db.execute(
        """INSERT INTO maintenance_occurrences (window_id, starts_at, ends_at) VALUES
             ($1, now() - interval '402 days', now() - interval '401 days'),
             ($1, now() - interval '399 days', now() - interval '398 days'),
             ($1, now() + interval '1 day', now() + interval '2 days')""",
        window_id,
    )
    done = await maintenance.run_once(pool, retention_days=30)
    assert done["occurrences"] == 1
    left = await db.fetch(
        "SELECT starts_at > now() AS ahead FROM maintenance_occurrences ORDER BY starts_at"
    )
    assert [r["ahead"] for r in left] == [False, True]
