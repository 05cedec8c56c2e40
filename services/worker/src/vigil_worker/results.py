"""The bounded result buffer and its group-commit writer.

A flush starts as soon as the previous one ends and takes everything buffered (up to
max_batch), so the batch grows with the load. When a backlog builds up (parallel_from results
waiting), more flushes run at once, up to `flushers`: while Postgres stores one, the event loop
prepares the next. Batches in flight never share a target, so a target's results are applied
in order and two flushes never wait on each other's row locks. One
transaction per flush stores the checks (binary COPY), folds them into target_state
(state.py), opens and closes incidents, folds them into each target's current roll-up hour
(hourly.py; a completed or late hour goes to check_rollups_hourly) and sends the NOTIFYs, so
readers never see a result without its consequences.
While Postgres is unreachable the batch goes back to the buffer and is retried with backoff;
the buffer is bounded and what does not fit is dropped, counted and logged.
"""

from __future__ import annotations

import asyncio
import math
import time
from collections import deque
from datetime import datetime, timedelta, timezone
from operator import attrgetter

import asyncpg

from vigil_core.db import load_queries
from vigil_core.logging import get_logger
from vigil_core.models import CheckResult
from vigil_core.notify import (RESULTS_IDS_PER_NOTIFY, STATUS_CHANNEL, ResultsStored,
                               StateChanged, encode)

from . import hourly
from .hourly import Sums
from .metrics import WorkerMetrics
from .state import BY_TARGET_AND_TIME, TargetState, apply_all

Q = load_queries(__package__)
log = get_logger("vigil_worker.results")

# Errors that mean "the database is away or busy", worth retrying as long as it takes.
TRANSIENT_DB_ERRORS: tuple[type[BaseException], ...] = (
    OSError,
    asyncio.TimeoutError,
    asyncpg.InterfaceError,
    asyncpg.InternalClientError,  # e.g. a query racing a connection that was just lost
    asyncpg.PostgresConnectionError,
    asyncpg.exceptions.OperatorInterventionError,   # 57P01 admin shutdown, 57P03 starting up
    asyncpg.exceptions.InsufficientResourcesError,  # 53xxx too many connections, disk full
    asyncpg.exceptions.TransactionRollbackError,    # 40xxx deadlock, serialization
)
_MAX_PERMANENT_RETRIES = 3

# The subset that means "the connection is gone", not "the database is slow or busy". Only
# these may make the scheduler run checks on its own (offline mode): a timeout, a deadlock
# or a resource error leaves the database in charge of slots, and a worker that went
# offline on one would check slots another worker claims meanwhile.
CONNECTION_LOST_ERRORS: tuple[type[BaseException], ...] = (
    OSError,  # refused, reset, no such socket, unreachable; TimeoutError excluded below
    asyncpg.InterfaceError,  # "connection is closed"
    asyncpg.InternalClientError,
    asyncpg.PostgresConnectionError,  # 08xxx, closed in the middle of an operation
    asyncpg.exceptions.AdminShutdownError,  # 57P01
    asyncpg.exceptions.CrashShutdownError,  # 57P02
    asyncpg.exceptions.CannotConnectNowError,  # 57P03
)


def is_connection_lost(exc: BaseException) -> bool:
    # TimeoutError is an OSError since Python 3.3: an overloaded server times out too.
    return isinstance(exc, CONNECTION_LOST_ERRORS) and not isinstance(exc, TimeoutError)


class OfflineResult(CheckResult, kw_only=True):
    """A result of a slot the worker scheduled on its own while Postgres was away."""


class ResultWriter:
    def __init__(self, pool: asyncpg.Pool, capacity: int, metrics: WorkerMetrics,
                 max_batch: int = 5000, flushers: int = 3) -> None:
        self._pool = pool
        self._buffer: deque[CheckResult] = deque()
        self._capacity = capacity
        self._max_batch = max_batch
        self._flushers = flushers
        # Below this backlog one flush at a time: a light load keeps its batches (and its
        # commits) few; above it the flushes overlap.
        self._parallel_from = max(1, max_batch // 10)
        self._metrics = metrics
        self._pending = asyncio.Event()
        self._writing = 0
        self._busy: set[int] = set()  # targets of the batches in flight
        self._idle = asyncio.Event()
        self._idle.set()
        self.dropped = 0
        self._last_drop_log = 0.0
        self.connected = True
        metrics.buffer_depth.set_function(lambda: len(self))  # read at scrape time

    def __len__(self) -> int:
        return len(self._buffer) + self._writing

    def add(self, result: CheckResult) -> None:
        if len(self) >= self._capacity:
            self._drop(1, "buffer_full")
            return
        self._buffer.append(result)
        if not self._writing or len(self._buffer) >= self._parallel_from:
            self._pending.set()

    def _drop(self, n: int, reason: str) -> None:
        self.dropped += n
        self._metrics.dropped.inc(n)
        now = time.monotonic()
        if now - self._last_drop_log >= 1.0:  # at most one line a second, with the running total
            self._last_drop_log = now
            log.warning("results.dropped", reason=reason, dropped_total=self.dropped,
                        capacity=self._capacity)

    async def run(self) -> None:
        """Flush until cancelled (group commit), with up to `flushers` flushes in flight."""
        flushers = [asyncio.create_task(self._flusher(), name=f"flusher-{i}")
                    for i in range(self._flushers)]
        try:
            # Each flusher only returns by raising; the first failure ends them all.
            done, _ = await asyncio.wait(flushers, return_when=asyncio.FIRST_EXCEPTION)
            for task in done:
                task.result()
        finally:
            for task in flushers:
                task.cancel()
            await asyncio.gather(*flushers, return_exceptions=True)

    async def _flusher(self) -> None:
        backoff = 0.1
        failures = 0
        while True:
            await self._pending.wait()
            if self._writing and len(self._buffer) < self._parallel_from:
                self._pending.clear()  # one flush is enough for now; its end wakes us
                continue
            batch = self._take()
            if not batch:
                # Everything buffered belongs to targets in flight: wait for that flush.
                self._pending.clear()
                continue
            try:
                await self.write(batch)
            except TRANSIENT_DB_ERRORS as exc:
                self._give_back(batch)
                if self.connected:
                    self.connected = False
                    log.warning("results.flush_failed", error=repr(exc), held=len(self))
                await asyncio.sleep(backoff)
                backoff = min(backoff * 2, 2.0)
                continue
            except asyncpg.PostgresError as exc:
                failures += 1
                if failures >= _MAX_PERMANENT_RETRIES:
                    log.error("results.batch_rejected", error=repr(exc), rows=len(batch))
                    self._done(batch)
                    self._drop(len(batch), "rejected")
                    failures = 0
                else:
                    self._give_back(batch)
                    await asyncio.sleep(backoff)
                continue
            except BaseException:
                self._give_back(batch)  # cancelled mid-write: keep the rows for flush()
                raise
            self._done(batch)
            backoff, failures = 0.1, 0
            if not self.connected:
                self.connected = True
                log.info("results.reconnected", held=len(self))

    def _take(self) -> list[CheckResult]:
        """Up to max_batch results, oldest first, of targets no flush in flight holds."""
        buffer, busy = self._buffer, self._busy
        if not busy:
            batch = [buffer.popleft() for _ in range(min(len(buffer), self._max_batch))]
        else:
            batch, held = [], []
            while buffer and len(batch) < self._max_batch:
                r = buffer.popleft()
                (held if r.target_id in busy else batch).append(r)
            buffer.extendleft(reversed(held))  # they keep their place, in order
        if not buffer:
            self._pending.clear()
        busy.update(r.target_id for r in batch)
        self._writing += len(batch)
        self._idle.clear()
        return batch

    def _done(self, batch: list[CheckResult]) -> None:
        """A flush ended (stored, put back or dropped): its targets are free again."""
        self._writing -= len(batch)
        self._busy.difference_update(r.target_id for r in batch)
        if self._buffer:
            self._pending.set()  # held results of these targets may go now
        elif not self._writing:
            self._idle.set()

    def _give_back(self, batch: list[CheckResult]) -> None:
        """A flush that did not store its batch: the results go back to the front, in order."""
        self._buffer.extendleft(reversed(batch))
        self._done(batch)

    async def drain(self) -> None:
        """Wait until everything added so far is written (run() must be running)."""
        while self._buffer or self._writing:
            self._pending.set()
            await self._idle.wait()
            if self._buffer or self._writing:
                await asyncio.sleep(0.01)

    async def flush(self) -> None:
        """Write everything held now, without run() (used at shutdown)."""
        while self._buffer:
            batch = self._take()
            try:
                await self.write(batch)
            except BaseException:
                self._give_back(batch)
                raise
            self._done(batch)

    async def write(self, batch: list[CheckResult]) -> None:
        """One flush transaction; creates a missing partition and retries once."""
        started = time.perf_counter()
        try:
            stored = await self._write(batch)
        except asyncpg.exceptions.CheckViolationError as exc:
            if "no partition" not in str(exc):
                raise
            await self._ensure_partitions_for(batch)
            stored = await self._write(batch)
        self._metrics.flush_duration.observe(time.perf_counter() - started)
        self._metrics.flush_batch.observe(len(batch))
        log.debug("results.flushed", rows=len(batch), stored=stored)

    async def _ensure_partitions_for(self, batch: list[CheckResult]) -> None:
        now = datetime.now(timezone.utc)
        oldest = min(r.checked_at for r in batch)
        newest = max(r.checked_at for r in batch)
        days_back = max(1, math.ceil((now - oldest) / timedelta(days=1)) + 1)
        days_ahead = max(7, math.ceil((newest - now) / timedelta(days=1)) + 1)
        async with self._pool.acquire() as conn, conn.transaction():
            await conn.execute(Q["ensure_partitions"], days_back, days_ahead)
        log.warning("results.partitions_created", days_back=days_back, days_ahead=days_ahead)

    async def _write(self, batch: list[CheckResult]) -> int:
        async with self._pool.acquire() as conn, conn.transaction():
            ids = sorted({r.target_id for r in batch})
            # The query's first columns are TargetState's fields in order (positional is
            # cheapest), then the target's current roll-up hour.
            states: dict[int, TargetState] = {}
            current_hours: dict[int, int | None] = {}
            for row in await conn.fetch(Q["lock_states"], ids):
                states[row[0]] = TargetState(*row[:_STATE_FIELDS])
                current_hours[row[0]] = row[_STATE_FIELDS]
            # A target deleted while its check ran has no history to add to.
            rows = [r for r in batch if r.target_id in states]
            rows = await self._without_stored_slots(conn, rows)
            if not rows:
                return 0
            # In order of target and time, which apply_all and hourly.split sort by (a sort
            # of sorted input is linear) and which walks the checks index in order.
            rows.sort(key=BY_TARGET_AND_TIME)
            transitions = apply_all(states, rows)
            changed = [s for s in states.values() if s.last is not None]
            closes = [(s.target_id, s.closes_open_incident_at) for s in changed
                      if s.closes_open_incident_at is not None]
            if closes:
                await conn.execute(Q["close_incidents"], *map(list, zip(*closes)))
            incidents = [i for s in changed for i in s.new_incidents]
            if incidents:
                await conn.execute(Q["open_incidents"], [i.target_id for i in incidents],
                                   [i.started_at for i in incidents],
                                   [i.ended_at for i in incidents], [i.cause for i in incidents])
            payloads = [encode(StateChanged(t.target_id, t.status, t.previous, t.at.isoformat()))
                        for t in transitions]
            stored_ids = sorted({r.target_id for r in rows})
            payloads += [encode(ResultsStored(stored_ids[i:i + RESULTS_IDS_PER_NOTIFY]))
                         for i in range(0, len(stored_ids), RESULTS_IDS_PER_NOTIFY)]
            # Binary COPY: no per-value conversion to Postgres arrays, the cheapest insert.
            await conn.copy_records_to_table("checks", records=map(_CHECK_ROW, rows),
                                             columns=_CHECK_COLUMNS)
            hours = hourly.split(rows, current_hours, {s.target_id for s in changed})
            if hours.moved:  # their current hour is complete: into check_rollups_hourly
                await conn.execute(Q["move_hours"], sorted(hours.moved))
            # states with their current hours, other roll-up hours, and NOTIFYs in one statement.
            await conn.execute(Q["store_batch"], _state_rows(changed, hours.current),
                               *_rollup_columns(hours.done), STATUS_CHANNEL, payloads)
        for t in transitions:
            log.info("target.state_changed", target_id=t.target_id, status=t.status,
                     previous=t.previous, cause=t.cause)
        return len(rows)

    @staticmethod
    async def _without_stored_slots(conn: asyncpg.Connection,
                                    rows: list[CheckResult]) -> list[CheckResult]:
        """Drop offline results whose slot is already stored: a slot is recorded once."""
        offline = [r for r in rows if isinstance(r, OfflineResult) and r.due_at is not None]
        if not offline:
            return rows
        since = min(r.due_at for r in offline) - timedelta(hours=1)
        found = {(rec["target_id"], rec["due_at"]) for rec in await conn.fetch(
            Q["stored_slots"], [r.target_id for r in offline], [r.due_at for r in offline], since)}
        if not found:
            return rows
        log.info("results.duplicate_slots_skipped", count=len(found))
        return [r for r in rows
                if not (isinstance(r, OfflineResult) and (r.target_id, r.due_at) in found)]


_CHECK_COLUMNS = ("target_id", "checked_at", "due_at", "ok", "latency_ms", "status_code",
                  "error_class", "error_message", "timings")
_CHECK_ROW = attrgetter(*_CHECK_COLUMNS)


_STATE_FIELDS = 10  # lock_states' columns before the current roll-up hour


def _state_rows(states: list[TargetState], current: dict[int, tuple[int, Sums]]) -> list[tuple]:
    """store_batch's $1: a vigil_state_flush row (migration 0007) per state."""
    rows = []
    starts: dict[int, datetime] = {}
    for s in states:
        last = s.last
        assert last is not None
        hour, sums = current[s.target_id]
        start = starts.get(hour)
        if start is None:
            start = starts[hour] = hourly.hour_start(hour)
        rows.append((
            s.target_id, s.status, s.since, s.consecutive_ok, s.consecutive_fail,
            last.checked_at, last.ok, last.latency_ms, last.status_code, last.error_class,
            last.error_message, s.tls_expires_at,
            start, sums.checks, sums.ok, sums.latency_sum_ms, sums.latency_max_ms,
            sums.latency_count, sums.buckets_literal(),
        ))
    return rows


def _rollup_columns(done: list[tuple[int, int, Sums]]) -> list[list]:
    cols: list[list] = [[] for _ in range(8)]
    for target_id, hour, sums in done:
        for col, value in zip(cols, (target_id, hourly.hour_start(hour), sums.checks, sums.ok,
                                     sums.latency_sum_ms, sums.latency_max_ms, sums.latency_count,
                                     sums.buckets_literal())):
            col.append(value)
    return cols
