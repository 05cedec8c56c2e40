"""Claims due slots with SKIP LOCKED and starts each check at its slot, with bounded concurrency.

Timing: slot k of a target is due at anchor_at + k * interval_s (fixed rate). The claim query
returns each slot's due time and the database clock; the worker converts due times to its
event-loop clock through that pair, so workers with skewed wall clocks still agree with the
database on when a slot is due. Claimed slots wait on loop timers (call_at), not on sleeping
tasks, and only those count against the concurrency bound together with running checks.

Notifications (listener.py) name targets that changed; pending slots of those targets are
re-read and cancelled when the schedule row is gone (delete, disable) or re-anchored (a new
interval, address...), and the next claim picks up the new schedule at once.

When Postgres is unreachable the worker keeps checking the targets whose latest slot it
claimed, on the same grid, and marks those results offline. After the reconnect it first moves
those targets' schedule past the slots it ran, then claims normally; the writer skips an
offline result whose slot another worker already stored. Only a lost connection, confirmed
by a fresh connect attempt that fails too, counts as unreachable: a slow or busy database
(a timeout, a deadlock, too many connections) stays in charge of the slots, otherwise this
worker would check slots that another worker claims from it meanwhile.
"""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass
from datetime import datetime, timedelta

import asyncpg

from vigil_core.db import load_queries
from vigil_core.dberrors import DbFault, classify, describe
from vigil_core.logging import get_logger
from vigil_core.models import CheckResult

from .checks import CheckContext, ClaimedTarget, Outcome, run_check
from .metrics import WorkerMetrics
from .results import BUG_PAUSE_S, OfflineResult, ResultWriter

Q = load_queries(__package__)
log = get_logger("vigil_worker.scheduler")


@dataclass(slots=True)
class _Slot:
    target: ClaimedTarget
    deadline: float  # loop time
    offline: bool
    handle: asyncio.TimerHandle | None = None


@dataclass(slots=True)
class _Known:
    """The last slot this worker claimed for a target; the grid it continues on when offline."""

    target: ClaimedTarget
    next_due: datetime


class Scheduler:
    def __init__(
        self,
        pool: asyncpg.Pool,
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
        self._dsn = dsn  # for the fresh connect that confirms an outage; None trusts the error
        self._db_timeout_s = db_timeout_s
        self._pool = pool
        self._ctx = ctx
        self._writer = writer
        self._metrics = metrics
        self._concurrency = concurrency
        self._claim_batch = claim_batch
        self._poll_interval_s = poll_interval_s
        self._lookahead_s = lookahead_s
        self._loop = asyncio.get_running_loop()
        self._wake = asyncio.Event()
        self._room = asyncio.Event()  # set when enough slots are free to claim a batch again
        self._changed: set[int] = set()
        self._resync = False
        self._stopping = False
        self._pending: dict[int, list[_Slot]] = {}
        self._n_pending = 0
        self._running: set[asyncio.Task] = set()
        self._known: dict[int, _Known] = {}
        self._offline_since: datetime | None = None
        self._offline_ran: set[int] = set()
        # loop time <-> database time, refreshed by every claim
        self._ref_loop = self._loop.time()
        self._ref_db: datetime | None = None
        self.last_loop_at = time.monotonic()
        self.bug: str | None = None  # what makes every round fail, while it lasts
        metrics.in_flight.set_function(lambda: self.in_flight)  # read at scrape time
        self._outcome_series: dict[tuple[str, bool], tuple] = {}

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
        return self._n_pending + len(self._running)

    @property
    def offline(self) -> bool:
        return self._offline_since is not None

    # -- main loop ----------------------------------------------------------------------

    async def run(self) -> None:
        backoff = 0.2
        while not self._stopping:
            self.last_loop_at = time.monotonic()
            self._wake.clear()
            changed, self._changed = self._changed, set()
            resync, self._resync = self._resync, False
            try:
                async with asyncio.timeout(self._db_timeout_s):
                    if self.offline:
                        await self._leave_offline()
                    if resync or changed:
                        await self._revalidate(None if resync else changed)
                    full = await self._claim_all()
                    next_due = None if full else await self._next_due()
                backoff = 0.2
            except Exception as exc:  # noqa: BLE001 - classified right below
                self._changed |= changed
                self._resync |= resync
                if classify(exc) in (DbFault.BUG, DbFault.DATA):
                    self._report_bug(exc)
                    await self._sleep_for(BUG_PAUSE_S)
                    continue
                if await self._connection_lost(exc):
                    self._enter_offline(exc)
                    self._schedule_offline()
                else:
                    log.warning("scheduler.claim_failed", error=repr(exc), offline=self.offline)
                await self._sleep_for(min(backoff, self._lookahead_s))
                backoff = min(backoff * 2, 2.0)
                continue
            self.bug = None
            if full:
                await self._wait_for_room()
            else:
                await self._sleep_until(next_due)

    async def _claim_all(self) -> bool:
        """Claim until nothing more is due in the lookahead; True when concurrency is full."""
        while not self._stopping:
            limit = min(self._claim_batch, self._concurrency - self.in_flight)
            if limit <= 0:
                return True
            rows = await self._pool.fetch(Q["claim_due"], self._lookahead_s, limit)
            if rows:
                self._set_clock(rows[0]["db_now"])
                for row in rows:
                    self._add_slot(ClaimedTarget(**{k: row[k] for k in _TARGET_FIELDS}), False)
                self._metrics.claims.inc(len(rows))
            if len(rows) < limit:
                return False
        return False

    async def _next_due(self) -> datetime | None:
        row = await self._pool.fetchrow(Q["next_due"])
        self._set_clock(row[1])
        return row[0]

    async def _sleep_until(self, next_due: datetime | None) -> None:
        timeout = self._poll_interval_s
        if next_due is not None:
            until = self._to_loop(next_due) - self._lookahead_s - self._loop.time()
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

    async def _wait_for_room(self) -> None:
        # Claim again when a tenth of the slots is free (not per freed slot: one query per
        # check would not scale), or after a short while, or on a wake-up.
        self._room.clear()
        waits = [asyncio.ensure_future(self._room.wait()), asyncio.ensure_future(self._wake.wait())]
        try:
            await asyncio.wait(waits, timeout=0.05, return_when=asyncio.FIRST_COMPLETED)
        finally:
            for w in waits:
                w.cancel()

    # -- time ---------------------------------------------------------------------------

    def _set_clock(self, db_now: datetime) -> None:
        self._ref_loop = self._loop.time()
        self._ref_db = db_now

    def _to_loop(self, at: datetime) -> float:
        if self._ref_db is None:
            return self._loop.time()
        return self._ref_loop + (at - self._ref_db).total_seconds()

    def _db_now(self) -> datetime:
        assert self._ref_db is not None
        return self._ref_db + timedelta(seconds=self._loop.time() - self._ref_loop)

    # -- slots --------------------------------------------------------------------------

    def _add_slot(self, target: ClaimedTarget, offline: bool) -> None:
        slot = _Slot(target, self._to_loop(target.due_at), offline)
        slot.handle = self._loop.call_at(slot.deadline, self._start, slot)
        self._pending.setdefault(target.id, []).append(slot)
        self._n_pending += 1
        self._known[target.id] = _Known(
            target, target.due_at + timedelta(seconds=target.interval_s))

    def _forget_pending(self, slot: _Slot) -> None:
        slots = self._pending.get(slot.target.id)
        if slots and slot in slots:
            slots.remove(slot)
            self._n_pending -= 1
            if not slots:
                del self._pending[slot.target.id]

    def _start(self, slot: _Slot) -> None:
        self._forget_pending(slot)
        lag = max(0.0, self._loop.time() - slot.deadline)
        self._metrics.schedule_lag.observe(lag)
        task = self._loop.create_task(self._run_one(slot, lag), name=f"check-{slot.target.id}")
        self._running.add(task)
        task.add_done_callback(self._done)

    def _done(self, task: asyncio.Task) -> None:
        self._running.discard(task)
        if self._concurrency - self.in_flight >= max(1, self._concurrency // 10):
            self._room.set()
        if not task.cancelled() and task.exception() is not None:
            log.error("check.crashed", task=task.get_name(), exc_info=task.exception())

    async def _revalidate(self, ids: set[int] | None) -> None:
        """Cancel pending slots whose schedule row is gone or re-anchored."""
        wanted = list(self._pending) if ids is None else [i for i in ids if i in self._pending]
        known_ids = list(self._known) if ids is None else [i for i in ids if i in self._known]
        if not wanted and not known_ids:
            return
        rows = await self._pool.fetch(Q["schedule_anchors"], sorted(set(wanted) | set(known_ids)))
        anchors = {r["target_id"]: r["anchor_at"] for r in rows}
        cancelled = 0
        for target_id in wanted:
            for slot in list(self._pending.get(target_id, ())):
                if anchors.get(target_id) != slot.target.anchor_at:
                    slot.handle.cancel()
                    self._forget_pending(slot)
                    cancelled += 1
        for target_id in known_ids:
            known = self._known.get(target_id)
            if known is not None and anchors.get(target_id) != known.target.anchor_at:
                del self._known[target_id]
        if cancelled:
            log.info("scheduler.slots_cancelled", count=cancelled)

    # -- offline ------------------------------------------------------------------------

    async def _connection_lost(self, exc: BaseException) -> bool:
        """True only when Postgres is unreachable: the error says the connection is gone and a
        fresh connection cannot be made either (a pool connection can die alone)."""
        if classify(exc) is not DbFault.LOST:
            return False
        if self._dsn is None or self.offline:
            return True
        try:
            conn = await asyncpg.connect(self._dsn, timeout=min(5.0, self._db_timeout_s))
        except Exception as probe_exc:  # noqa: BLE001 - classified right below
            return classify(probe_exc) is DbFault.LOST
        try:
            await asyncio.wait_for(conn.close(), timeout=1.0)
        except Exception:  # noqa: BLE001 - the probe did its job; never block the loop on it
            conn.terminate()
        return False

    def _report_bug(self, exc: BaseException) -> None:
        """A claim that no retry cures soon (a bug, a missing migration): once, with the
        traceback, and in /healthz until a round succeeds."""
        name = describe(exc)
        if self.bug != name:
            log.error("scheduler.bug", error=name, exc_info=exc)
        self.bug = name

    def _enter_offline(self, exc: BaseException) -> None:
        if self.offline or self._ref_db is None:
            if not self.offline:
                log.warning("scheduler.claim_failed", error=repr(exc))
            return
        self._offline_since = self._db_now()
        log.warning("scheduler.offline", error=repr(exc), targets=len(self._known))

    def _schedule_offline(self) -> None:
        """Schedule, within the lookahead, the next slots of the targets this worker owned."""
        if not self.offline or self._stopping:
            return
        horizon = self._db_now() + timedelta(seconds=self._lookahead_s)
        since = self._offline_since
        for target_id, known in list(self._known.items()):
            interval = timedelta(seconds=known.target.interval_s)
            if known.next_due + interval <= since:
                del self._known[target_id]  # its latest slot went to another worker
                continue
            if target_id in self._pending or known.next_due > horizon:
                continue
            if self.in_flight >= self._concurrency:
                return
            t = known.target
            self._add_slot(ClaimedTarget(t.id, t.name, t.kind, t.address, t.interval_s,
                                         t.timeout_s, t.settings, t.anchor_at, known.next_due),
                           offline=True)
            self._offline_ran.add(target_id)

    async def _leave_offline(self) -> None:
        ran = [self._known[i] for i in sorted(self._offline_ran) if i in self._known]
        if ran:
            await self._pool.execute(Q["advance_after_offline"], [k.target.id for k in ran],
                                     [k.target.anchor_at for k in ran], [k.next_due for k in ran])
        log.info("scheduler.online", offline_s=round(
            (self._db_now() - self._offline_since).total_seconds(), 3), targets_kept=len(ran))
        self._offline_since = None
        self._offline_ran.clear()
        self._resync = True  # notifications were missed meanwhile

    # -- running a check ----------------------------------------------------------------

    async def _run_one(self, slot: _Slot, lag: float) -> None:
        target = slot.target
        started = time.perf_counter()
        outcome = await run_check(target, self._ctx)
        elapsed = time.perf_counter() - started
        # checked_at is on the database's clock: the slot's due time plus how late it started.
        checked_at = target.due_at + timedelta(seconds=lag)
        latency_ms = outcome.latency_ms if outcome.latency_ms is not None else elapsed * 1000.0
        cls = OfflineResult if slot.offline else CheckResult
        self._writer.add(cls(
            target_id=target.id, checked_at=checked_at, due_at=target.due_at, ok=outcome.ok,
            latency_ms=latency_ms, status_code=outcome.status_code,
            error_class=outcome.error_class, error_message=outcome.error_message,
            timings=outcome.timings, tls_expires_at=outcome.tls_expires_at,
        ))
        self._record(target, outcome, elapsed, latency_ms)

    def _record(self, target: ClaimedTarget, outcome: Outcome, elapsed: float,
                latency_ms: float) -> None:
        # Labelled children are looked up once per (kind, outcome): this runs per check.
        key = (target.kind, outcome.ok)
        series = self._outcome_series.get(key)
        if series is None:
            m = self._metrics
            series = self._outcome_series[key] = (
                m.checks.labels(target.kind, "ok" if outcome.ok else "fail"),
                m.check_duration.labels(target.kind))
        series[0].inc()
        series[1].observe(elapsed)
        if not outcome.ok:
            self._metrics.check_errors.labels(target.kind, outcome.error_class or "unknown").inc()
        log.debug("check.done", target_id=target.id, kind=target.kind, ok=outcome.ok,
                  latency_ms=round(latency_ms, 3), error_class=outcome.error_class)

    async def drain(self, timeout: float) -> int:
        """Let claimed slots start and running checks finish; cancel what is left after
        `timeout`. Returns how many were cancelled."""
        end = self._loop.time() + timeout
        while self.in_flight and self._loop.time() < end:
            await asyncio.sleep(min(0.05, max(0.0, end - self._loop.time())))
        left = 0
        for slots in list(self._pending.values()):
            for slot in list(slots):
                slot.handle.cancel()
                self._forget_pending(slot)
                left += 1
        for task in list(self._running):
            task.cancel()
            left += 1
        if self._running:
            await asyncio.gather(*self._running, return_exceptions=True)
        if left:
            log.warning("scheduler.drain_timeout", cancelled=left)
        return left


_TARGET_FIELDS = ("id", "name", "kind", "address", "interval_s", "timeout_s", "settings",
                  "anchor_at", "due_at")
