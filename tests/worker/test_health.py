"""What the worker's /healthz says: stuck writers, bugs and crashing checks, never a mere outage."""

from __future__ import annotations

import dataclasses

import pytest

from vigil_worker import checks

from .conftest import Servers, add_target, running_worker, wait_for, worker_settings


def problems(worker) -> dict | None:
    """The health details when the worker is unhealthy, else None."""
    healthy, details = worker.health()
    return None if healthy else details


async def test_a_check_that_raises_stores_an_internal_failure_and_moves_the_state(
    db, db_url: str, servers: Servers, monkeypatch: pytest.MonkeyPatch
) -> None:
    async def broken(target, ctx):
        raise ValueError("time data '20251301000000Z' does not match format")

    monkeypatch.setitem(
        checks.REGISTRY, "tcp", dataclasses.replace(checks.REGISTRY["tcp"], check=broken)
    )
    tid = await add_target(db, "raises", "tcp", servers.listening)
    async with running_worker(worker_settings(db_url)):
        row = await wait_for(
            lambda: db.fetchrow(
                "SELECT ok, error_class, error_message FROM checks WHERE target_id = $1", tid
            ),
            timeout=10,
            what="a stored result",
        )
        await wait_for(
            lambda: db.fetchval(
                "SELECT status = 'down' FROM target_state WHERE target_id = $1", tid
            ),
            timeout=10,
            what="the target down",
        )
    assert (row["ok"], row["error_class"]) == (False, "internal")
    assert row["error_message"].startswith("the check failed: ValueError: time data")


async def test_a_stuck_flush_makes_the_worker_unhealthy_until_it_ends(
    db, db_url: str, servers: Servers
) -> None:
    """No statement or lock timeout here, so the flush waits on the lock for as long as the
    test holds it: the writer makes no progress while results wait."""
    tid = await add_target(db, "locked", "tcp", servers.listening, interval_s=1)
    settings = worker_settings(
        db_url, db_statement_timeout_s=0, db_lock_timeout_s=0, worker_writer_stall_s=1.0
    )
    async with running_worker(settings) as worker:
        await wait_for(lambda: db.fetchval("SELECT count(*) FROM checks"), what="first result")
        assert worker.health()[0]
        locker = db
        tx = locker.transaction()
        await tx.start()
        await locker.execute("SELECT 1 FROM target_state WHERE target_id = $1 FOR UPDATE", tid)
        try:
            details = await wait_for(
                lambda: problems(worker), timeout=10, what="unhealthy while the flush is stuck"
            )
            assert any("result writer has made no progress" in p for p in details["problems"])
        finally:
            await tx.rollback()
        await wait_for(lambda: worker.health()[0], timeout=10, what="healthy again")


async def test_a_lock_timeout_ends_a_blocked_flush_and_it_is_retried(
    db, db_url: str, servers: Servers
) -> None:
    tid = await add_target(db, "locked", "tcp", servers.listening, interval_s=1)
    settings = worker_settings(db_url, db_lock_timeout_s=0.3, worker_writer_stall_s=1.0)
    async with running_worker(settings) as worker:
        await wait_for(lambda: db.fetchval("SELECT count(*) FROM checks"), what="first result")
        tx = db.transaction()
        await tx.start()
        await db.execute("SELECT 1 FROM target_state WHERE target_id = $1 FOR UPDATE", tid)
        try:
            # Held past the stall limit: attempts end on the lock timeout and are retried.
            first = worker.writer.last_progress_at
            await wait_for(
                lambda: worker.writer.last_progress_at > first + 1.5,
                timeout=10,
                what="failed attempts past the stall limit",
            )
            assert worker.health()[0], "a flush that fails and retries is progress"
            assert len(worker.writer) >= 1
        finally:
            await tx.rollback()
        await wait_for(lambda: len(worker.writer) == 0, timeout=10, what="stored after the lock")
    dues = [
        r[0]
        for r in await db.fetch(
            "SELECT due_at FROM checks WHERE target_id = $1 ORDER BY due_at", tid
        )
    ]
    assert len(dues) == len(set(dues)) >= 3


async def test_a_missing_table_is_a_bug_in_health_not_an_outage(
    db, db_url: str, servers: Servers
) -> None:
    await add_target(db, "t", "tcp", servers.listening)
    await db.execute("ALTER TABLE schedule RENAME TO schedule_moved")
    try:
        async with running_worker(worker_settings(db_url)) as worker:
            details = await wait_for(lambda: problems(worker), timeout=10, what="the bug in health")
            assert any(
                "scheduler fails on a bug: UndefinedTableError(42P01)" in p
                for p in details["problems"]
            )
            assert not worker.scheduler.offline and details["database_reachable"]
            await db.execute("ALTER TABLE schedule_moved RENAME TO schedule")
            await wait_for(lambda: worker.health()[0], timeout=20, what="healthy after the fix")
    finally:
        await db.execute("ALTER TABLE IF EXISTS schedule_moved RENAME TO schedule")


async def test_a_side_task_that_dies_fails_health_and_takes_the_process_down(
    db, db_url: str, servers: Servers, monkeypatch: pytest.MonkeyPatch
) -> None:
    from vigil_worker.results import ResultWriter

    async def crash(self, batch):
        raise RuntimeError("a bug outside every handler")

    monkeypatch.setattr(ResultWriter, "_store", crash)
    await add_target(db, "t", "tcp", servers.listening)
    seen: list[dict] = []
    with pytest.raises(RuntimeError, match="a bug outside every handler"):
        async with running_worker(worker_settings(db_url)) as worker:
            await wait_for(lambda: worker.dead_task, timeout=10, what="the writer task dead")
            seen.append(problems(worker))
    assert seen and "the result-writer task died" in seen[0]["problems"]
