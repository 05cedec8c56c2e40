"""The result writer: the bounded buffer (buffer.py) and the flushers that store it (sink.py).

A flush starts as soon as the previous one ends and takes everything buffered (up to
max_batch), so the batch grows with the load (group commit). When a backlog builds up, more
flushes run at once, up to `flushers`: while Postgres stores one, the event loop prepares the
next. One transaction per flush (flush.py) stores the checks with all their consequences.
While Postgres is unreachable the batch goes back to the buffer and is retried with backoff;
the buffer is bounded and what does not fit is dropped, counted and logged.
"""

from __future__ import annotations

import asyncio

import asyncpg

from vigil_core.dberrors import DbFault, classify, describe, is_retryable
from vigil_core.logging import get_logger
from vigil_core.models import CheckResult

from .buffer import ResultBuffer
from .flush import OfflineResult
from .metrics import WorkerMetrics
from .sink import ResultSink, StatementBroken, Stored

__all__ = ["BUG_PAUSE_S", "OfflineResult", "ResultWriter"]

log = get_logger("vigil_worker.results")

# How long a flusher waits after the database refused a batch for a reason no retry cures
# soon (a bug: an undefined column, a wrong argument count); /healthz reports it meanwhile.
BUG_PAUSE_S = 10.0


class ResultWriter:
    """What the worker sees of its results: add() per check, run() as a task, drain() at the
    end, and for /healthz len(), stalled_s(), dropped, connected and bug."""

    def __init__(
        self,
        pool: asyncpg.Pool,
        capacity: int,
        metrics: WorkerMetrics,
        max_batch: int = 5000,
        flushers: int = 3,
        bug_pause_s: float = BUG_PAUSE_S,
        *,
        sink: ResultSink | None = None,
    ) -> None:
        self._buffer = ResultBuffer(capacity, max_batch, metrics)
        self._sink = sink or ResultSink(pool, metrics)
        self._flushers = flushers
        self._bug_pause_s = bug_pause_s
        self.connected = True
        self.bug: str | None = None  # what makes every flush fail, while it lasts

    def __len__(self) -> int:
        return len(self._buffer)

    def add(self, result: CheckResult) -> None:
        self._buffer.add(result)

    @property
    def dropped(self) -> int:
        return self._buffer.dropped

    @property
    def last_progress_at(self) -> float:
        """When a flush last ended, stored or not (time.monotonic())."""
        return self._buffer.last_progress_at

    def stalled_s(self) -> float:
        """How long results have waited with no flush ending (0 when none wait)."""
        return self._buffer.stalled_s()

    async def drain(self) -> None:
        """Wait until everything added so far is written (run() must be running)."""
        await self._buffer.drain()

    async def write(self, batch: list[CheckResult]) -> None:
        """One flush of `batch` now, outside the buffer; raises what the database raised."""
        await self._sink.write(batch)

    async def run(self) -> None:
        """Flush until cancelled, with up to `flushers` flushes in flight."""
        flushers = [
            asyncio.create_task(self._flusher(), name=f"flusher-{i}") for i in range(self._flushers)
        ]
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
            batch = await self._buffer.next_batch()
            try:
                stored = await self._store(batch)
            except BaseException:
                self._buffer.give_back(batch)  # cancelled mid-write: keep the rows for drain()
                raise
            # Not stored (yet): the rest goes back to the front, in order, and waits.
            self._buffer.release(batch, stored.rest)
            if stored.dropped:
                self._buffer.drop(stored.dropped, "rejected")
            exc = stored.error
            if exc is None:
                backoff, self.bug = 0.1, None
                if not self.connected:
                    self.connected = True
                    log.info("results.reconnected", held=len(self))
                continue
            if not is_retryable(exc):
                self._report_bug(exc)
            if classify(exc) is DbFault.BUG or isinstance(exc, StatementBroken):
                await asyncio.sleep(self._bug_pause_s)
                continue
            self._note_failure(exc)
            await asyncio.sleep(backoff)
            backoff = min(backoff * 2, 2.0)

    async def _store(self, batch: list[CheckResult]) -> Stored:
        """Store one batch through the sink."""
        return await self._sink.store(batch)

    def _note_failure(self, exc: BaseException) -> None:
        """A batch not stored for a reason a retry may cure: the database is away or busy."""
        fault = classify(exc)
        if self.connected and fault is DbFault.LOST:
            self.connected = False
            log.warning("results.flush_failed", error=repr(exc), held=len(self))
        elif fault is DbFault.BUSY:
            log.warning("results.flush_busy", error=repr(exc), held=len(self))

    def _report_bug(self, exc: BaseException) -> None:
        """A flush that no retry will cure soon: say so once, with the traceback, and in health."""
        cause = exc.__cause__ if isinstance(exc, StatementBroken) and exc.__cause__ else exc
        name = describe(cause)
        if self.bug != name:
            log.error("results.flush_bug", error=name, held=len(self), exc_info=cause)
        self.bug = name
