"""The push intake: turns the pings the API stored (push_pings) into check results in the writer.

The API NOTIFYs `vigil_push` with the target's id after each ping; this worker's LISTEN
connection (vigil_core.listen) then wakes the intake, and tells the scheduler that the target's
schedule moved, so a `missed` slot it claimed for it is cancelled (re-anchored). A slow poll is
the safety net for notifications lost while the connection was down.

A claim deletes the rows (SKIP LOCKED, so workers share them) and adds one result per ping to
the ResultWriter, whose buffer survives database outages and is flushed at shutdown. A ping is
claimed only while the buffer has room for the whole batch, so none is dropped for space; what
a crash of this process loses is what it had not flushed yet (milliseconds of pings), as for
any check's result.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Sequence

import asyncpg

from vigil_core.db import load_queries
from vigil_core.dberrors import DbFault, classify, describe
from vigil_core.listen import Backoff, ListenConnection
from vigil_core.logging import get_logger
from vigil_core.models import CheckResult

from .metrics import WorkerMetrics
from .results import BUG_PAUSE_S, ResultWriter

Q = load_queries(__package__, "push.sql")
log = get_logger("vigil_worker.push")

PUSH_CHANNEL = "vigil_push"
DOWN_CLASS = "push_down"
FULL_RETRY_S = 0.2


def to_result(ping: asyncpg.Record) -> CheckResult:
    """A ping as a check result: up or down as it said, its duration as the latency."""
    ok, message = ping["ok"], ping["message"]
    return CheckResult(
        target_id=ping["target_id"],
        checked_at=ping["received_at"],
        ok=ok,
        latency_ms=ping["duration_ms"],
        error_class=None if ok else DOWN_CLASS,
        error_message=None if ok else (message or "the job reported status=down"),
        details={"message": message} if ok and message else None,
    )


class PushIntake:
    """run() as a watched task; stop() ends it after the batch in hand is in the writer."""

    def __init__(
        self,
        pool: asyncpg.Pool,
        dsn: str,
        writer: ResultWriter,
        metrics: WorkerMetrics,
        *,
        on_ping: Callable[[int], None],
        buffer_capacity: int,
        poll_s: float = 5.0,
        batch: int = 1000,
        ping_s: float = 10.0,
    ) -> None:
        self._pool = pool
        self._writer = writer
        self._metrics = metrics
        self._on_ping = on_ping
        self._capacity = buffer_capacity
        self._poll_s = poll_s
        self._batch = batch
        self._wake = asyncio.Event()
        self._stopping = False
        self._starved = False
        self.bug: str | None = None  # what makes every claim fail, while it lasts
        self._listen = ListenConnection(
            dsn,
            {PUSH_CHANNEL: self._on_notify},
            on_connect=lambda _reconnected: self._wake.set(),  # pings may wait: claim them
            ping_s=ping_s,
            connect_timeout_s=5.0,
            backoff=Backoff(first_s=0.2, max_s=10.0),
            log=log,
            events="push.listener",
        )

    @property
    def connected(self) -> bool:
        return self._listen.connected

    @property
    def listener_bug(self) -> str | None:
        return self._listen.bug

    def stop(self) -> None:
        self._stopping = True
        self._wake.set()

    async def run(self) -> None:
        listener = asyncio.create_task(self._listen.run(), name="push-listener")
        try:
            await self._loop()
        finally:
            listener.cancel()
            await asyncio.gather(listener, return_exceptions=True)

    async def _loop(self) -> None:
        backoff = 0.2
        while not self._stopping:
            self._wake.clear()
            try:
                more = True
                while more and not self._stopping:
                    more = await self._claim()
                self.bug, backoff = None, 0.2
                # no room in the writer: look again soon rather than at the next poll
                await self._sleep(FULL_RETRY_S if self._starved else self._poll_s)
            except Exception as exc:  # noqa: BLE001 - classified here
                if classify(exc) in (DbFault.BUG, DbFault.DATA):
                    if self.bug != describe(exc):
                        log.error("push.claim_bug", error=describe(exc), exc_info=exc)
                    self.bug = describe(exc)
                    await self._sleep(BUG_PAUSE_S)
                else:
                    log.warning("push.claim_failed", error=describe(exc))
                    await self._sleep(backoff)
                    backoff = min(backoff * 2, 5.0)

    async def _claim(self) -> bool:
        """Claim one batch into the writer; True when more may wait (a full batch)."""
        room = min(self._batch, self._capacity - len(self._writer))
        self._starved = room <= 0
        if self._starved:
            return False  # the writer is behind: the pings wait in their table, none is dropped
        rows: Sequence[asyncpg.Record] = await self._pool.fetch(Q["claim_pings"], room)
        for ping in sorted(rows, key=lambda r: r["id"]):
            result = to_result(ping)
            self._writer.add(result)
            self._count(result)
        if rows:
            log.debug("push.claimed", count=len(rows))
        return len(rows) == room

    def _count(self, result: CheckResult) -> None:
        self._metrics.per_check.counted("push", result.ok, DOWN_CLASS)

    def _on_notify(self, payload: str) -> None:
        self._wake.set()
        try:
            target_id = int(payload)
        except ValueError:
            log.warning("push.bad_payload", payload=payload[:200])
            return
        self._on_ping(target_id)

    async def _sleep(self, seconds: float) -> None:
        try:
            async with asyncio.timeout(seconds):
                await self._wake.wait()
        except TimeoutError:
            pass
