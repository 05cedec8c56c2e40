"""The alert dispatcher of every worker: claims due deliveries, sends them, marks the outcome.

The deliveries are outbox rows the incidents trigger writes (sql/migrations/0011_alerting.sql).
A round, one statement each (alerting/queries.sql): make due reminders, suppress what must not
be sent (a disabled channel, a target in a maintenance window or depending on one that is down),
collapse storming channels' deliveries into digests, claim due deliveries into the free slots
with SKIP LOCKED and a lease; each claimed one is sent by a task of its own, outside
any transaction, within the attempt's timeout, and marked only while this claim still holds its
lease. A worker that dies between sending and marking loses nothing: the lease expires and
another worker sends it again with the same event id (at least once).

It wakes on NOTIFY vigil_alerts (a LISTEN connection of its own, vigil_core.listen), when a
send ends, at the next time it knows something comes due (a retry, a held-back firing, a lease,
a digest, a reminder) and every `worker_alert_poll_s` as the safety net. Database errors are
classified (vigil_core.dberrors): an outage or a busy server is backed off and retried, a bug is
logged once with its traceback, shown in `bug` (/healthz) and retried after a pause.
"""

from __future__ import annotations

import asyncio
import math
import os
import socket
import time
import uuid
from typing import Any

import aiohttp
import asyncpg
import msgspec

from vigil_core import channels
from vigil_core.db import load_queries
from vigil_core.dberrors import DbFault, classify, describe
from vigil_core.listen import Backoff, ListenConnection
from vigil_core.logging import get_logger
from vigil_core.settings import Settings
from vigil_core.text import storable

from ..metrics import WorkerMetrics
from . import deliveries, policy, senders
from .deliveries import Claim
from .senders.base import Outcome, SendContext

log = get_logger("vigil_worker.alerting")

Q = load_queries(__package__)

ALERTS_CHANNEL = "vigil_alerts"
BACKOFF = Backoff(first_s=0.2, max_s=10.0)
# After a failure no retry cures soon (a bug, a missing migration), /healthz shows it meanwhile.
BUG_PAUSE_S = 10.0
# Pool connections the dispatcher uses at most at once (rounds and marks): the scheduler and the
# result writer share the pool, and alerts must never starve the checks' writes.
DB_CONNECTIONS = 3
# Reminders are looked for at most this often (and at once after a firing was sent): each look
# walks the open incidents.
REMINDER_GAP_S = 1.0
# A sender bounds its own exchange by the attempt's timeout; this much more is the hard stop for
# one that does not.
HARD_STOP_MARGIN_S = 1.0
ERROR_CHARS = 500
# A digest left for a channel that was busy (locked) this round is tried again this soon.
DIGEST_RETRY_S = 1.0


class Dispatcher:
    """run() as a watched task; stop() and drain() at shutdown; `bug`, `connected` and
    `in_flight` for /healthz. `retry` and `storm` default to docs/alerting.md's numbers."""

    def __init__(
        self,
        pool: asyncpg.Pool,
        dsn: str,
        settings: Settings,
        metrics: WorkerMetrics,
        *,
        retry: policy.RetryPolicy | None = None,
        storm: policy.StormPolicy | None = None,
        bug_pause_s: float = BUG_PAUSE_S,
    ) -> None:
        self._pool = pool
        self._metrics = metrics
        self._retry = retry or policy.RetryPolicy()
        self._storm = storm or policy.StormPolicy()
        self._bug_pause_s = bug_pause_s
        self._concurrency = settings.worker_alert_concurrency
        self._timeout_s = settings.worker_alert_timeout_s
        self._lease_s = settings.worker_alert_lease_s
        self._poll_s = settings.worker_alert_poll_s
        self._db_timeout_s = settings.worker_db_timeout_s
        self._public_url = settings.public_url
        self._claimer = f"{socket.gethostname()}/{os.getpid()}"
        self._listen = ListenConnection(
            dsn,
            {ALERTS_CHANNEL: self._on_notify},
            on_connect=self._on_connect,
            ping_s=settings.worker_listener_ping_s,
            connect_timeout_s=5.0,
            backoff=BACKOFF,
            log=log,
            events="alerting.listener",
        )
        self._db = asyncio.Semaphore(DB_CONNECTIONS)
        self._wake = asyncio.Event()  # something may be due: run a round
        self._interrupt = asyncio.Event()  # stop, or the database is back: end a failure pause
        self._stopping = False
        self._looping = False
        self._loop_ended = asyncio.Event()
        self._sending: dict[asyncio.Task[None], tuple[int, str]] = {}  # -> (delivery, token)
        self._session: aiohttp.ClientSession | None = None
        self._reminders_at = 0.0  # time.monotonic() of the next look for reminders
        self._last_reminders = -math.inf
        self._db_bug: str | None = None

    # -- what the worker reads and calls ---------------------------------------------------

    @property
    def bug(self) -> str | None:
        """What makes every round (or the LISTEN connection) fail, while it lasts."""
        return self._db_bug or self._listen.bug

    @property
    def connected(self) -> bool:
        return self._listen.connected

    @property
    def listen(self) -> ListenConnection:
        """The LISTEN connection (tests terminate its backend)."""
        return self._listen

    @property
    def in_flight(self) -> int:
        return len(self._sending)

    def wake(self) -> None:
        self._wake.set()

    def stop(self) -> None:
        """Claim nothing more; what is being sent finishes (drain())."""
        self._stopping = True
        self._wake.set()
        self._interrupt.set()

    async def run(self) -> None:
        """The loop, until stop(); the LISTEN connection runs beside it."""
        if self._session is None:
            self._session = aiohttp.ClientSession(
                connector=aiohttp.TCPConnector(limit=self._concurrency),
                timeout=aiohttp.ClientTimeout(total=self._timeout_s + HARD_STOP_MARGIN_S),
            )
        listen = asyncio.create_task(self._listen.run(), name="alert-listener")
        log.info("alerting.started", concurrency=self._concurrency, claimer=self._claimer)
        self._looping = True
        try:
            await self._loop()
        finally:
            self._loop_ended.set()
            listen.cancel()
            await asyncio.gather(listen, return_exceptions=True)

    async def drain(self, timeout: float) -> int:
        """Stop, let sends finish within `timeout`, cut the rest short and hand them back (due
        now, for any worker); close the HTTP session. Returns how many were cut short."""
        self.stop()
        end = time.monotonic() + max(0.0, timeout)
        if self._looping:
            # A round under way may still claim: what it claims is drained too.
            try:
                async with asyncio.timeout(max(0.0, end - time.monotonic())):
                    await self._loop_ended.wait()
            except TimeoutError:
                pass
        cut: list[tuple[int, str]] = []
        if self._sending:
            _, pending = await asyncio.wait(
                list(self._sending), timeout=max(0.0, end - time.monotonic())
            )
            cut = [self._sending[t] for t in pending if t in self._sending]
            for task in pending:
                task.cancel()
            await asyncio.gather(*pending, return_exceptions=True)
        if cut:
            await self._release(cut)
        if self._session is not None:
            await self._session.close()
            self._session = None
        return len(cut)

    # -- the loop --------------------------------------------------------------------------

    async def _loop(self) -> None:
        failures = 0
        while not self._stopping:
            self._wake.clear()
            self._interrupt.clear()
            try:
                async with asyncio.timeout(self._db_timeout_s):
                    pause = await self._round()
            except Exception as exc:  # noqa: BLE001 - classified in _failed
                failures += 1
                await self._sleep(self._failed(exc, failures), self._interrupt)
                continue
            failures = 0
            self._db_bug = None
            await self._sleep(pause, self._wake)

    async def _round(self) -> float:
        """One turn: reminders, suppressions, digests, the claim. Returns how long to sleep
        unless woken."""
        waits = [self._poll_s]
        now = time.monotonic()
        if now >= self._reminders_at:
            await self._make_reminders(now)
        waits.append(self._reminders_at - now)
        await self._suppress()
        held, digest_in_s = await self._digest()
        waits.append(digest_in_s)
        free = self._concurrency - len(self._sending)
        if free > 0:
            claimed = await self._claim(free, held)
            if claimed < free:
                # Everything claimable is claimed: sleep until the next thing comes due,
                # counting what came due since this round began (its suppress and claim ran
                # before it was due: without it, nothing would wake the loop for it).
                next_in_s = await self._fetchval("next_due", time.monotonic() - now)
                if next_in_s is not None:
                    waits.append(next_in_s)
        # With every slot taken, a send that ends wakes the loop.
        return max(0.0, min(waits))

    async def _make_reminders(self, now: float) -> None:
        row = await self._fetchrow("make_reminders")
        self._last_reminders = now
        next_in_s = row["next_in_s"]
        # The next look: when the next reminder is due, at the latest after a poll interval.
        ahead = self._poll_s if next_in_s is None else min(self._poll_s, next_in_s)
        self._reminders_at = now + max(REMINDER_GAP_S, ahead)
        if row["made"]:
            log.info("alerting.reminders", deliveries=row["made"])

    def _firing_sent(self) -> None:
        """A firing (or a digest) was sent: a reminder may be due for it now."""
        self._reminders_at = min(self._reminders_at, self._last_reminders + REMINDER_GAP_S)

    async def _suppress(self) -> None:
        for row in await self._fetch("suppress_due"):
            self._metrics.alert_notifications.labels(row["channel_kind"], "suppressed").inc()
            window_id = row["maintenance_window_id"]
            if window_id is not None:
                self._metrics.alert_held.labels(row["channel_kind"]).inc()
            log.info(
                "alerting.suppressed",
                delivery_id=row["id"],
                channel_id=row["channel_id"],
                kind=row["channel_kind"],
                event_kind=row["event_kind"],
                reason=row["reason"],
                maintenance_window_id=window_id,
            )

    async def _digest(self) -> tuple[list[int], float]:
        """Storm control: (channels whose deliveries never tried wait for a digest, seconds
        until the next digest is due)."""
        storm = self._storm
        held: list[int] = []
        due_now: list[int] = []
        wait = math.inf
        candidates = await self._fetch(
            "storm_candidates", storm.threshold, storm.window_s, storm.max_items
        )
        for row in candidates:
            if not storm.storming(row["recent"]):
                continue
            held.append(row["channel_id"])
            in_s = storm.digest_in_s(row["last_digest_age_s"], row["oldest_held_age_s"])
            if in_s <= 0:
                due_now.append(row["channel_id"])
            else:
                wait = min(wait, in_s)
        if due_now:
            made = await self._fetch("make_digests", due_now, storm.digest_every_s, storm.max_items)
            for row in made:
                self._metrics.alert_notifications.labels(row["channel_kind"], "collapsed").inc(
                    row["items"]
                )
                log.info(
                    "alerting.digest",
                    delivery_id=row["id"],
                    channel_id=row["channel_id"],
                    kind=row["channel_kind"],
                    items=row["items"],
                )
            if len(made) < len(due_now):
                wait = min(wait, DIGEST_RETRY_S)  # locked by a mark or another worker
        return held, wait

    async def _claim(self, free: int, held: list[int]) -> int:
        token = f"{self._claimer}/{uuid.uuid4().hex[:12]}"
        storm = self._storm
        rows = await self._fetch(
            "claim", free, self._lease_s, token, held, storm.threshold, storm.window_s
        )
        claimed_at = time.monotonic()
        for row in rows:
            claim = Claim.from_record(row)
            task = asyncio.create_task(
                self._deliver(claim, token, claimed_at), name=f"alert-delivery-{claim.id}"
            )
            self._sending[task] = (claim.id, token)
            task.add_done_callback(self._sent)
        return len(rows)

    def _sent(self, task: asyncio.Task[None]) -> None:
        self._sending.pop(task, None)
        self._wake.set()  # a slot is free
        if not task.cancelled() and (exc := task.exception()) is not None:
            log.error("alerting.delivery_bug", task=task.get_name(), exc_info=exc)

    def _failed(self, exc: Exception, failures: int) -> float:
        """A round failed: the pause before the next one."""
        fault = classify(exc)
        if fault in (DbFault.LOST, DbFault.BUSY):
            log.warning(
                "alerting.round_failed",
                fault=fault.value,
                error=describe(exc),
                detail=str(exc)[:200],
            )
            return BACKOFF.delay(failures)
        name = describe(exc)
        if self._db_bug != name:  # the traceback once, not at every retry
            log.error("alerting.bug", fault=fault.value, error=name, exc_info=exc)
        self._db_bug = name
        return self._bug_pause_s

    async def _sleep(self, seconds: float, event: asyncio.Event) -> None:
        if seconds <= 0 or self._stopping:
            return
        try:
            async with asyncio.timeout(seconds):
                await event.wait()
        except TimeoutError:
            pass

    def _on_notify(self, payload: str) -> None:
        self._wake.set()

    def _on_connect(self, reconnected: bool) -> None:
        # Notifications sent while the connection was away are gone: look again, now.
        self._wake.set()
        self._interrupt.set()

    # -- one delivery ----------------------------------------------------------------------

    async def _deliver(self, claim: Claim, token: str, claimed_at: float) -> None:
        kind = claim.channel_kind
        started = time.monotonic()
        outcome = await self._attempt(claim)
        took = time.monotonic() - started
        self._metrics.alert_attempt_duration.labels(kind).observe(took)
        verdict = policy.decide(outcome, claim.attempts, claim.age_s + took, self._retry)
        error = storable(verdict.error)[:ERROR_CHARS] if verdict.error else None
        marked = await self._mark(claim, token, claimed_at, verdict, error, outcome)
        self._metrics.alert_notifications.labels(kind, verdict.outcome).inc()
        fields: dict[str, Any] = {
            "delivery_id": claim.id,
            "channel_id": claim.channel_id,
            "kind": kind,
            "event_kind": claim.event_kind,
            "event_id": claim.event_id,
            "attempt": claim.attempts,
            "took_ms": round(took * 1000, 1),
        }
        if not marked:
            # Another worker holds it now (the lease expired): it sends again, same event id.
            log.warning("alerting.lease_lost", outcome=verdict.outcome, **fields)
        elif verdict.status == "sent":
            log.info("alerting.sent", **fields)
            if claim.event_kind in ("firing", "digest"):
                self._firing_sent()
        elif verdict.status == "pending":
            log.warning(
                "alerting.retry",
                error=error,
                status=outcome.status,
                retry_in_s=round(verdict.retry_in_s or 0.0, 1),
                **fields,
            )
        else:
            log.warning(
                "alerting.failed",
                error=error,
                status=outcome.status,
                broken=outcome.broken,
                **fields,
            )

    async def _attempt(self, claim: Claim) -> Outcome:
        """Send once; every failure is an Outcome."""
        try:
            message = deliveries.message(claim, self._public_url)
        except msgspec.ValidationError as exc:
            # The trigger wrote a payload this worker cannot read (a newer schema?): a bug,
            # retried so that a fixed worker sends it.
            log.error("alerting.bad_payload", delivery_id=claim.id, error=str(exc))
            return Outcome(ok=False, retry=True, error=storable(f"internal: bad payload: {exc}"))
        try:
            config = channels.decode(claim.channel_kind, claim.config)
        except channels.ConfigError as exc:
            return Outcome(ok=False, error=storable(f"invalid channel config: {exc}"))
        assert self._session is not None  # made by run()
        ctx = SendContext(session=self._session, timeout_s=self._timeout_s)
        try:
            async with asyncio.timeout(self._timeout_s + HARD_STOP_MARGIN_S):
                return await senders.send(ctx, claim.channel_kind, config, message)
        except TimeoutError:
            return Outcome(ok=False, retry=True, error="timeout")

    async def _mark(
        self,
        claim: Claim,
        token: str,
        claimed_at: float,
        verdict: policy.Verdict,
        error: str | None,
        outcome: Outcome,
    ) -> bool:
        """Record the verdict while the lease holds; an outage is retried until the lease is
        about to expire (then another worker sends it again). False: not marked by us."""
        give_up_at = claimed_at + self._lease_s - 1.0
        failures = 0
        while True:
            try:
                async with asyncio.timeout(self._db_timeout_s):
                    marked = await self._fetchval(
                        "mark",
                        claim.id,
                        token,
                        verdict.status,
                        verdict.retry_in_s,
                        error,
                        outcome.status,
                        outcome.broken,
                    )
                return bool(marked)
            except Exception as exc:  # noqa: BLE001 - classified here
                failures += 1
                pause = BACKOFF.delay(failures)
                fault = classify(exc)
                if fault in (DbFault.LOST, DbFault.BUSY) and time.monotonic() + pause < give_up_at:
                    await asyncio.sleep(pause)
                    continue
                log.error(
                    "alerting.mark_failed",
                    delivery_id=claim.id,
                    fault=fault.value,
                    error=describe(exc),
                    exc_info=exc if fault in (DbFault.BUG, DbFault.DATA) else False,
                )
                return False

    async def _release(self, cut: list[tuple[int, str]]) -> None:
        try:
            async with asyncio.timeout(2.0):
                async with self._db:
                    await self._pool.execute(Q["release"], [i for i, _ in cut], [t for _, t in cut])
            log.info("alerting.released", deliveries=len(cut))
        except Exception as exc:  # noqa: BLE001 - their leases expire instead
            log.warning("alerting.release_failed", deliveries=len(cut), error=describe(exc))

    # -- the pool, a few connections at most ----------------------------------------------

    async def _fetch(self, name: str, *args: object) -> list[asyncpg.Record]:
        async with self._db:
            return await self._pool.fetch(Q[name], *args)

    async def _fetchrow(self, name: str, *args: object) -> asyncpg.Record:
        async with self._db:
            row = await self._pool.fetchrow(Q[name], *args)
        assert row is not None  # every such statement returns one row
        return row

    async def _fetchval(self, name: str, *args: object) -> Any:
        async with self._db:
            return await self._pool.fetchval(Q[name], *args)
