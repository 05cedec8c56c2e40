"""The worker process: listener, scheduler and result writer as named, watched tasks."""

from __future__ import annotations

import asyncio
import signal

from vigil_core.db import create_pool
from vigil_core.logging import get_logger
from vigil_core.settings import Settings

from .checks import CheckContext
from .checks.http import new_session
from .listener import Listener
from .results import ResultWriter
from .scheduler import Scheduler

log = get_logger("vigil_worker")


async def serve(settings: Settings, stop: asyncio.Event | None = None) -> None:
    dsn = settings.require_database_url()
    stop = stop or asyncio.Event()
    pool = await create_pool(dsn, min_size=1, max_size=settings.db_pool_max_size)
    wake = asyncio.Event()
    writer = ResultWriter(pool, capacity=settings.worker_result_buffer)
    listener = Listener(dsn, wake)
    async with new_session() as http:
        scheduler = Scheduler(
            pool, CheckContext(http=http), writer, wake,
            concurrency=settings.worker_concurrency,
            claim_batch=settings.worker_claim_batch,
            poll_interval_s=settings.worker_poll_interval_s,
        )
        tasks = [
            asyncio.create_task(listener.run(), name="listener"),
            asyncio.create_task(scheduler.run(), name="scheduler"),
            asyncio.create_task(writer.run(), name="result-writer"),
        ]
        stopper = asyncio.create_task(stop.wait(), name="stop")
        log.info("worker.started", concurrency=settings.worker_concurrency)
        # A side task that dies takes the process down instead of leaving it half-alive.
        done, _ = await asyncio.wait([*tasks, stopper], return_when=asyncio.FIRST_COMPLETED)
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        await scheduler.drain()
        try:
            await asyncio.wait_for(writer.flush(), timeout=10)
        except Exception as exc:  # the database may be gone at shutdown
            log.error("worker.final_flush_failed", error=repr(exc), lost=len(writer))
        await pool.close()
        for task in done:
            if task is not stopper and task.exception():
                raise task.exception()
    log.info("worker.stopped")


def run(settings: Settings) -> None:
    async def main() -> None:
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(sig, stop.set)
        await serve(settings, stop)

    asyncio.run(main())
