"""Scheduling against a real database with an in-process worker: fixed rate, spread, NOTIFY."""

from __future__ import annotations

import asyncio
import datetime as dt
import time

from .conftest import Servers, add_target, running_worker, wait_for, worker_settings

SECOND = dt.timedelta(seconds=1)


async def test_fixed_rate_no_drift_and_hanging_targets_do_not_delay_others(
        db, db_url: str, servers: Servers) -> None:
    steady = await add_target(db, "slow web", "http", servers.http + "/slow?delay=0.3",
                              interval_s=1, timeout_s=0.9)
    for i in range(6):  # each hangs until its timeout, holding a slot
        await add_target(db, f"hang {i}", "http", servers.hang + "/", interval_s=1, timeout_s=0.9)
    async with running_worker(worker_settings(db_url, worker_concurrency=10)):
        await asyncio.sleep(3.6)
    rows = await db.fetch("SELECT due_at, checked_at, ok FROM checks WHERE target_id = $1 "
                          "ORDER BY due_at", steady)
    assert len(rows) >= 3 and all(r["ok"] for r in rows)
    anchor = await db.fetchval("SELECT anchor_at FROM schedule WHERE target_id = $1", steady)
    # slot k is due at anchor + k * interval exactly; the 0.3 s check time is never added
    assert [r["due_at"] for r in rows] == [anchor + k * SECOND for k in range(len(rows))]
    assert max(r["checked_at"] - r["due_at"] for r in rows) < dt.timedelta(milliseconds=250)
    hung = await db.fetch("SELECT DISTINCT error_class FROM checks WHERE target_id <> $1", steady)
    assert [r["error_class"] for r in hung] == ["timeout"]


async def test_new_target_is_checked_at_once(db, db_url: str, servers: Servers) -> None:
    async with running_worker(worker_settings(db_url, worker_poll_interval_s=30)):
        await asyncio.sleep(0.2)
        started = time.monotonic()
        tid = await add_target(db, "fresh", "tcp", servers.listening, interval_s=60)
        await wait_for(lambda: db.fetchval("SELECT count(*) FROM checks WHERE target_id = $1", tid),
                       timeout=5, what="first check", every=0.005)
        reaction = time.monotonic() - started
    assert reaction < 1.0, f"first check after {reaction:.3f}s"


async def test_bulk_insert_is_spread_over_the_first_interval(db) -> None:
    await db.execute("""INSERT INTO targets (name, kind, address, interval_s, timeout_s)
                        SELECT 'bulk ' || g, 'tcp', '127.0.0.1:9', 10, 1
                          FROM generate_series(1, 100) g""")
    offsets = [r[0] for r in await db.fetch(
        "SELECT extract(epoch FROM next_check_at - min(next_check_at) OVER ()) FROM schedule "
        "ORDER BY 1")]
    assert offsets[0] == 0 and 9.8 <= float(offsets[-1]) < 10
    gaps = {round(float(b - a), 3) for a, b in zip(offsets, offsets[1:])}
    assert gaps == {0.1}  # evenly: 100 targets over 10 s
    single = await add_target(db, "single", "tcp", "127.0.0.1:9", interval_s=10)
    due_now = await db.fetchval("SELECT s.next_check_at = t.created_at FROM schedule s "
                                "JOIN targets t ON t.id = s.target_id WHERE t.id = $1", single)
    assert due_now  # a one-row insert is not delayed


async def test_update_reanchors_and_is_checked_at_once(db, db_url: str, servers: Servers) -> None:
    tid = await add_target(db, "moving", "tcp", servers.refused, interval_s=60)
    count = lambda: db.fetchval("SELECT count(*) FROM checks WHERE target_id = $1", tid)  # noqa: E731
    async with running_worker(worker_settings(db_url)):
        await wait_for(count, what="first check")
        started = time.monotonic()
        await db.execute("UPDATE targets SET address = $2, interval_s = 30 WHERE id = $1",
                         tid, servers.listening)
        await wait_for(lambda: db.fetchval(
            "SELECT ok FROM checks WHERE target_id = $1 ORDER BY checked_at DESC LIMIT 1", tid),
            timeout=5, what="check of the new address")
        assert time.monotonic() - started < 1.0
    anchor, nxt = await db.fetchrow("SELECT anchor_at, next_check_at FROM schedule "
                                    "WHERE target_id = $1", tid)
    assert nxt - anchor == dt.timedelta(seconds=30)  # re-anchored on the new interval


async def test_disable_and_delete_cancel_a_claimed_slot(db, db_url: str, servers: Servers) -> None:
    # A 1.5 s lookahead claims the 2nd slot long before it is due: that claimed, not yet
    # started slot must not run once the target is disabled or deleted.
    disabled = await add_target(db, "to disable", "tcp", servers.listening, interval_s=2)
    deleted = await add_target(db, "to delete", "tcp", servers.listening, interval_s=2)
    settings = worker_settings(db_url, worker_lookahead_s=1.5)
    async with running_worker(settings) as worker:
        await wait_for(lambda: db.fetchval("SELECT count(DISTINCT target_id) = 2 FROM checks"),
                       what="first checks")
        await wait_for(lambda: _true(worker.scheduler.in_flight == 2), what="2nd slots claimed")
        await db.execute("UPDATE targets SET enabled = false WHERE id = $1", disabled)
        await db.execute("DELETE FROM targets WHERE id = $1", deleted)
        await wait_for(lambda: _true(worker.scheduler.in_flight == 0), timeout=1,
                       what="claimed slots cancelled")
        await asyncio.sleep(2.2)  # past the cancelled slots' due time
    assert await db.fetchval("SELECT count(*) FROM checks WHERE target_id = $1", disabled) == 1
    status = await db.fetchval("SELECT status FROM target_state WHERE target_id = $1", disabled)
    assert status == "unknown"


async def _true(value: bool) -> bool:
    return value
