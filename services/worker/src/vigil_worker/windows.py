"""Maintenance windows in the worker: plans kept ahead, held firings released, boundaries told.

One task per worker; any number of workers share the work. Each round (windows.sql):

1. plans recurring windows further ahead (vigil_core.windows.extend; its rows are taken with
   SKIP LOCKED, so two workers never plan one window at once);
2. in one transaction: releases the firings the dispatcher held (suppress_due) whose target is
   no longer in maintenance and whose incident is still open, and NOTIFYs vigil_alerts so every
   dispatcher sends them at once; reads the occurrences running now and the next boundary; and
   when that set differs from the last round's (an occurrence started, ended, was ended early,
   created or deleted), or a window changed while one runs (its targets may have changed),
   sends MaintenanceChanged on vigil_status, so that live clients read the statuses
   (`maintenance`) again. Every worker that sees a boundary says so: with N workers a client
   hears it up to N times, a hint to read again like every status event;
3. sleeps until the next boundary (a little after it, by the database's clock), a NOTIFY on
   vigil_maintenance (the worker's LISTEN connection, listener.py), or `safety_s`, whichever
   comes first.

Database errors are classified (vigil_core.dberrors) as in the other loops: an outage or a busy
server is backed off and retried; a bug is logged once with its traceback, shown in `bug`
(/healthz) and retried after a pause. A window whose plan cannot be extended does not stop the
releases and announcements.
"""

from __future__ import annotations

import asyncio
from datetime import datetime

import asyncpg

from vigil_core import windows as schedules
from vigil_core.db import Conn, load_queries
from vigil_core.dberrors import DbFault, classify, describe
from vigil_core.listen import Backoff
from vigil_core.logging import get_logger
from vigil_core.notify import STATUS_CHANNEL, MaintenanceChanged, encode

from .metrics import WorkerMetrics

Q = load_queries(__package__, "windows.sql")
log = get_logger("vigil_worker.windows")

BACKOFF = Backoff(first_s=0.2, max_s=10.0)
BUG_PAUSE_S = 10.0
SAFETY_S = 60.0
# Woken this long after a boundary, so that the database's now() has passed it: asyncio's
# timers may fire a little early, and the two clocks are read a round trip apart.
BOUNDARY_MARGIN_S = 0.02

# An occurrence running now: (window_id, starts_at, ends_at).
Running = frozenset[tuple[int, datetime, datetime]]


class MaintenanceWindows:
    """run() as a watched task; notified() and resync() from the LISTEN connection; `bug` for
    /healthz."""

    def __init__(
        self,
        pool: asyncpg.Pool,
        metrics: WorkerMetrics,
        *,
        safety_s: float = SAFETY_S,
        db_timeout_s: float = 15.0,
        bug_pause_s: float = BUG_PAUSE_S,
    ) -> None:
        self._pool = pool
        self._metrics = metrics
        self._safety_s = safety_s
        self._db_timeout_s = db_timeout_s
        self._bug_pause_s = bug_pause_s
        self._wake = asyncio.Event()
        self._changed = False  # a NOTIFY on vigil_maintenance since the last round
        self._running: Running | None = None  # None until the first round
        self._bug: str | None = None
        self.rounds = 0  # rounds completed (tests await them)

    @property
    def bug(self) -> str | None:
        """What makes every round fail, while it lasts."""
        return self._bug

    def notified(self) -> None:
        """A window, its targets or its occurrences changed (NOTIFY vigil_maintenance)."""
        self._changed = True
        self._wake.set()

    def resync(self) -> None:
        """The LISTEN connection (re)connected: what was sent meanwhile is gone, look again."""
        self.notified()

    async def run(self) -> None:
        failures = 0
        while True:
            self._wake.clear()
            changed, self._changed = self._changed, False
            try:
                async with asyncio.timeout(self._db_timeout_s):
                    pause = await self._round(changed)
            except Exception as exc:  # noqa: BLE001 - classified in _failed
                failures += 1
                self._changed = self._changed or changed  # tell it in the next round
                pause = self._failed(exc, failures)
            else:
                failures = 0
            self.rounds += 1
            await self._sleep(pause)

    # -- a round ---------------------------------------------------------------------------

    async def _round(self, changed: bool) -> float:
        """One round (the module docstring); returns how long to sleep unless woken."""
        pause = self._safety_s
        async with self._pool.acquire() as conn:
            try:
                await self._extend(conn)
                extended = True
            except Exception as exc:  # noqa: BLE001 - an outage ends the round, a bug does not
                if classify(exc) in (DbFault.LOST, DbFault.BUSY):
                    raise
                self._report_bug(exc)
                extended = False
                pause = self._bug_pause_s
            async with conn.transaction():
                released = await self._release(conn)
                row = await conn.fetchrow(Q["boundaries"])
                assert row is not None  # an aggregate returns one row
                running: Running = frozenset(
                    zip(row["window_ids"], row["starts"], row["ends"], strict=True)
                )
                before = self._running
                announce = before is not None and (running != before or (changed and bool(running)))
                if announce:
                    await conn.execute(Q["announce"], STATUS_CHANNEL, encode(MaintenanceChanged()))
        # Committed: the releases and the announcement are out.
        self._released(released)
        self._running = running
        if announce:
            assert before is not None
            self._metrics.maintenance_changes.inc()
            log.info(
                "windows.changed",
                running=sorted(w for w, _, _ in running),
                started=len(running - before),
                ended=len(before - running),
            )
        if extended:
            self._bug = None
        next_in_s = row["next_in_s"]
        if next_in_s is not None:
            pause = min(pause, max(0.0, next_in_s) + BOUNDARY_MARGIN_S)
        return pause

    async def _extend(self, conn: Conn) -> None:
        async with conn.transaction():
            now = await conn.fetchval(Q["db_now"])
            planned = await schedules.extend(conn, now)
        if planned:
            self._metrics.maintenance_planned.inc(planned)
            log.info("windows.planned", occurrences=planned)

    async def _release(self, conn: Conn) -> list[asyncpg.Record]:
        """Held firings back to pending, in the caller's transaction; returns them."""
        released = await conn.fetch(Q["release_held"])
        if released:
            await conn.execute(Q["wake_dispatchers"])
        return released

    def _released(self, released: list[asyncpg.Record]) -> None:
        for row in released:
            self._metrics.alert_released.labels(row["channel_kind"]).inc()
            log.info(
                "windows.released",
                delivery_id=row["id"],
                channel_id=row["channel_id"],
                target_id=row["target_id"],
                incident_id=row["incident_id"],
                maintenance_window_id=row["maintenance_window_id"],
            )

    # -- failures and sleep ----------------------------------------------------------------

    def _failed(self, exc: Exception, failures: int) -> float:
        """A round failed: the pause before the next one."""
        fault = classify(exc)
        if fault in (DbFault.LOST, DbFault.BUSY):
            log.warning(
                "windows.round_failed",
                fault=fault.value,
                error=describe(exc),
                detail=str(exc)[:200],
            )
            return BACKOFF.delay(failures)
        self._report_bug(exc)
        return self._bug_pause_s

    def _report_bug(self, exc: Exception) -> None:
        name = describe(exc)
        if self._bug != name:  # the traceback once, not at every retry
            log.error("windows.bug", fault=classify(exc).value, error=name, exc_info=exc)
        self._bug = name

    async def _sleep(self, seconds: float) -> None:
        if seconds <= 0:
            return
        try:
            async with asyncio.timeout(seconds):
                await self._wake.wait()
        except TimeoutError:
            pass
