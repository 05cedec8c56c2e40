"""The bounded result buffer and its group-commit writer.

Each flush starts as soon as the previous one ends and takes everything buffered (up to
max_batch), so the batch grows with the load. One transaction per flush stores the checks,
folds them into target_state (state.py), opens and closes incidents, updates the hourly
roll-ups and sends the NOTIFYs, so readers never see a result without its consequences.
While Postgres is unreachable the batch goes back to the buffer and is retried with backoff;
the buffer is bounded and what does not fit is dropped, counted and logged.
"""

from __future__ import annotations

import asyncio
import math
import time
from collections import defaultdict, deque
from operator import attrgetter
from datetime import datetime, timedelta, timezone

import asyncpg

from vigil_core.db import load_queries
from vigil_core.logging import get_logger
from vigil_core.models import CheckResult
from vigil_core.notify import (RESULTS_IDS_PER_NOTIFY, STATUS_CHANNEL, ResultsStored,
                               StateChanged, encode)
from vigil_core.rollups import BUCKET_COUNT, bucket_index

from .metrics import WorkerMetrics
from .state import TargetState, apply_all

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
                 max_batch: int = 5000) -> None:
        self._pool = pool
        self._buffer: deque[CheckResult] = deque()
        self._capacity = capacity
        self._max_batch = max_batch
        self._metrics = metrics
        self._pending = asyncio.Event()
        self._writing = 0
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
        """Flush until cancelled (group commit)."""
        backoff = 0.1
        failures = 0
        while True:
            await self._pending.wait()
            self._pending.clear()
            while self._buffer:
                batch = self._take()
                try:
                    await self.write(batch)
                    backoff, failures = 0.1, 0
                    if not self.connected:
                        self.connected = True
                        log.info("results.reconnected", held=len(self))
                except TRANSIENT_DB_ERRORS as exc:
                    self._put_back(batch)
                    if self.connected:
                        self.connected = False
                        log.warning("results.flush_failed", error=repr(exc), held=len(self))
                    await asyncio.sleep(backoff)
                    backoff = min(backoff * 2, 2.0)
                except asyncpg.PostgresError as exc:
                    failures += 1
                    if failures >= _MAX_PERMANENT_RETRIES:
                        log.error("results.batch_rejected", error=repr(exc), rows=len(batch))
                        self._drop(len(batch), "rejected")
                        failures = 0
                    else:
                        self._put_back(batch)
                        await asyncio.sleep(backoff)
                except BaseException:
                    self._put_back(batch)  # cancelled mid-write: keep the rows for flush()
                    raise
                finally:
                    self._writing = 0
                    if not self._buffer:
                        self._idle.set()

    def _take(self) -> list[CheckResult]:
        n = min(len(self._buffer), self._max_batch)
        batch = [self._buffer.popleft() for _ in range(n)]
        self._writing = n
        self._idle.clear()
        return batch

    def _put_back(self, batch: list[CheckResult]) -> None:
        self._buffer.extendleft(reversed(batch))

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
                self._put_back(batch)
                raise
            finally:
                self._writing = 0

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
            # The query's columns are TargetState's fields in order; positional is cheapest.
            states = {row[0]: TargetState(*row)
                      for row in await conn.fetch(Q["lock_states"], ids)}
            # A target deleted while its check ran has no history to add to.
            rows = [r for r in batch if r.target_id in states]
            rows = await self._without_stored_slots(conn, rows)
            if not rows:
                return 0
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
            # checks, states, roll-ups and NOTIFYs in one statement: one round trip.
            await conn.execute(Q["store_batch"], *_columns(rows, _CHECK_COLUMNS),
                               *_state_columns(changed), *_rollup_columns(rows),
                               STATUS_CHANNEL, payloads)
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


def _columns(rows: list[CheckResult], names: tuple[str, ...]) -> list[list]:
    get = attrgetter(*names)
    return [list(col) for col in zip(*map(get, rows))]


def _state_columns(states: list[TargetState]) -> list[list]:
    cols: list[list] = [[] for _ in range(12)]
    for s in states:
        last = s.last
        assert last is not None
        for col, value in zip(cols, (
            s.target_id, s.status, s.since, s.consecutive_ok, s.consecutive_fail,
            last.checked_at, last.ok, last.latency_ms, last.status_code, last.error_class,
            last.error_message, s.tls_expires_at,
        )):
            col.append(value)
    return cols


def _rollup_columns(rows: list[CheckResult]) -> list[list]:
    """Per (target, hour): checks, ok and the latency of successful checks."""
    # Keyed by the hour's epoch number: cheaper per row than building an aware datetime.
    acc: dict[tuple[int, int], list] = defaultdict(
        lambda: [0, 0, 0.0, 0.0, 0, [0] * BUCKET_COUNT])
    for r in rows:
        a = acc[(r.target_id, int(r.checked_at.timestamp() // 3600))]
        a[0] += 1
        if r.ok:
            a[1] += 1
            latency = r.latency_ms
            if latency is not None:
                a[2] += latency
                if latency > a[3]:
                    a[3] = latency
                a[4] += 1
                a[5][bucket_index(latency)] += 1
    cols: list[list] = [[] for _ in range(8)]
    for (target_id, hour), (n, ok, total, peak, count, buckets) in sorted(acc.items()):
        for col, value in zip(cols, (target_id, datetime.fromtimestamp(hour * 3600, timezone.utc),
                                     n, ok, total, peak, count,
                                     "{" + ",".join(map(str, buckets)) + "}")):
            col.append(value)
    return cols
