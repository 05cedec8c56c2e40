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
import msgspec

from vigil_core.db import load_queries
from vigil_core.dberrors import DbFault, classify, describe, is_missing_partition
from vigil_core.logging import get_logger
from vigil_core.models import CheckResult
from vigil_core.notify import (RESULTS_IDS_PER_NOTIFY, STATUS_CHANNEL, ResultsStored,
                               StateChanged, encode)
from vigil_core.text import storable

from . import hourly
from .hourly import Sums
from .metrics import WorkerMetrics
from .state import BY_TARGET_AND_TIME, TargetState, apply_all

Q = load_queries(__package__)
log = get_logger("vigil_worker.results")

# How long a flusher waits after the database refused a batch for a reason no retry cures
# soon (a bug: an undefined column, a wrong argument count); /healthz reports it meanwhile.
BUG_PAUSE_S = 10.0


class StatementBroken(Exception):
    """A flush failed even for a minimal, valid row: the statements are wrong, not the data."""


class OfflineResult(CheckResult, kw_only=True):
    """A result of a slot the worker scheduled on its own while Postgres was away."""


class ResultWriter:
    def __init__(self, pool: asyncpg.Pool, capacity: int, metrics: WorkerMetrics,
                 max_batch: int = 5000, flushers: int = 3, bug_pause_s: float = BUG_PAUSE_S) -> None:
        self._pool = pool
        self._bug_pause_s = bug_pause_s
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
        # (target, checked_at) of results whose flush failed where its commit may have gone
        # through (a connection lost or a timeout around COMMIT): a retry skips those stored.
        self._unsure: set[tuple[int, datetime]] = set()
        self.bug: str | None = None  # what makes every flush fail, while it lasts
        # For /healthz: when a flush last ended (stored or not) and since when results wait.
        self.last_progress_at = self._waiting_since = time.monotonic()
        metrics.buffer_depth.set_function(lambda: len(self))  # read at scrape time

    def __len__(self) -> int:
        return len(self._buffer) + self._writing

    def add(self, result: CheckResult) -> None:
        n = len(self)
        if n >= self._capacity:
            self._drop(1, "buffer_full")
            return
        if not n:
            self._waiting_since = time.monotonic()
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

    def stalled_s(self) -> float:
        """How long results have waited with no flush ending (0 when none wait)."""
        if not len(self):
            return 0.0
        return time.monotonic() - max(self.last_progress_at, self._waiting_since)

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
                left = await self._store(batch)
            except BaseException:
                self._give_back(batch)  # cancelled mid-write: keep the rows for drain()
                raise
            self.last_progress_at = time.monotonic()
            if left is None:
                self._done(batch)
                backoff, self.bug = 0.1, None
                if not self.connected:
                    self.connected = True
                    log.info("results.reconnected", held=len(self))
                continue
            # Not stored (yet): the rest goes back to the front, in order, and waits.
            rest, exc = left
            self._buffer.extendleft(reversed(rest))
            self._done(batch)
            fault = classify(exc)
            if fault is DbFault.BUG or isinstance(exc, StatementBroken):
                await asyncio.sleep(self._bug_pause_s)
                continue
            if self.connected and fault is DbFault.LOST:
                self.connected = False
                log.warning("results.flush_failed", error=repr(exc), held=len(self))
            elif fault is DbFault.BUSY:
                log.warning("results.flush_busy", error=repr(exc), held=len(self))
            await asyncio.sleep(backoff)
            backoff = min(backoff * 2, 2.0)

    async def _store(self, batch: list[CheckResult]) -> tuple[list[CheckResult], BaseException] | None:
        """Store a batch; returns None when all of it is stored (or replaced, or dropped as
        unstorable), else the results still to store and the error that stopped them."""
        try:
            await self.write(batch)
            return None
        except Exception as exc:  # noqa: BLE001 - classified right below
            first = exc
        if classify(first) in (DbFault.LOST, DbFault.BUSY):
            # The commit may have happened before the error reached us: the retry checks
            # which of these results are stored already (see write()).
            self._unsure.update(map(_key, batch))
            return batch, first
        # Bad data, or what looks like a bug: a bad row can raise either (asyncpg's codecs
        # raise TypeError, OverflowError...). Isolation tells them apart.
        stored: list[CheckResult] = []
        try:
            await self._isolate(_by_target(batch), first, stored)
        except Exception as exc:  # noqa: BLE001 - the flusher classifies and waits
            done = set(map(id, stored))
            rest = [r for r in batch if id(r) not in done]
            if classify(exc) in (DbFault.LOST, DbFault.BUSY):
                self._unsure.update(map(_key, rest))
            else:
                self._report_bug(exc)
            return rest, exc
        return None

    async def _isolate(self, groups: list[list[CheckResult]], exc: BaseException,
                       stored: list[CheckResult]) -> None:
        """Store every result of these groups (a group: one target's results, in order) that
        the database takes, halving the failing parts down to single results; `exc` is what
        this whole part raised. A single refused result is replaced by an `internal` failure,
        so its target's state still moves."""
        if len(groups) == 1 and len(groups[0]) == 1:
            await self._replace(groups[0][0], exc, stored)
            return
        halves = ([groups[:len(groups) // 2], groups[len(groups) // 2:]] if len(groups) > 1
                  else [[[r]] for r in groups[0]])  # one target: each result alone, in order
        for part in halves:
            rows = [r for group in part for r in group]
            try:
                await self.write(rows)
            except Exception as part_exc:  # noqa: BLE001 - classified right below
                if classify(part_exc) in (DbFault.LOST, DbFault.BUSY):
                    raise
                await self._isolate(part, part_exc, stored)
                continue
            stored.extend(rows)

    async def _replace(self, result: CheckResult, exc: BaseException,
                       stored: list[CheckResult]) -> None:
        stand_in = msgspec.structs.replace(
            result, ok=False, latency_ms=None, status_code=None, error_class="internal",
            error_message=storable(f"the result could not be stored: {describe(exc)}: {exc}"[:500]),
            timings=None, tls_expires_at=None)
        log.error("results.row_rejected", target_id=result.target_id,
                  checked_at=result.checked_at.isoformat(), error=describe(exc),
                  message=storable(str(exc))[:300])
        try:
            await self.write([stand_in])
        except Exception as stand_in_exc:
            if classify(stand_in_exc) in (DbFault.LOST, DbFault.BUSY):
                raise
            if classify(stand_in_exc) is DbFault.BUG:
                # Even a minimal, valid row fails: the statements are wrong, not this data.
                raise StatementBroken(describe(stand_in_exc)) from stand_in_exc
            self._metrics.rejected.labels("dropped").inc()
            self._drop(1, "rejected")
        else:
            self._metrics.rejected.labels("replaced").inc()
        stored.append(result)

    def _report_bug(self, exc: BaseException) -> None:
        """A flush that no retry will cure soon: say so once, with the traceback, and in health."""
        cause = exc.__cause__ if isinstance(exc, StatementBroken) and exc.__cause__ else exc
        name = describe(cause)
        if self.bug != name:
            log.error("results.flush_bug", error=name, held=len(self), exc_info=cause)
        self.bug = name

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
        except asyncpg.PostgresError as exc:
            if not is_missing_partition(exc):
                raise
            await self._ensure_partitions_for(batch)
            stored = await self._write(batch)
        if self._unsure:
            self._unsure.difference_update(map(_key, batch))
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
            rows = await self._without_stored(conn, rows)
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

    async def _without_stored(self, conn: asyncpg.Connection,
                              rows: list[CheckResult]) -> list[CheckResult]:
        """Drop what is stored already: offline results whose slot another worker stored, and
        results of a flush whose commit went through although its answer was lost. A slot is
        recorded once, and so its state and roll-ups count it once."""
        offline = [r for r in rows if isinstance(r, OfflineResult) and r.due_at is not None]
        unsure = [r for r in rows if _key(r) in self._unsure] if self._unsure else []
        if not offline and not unsure:
            return rows
        found_slots: set[tuple[int, datetime]] = set()
        if offline:
            since = min(r.due_at for r in offline) - timedelta(hours=1)
            found_slots = {(rec["target_id"], rec["due_at"]) for rec in await conn.fetch(
                Q["stored_slots"], [r.target_id for r in offline], [r.due_at for r in offline],
                since)}
        found: set[tuple[int, datetime]] = set()
        if unsure:
            found = {(rec["target_id"], rec["checked_at"]) for rec in await conn.fetch(
                Q["stored_results"], [r.target_id for r in unsure], [r.checked_at for r in unsure])}
        if not found_slots and not found:
            return rows
        log.info("results.duplicates_skipped", slots=len(found_slots), retried=len(found))
        return [r for r in rows
                if _key(r) not in found
                and not (isinstance(r, OfflineResult) and (r.target_id, r.due_at) in found_slots)]


def _key(result: CheckResult) -> tuple[int, datetime]:
    """A stored check's identity: its target and time (the unique key of `checks` adds due_at)."""
    return result.target_id, result.checked_at


def _by_target(batch: list[CheckResult]) -> list[list[CheckResult]]:
    """The batch as one list per target, each in the batch's order."""
    groups: dict[int, list[CheckResult]] = {}
    for r in batch:
        groups.setdefault(r.target_id, []).append(r)
    return list(groups.values())


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
