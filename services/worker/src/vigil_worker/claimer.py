"""The claimer: takes due slots from the schedule into the slot table, and takes back the
pending slots a change of their target voided.

A claim (claim_due, FOR UPDATE SKIP LOCKED) returns each slot's due time and the database
clock, which keeps the DbClock in step. The claimer has a pool of its own, whose planner
settings (main.CLAIM_SETTINGS) keep the claim's joins lookups of the claimed rows however many
targets there are; a claim is one statement, so it holds no lock across a round trip.
Notifications name targets that changed; their pending slots are re-read and cancelled when
the schedule row is gone (delete, disable) or re-anchored (a new interval, address...), and the
next claim picks up the new schedule at once.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

import asyncpg

from vigil_core.db import load_queries
from vigil_core.logging import get_logger

from .checks import ClaimedTarget
from .dbclock import DbClock
from .metrics import WorkerMetrics
from .offline import OfflineContinuation
from .slots import SlotTable

Q = load_queries(__package__)
log = get_logger("vigil_worker.claimer")


class Claimer:
    """Claims in batches of `claim_batch` what is due within `lookahead_s`."""

    def __init__(
        self,
        pool: asyncpg.Pool,
        clock: DbClock,
        slots: SlotTable,
        grids: OfflineContinuation,
        metrics: WorkerMetrics,
        *,
        claim_batch: int,
        lookahead_s: float,
    ) -> None:
        self._pool = pool
        self._clock = clock
        self._slots = slots
        self._grids = grids
        self._metrics = metrics
        self._claim_batch = claim_batch
        self._lookahead_s = lookahead_s

    async def claim_all(self, stopping: Callable[[], bool]) -> bool:
        """Claim until nothing more is due in the lookahead; True when concurrency is full."""
        while not stopping():
            limit = min(self._claim_batch, self._slots.free)
            if limit <= 0:
                return True
            rows = await self._pool.fetch(Q["claim_due"], self._lookahead_s, limit)
            if rows:
                self._clock.sync(rows[0]["db_now"])
                for row in rows:
                    target = ClaimedTarget.from_row(row)
                    self._slots.add(target, offline=False)
                    self._grids.remember(target)
                self._metrics.claims.inc(len(rows))
            if len(rows) < limit:
                return False
        return False

    async def next_due(self) -> datetime | None:
        """When the schedule's next slot is due (None: nothing scheduled)."""
        row = await self._pool.fetchrow(Q["next_due"])
        assert row is not None  # an aggregate: one row, always
        self._clock.sync(row["db_now"])
        return row["next_check_at"]

    async def revalidate(self, ids: set[int] | None) -> None:
        """Cancel the pending slots, and forget the grids, of these targets (None: all) whose
        schedule row is gone or re-anchored."""
        slots, grids = self._slots, self._grids
        pending = slots.pending_ids() if ids is None else [i for i in ids if slots.has_pending(i)]
        known = grids.known_ids(ids)
        if not pending and not known:
            return
        rows = await self._pool.fetch(Q["schedule_anchors"], sorted(set(pending) | set(known)))
        anchors = {r["target_id"]: r["anchor_at"] for r in rows}
        cancelled = slots.cancel_reanchored(pending, anchors)
        grids.forget_reanchored(known, anchors)
        if cancelled:
            log.info("scheduler.slots_cancelled", count=cancelled)
