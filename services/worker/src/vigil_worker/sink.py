"""The sink: stores batches in flush transactions, one bad row never costing the others, and an
unsure flush (its commit may have gone through) retried without storing anything twice."""

from __future__ import annotations

import math
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

import asyncpg
import msgspec

from vigil_core.db import load_queries
from vigil_core.dberrors import DbFault, classify, describe, is_missing_partition, is_retryable
from vigil_core.logging import get_logger
from vigil_core.models import CheckResult
from vigil_core.text import storable

from .flush import ResultKey, RowTypes, flush, key
from .metrics import WorkerMetrics

Q = load_queries(__package__)
log = get_logger("vigil_worker.results")


class StatementBroken(Exception):
    """A flush failed even for a minimal, valid row: the statements are wrong, not the data."""


@dataclass(slots=True)
class Stored:
    """What storing a batch did: `rest`, the results still to store (in order), and the `error`
    that stopped them (None: all stored, replaced or dropped); `dropped`, how many results the
    database refused even as an `internal` stand-in."""

    rest: list[CheckResult] = field(default_factory=list)
    error: BaseException | None = None
    dropped: int = 0


@dataclass(slots=True)
class _Isolation:
    """The progress of isolating bad rows: results dealt with (by id()), and those dropped."""

    done: set[int] = field(default_factory=set)
    dropped: int = 0


class ResultSink:
    """Writes batches through one pool; remembers which results an unsure flush held."""

    def __init__(self, pool: asyncpg.Pool, metrics: WorkerMetrics) -> None:
        self._pool = pool
        self._metrics = metrics
        # Results whose flush failed where its commit may have gone through (a connection
        # lost or a timeout around COMMIT): a retry skips those stored.
        self._unsure: set[ResultKey] = set()
        self._row_types = RowTypes()

    async def store(self, batch: list[CheckResult]) -> Stored:
        """Store a batch: all of it, or the rest and the error that stopped it. A bad row is
        isolated and stored as an `internal` failure; bad data and bugs can raise alike (asyncpg's
        codecs raise TypeError, OverflowError...), isolation tells them apart."""
        try:
            await self.write(batch)
            return Stored()
        except Exception as exc:  # noqa: BLE001 - classified right below
            first = exc
        if is_retryable(first):
            # The commit may have happened before the error reached us: the retry checks
            # which of these results are stored already (flush._without_stored).
            self._unsure.update(map(key, batch))
            return Stored(batch, first)
        isolation = _Isolation()
        try:
            await self._isolate(_by_target(batch), first, isolation)
        except Exception as exc:  # noqa: BLE001 - the writer classifies and waits
            rest = [r for r in batch if id(r) not in isolation.done]
            if is_retryable(exc):
                self._unsure.update(map(key, rest))
            return Stored(rest, exc, isolation.dropped)
        return Stored(dropped=isolation.dropped)

    async def write(self, batch: list[CheckResult]) -> None:
        """One flush transaction; creates a missing partition and retries once."""
        started = time.perf_counter()
        stored = await self._commit_in_partitions(batch)
        if self._unsure:
            self._unsure.difference_update(map(key, batch))
        self._metrics.flush_duration.observe(time.perf_counter() - started)
        self._metrics.flush_batch.observe(len(batch))
        log.debug("results.flushed", rows=len(batch), stored=stored)

    async def _commit_in_partitions(self, batch: list[CheckResult]) -> int:
        """commit(), after creating the partitions of `checks` it finds missing."""
        try:
            return await self.commit(batch)
        except asyncpg.PostgresError as exc:
            if not is_missing_partition(exc):
                raise
        await self._ensure_partitions_for(batch)
        return await self.commit(batch)

    async def commit(self, batch: list[CheckResult]) -> int:
        """The flush transaction (flush.py) on a pool connection; returns how many results it
        stored."""
        async with self._pool.acquire() as conn, conn.transaction():
            done = await flush(conn, batch, self._unsure, self._row_types)
        for t in done.transitions:
            log.info(
                "target.state_changed",
                target_id=t.target_id,
                status=t.status,
                previous=t.previous,
                cause=t.cause,
            )
        return done.stored

    async def _isolate(
        self, groups: list[list[CheckResult]], exc: BaseException, isolation: _Isolation
    ) -> None:
        """Store every result of these groups (a group: one target's results, in order) that
        the database takes, halving the failing parts down to single results; `exc` is what
        this whole part raised. A single refused result is replaced by an `internal` failure,
        so its target's state still moves."""
        if len(groups) == 1 and len(groups[0]) == 1:
            await self._replace(groups[0][0], exc, isolation)
            return
        halves = (
            [groups[: len(groups) // 2], groups[len(groups) // 2 :]]
            if len(groups) > 1
            else [[[r]] for r in groups[0]]
        )  # one target: each result alone, in order
        for part in halves:
            rows = [r for group in part for r in group]
            try:
                await self.write(rows)
            except Exception as part_exc:  # noqa: BLE001 - classified right below
                if is_retryable(part_exc):
                    raise
                await self._isolate(part, part_exc, isolation)
                continue
            isolation.done.update(map(id, rows))

    async def _replace(
        self, result: CheckResult, exc: BaseException, isolation: _Isolation
    ) -> None:
        stand_in = msgspec.structs.replace(
            result,
            ok=False,
            latency_ms=None,
            status_code=None,
            error_class="internal",
            error_message=storable(f"the result could not be stored: {describe(exc)}: {exc}"[:500]),
            timings=None,
            tls_expires_at=None,
        )
        log.error(
            "results.row_rejected",
            target_id=result.target_id,
            checked_at=result.checked_at.isoformat(),
            error=describe(exc),
            message=storable(str(exc))[:300],
        )
        try:
            await self.write([stand_in])
        except Exception as stand_in_exc:
            if is_retryable(stand_in_exc):
                raise
            if classify(stand_in_exc) is DbFault.BUG:
                # Even a minimal, valid row fails: the statements are wrong, not this data.
                raise StatementBroken(describe(stand_in_exc)) from stand_in_exc
            self._metrics.rejected.labels("dropped").inc()
            isolation.dropped += 1
        else:
            self._metrics.rejected.labels("replaced").inc()
        isolation.done.add(id(result))

    async def _ensure_partitions_for(self, batch: list[CheckResult]) -> None:
        now = datetime.now(UTC)
        oldest = min(r.checked_at for r in batch)
        newest = max(r.checked_at for r in batch)
        days_back = max(1, math.ceil((now - oldest) / timedelta(days=1)) + 1)
        days_ahead = max(7, math.ceil((newest - now) / timedelta(days=1)) + 1)
        async with self._pool.acquire() as conn, conn.transaction():
            await conn.execute(Q["ensure_partitions"], days_back, days_ahead)
        log.warning("results.partitions_created", days_back=days_back, days_ahead=days_ahead)


def _by_target(batch: list[CheckResult]) -> list[list[CheckResult]]:
    """The batch as one list per target, each in the batch's order."""
    groups: dict[int, list[CheckResult]] = {}
    for r in batch:
        groups.setdefault(r.target_id, []).append(r)
    return list(groups.values())
