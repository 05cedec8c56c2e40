"""The writer under bad rows, bugs, lost commits and moved columns: one bad row never costs
another, nothing is stored twice, and no value lands in another's column."""

from __future__ import annotations

import asyncio
import datetime as dt

import asyncpg
import pytest

from vigil_core.db import create_pool
from vigil_core.models import CheckResult
from vigil_worker import flush, hourly
from vigil_worker.hourly import Sums
from vigil_worker.metrics import WorkerMetrics
from vigil_worker.results import ResultWriter
from vigil_worker.sink import ResultSink
from vigil_worker.state import TargetState

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
    "smallint-overflow": {"status_code": 70000},  # asyncpg: OverflowError
    "negative-latency": {"latency_ms": -1.0},  # CHECK checks_latency_valid
    "lone-surrogate": {"error_message": "bad \udcff byte"},  # UnicodeEncodeError
    "nul-in-text": {"error_message": "nul \x00 byte"},  # PostgreSQL 22021
}


@pytest.mark.parametrize("bad", list(BAD_ROWS.values()), ids=list(BAD_ROWS))
async def test_a_bad_row_is_stored_as_internal_and_costs_no_other_result(db, pool, bad) -> None:
    ids = [await add_target(db, f"t{i}", "tcp", "127.0.0.1:9") for i in range(40)]
    culprit = ids[17]
    metrics = WorkerMetrics()
    writer = ResultWriter(pool, 1000, metrics)
    t0 = dt.datetime.now(dt.UTC)
    for step in range(3):
        at = t0 + dt.timedelta(seconds=step)
        for tid in ids:
            writer.add(failed(tid, at, **(bad if tid == culprit and step == 1 else {})))
    task = await running(writer)
    try:
        await wait_for(lambda: len(writer) == 0, timeout=20, what="buffer drained")
    finally:
        await stop(task)
    rows = await db.fetch(
        "SELECT target_id, error_class, error_message FROM checks ORDER BY target_id, checked_at"
    )
    assert len(rows) == 3 * len(ids), "every result stored, the bad one as a stand-in"
    culprit_rows = [r for r in rows if r["target_id"] == culprit]
    assert [r["error_class"] for r in culprit_rows] == ["refused", "internal", "refused"]
    assert culprit_rows[1]["error_message"].startswith("the result could not be stored")
    # its state moved with all three results: counted once each
    st = await db.fetchrow(
        "SELECT status, consecutive_fail, last_error_class FROM target_state WHERE target_id = $1",
        culprit,
    )
    assert (st["status"], st["consecutive_fail"], st["last_error_class"]) == ("down", 3, "refused")
    assert (
        metrics.registry.get_sample_value(
            "vigil_worker_results_rejected_total", {"outcome": "replaced"}
        )
        == 1
    )
    assert writer.dropped == 0 and writer.bug is None


async def test_a_statement_bug_keeps_results_reports_it_and_recovers(db, pool) -> None:
    """An undefined column is a bug, not an outage: nothing is dropped or stored as internal,
    health names it, and once the schema is right again everything is stored."""
    tid = await add_target(db, "t", "tcp", "127.0.0.1:9")
    writer = ResultWriter(pool, 1000, WorkerMetrics(), bug_pause_s=0.2)
    await db.execute("ALTER TABLE checks RENAME COLUMN error_message TO error_text")
    t0 = dt.datetime.now(dt.UTC)
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
    assert (
        await db.fetchval("SELECT consecutive_fail FROM target_state WHERE target_id = $1", tid)
        == 5
    )


# vigil_state_flush's attributes as "name type" in order, and the type made anew from a list.
ATTRIBUTES = """SELECT array_agg(quote_ident(attname) || ' ' || format_type(atttypid, atttypmod)
                        ORDER BY attnum)
                 FROM pg_attribute WHERE attrelid = 'vigil_state_flush'::regclass AND attnum > 0"""


async def _recreate_state_flush(db: asyncpg.Connection, attributes: list[str]) -> None:
    await db.execute(
        f"DROP TYPE vigil_state_flush; CREATE TYPE vigil_state_flush AS ({', '.join(attributes)})"
    )


async def test_a_row_type_whose_attributes_moved_is_a_bug_never_swapped_values(
    db: asyncpg.Connection, pool: asyncpg.Pool
) -> None:
    """Two attributes of the flush's row type swapped by a migration (same type, so Postgres
    would take the rows), before the writer starts or while it runs: it stores nothing and
    reports it, then stores everything, each value in its column, once the type is right."""
    tid = await add_target(db, "t", "tcp", "127.0.0.1:9", failure_threshold=9)
    original = await db.fetchval(ATTRIBUTES)
    swapped = list(original)
    i, j = flush.STATE_FLUSH.index("consecutive_ok"), flush.STATE_FLUSH.index("consecutive_fail")
    swapped[i], swapped[j] = swapped[j], swapped[i]
    counts = "SELECT consecutive_ok, consecutive_fail FROM target_state WHERE target_id = $1"
    writer = ResultWriter(pool, 1000, WorkerMetrics(), bug_pause_s=0.2)
    t0 = dt.datetime.now(dt.UTC)
    task = await running(writer)
    try:
        for step in range(2):  # before the first flush, then under a writer that has flushed
            await _recreate_state_flush(db, swapped)
            for k in range(3):
                writer.add(failed(tid, t0 + dt.timedelta(seconds=3 * step + k)))
            await wait_for(lambda: writer.bug, timeout=10, what="the bug reported")
            assert "RowShapeError" in writer.bug
            assert len(writer) == 3 and writer.dropped == 0
            assert await db.fetchval("SELECT count(*) FROM checks") == 3 * step
            await _recreate_state_flush(db, original)
            # Statements prepared before name the dropped type: fresh connections, as after
            # the restart that /healthz asks for meanwhile.
            await pool.expire_connections()
            await wait_for(lambda: len(writer) == 0, timeout=10, what="stored after the fix")
            assert tuple(await db.fetchrow(counts, tid)) == (0, 3 * step + 3)
            assert writer.bug is None
    finally:
        await stop(task)


def test_the_rows_sent_hold_each_value_under_its_attribute_name() -> None:
    """The flush sends tuples; STATE_FLUSH and ROLLUP_HOUR name their places (and are what
    the database's types are checked against), so each value must sit under its name."""
    at = dt.datetime(2026, 5, 4, 3, 2, 1, tzinfo=dt.UTC)
    last = failed(7, at, status_code=503, tls_expires_at=None)
    state = TargetState(
        target_id=7,
        status="down",
        since=at - dt.timedelta(minutes=1),
        consecutive_ok=11,
        consecutive_fail=12,
        last_checked_at=at,
        tls_expires_at=at + dt.timedelta(days=9),
        failure_threshold=1,
        success_threshold=1,
        enabled=True,
        cur_hour=None,
        last=last,
    )
    sums = Sums()
    for latency in (3.0, 40.0):
        sums.add(CheckResult(target_id=7, checked_at=at, ok=True, latency_ms=latency))
    sums.add(last)
    hour = hourly.hour_of(at)
    (row,) = flush.state_rows([state], {7: (hour, sums)})
    assert dict(zip(flush.STATE_FLUSH, row, strict=True)) == {
        "target_id": 7,
        "status": "down",
        "since": state.since,
        "consecutive_ok": 11,
        "consecutive_fail": 12,
        "checked_at": at,
        "ok": False,
        "latency_ms": 3.0,
        "status_code": 503,
        "error_class": "refused",
        "error_message": "refused",
        "tls_expires_at": state.tls_expires_at,
        "cur_hour": hourly.hour_start(hour),
        "checks": 3,
        "ok_checks": 2,
        "latency_sum_ms": 43.0,
        "latency_max_ms": 40.0,
        "latency_count": 2,
        "latency_buckets": sums.buckets_literal(),
    }
    assert dict(zip(flush.ROLLUP_HOUR, flush.hour_row(7, hour, sums), strict=True)) == {
        "target_id": 7,
        "hour": hourly.hour_start(hour),
        "checks": 3,
        "ok": 2,
        "latency_sum_ms": 43.0,
        "latency_max_ms": 40.0,
        "latency_count": 2,
        "latency_buckets": sums.buckets_literal(),
    }


class _LostAnswer(ResultSink):
    """A sink whose first flush commits and then loses its connection's answer, as when the
    server or the network drops the connection right after COMMIT."""

    lose = 1

    async def commit(self, batch: list[CheckResult]) -> int:
        stored = await super().commit(batch)
        if self.lose:
            self.lose -= 1
            raise ConnectionResetError("connection lost after COMMIT")
        return stored


async def test_a_flush_retried_after_an_ambiguous_commit_stores_nothing_twice(db, pool) -> None:
    ids = [await add_target(db, f"t{i}", "tcp", "127.0.0.1:9") for i in range(10)]
    sink = _LostAnswer(pool, WorkerMetrics())
    writer = ResultWriter(pool, 1000, WorkerMetrics(), sink=sink)
    t0 = dt.datetime.now(dt.UTC).replace(minute=0, second=0, microsecond=0)
    for step in range(4):
        for tid in ids:
            writer.add(failed(tid, t0 + dt.timedelta(seconds=step)))
    task = await running(writer)
    try:
        await wait_for(lambda: len(writer) == 0 and not sink.lose, timeout=20, what="drained")
    finally:
        await stop(task)
    assert sink.lose == 0, "the lost answer was exercised"
    assert writer.dropped == 0
    counts = await db.fetch(
        "SELECT target_id, due_at, count(*) AS n FROM checks GROUP BY 1, 2 HAVING count(*) > 1"
    )
    assert counts == []
    assert await db.fetchval("SELECT count(*) FROM checks") == 40
    states = await db.fetch("SELECT consecutive_fail, cur_checks FROM target_state")
    assert {(r["consecutive_fail"], r["cur_checks"]) for r in states} == {(4, 4)}
    assert await db.fetchval("SELECT count(*) FROM incidents") == 10


async def test_the_schema_refuses_a_check_stored_twice(db) -> None:
    tid = await add_target(db, "t", "tcp", "127.0.0.1:9")
    at = dt.datetime.now(dt.UTC)
    insert = (
        "INSERT INTO checks (target_id, checked_at, due_at, ok, error_class) "
        "VALUES ($1, $2, $2, false, 'refused')"
    )
    await db.execute(insert, tid, at)
    with pytest.raises(Exception) as caught:
        await db.execute(insert, tid, at)
    assert getattr(caught.value, "sqlstate", None) == "23505"


async def test_pausing_a_down_target_closes_its_incident_and_resuming_starts_pending(
    db, pool
) -> None:
    tid = await add_target(db, "t", "tcp", "127.0.0.1:9")
    writer = ResultWriter(pool, 1000, WorkerMetrics())
    t0 = dt.datetime.now(dt.UTC) - dt.timedelta(seconds=5)
    await writer.write([failed(tid, t0), failed(tid, t0 + dt.timedelta(seconds=1))])
    assert await db.fetchval("SELECT status FROM target_state WHERE target_id = $1", tid) == "down"
    paused_at = await db.fetchval(
        "UPDATE targets SET enabled = false WHERE id = $1 RETURNING now()", tid
    )
    incident = await db.fetchrow(
        "SELECT started_at, ended_at, cause FROM incidents WHERE target_id = $1", tid
    )
    assert incident["started_at"] == t0 and incident["ended_at"] == paused_at
    assert incident["cause"] == "refused: refused"
    await db.execute("UPDATE targets SET enabled = true WHERE id = $1", tid)
    st = await db.fetchrow(
        "SELECT status, consecutive_ok, consecutive_fail FROM target_state WHERE target_id = $1",
        tid,
    )
    assert tuple(st) == ("pending", 0, 0)
    # a failure after the resume opens a new incident; the old one stays closed
    await writer.write([failed(tid, dt.datetime.now(dt.UTC))])
    rows = await db.fetch(
        "SELECT ended_at IS NULL AS open FROM incidents WHERE target_id = $1 ORDER BY started_at",
        tid,
    )
    assert [r["open"] for r in rows] == [False, True]
