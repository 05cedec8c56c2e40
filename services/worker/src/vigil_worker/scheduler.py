"""The scheduler loop: claims due slots, starts each check at its slot, with bounded concurrency.

Timing: slot k of a target is due at anchor_at + k * interval_s (fixed rate), on the database's
clock (dbclock.py). The loop composes the parts that do the work: the claimer (claimer.py:
claims, and revalidation after a notification), the slot table (slots.py: timers, running
checks, the concurrency bound, drain) and the offline continuation (offline.py: while Postgres
is unreachable, this worker keeps checking the targets whose latest slot it claimed, and moves
their schedule past those slots after the reconnect, before it claims again).
"""

from __future__ import annotations

import asyncio
import time
from datetime import datetime

import asyncpg

from vigil_core.dberrors import DbFault, classify, describe
from vigil_core.logging import get_logger

from .checks import CheckContext
from .claimer import Claimer
from .dbclock import DbClock
from .metrics import WorkerMetrics
from .offline import OfflineContinuation
from .results import BUG_PAUSE_S, ResultWriter
from .runner import CheckRunner
from .slots import SlotTable

log = get_logger("vigil_worker.scheduler")


class Scheduler:
    """The loop, and what the rest of the worker asks of it (notify_changed, resync,
    stop_claiming, drain) or reads (in_flight, offline, last_loop_at, bug)."""

    def __init__(
        self,
        pool: asyncpg.Pool,
        claim_pool: asyncpg.Pool,
        ctx: CheckContext,
        writer: ResultWriter,
        metrics: WorkerMetrics,
        *,
        concurrency: int,
        claim_batch: int,
        poll_interval_s: float,
        lookahead_s: float = 0.5,
        dsn: str | None = None,
        db_timeout_s: float = 15.0,
    ) -> None:
        self._loop = asyncio.get_running_loop()
        self._clock = DbClock(self._loop)
        self._slots = SlotTable(
            self._loop,
            self._clock,
            concurrency,
            CheckRunner(ctx, writer, metrics),
            metrics.schedule_lag,
        )
        self._offline = OfflineContinuation(
            pool, self._clock, dsn=dsn, probe_timeout_s=min(5.0, db_timeout_s)
        )
        self._claimer = Claimer(
            claim_pool,
            self._clock,
            self._slots,
            self._offline,
            metrics,
            claim_batch=claim_batch,
            lookahead_s=lookahead_s,
        )
        self._poll_interval_s = poll_interval_s
        self._lookahead_s = lookahead_s
        self._db_timeout_s = db_timeout_s
        self._wake = asyncio.Event()
        self._changed: set[int] = set()
        self._resync = False
        self._stopping = False
        self.last_loop_at = time.monotonic()
        self.bug: str | None = None  # what makes every round fail, while it lasts
        metrics.in_flight.set_function(lambda: self.in_flight)  # read at scrape time

    # -- inputs -------------------------------------------------------------------------

    def notify_changed(self, target_id: int) -> None:
        """A NOTIFY named this target: re-read its pending slots and claim again."""
        self._changed.add(target_id)
        self._wake.set()

    def resync(self) -> None:
        """After a listener reconnect: re-read every pending slot and claim again."""
        self._resync = True
        self._wake.set()

    def stop_claiming(self) -> None:
        self._stopping = True
        self._wake.set()

    @property
    def in_flight(self) -> int:
        return self._slots.in_flight

    @property
    def offline(self) -> bool:
        return self._offline.active

    async def drain(self, timeout: float) -> int:
        """Let claimed slots start and running checks finish; cancel what is left after
        `timeout`. Returns how many were cancelled."""
        left = await self._slots.drain(timeout)
        if left:
            log.warning("scheduler.drain_timeout", cancelled=left)
        return left

    # -- the loop -----------------------------------------------------------------------

    async def run(self) -> None:
        backoff = 0.2
        while not self._stopping:
            self.last_loop_at = time.monotonic()
            self._wake.clear()
            changed, self._changed = self._changed, set()
            resync, self._resync = self._resync, False
            try:
                async with asyncio.timeout(self._db_timeout_s):
                    full, next_due = await self._round(changed, resync)
                backoff = 0.2
            except Exception as exc:  # noqa: BLE001 - classified in _failed
                self._changed |= changed
                self._resync |= resync
                backoff = await self._failed(exc, backoff)
                continue
            self.bug = None
            if full:
                await self._slots.wait_for_room(self._wake)
            else:
                await self._sleep_until(next_due)

    async def _round(self, changed: set[int], resync: bool) -> tuple[bool, datetime | None]:
        """One turn with the database: (concurrency full, when the next slot is due)."""
        if self.offline:
            await self._offline.leave()
            self._resync = True  # notifications were missed meanwhile
        if resync or changed:
            await self._claimer.revalidate(None if resync else changed)
        full = await self._claimer.claim_all(lambda: self._stopping)
        return full, None if full else await self._claimer.next_due()

    async def _failed(self, exc: Exception, backoff: float) -> float:
        """A round failed: pause on a bug, go (or stay) offline on an outage, else retry soon.
        Returns the next backoff."""
        if classify(exc) in (DbFault.BUG, DbFault.DATA):
            self._report_bug(exc)
            await self._sleep_for(BUG_PAUSE_S)
            return backoff
        if await self._offline.connection_lost(exc):
            self._offline.enter(exc)
            if self._offline.active and not self._stopping:
                self._offline.schedule(self._slots, self._lookahead_s)
        else:
            log.warning("scheduler.claim_failed", error=repr(exc), offline=self.offline)
        await self._sleep_for(min(backoff, self._lookahead_s))
        return min(backoff * 2, 2.0)

    def _report_bug(self, exc: BaseException) -> None:
        """A claim that no retry cures soon (a bug, a missing migration): once, with the
        traceback, and in /healthz until a round succeeds."""
        name = describe(exc)
        if self.bug != name:
            log.error("scheduler.bug", error=name, exc_info=exc)
        self.bug = name

    async def _sleep_until(self, next_due: datetime | None) -> None:
        timeout = self._poll_interval_s
        if next_due is not None:
            until = self._clock.to_loop(next_due) - self._lookahead_s - self._loop.time()
            # Everything due within the lookahead is claimed, so waiting half a lookahead
            # loses nothing and turns a steady stream of slots into a few claims a second
            # instead of one tiny claim per slot. NOTIFYs still wake us at once.
            timeout = min(timeout, max(until, self._lookahead_s / 2))
        await self._sleep_for(max(0.0, timeout))

    async def _sleep_for(self, seconds: float) -> None:
        try:
            async with asyncio.timeout(seconds):
                await self._wake.wait()
        except TimeoutError:
            pass
