"""A bounded result buffer flushed in batches: each flush starts as soon as the previous one ends."""

from __future__ import annotations

import asyncio
from collections import deque

import asyncpg

from vigil_core.db import load_queries
from vigil_core.logging import get_logger
from vigil_core.models import CheckResult

Q = load_queries(__package__)
log = get_logger("vigil_worker.results")


class ResultWriter:
    def __init__(self, pool: asyncpg.Pool, capacity: int, max_batch: int = 5000) -> None:
        self._pool = pool
        self._buffer: deque[CheckResult] = deque()
        self._capacity = capacity
        self._max_batch = max_batch
        self._pending = asyncio.Event()
        self.dropped = 0

    def __len__(self) -> int:
        return len(self._buffer)

    def add(self, result: CheckResult) -> None:
        if len(self._buffer) >= self._capacity:
            self.dropped += 1
            log.warning("results.dropped", target_id=result.target_id, dropped_total=self.dropped)
            return
        self._buffer.append(result)
        self._pending.set()

    async def run(self) -> None:
        """Flush until cancelled; on a database error the batch goes back and is retried."""
        backoff = 0.2
        while True:
            await self._pending.wait()
            self._pending.clear()
            while self._buffer:
                n = min(len(self._buffer), self._max_batch)
                batch = [self._buffer.popleft() for _ in range(n)]
                try:
                    await self._write(batch)
                    backoff = 0.2
                except (OSError, asyncpg.PostgresError, asyncpg.InterfaceError) as exc:
                    self._buffer.extendleft(reversed(batch))
                    log.warning("results.flush_failed", error=repr(exc), held=len(self._buffer))
                    await asyncio.sleep(backoff)
                    backoff = min(backoff * 2, 5.0)

    async def flush(self) -> None:
        """Write everything held now (used at shutdown)."""
        while self._buffer:
            n = min(len(self._buffer), self._max_batch)
            batch = [self._buffer.popleft() for _ in range(n)]
            await self._write(batch)

    async def _write(self, batch: list[CheckResult]) -> None:
        cols = _columns(batch)
        async with self._pool.acquire() as conn, conn.transaction():
            await conn.execute(
                Q["insert_checks"], cols["target_id"], cols["checked_at"], cols["due_at"],
                cols["ok"], cols["latency_ms"], cols["status_code"], cols["error_class"],
                cols["error_message"], cols["timings"],
            )
            await conn.execute(
                Q["update_last_results"], cols["target_id"], cols["checked_at"], cols["ok"],
                cols["latency_ms"], cols["status_code"], cols["error_class"], cols["error_message"],
            )
        log.debug("results.flushed", rows=len(batch))


def _columns(batch: list[CheckResult]) -> dict[str, list]:
    names = ("target_id", "checked_at", "due_at", "ok", "latency_ms", "status_code",
             "error_class", "error_message", "timings")
    return {name: [getattr(r, name) for r in batch] for name in names}
