"""The writer under bad rows, bugs and lost commits: one bad row never costs another, nothing twice."""

from __future__ import annotations

import asyncio
import datetime as dt

import pytest

from vigil_core.db import create_pool
from vigil_core.models import CheckResult
from vigil_worker.metrics import WorkerMetrics
from vigil_worker.results import ResultWriter

from .conftest import add_target, wait_for


@pytest.fixture
async def pool(db_url: str):
    p = await create_pool(db_url, max_size=4)
    yield p
    await p.close()


def failed(tid: int, at: dt.datetime, **kw: object) -> CheckResult:
    values = {"latency_ms": 3.0, "error_class": "refused", "error_message": "refused", **kw}
    return CheckResult(target_id=tid, checked_at=at, due_at=at, ok=False, **values)


async def running(writer: ResultWriter):
    task = asyncio.create_task(writer.run())
    await asyncio.sleep(0)
    return task


async def stop(task: asyncio.Task) -> None:
    task.cancel()
    await asyncio.gather(task, return_exceptions=True)


# Values PostgreSQL or asyncpg refuse. Checks make their strings storable before this point;
# the writer must still never let one such row cost the others.
BAD_ROWS = {
    "smallint-overflow": {"status_code": 70000},               # asyncpg: OverflowError
    "negative-latency": {"latency_ms": -1.0},                  # CHECK checks_latency_valid
    "lone-surrogate": {"error_message": "bad \udcff byte"},    # UnicodeEncodeError
    "nul-in-text": {"error_message": "nul \x00 byte"},         # PostgreSQL 22021
}


@pytest.mark.parametrize("bad", list(BAD_ROWS.values()), ids=list(BAD_ROWS))
async def test_a_bad_row_is_stored_as_internal_and_costs_no_other_result(db, pool, bad) -> None:
    ids = [await add_target(db, f"t{i}", "tcp", "127.0.0.1:9") for i in range(40)]
    culprit = ids[17]
    metrics = WorkerMetrics()
    writer = ResultWriter(pool, 1000, metrics)
    t0 = dt.datetime.now(dt.timezone.utc)
    for step in range(3):
        at = t0 + dt.timedelta(seconds=step)
        for tid in ids:
            writer.add(failed(tid, at, **(bad if tid == culprit and step == 1 else {})))
    task = await running(writer)
    try:
        await wait_for(lambda: len(writer) == 0, timeout=20, what="buffer drained")
    finally:
        await stop(task)
    rows = await db.fetch("SELECT target_id, error_class, error_message FROM checks "
                          "ORDER BY target_id, checked_at")
    assert len(rows) == 3 * len(ids), "every result stored, the bad one as a stand-in"
    culprit_rows = [r for r in rows if r["target_id"] == culprit]
    assert [r["error_class"] for r in culprit_rows] == ["refused", "internal", "refused"]
    assert culprit_rows[1]["error_message"].startswith("the result could not be stored")
    # its state moved with all three results: counted once each
    st = await db.fetchrow("SELECT status, consecutive_fail, last_error_class FROM target_state "
                           "WHERE target_id = $1", culprit)
    assert (st["status"], st["consecutive_fail"], st["last_error_class"]) == ("down", 3, "refused")
    assert metrics.registry.get_sample_value(
        "vigil_worker_results_rejected_total", {"outcome": "replaced"}) == 1
    assert writer.dropped == 0 and writer.bug is None


async def test_a_statement_bug_keeps_results_reports_it_and_recovers(db, pool) -> None:
    """An undefined column is a bug, not an outage: nothing is dropped or stored as internal,
    health names it, and once the schema is right again everything is stored."""
    tid = await add_target(db, "t", "tcp", "127.0.0.1:9")
    writer = ResultWriter(pool, 1000, WorkerMetrics(), bug_pause_s=0.2)
    await db.execute("ALTER TABLE checks RENAME COLUMN error_message TO error_text")
    t0 = dt.datetime.now(dt.timezone.utc)
    for i in range(5):
        writer.add(failed(tid, t0 + dt.timedelta(seconds=i)))
    task = await running(writer)
    try:
        await wait_for(lambda: writer.bug, timeout=10, what="the bug reported")
        assert "UndefinedColumnError(42703)" in writer.bug
        assert len(writer) == 5 and writer.dropped == 0
        await db.execute("ALTER TABLE checks RENAME COLUMN error_text TO error_message")
        await wait_for(lambda: len(writer) == 0, timeout=10, what="stored after the fix")
    finally:
        await stop(task)
    assert writer.bug is None
    assert await db.fetchval("SELECT count(*) FROM checks WHERE error_class = 'refused'") == 5
    assert await db.fetchval("SELECT consecutive_fail FROM target_state WHERE target_id = $1", tid) == 5


class _LostAnswer(ResultWriter):
    """A writer whose first flush commits and then loses its connection's answer, as when the
    server or the network drops the connection right after COMMIT."""

    lose = 1

    async def _write(self, batch):
        stored = await super()._write(batch)
        if self.lose:
            self.lose -= 1
            raise ConnectionResetError("connection lost after COMMIT")
        return stored


async def test_a_flush_retried_after_an_ambiguous_commit_stores_nothing_twice(db, pool) -> None:
    ids = [await add_target(db, f"t{i}", "tcp", "127.0.0.1:9") for i in range(10)]
    writer = _LostAnswer(pool, 1000, WorkerMetrics())
    t0 = dt.datetime.now(dt.timezone.utc).replace(minute=0, second=0, microsecond=0)
    for step in range(4):
        for tid in ids:
            writer.add(failed(tid, t0 + dt.timedelta(seconds=step)))
    task = await running(writer)
    try:
        await wait_for(lambda: len(writer) == 0 and not writer.lose, timeout=20, what="drained")
    finally:
        await stop(task)
    assert writer.lose == 0, "the lost answer was exercised"
    assert writer.dropped == 0
    counts = await db.fetch("SELECT target_id, due_at, count(*) AS n FROM checks "
                            "GROUP BY 1, 2 HAVING count(*) > 1")
    assert counts == []
    assert await db.fetchval("SELECT count(*) FROM checks") == 40
    states = await db.fetch("SELECT consecutive_fail, cur_checks FROM target_state")
    assert {(r["consecutive_fail"], r["cur_checks"]) for r in states} == {(4, 4)}
    assert await db.fetchval("SELECT count(*) FROM incidents") == 10


async def test_the_schema_refuses_a_check_stored_twice(db) -> None:
    tid = await add_target(db, "t", "tcp", "127.0.0.1:9")
    at = dt.datetime.now(dt.timezone.utc)
    insert = ("INSERT INTO checks (target_id, checked_at, due_at, ok, error_class) "
              "VALUES ($1, $2, $2, false, 'refused')")
    await db.execute(insert, tid, at)
    with pytest.raises(Exception) as caught:
        await db.execute(insert, tid, at)
    assert getattr(caught.value, "sqlstate", None) == "23505"


async def test_pausing_a_down_target_closes_its_incident_and_resuming_starts_pending(db, pool) -> None:
    tid = await add_target(db, "t", "tcp", "127.0.0.1:9")
    writer = ResultWriter(pool, 1000, WorkerMetrics())
    t0 = dt.datetime.now(dt.timezone.utc) - dt.timedelta(seconds=5)
    await writer.write([failed(tid, t0), failed(tid, t0 + dt.timedelta(seconds=1))])
    assert await db.fetchval("SELECT status FROM target_state WHERE target_id = $1", tid) == "down"
    paused_at = await db.fetchval("UPDATE targets SET enabled = false WHERE id = $1 "
                                  "RETURNING now()", tid)
    incident = await db.fetchrow("SELECT started_at, ended_at, cause FROM incidents "
                                 "WHERE target_id = $1", tid)
    assert incident["started_at"] == t0 and incident["ended_at"] == paused_at
    assert incident["cause"] == "refused: refused"
    await db.execute("UPDATE targets SET enabled = true WHERE id = $1", tid)
    st = await db.fetchrow("SELECT status, consecutive_ok, consecutive_fail FROM target_state "
                           "WHERE target_id = $1", tid)
    assert tuple(st) == ("pending", 0, 0)
    # a failure after the resume opens a new incident; the old one stays closed
    await writer.write([failed(tid, dt.datetime.now(dt.timezone.utc))])
    rows = await db.fetch("SELECT ended_at IS NULL AS open FROM incidents WHERE target_id = $1 "
                          "ORDER BY started_at", tid)
    assert [r["open"] for r in rows] == [False, True]
