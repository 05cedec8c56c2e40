"""The worker process: listener, scheduler, result writer, history upkeep (maintenance), the
maintenance windows task and the alert dispatcher as named, watched tasks."""

from __future__ import annotations

import asyncio
import gc
import signal
import time

import asyncpg
from aiohttp import web

from vigil_core.db import create_pool
from vigil_core.logging import get_logger
from vigil_core.settings import Settings

from . import checks, maintenance
from .alerting.dispatcher import Dispatcher
from .checks import CheckContext
from .listener import Listener
from .metrics import WorkerMetrics, start_http
from .push import PushIntake
from .results import ResultWriter
from .scheduler import Scheduler
from .windows import MaintenanceWindows

log = get_logger("vigil_worker")

# A young-generation collection every 50,000 allocations instead of Python's 700. A flush of
# 5000 results allocates tens of thousands of short-lived objects (records, state objects,
# column lists); at the default the collector ran dozens of times per flush and rescanned the
# live batch each time. Measured on the scale scenario's writer step (100k targets, 200k
# results, 3 flushers): the writer's Python 102 -> 76 ms per 5000-row batch (74 with no
# collector at all), 33.5k -> 38.3k rows/s. Cycles are still collected, only less often.
GC_THRESHOLD = (50_000, 20, 20)


def tune_gc() -> None:
    """Collector settings for a worker process (and for benchmarks that stand in for one)."""
    gc.freeze()  # what start-up built (modules, classes) is never garbage: skip it for good
    gc.set_threshold(*GC_THRESHOLD)


class Worker:
    """One worker's parts, built by serve(); tests reach in through it."""

    def __init__(self, settings: Settings, metrics: WorkerMetrics) -> None:
        self.settings = settings
        self.metrics = metrics
        self.pool: asyncpg.Pool | None = None
        self.claim_pool: asyncpg.Pool | None = None
        self.scheduler: Scheduler | None = None
        self.writer: ResultWriter | None = None
        self.listener: Listener | None = None
        self.checks: CheckContext | None = None
        self.dispatcher: Dispatcher | None = None
        self.push: PushIntake | None = None
        self.windows: MaintenanceWindows | None = None
        self.dead_task: str | None = None  # a side task that died; the process is going down

    def health(self) -> tuple[bool, dict[str, object]]:
        """(healthy, details) for /healthz.

        A database outage is reported, not fatal: restarting would throw away the buffered
        results, and the worker reconnects by itself. Unhealthy means a restart cures it: the
        scheduler loop stopped turning, the writer is stuck (results wait and no flush has
        ended for worker_writer_stall_s), a part keeps failing on a bug, or a side task died.
        """
        s, w, li, d = self.scheduler, self.writer, self.listener, self.dispatcher
        if s is None or w is None or li is None or d is None:
            return False, {"reason": "starting"}
        problems: list[str] = []
        loop_age = time.monotonic() - s.last_loop_at
        if loop_age >= self.settings.worker_poll_interval_s + 30:
            problems.append(f"the scheduler loop has not turned for {loop_age:.0f}s")
        stalled = w.stalled_s()
        if stalled >= self.settings.worker_writer_stall_s:
            problems.append(
                f"the result writer has made no progress for {stalled:.0f}s "
                f"with {len(w)} results waiting"
            )
        for part, bug in (
            ("scheduler", s.bug),
            ("result writer", w.bug),
            ("listener", li.bug),
            ("alert dispatcher", d.bug),
            ("push intake", self.push.bug if self.push else None),
            ("push listener", self.push.listener_bug if self.push else None),
            ("maintenance windows task", self.windows.bug if self.windows else None),
        ):
            if bug:
                problems.append(f"the {part} fails on a bug: {bug}")
        if self.dead_task:
            problems.append(f"the {self.dead_task} task died")
        details: dict[str, object] = {
            "listener_connected": li.connected,
            "database_reachable": w.connected,
            "offline": s.offline,
            "in_flight": s.in_flight,
            "buffered": len(w),
            "alerts_listener_connected": d.connected,
            "alerts_in_flight": d.in_flight,
            "push_listener_connected": self.push.connected if self.push else None,
        }
        if problems:
            details["problems"] = problems
        return not problems, details


# Every worker statement takes a batch as arrays and reads or writes rows by key. A custom
# plan sees how long the arrays are, and at a few thousand ids it planned the flush's state
# update as a hash join over a scan of all of target_state (O(targets) per flush); the
# generic plan, made without the values, looks each row up by its key. Scale scenario's
# writer step (100k targets, three flushes at once): Postgres CPU per 5,000-row flush
# 101-110 -> 83-85 ms, 42.4-42.8k -> 47.0k rows/s.
SERVER_SETTINGS = {"plan_cache_mode": "force_generic_plan"}
# The claimer's own connection: claim_due's generic plan guesses a tenth of the schedule for
# its LIMIT $2 and joined that to targets by hashing all of them, O(targets) a claim. Without
# hash and merge joins it looks up the claimed rows by key. Postgres CPU per 1,000 checks,
# throughput-tcp --short at 10k targets: 37-39 -> 28-29 ms; at 100k targets and 1,000
# checks/s, 134-146 -> 79-83 us per check (bench/README.md, with the ctid update). A pool of its own because the
# settings are per connection, and a claim in a transaction with SET LOCAL would hold its
# rows' locks across round trips.
CLAIM_SETTINGS = {**SERVER_SETTINGS, "enable_hashjoin": "off", "enable_mergejoin": "off"}
# The windows task wakes at every boundary and on NOTIFY; its safety net is the scheduler's poll
# interval, at most this.
WINDOWS_SAFETY_S = 60.0


async def serve(
    settings: Settings,
    stop: asyncio.Event | None = None,
    *,
    metrics_port: int | None = None,
    metrics: WorkerMetrics | None = None,
    started: asyncio.Future | None = None,
) -> None:
    """Run a worker until `stop` is set, then shut down within settings.worker_grace_s."""
    dsn = settings.require_database_url()
    stop = stop or asyncio.Event()
    worker = Worker(settings, metrics or WorkerMetrics())
    m = worker.metrics
    port = settings.worker_metrics_port if metrics_port is None else metrics_port
    runner = None
    if port:
        try:
            runner = await start_http(m, port, worker.health, host=settings.worker_metrics_host)
        except OSError as exc:
            # Checks matter more than their metrics: keep running, loudly.
            log.error("metrics.bind_failed", port=port, error=str(exc))
    pool = worker.pool = await create_pool(
        dsn,
        min_size=1,
        max_size=settings.db_pool_max_size,
        timeout=5,
        server_settings=SERVER_SETTINGS,
        **settings.pool_options(),
    )
    # The scheduler claims one batch at a time: one connection.
    claim_pool = worker.claim_pool = await create_pool(
        dsn,
        min_size=1,
        max_size=1,
        timeout=5,
        server_settings=CLAIM_SETTINGS,
        **settings.pool_options(),
    )
    writer = worker.writer = ResultWriter(pool, settings.worker_result_buffer, m)
    # Every kind's shared resources (the HTTP session, the ICMP sockets) and the one resolver.
    check_ctx = worker.checks = await checks.start(settings)
    scheduler = worker.scheduler = Scheduler(
        pool,
        claim_pool,
        check_ctx,
        writer,
        m,
        concurrency=settings.worker_concurrency,
        claim_batch=settings.worker_claim_batch,
        poll_interval_s=settings.worker_poll_interval_s,
        lookahead_s=settings.worker_lookahead_s,
        dsn=dsn,
        db_timeout_s=settings.worker_db_timeout_s,
    )
    # Plans ahead, releases held firings, tells clients when maintenance starts or ends; woken
    # by the listener's vigil_maintenance, its own boundary timer and a safety net.
    windows = worker.windows = MaintenanceWindows(
        pool,
        m,
        safety_s=min(settings.worker_poll_interval_s, WINDOWS_SAFETY_S),
        db_timeout_s=settings.worker_db_timeout_s,
    )
    listener = worker.listener = Listener(
        dsn, scheduler, m, ping_s=settings.worker_listener_ping_s, windows=windows
    )
    # Alerts have their own LISTEN connection, HTTP session and concurrency: a slow receiver
    # costs a delivery slot, never a check's.
    dispatcher = worker.dispatcher = Dispatcher(pool, dsn, settings, m)
    # Pings become results in this writer; a ping tells the scheduler its target re-anchored.
    push = worker.push = PushIntake(
        pool,
        dsn,
        writer,
        m,
        on_ping=scheduler.notify_changed,
        buffer_capacity=settings.worker_result_buffer,
        poll_s=settings.worker_poll_interval_s,
        ping_s=settings.worker_listener_ping_s,
    )
    tasks = {
        "scheduler": asyncio.create_task(scheduler.run(), name="scheduler"),
        "listener": asyncio.create_task(listener.run(), name="listener"),
        "result-writer": asyncio.create_task(writer.run(), name="result-writer"),
        "maintenance": asyncio.create_task(
            maintenance.run(
                pool,
                settings.retention_days,
                settings.worker_maintenance_interval_s,
                settings.audit_retention_days,
            ),
            name="maintenance",
        ),
        "alert-dispatcher": asyncio.create_task(dispatcher.run(), name="alert-dispatcher"),
        "maintenance-windows": asyncio.create_task(windows.run(), name="maintenance-windows"),
        "push-intake": asyncio.create_task(push.run(), name="push-intake"),
    }
    stopper = asyncio.create_task(stop.wait(), name="stop")
    log.info("worker.started", concurrency=settings.worker_concurrency, metrics_port=port or None)
    if started is not None and not started.done():
        started.set_result(worker)
    failed: BaseException | None = None
    try:
        # A side task that dies takes the process down instead of leaving it half-alive.
        done, _ = await asyncio.wait(
            [*tasks.values(), stopper], return_when=asyncio.FIRST_COMPLETED
        )
        for task in done:
            if task is not stopper:
                failed = task.exception() or RuntimeError(f"task {task.get_name()} ended")
                worker.dead_task = task.get_name()
                log.error("worker.task_died", task=task.get_name(), exc_info=failed)
    finally:
        await _shutdown(worker, tasks, stopper, check_ctx, runner)
    if failed is not None:
        raise failed


async def _shutdown(
    worker: Worker,
    tasks: dict[str, asyncio.Task[None]],
    stopper: asyncio.Task[bool],
    check_ctx: CheckContext,
    runner: web.AppRunner | None,
) -> None:
    """Stop claiming, let checks and alert sends finish or time out, flush, all within the grace
    period."""
    settings = worker.settings
    scheduler, writer = worker.scheduler, worker.writer
    pool, claim_pool = worker.pool, worker.claim_pool
    dispatcher = worker.dispatcher
    assert scheduler is not None and writer is not None  # set by serve()
    assert pool is not None and claim_pool is not None
    assert dispatcher is not None
    end = time.monotonic() + settings.worker_grace_s
    reserve = min(5.0, settings.worker_grace_s / 4)  # kept for the final flush
    stopper.cancel()
    scheduler.stop_claiming()
    # Alert sends drain beside the checks; what is cut short goes back to pending for any worker.
    alerts_drained = asyncio.create_task(
        dispatcher.drain(max(0.0, end - time.monotonic() - reserve)), name="alert-drain"
    )
    for name in ("listener", "maintenance", "maintenance-windows"):
        tasks[name].cancel()
    # Stopped, not cancelled: pings it deleted are in the writer before the final flush.
    assert worker.push is not None
    worker.push.stop()
    try:
        await asyncio.wait_for(tasks["push-intake"], timeout=2)
    except BaseException:
        pass
    try:
        await asyncio.wait_for(tasks["scheduler"], timeout=2)
    except BaseException:
        pass
    cancelled = await scheduler.drain(max(0.0, end - time.monotonic() - reserve))
    try:
        # The writer keeps running (with its retries) until everything is written.
        if not tasks["result-writer"].done():
            await asyncio.wait_for(writer.drain(), timeout=max(0.1, end - time.monotonic() - 0.5))
    except TimeoutError:
        log.error("worker.final_flush_failed", lost=len(writer))
    tasks["result-writer"].cancel()
    cut_alerts = 0
    try:
        cut_alerts = await asyncio.wait_for(
            alerts_drained, timeout=max(0.1, end - time.monotonic())
        )
    except Exception:
        log.exception("worker.alert_drain_failed")
    tasks["alert-dispatcher"].cancel()
    await asyncio.gather(*tasks.values(), return_exceptions=True)
    await checks.stop(check_ctx)
    for p in (pool, claim_pool):
        try:
            await asyncio.wait_for(p.close(), timeout=max(0.1, end - time.monotonic()))
        except Exception:
            p.terminate()
    if runner is not None:
        await runner.cleanup()
    log.info(
        "worker.stopped",
        cancelled_checks=cancelled,
        unflushed=len(writer),
        dropped_total=writer.dropped,
        cut_alerts=cut_alerts,
    )


def run(settings: Settings, metrics_port: int | None = None) -> None:
    async def main() -> None:
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(sig, stop.set)
        await serve(settings, stop, metrics_port=metrics_port)

    tune_gc()
    try:
        # A cheaper event loop where available; see docs/worker.md for what was measured.
        import uvloop
    except ImportError:
        asyncio.run(main())
    else:
        uvloop.run(main())
