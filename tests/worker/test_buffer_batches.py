"""The result buffer's batches under load: a result after a quiet spell goes at once; under a
steady load a small backlog waits for the flush interval and goes as one batch; a large
backlog never waits."""

from __future__ import annotations

import asyncio
import datetime as dt
import time

from vigil_core.models import CheckResult
from vigil_worker.buffer import LINGER_ROWS, ResultBuffer
from vigil_worker.metrics import WorkerMetrics

T0 = dt.datetime(2026, 1, 1, tzinfo=dt.UTC)
INTERVAL_S = 0.5  # long enough to tell a wait from none on a busy machine


def _result(i: int) -> CheckResult:
    return CheckResult(target_id=i, checked_at=T0, due_at=T0, ok=True, latency_ms=1.0)


def _buffer(max_batch: int = 1000) -> ResultBuffer:
    return ResultBuffer(10_000, max_batch, WorkerMetrics(), min_interval_s=INTERVAL_S)


async def _timed_batch(buffer: ResultBuffer) -> tuple[list[CheckResult], float]:
    started = time.monotonic()
    async with asyncio.timeout(10):
        batch = await buffer.next_batch()
    return batch, time.monotonic() - started


async def test_a_result_after_a_quiet_spell_goes_at_once() -> None:
    buffer = _buffer()
    buffer.add(_result(1))
    batch, waited = await _timed_batch(buffer)
    assert [r.target_id for r in batch] == [1] and waited < INTERVAL_S / 2, waited
    buffer.release(batch)
    # A few more, arriving slower than a steady load, right after: at once too.
    buffer.add(_result(2))
    batch, waited = await _timed_batch(buffer)
    assert [r.target_id for r in batch] == [2] and waited < INTERVAL_S / 2, waited


async def test_a_steady_load_is_gathered_into_one_batch_per_interval() -> None:
    buffer = _buffer()
    buffer.add(_result(0))
    first, _ = await _timed_batch(buffer)
    taken_at = time.monotonic()
    buffer.release(first)
    for i in range(1, LINGER_ROWS + 5):  # a steady load: more than LINGER_ROWS at once
        buffer.add(_result(i))
    batch, _ = await _timed_batch(buffer)
    assert len(batch) == LINGER_ROWS + 4
    assert time.monotonic() - taken_at >= INTERVAL_S * 0.9


async def test_a_large_backlog_never_waits() -> None:
    buffer = _buffer(max_batch=100)  # a backlog of a tenth of a batch (10) goes at once
    buffer.add(_result(0))
    first, _ = await _timed_batch(buffer)
    buffer.release(first)
    for i in range(1, 50):
        buffer.add(_result(i))
    batch, waited = await _timed_batch(buffer)
    assert len(batch) == 49 and waited < INTERVAL_S / 2, waited


async def _after_a_steady_batch() -> tuple[ResultBuffer, float]:
    """A buffer that has just given out a batch gathered from a steady load, and when."""
    buffer = _buffer()
    buffer.add(_result(0))
    first, _ = await _timed_batch(buffer)
    buffer.release(first)
    for i in range(1, LINGER_ROWS + 5):
        buffer.add(_result(i))
    gathered, _ = await _timed_batch(buffer)
    taken_at = time.monotonic()
    assert len(gathered) == LINGER_ROWS + 4
    buffer.release(gathered)
    return buffer, taken_at


async def test_a_steady_load_stays_gathered_after_each_batch() -> None:
    """The first result after a batch of a steady load waits for the interval too: the rate
    of the interval before says it is a load. Before, it went alone whenever a flusher was
    free, and at 1,000 checks/s a flush held 8-11 rows instead of 25 (bench scaling)."""
    buffer, taken_at = await _after_a_steady_batch()
    buffer.add(_result(100))  # one result, just after the batch went
    batch, _ = await _timed_batch(buffer)
    assert [r.target_id for r in batch] == [100]
    assert time.monotonic() - taken_at >= INTERVAL_S * 0.9


async def test_a_load_that_slowed_down_does_not_hold_a_result_back() -> None:
    """The interval before counts only while it is recent: a result after a quiet spell that
    followed a steady load goes at once."""
    buffer, _ = await _after_a_steady_batch()
    await asyncio.sleep(INTERVAL_S)  # the load has stopped
    buffer.add(_result(100))
    batch, waited = await _timed_batch(buffer)
    assert [r.target_id for r in batch] == [100] and waited < INTERVAL_S / 2, waited
