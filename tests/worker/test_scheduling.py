"""Scheduling against a real database with an in-process worker: fixed rate, spread, NOTIFY."""

from __future__ import annotations

import datetime as dt
import time

from .conftest import Servers, add_target, running_worker, wait_for, worker_settings

SECOND = dt.timedelta(seconds=1)
# True once now() is past the second slot (first due + interval) of every target in $1.
PAST_SECOND_SLOTS = """SELECT now() > max(first_due) + make_interval(secs => $2)
                         FROM (SELECT min(due_at) AS first_due FROM checks
                                WHERE target_id = ANY($1) GROUP BY target_id) firsts"""


async def test_fixed_rate_no_drift_and_hanging_targets_do_not_delay_others(
    db, db_url: str, servers: Servers
) -> None:
    steady = await add_target(
        db, "slow web", "http", servers.http + "/slow?delay=0.3", interval_s=1, timeout_s=0.9
    )
    for i in range(6):  # each hangs until its timeout, holding a slot
        await add_target(db, f"hang {i}", "http", servers.hang + "/", interval_s=1, timeout_s=0.9)
    steady_ok = "SELECT count(*) FILTER (WHERE ok) >= $2 FROM checks WHERE target_id = $1"
    timed_out = "SELECT count(DISTINCT target_id) = 6 FROM checks WHERE error_class = 'timeout'"
    async with running_worker(worker_settings(db_url, worker_concurrency=10)):
        # Three of steady's slots while every hanging target holds a slot until its timeout.
        await wait_for(
            lambda: db.fetchval(steady_ok, steady, 1), timeout=15, what="steady's first check"
        )
        await wait_for(lambda: db.fetchval(timed_out), timeout=15, what="every hang timed out")
        await wait_for(
            lambda: db.fetchval(steady_ok, steady, 3), timeout=15, what="steady's 3rd check"
        )
    rows = await db.fetch(
        "SELECT due_at, checked_at, ok FROM checks WHERE target_id = $1 ORDER BY due_at", steady
    )
    assert len(rows) >= 3 and all(r["ok"] for r in rows)
    anchor = await db.fetchval("SELECT anchor_at FROM schedule WHERE target_id = $1", steady)
    # slot k is due at anchor + k * interval exactly; the 0.3 s check time is never added
    assert [r["due_at"] for r in rows] == [anchor + k * SECOND for k in range(len(rows))]
    assert max(r["checked_at"] - r["due_at"] for r in rows) < dt.timedelta(milliseconds=250)
    hung = await db.fetch("SELECT DISTINCT error_class FROM checks WHERE target_id <> $1", steady)
    assert [r["error_class"] for r in hung] == ["timeout"]


async def test_new_target_is_checked_at_once(db, db_url: str, servers: Servers) -> None:
    async with running_worker(worker_settings(db_url, worker_poll_interval_s=30)) as worker:
        await wait_for(lambda: worker.listener.connected, what="listener up")
        started = time.monotonic()
        tid = await add_target(db, "fresh", "tcp", servers.listening, interval_s=60)
        await wait_for(
            lambda: db.fetchval("SELECT count(*) FROM checks WHERE target_id = $1", tid),
            timeout=5,
            what="first check",
            every=0.005,
        )
        reaction = time.monotonic() - started
    assert reaction < 1.0, f"first check after {reaction:.3f}s"


async def test_bulk_insert_is_spread_over_the_first_interval(db) -> None:
    await db.execute("""INSERT INTO targets (name, kind, address, interval_s, timeout_s)
                        SELECT 'bulk ' || g, 'tcp', '127.0.0.1:9', 10, 1
                          FROM generate_series(1, 100) g""")
    offsets = [
        r[0]
        for r in await db.fetch(
            "SELECT extract(epoch FROM next_check_at - min(next_check_at) OVER ()) FROM schedule "
            "ORDER BY 1"
        )
    ]
    assert offsets[0] == 0 and 9.8 <= float(offsets[-1]) < 10
    gaps = {round(float(b - a), 3) for a, b in zip(offsets, offsets[1:], strict=False)}
    assert gaps == {0.1}  # evenly: 100 targets over 10 s
    single = await add_target(db, "single", "tcp", "127.0.0.1:9", interval_s=10)
    due_now = await db.fetchval(
        "SELECT s.next_check_at = t.created_at FROM schedule s "
        "JOIN targets t ON t.id = s.target_id WHERE t.id = $1",
        single,
    )
    assert due_now  # a one-row insert is not delayed


async def test_update_reanchors_and_is_checked_at_once(db, db_url: str, servers: Servers) -> None:
    tid = await add_target(db, "moving", "tcp", servers.refused, interval_s=60)
    count = lambda: db.fetchval("SELECT count(*) FROM checks WHERE target_id = $1", tid)  # noqa: E731
    async with running_worker(worker_settings(db_url)):
        await wait_for(count, what="first check")
        started = time.monotonic()
        await db.execute(
            "UPDATE targets SET address = $2, interval_s = 30 WHERE id = $1", tid, servers.listening
        )
        await wait_for(
            lambda: db.fetchval(
                "SELECT ok FROM checks WHERE target_id = $1 ORDER BY checked_at DESC LIMIT 1", tid
            ),
            timeout=5,
            what="check of the new address",
        )
        assert time.monotonic() - started < 1.0
    anchor, nxt = await db.fetchrow(
        "SELECT anchor_at, next_check_at FROM schedule WHERE target_id = $1", tid
    )
    assert nxt - anchor == dt.timedelta(seconds=30)  # re-anchored on the new interval


async def test_disable_and_delete_cancel_a_claimed_slot(db, db_url: str, servers: Servers) -> None:
    # A 1.5 s lookahead claims the 2nd slot long before it is due: that claimed, not yet
    # started slot must not run once the target is disabled or deleted.
    disabled = await add_target(db, "to disable", "tcp", servers.listening, interval_s=2)
    deleted = await add_target(db, "to delete", "tcp", servers.listening, interval_s=2)
    settings = worker_settings(db_url, worker_lookahead_s=1.5)
    async with running_worker(settings) as worker:
        await wait_for(
            lambda: db.fetchval("SELECT count(DISTINCT target_id) = 2 FROM checks"),
            what="first checks",
        )
        await wait_for(lambda: worker.scheduler.in_flight == 2, what="2nd slots claimed")
        await db.execute("UPDATE targets SET enabled = false WHERE id = $1", disabled)
        await db.execute("DELETE FROM targets WHERE id = $1", deleted)
        await wait_for(
            lambda: worker.scheduler.in_flight == 0, timeout=1, what="claimed slots cancelled"
        )
        await wait_for(
            lambda: db.fetchval(PAST_SECOND_SLOTS, [disabled, deleted], 2.0),
            timeout=10,
            what="the database clock past the cancelled slots' due time",
        )
        # A target added now is checked at once: once its result is stored, a cancelled slot
        # that had run anyway (due earlier) would be stored too.
        sentinel = await add_target(db, "sentinel", "tcp", servers.listening, interval_s=60)
        await wait_for(
            lambda: db.fetchval("SELECT count(*) FROM checks WHERE target_id = $1", sentinel),
            what="the sentinel's check",
        )
        assert await db.fetchval("SELECT count(*) FROM checks WHERE target_id = $1", disabled) == 1
    assert await db.fetchval("SELECT count(*) FROM checks WHERE target_id = $1", disabled) == 1
    status = await db.fetchval("SELECT status FROM target_state WHERE target_id = $1", disabled)
    assert status == "paused"


async def test_bulk_update_spreads_only_reanchored_rows(db) -> None:
    await db.execute("""INSERT INTO targets (name, kind, address, interval_s, timeout_s, enabled)
                        SELECT 'u' || g, 'tcp', '127.0.0.1:9', 10, 1, g > 50
                          FROM generate_series(1, 100) g""")
    before = dict(await db.fetch("SELECT target_id, anchor_at FROM schedule"))
    async with db.transaction():
        # a rename re-anchors nothing; enabling 50 targets anchors (and spreads) those 50
        await db.execute("UPDATE targets SET name = name || '!'")
        await db.execute("UPDATE targets SET enabled = true")
    after = dict(await db.fetch("SELECT target_id, anchor_at FROM schedule"))
    assert {k: after[k] for k in before} == before
    fresh = sorted(v for k, v in after.items() if k not in before)
    assert len(fresh) == 50 and fresh[-1] - fresh[0] == dt.timedelta(seconds=9.8)
