"""Claims due slots with SKIP LOCKED and runs each check under its deadline, with bounded concurrency."""

from __future__ import annotations

import asyncio
import time
from datetime import datetime, timezone

import asyncpg

from vigil_core.db import load_queries
from vigil_core.logging import get_logger
from vigil_core.models import CheckResult

from .checks import REGISTRY, CheckContext, ClaimedTarget, Outcome
from .checks.base import failure
from .results import ResultWriter

Q = load_queries(__package__)
log = get_logger("vigil_worker.scheduler")


class Scheduler:
    def __init__(
        self,
        pool: asyncpg.Pool,
        ctx: CheckContext,
        writer: ResultWriter,
        wake: asyncio.Event,
        *,
        concurrency: int,
        claim_batch: int,
        poll_interval_s: float,
        lookahead_s: float = 0.5,
    ) -> None:
        self._pool = pool
        self._ctx = ctx
        self._writer = writer
        self._wake = wake
        self._concurrency = concurrency
        self._claim_batch = claim_batch
        self._poll_interval_s = poll_interval_s
        self._lookahead_s = lookahead_s
        self._inflight: set[asyncio.Task] = set()

    async def run(self) -> None:
        backoff = 0.2
        while True:
            self._wake.clear()
            try:
                claimed = await self._claim()
                next_due = await self._pool.fetchval(Q["next_due"])
                backoff = 0.2
            except (OSError, asyncpg.PostgresError, asyncpg.InterfaceError) as exc:
                log.warning("scheduler.claim_failed", error=repr(exc), retry_in_s=backoff)
                await asyncio.sleep(backoff)
                backoff = min(backoff * 2, 5.0)
                continue
            for target in claimed:
                task = asyncio.create_task(self._run_one(target), name=f"check-{target.id}")
                self._inflight.add(task)
                task.add_done_callback(self._inflight.discard)
            if len(claimed) == self._claim_batch and self._free_slots() > 0:
                continue  # more is due right now
            await self._sleep(next_due)

    async def drain(self) -> None:
        """Wait for in-flight checks (each ends by its own deadline)."""
        if self._inflight:
            await asyncio.gather(*self._inflight, return_exceptions=True)

    def _free_slots(self) -> int:
        return self._concurrency - len(self._inflight)

    async def _claim(self) -> list[ClaimedTarget]:
        limit = min(self._claim_batch, self._free_slots())
        if limit <= 0:
            return []
        rows = await self._pool.fetch(Q["claim_due"], self._lookahead_s, limit)
        return [ClaimedTarget(**dict(r)) for r in rows]

    async def _sleep(self, next_due: datetime | None) -> None:
        timeout = self._poll_interval_s
        if next_due is not None:
            until_due = (next_due - datetime.now(timezone.utc)).total_seconds() - self._lookahead_s
            timeout = max(0.0, min(timeout, until_due))
        if self._free_slots() <= 0:
            timeout = min(timeout, 0.05)
        try:
            async with asyncio.timeout(timeout):
                await self._wake.wait()
        except TimeoutError:
            pass

    async def _run_one(self, target: ClaimedTarget) -> None:
        delay = (target.due_at - datetime.now(timezone.utc)).total_seconds()
        if delay > 0:
            await asyncio.sleep(delay)
        check = REGISTRY.get(target.kind)
        checked_at = datetime.now(timezone.utc)
        started = time.perf_counter()
        if check is None:
            outcome = failure("unsupported", f"no check for kind {target.kind!r}")
        else:
            try:
                async with asyncio.timeout(target.timeout_s):
                    outcome = await check(target, self._ctx)
            except TimeoutError:
                outcome = failure("timeout", f"no answer within {target.timeout_s:g}s")
        latency_ms = (time.perf_counter() - started) * 1000.0
        self._writer.add(_result(target, outcome, checked_at, latency_ms))
        log.debug("check.done", target_id=target.id, ok=outcome.ok, latency_ms=round(latency_ms, 2),
                  error_class=outcome.error_class)


def _result(target: ClaimedTarget, outcome: Outcome, checked_at: datetime, latency_ms: float) -> CheckResult:
    return CheckResult(
        target_id=target.id,
        checked_at=checked_at,
        due_at=target.due_at,
        ok=outcome.ok,
        latency_ms=latency_ms,
        status_code=outcome.status_code,
        error_class=outcome.error_class,
        error_message=outcome.error_message,
        timings=outcome.timings,
        tls_expires_at=outcome.tls_expires_at,
    )
