"""The bounded result buffer: checks add results, flushes take them in batches, oldest first.
Under a steady load a small backlog waits for MIN_FLUSH_INTERVAL_S after the last flush began.

Batches in flight never share a target: results of a target whose flush is running stay here,
in order, until it ends, so a target's results are applied in order and two flushes never wait
on each other's row locks. What does not fit is dropped, counted and logged.
"""

from __future__ import annotations

import asyncio
import time
from collections import deque
from collections.abc import Sequence

from vigil_core.logging import get_logger
from vigil_core.models import CheckResult

from .metrics import WorkerMetrics

log = get_logger("vigil_worker.results")

# Under a steady load a small backlog waits until this long after the last flush began, so
# that it is written in batches rather than a few rows at a time: a flush costs the worker and
# Postgres 1.5-3 ms whatever its size, and at 1,000 checks/s back-to-back flushes held 3-7 rows
# each (bench scaling). A steady load is results arriving fast enough to fill LINGER_ROWS in
# that time (400 a second); slower ones, a first result after a quiet spell, or a backlog of a
# tenth of a batch go at once, so the time to a visible result grows only under such a load,
# and by at most this.
MIN_FLUSH_INTERVAL_S = 0.025
LINGER_ROWS = 10
LINGER_MIN_EVIDENCE = 3  # results since the last take before their rate counts


class ResultBuffer:
    """Up to `capacity` results, held or in flight; batches of up to `max_batch`."""

    def __init__(
        self,
        capacity: int,
        max_batch: int,
        metrics: WorkerMetrics,
        min_interval_s: float = MIN_FLUSH_INTERVAL_S,
    ) -> None:
        self._results: deque[CheckResult] = deque()
        self._min_interval_s = min_interval_s
        self._last_take = float("-inf")  # when the last batch was taken (time.monotonic())
        self._added = 0  # results added so far
        self._added_at_take = 0  # ... when the last batch was taken
        # The rows that arrived between the two last takes, and over how long: a steady load's
        # rate is known from them the moment a batch has gone, before new evidence builds up.
        self._prev_added, self._prev_gap_s = 0, float("inf")
        self._capacity = capacity
        self._max_batch = max_batch
        # Below this backlog one flush at a time: a light load keeps its batches (and its
        # commits) few; above it the flushes overlap.
        self._parallel_from = max(1, max_batch // 10)
        self._metrics = metrics
        self._pending = asyncio.Event()  # a flusher should look at the buffer
        self._idle = asyncio.Event()  # nothing is in flight
        self._idle.set()
        self._writing = 0  # results in flight
        self._busy: set[int] = set()  # targets of the batches in flight
        self.dropped = 0
        self._last_drop_log = 0.0
        # For /healthz: when a flush last ended (stored or not) and since when results wait.
        self.last_progress_at = self._waiting_since = time.monotonic()
        metrics.buffer_depth.set_function(lambda: len(self))  # read at scrape time

    def __len__(self) -> int:
        return len(self._results) + self._writing

    def add(self, result: CheckResult) -> None:
        n = len(self)
        if n >= self._capacity:
            self.drop(1, "buffer_full")
            return
        if not n:
            self._waiting_since = time.monotonic()
        self._results.append(result)
        self._added += 1
        if not self._writing or len(self._results) >= self._parallel_from:
            self._pending.set()

    def drop(self, n: int, reason: str) -> None:
        """`n` results are lost (no room, or refused even as a stand-in): count and log them."""
        self.dropped += n
        self._metrics.dropped.inc(n)
        now = time.monotonic()
        if now - self._last_drop_log >= 1.0:  # at most one line a second, with the running total
            self._last_drop_log = now
            log.warning(
                "results.dropped",
                reason=reason,
                dropped_total=self.dropped,
                capacity=self._capacity,
            )

    def stalled_s(self) -> float:
        """How long results have waited with no flush ending (0 when none wait)."""
        if not len(self):
            return 0.0
        return time.monotonic() - max(self.last_progress_at, self._waiting_since)

    async def next_batch(self) -> list[CheckResult]:
        """The next batch a flusher should store: it waits while one flush is enough for the
        backlog, or while everything held belongs to targets in flight."""
        while True:
            await self._pending.wait()
            small = len(self._results) < self._parallel_from
            if self._writing and small:
                self._pending.clear()  # one flush is enough for now; its end wakes us
                continue
            if small and (wait_s := self._linger_s()) > 0:
                await asyncio.sleep(wait_s)  # gather what arrives meanwhile into this batch
                continue
            batch = self._take()
            if batch:
                now = time.monotonic()
                self._prev_added = self._added - self._added_at_take
                self._prev_gap_s = now - self._last_take
                self._last_take, self._added_at_take = now, self._added
                return batch
            self._pending.clear()  # everything held belongs to targets in flight

    def _linger_s(self) -> float:
        """How long a small backlog should wait for more (0: go now); see MIN_FLUSH_INTERVAL_S."""
        since = time.monotonic() - self._last_take
        if since >= self._min_interval_s:
            return 0.0
        # The arrival rate since the last batch was taken, or else between the two takes
        # before. Without the previous interval, the first result after each take went alone
        # whenever a flusher was free: at 1,000 checks/s 8-11 rows a flush instead of 25.
        steady = self._steady(self._added - self._added_at_take, since) or self._steady(
            self._prev_added, self._prev_gap_s
        )
        return self._min_interval_s - since if steady else 0.0

    def _steady(self, added: int, over_s: float) -> bool:
        """`added` results in `over_s` are a steady load: a rate that fills LINGER_ROWS in
        MIN_FLUSH_INTERVAL_S, shown by enough of them (a result or two, a burst rather than a
        load, say nothing of it)."""
        expected = added * self._min_interval_s / max(over_s, 1e-6)
        return added >= LINGER_MIN_EVIDENCE and expected >= LINGER_ROWS

    def release(self, batch: list[CheckResult], unstored: Sequence[CheckResult] = ()) -> None:
        """A flush of `batch` ended (stored or not): what it did not store goes back to the
        front, in order, and its targets are free again."""
        self.last_progress_at = time.monotonic()
        self._results.extendleft(reversed(unstored))
        self._free(batch)

    def give_back(self, batch: list[CheckResult]) -> None:
        """A flush cancelled mid-write: its batch goes back to the front, in order (for drain)."""
        self._results.extendleft(reversed(batch))
        self._free(batch)

    async def drain(self) -> None:
        """Wait until everything added so far is written (flushers must be running)."""
        while self._results or self._writing:
            self._pending.set()
            await self._idle.wait()
            if self._results or self._writing:
                await asyncio.sleep(0.01)

    def _take(self) -> list[CheckResult]:
        """Up to max_batch results, oldest first, of targets no flush in flight holds."""
        results, busy = self._results, self._busy
        batch: list[CheckResult]
        if not busy:
            batch = [results.popleft() for _ in range(min(len(results), self._max_batch))]
        else:
            batch = []
            held: list[CheckResult] = []
            while results and len(batch) < self._max_batch:
                r = results.popleft()
                (held if r.target_id in busy else batch).append(r)
            results.extendleft(reversed(held))  # they keep their place, in order
        if not results:
            self._pending.clear()
        busy.update(r.target_id for r in batch)
        self._writing += len(batch)
        self._idle.clear()
        return batch

    def _free(self, batch: list[CheckResult]) -> None:
        """`batch` is no longer in flight: its targets are free again."""
        self._writing -= len(batch)
        self._busy.difference_update(r.target_id for r in batch)
        if self._results:
            self._pending.set()  # held results of these targets may go now
        elif not self._writing:
            self._idle.set()
