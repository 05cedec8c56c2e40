"""scale: 100k targets and 30 days of synthetic history generated in SQL; API reads, result writes, worker RSS.

1. Targets, state, hourly roll-ups and the last hour of raw checks are generated straight in SQL.
2. Sequential GETs through `vigil api`: the summary's first page and one target's 30-day uptime,
   with GET /api/v1/targets/{id} as the floor.
3. The worker's own ResultWriter stores synthetic results for every target; COPY of the same rows
   into `checks` (nothing else) is the ceiling.
4. Disk bytes per million checks and per target-day of roll-ups.
5. A worker runs with every target scheduled (spread over the interval); its peak RSS is sampled.
"""

from __future__ import annotations

import asyncio
import gc
import random
import time
from datetime import UTC, datetime, timedelta

import aiohttp

from tests.support import bearer, free_port
from vigil_core.db import connect, create_pool
from vigil_core.models import CheckResult
from vigil_worker.main import SERVER_SETTINGS, tune_gc
from vigil_worker.metrics import WorkerMetrics
from vigil_worker.results import ResultWriter

from ..harness.db import Q, spread_schedule
from ..harness.history import generate
from ..harness.http import RouteMissing, latencies
from ..harness.lab import Lab
from ..harness.procs import wait_http
from ..harness.report import Goal, Report
from ..harness.stats import ratio

NAME = "scale"
SIZES = {
    "tiny": {
        "targets": 500,
        "rollup_hours": 48,
        "raw_hours": 1,
        "requests": 30,
        "writes": 5000,
        "interval_s": 60,
        "worker_s": 3.0,
        "repeat": 1,
    },
    "short": {
        "targets": 100_000,
        "rollup_hours": 48,
        "raw_hours": 1,
        "requests": 300,
        "writes": 200_000,
        "interval_s": 300,
        "worker_s": 20.0,
        "repeat": 3,
    },
    "full": {
        "targets": 100_000,
        "rollup_hours": 720,
        "raw_hours": 1,
        "requests": 1000,
        "writes": 500_000,
        "interval_s": 300,
        "worker_s": 60.0,
        "repeat": 3,
    },
}


async def run(lab: Lab, size: str, p: dict) -> Report:
    report = Report(NAME, size, p)
    for name, unit in [
        ("summary_p50_ms", "ms"),
        ("summary_p99_ms", "ms"),
        ("uptime_30d_p50_ms", "ms"),
        ("uptime_30d_p99_ms", "ms"),
        ("floor_get_target_p50_ms", "ms"),
        ("floor_get_target_p99_ms", "ms"),
        ("writer_rows_per_s", "rows/s"),
        ("copy_rows_per_s", "rows/s"),
        ("writer_vs_copy", "x"),
        ("checks_bytes_per_million", "bytes"),
        ("rollup_bytes_per_target_day", "bytes"),
        ("worker_peak_rss_mb", "MB"),
        ("worker_checks_per_s", "checks/s"),
    ]:
        report.figure(name, unit)
    report.goals = [
        Goal("summary_p99_ms", "<=", 20, "GET /api/v1/summary first page p99 <= 20 ms"),
        Goal("uptime_30d_p99_ms", "<=", 10, "30-day uptime of one target p99 <= 10 ms"),
        Goal("writer_rows_per_s", ">=", 50_000, "result writes sustained >= 50k rows/s"),
        Goal("worker_peak_rss_mb", "<=", 200, "worker RSS <= 200 MB with every target scheduled"),
    ]

    nginx_port = await lab.nginx()
    db_url = await lab.database()
    conn = await connect(db_url)
    try:
        took = await generate(
            conn,
            targets=p["targets"],
            address=f"http://127.0.0.1:{nginx_port}/",
            interval_s=p["interval_s"],
            rollup_hours=p["rollup_hours"],
            raw_hours=p["raw_hours"],
            raw_every_s=60,
            progress=size != "tiny",
        )
        rollup_rows = p["targets"] * p["rollup_hours"]
        report.notes.append(
            "generated in SQL: "
            + ", ".join(f"{k[:-2]} {v:.1f}s" for k, v in took.items())
            + f" ({rollup_rows / max(took['rollups_s'], 1e-9):,.0f} roll-up rows/s)"
        )
        first, last = await conn.fetchrow(Q["target_id_range"])

        api_port = free_port()
        api = lab.vigil("api", ["api", "--port", str(api_port)], db_url)
        base = f"http://127.0.0.1:{api_port}"
        await wait_http(f"{base}/healthz", api)
        headers = bearer(await lab.token(db_url, "read"))
        for _ in range(p["repeat"]):
            figures = await _api_latency(base, headers, first, last, p["requests"], report)
            figures.update(await _writes(db_url, first, last, p["writes"]))
            report.add_run(figures)
        lab.forget(api)

        checks_bytes = await conn.fetchval(Q["table_bytes"], "checks")
        checks_rows = await conn.fetchval(Q["count_checks"])
        rollup_bytes = await conn.fetchval(
            Q["table_bytes"], "check_rollups_hourly"
        ) + await conn.fetchval(Q["table_bytes"], "check_rollups_daily")
        runs_rss = await _worker_rss(lab, db_url, conn, first, last, p)
        for run in report.runs:
            run["checks_bytes_per_million"] = ratio(checks_bytes * 1e6, checks_rows)
            run["rollup_bytes_per_target_day"] = ratio(rollup_bytes * 24, rollup_rows)
            run.update(runs_rss)
    finally:
        await conn.close()
    return report


async def _api_latency(
    base: str, headers: dict[str, str], first: int, last: int, count: int, report: Report
) -> dict:
    out: dict[str, float | None] = {}
    pick = lambda rng: rng.randint(first, last)  # noqa: E731
    routes = {
        "summary": lambda rng: f"{base}/api/v1/summary",
        "uptime_30d": lambda rng: f"{base}/api/v1/targets/{pick(rng)}/uptime?window=30d",
        "floor_get_target": lambda rng: f"{base}/api/v1/targets/{pick(rng)}",
    }
    async with aiohttp.ClientSession(headers=headers) as session:
        for name, make_url in routes.items():
            try:
                await latencies(session, make_url, 5)  # warm the connection and the plans
                lat = await latencies(session, make_url, count)
            except RouteMissing as exc:
                report.unmeasured(name, str(exc))
                continue
            out[f"{name}_p50_ms"] = lat["p50"]
            out[f"{name}_p99_ms"] = lat["p99"]
    return out


_MICROSECOND = timedelta(microseconds=1)


def _synthetic(first: int, last: int, n: int, start: datetime) -> list[CheckResult]:
    """n results over a minute from `start`, round-robin over the targets, in the order they
    were checked: a worker checks a target's slots in order, and a result older than the
    target's last one (stored, but it does not move the state) is the exception. Each run
    starts after the last check already stored, or a repeat would be mostly such results."""
    rng = random.Random(7)
    out = []
    for i in range(n):
        ok = rng.random() > 0.01
        t = start + timedelta(milliseconds=60_000 * i // n)
        out.append(
            CheckResult(
                target_id=first + i % (last - first + 1),
                checked_at=t,
                due_at=t,
                ok=ok,
                latency_ms=5 + 20 * rng.random(),
                status_code=200 if ok else 503,
                error_class=None if ok else "status",
                error_message=None if ok else "unexpected status 503",
            )
        )
    return out


async def _writes(db_url: str, first: int, last: int, n: int) -> dict:
    """The worker's ResultWriter, running as in the worker, against COPY of the same rows (the ceiling)."""
    pool = await create_pool(db_url, min_size=1, max_size=4, server_settings=SERVER_SETTINGS)
    latest = await pool.fetchval(Q["latest_check"])
    results = _synthetic(first, last, n, max(latest, datetime.now(UTC) - timedelta(seconds=60)))
    threshold = gc.get_threshold()
    tune_gc()  # the collector settings of a `vigil worker` process
    try:
        writer = ResultWriter(pool, capacity=n + 1, metrics=WorkerMetrics())
        for r in results:
            writer.add(r)
        t = time.perf_counter()
        flushing = asyncio.create_task(writer.run())
        try:
            await writer.drain()
        finally:
            flushing.cancel()
        writer_s = time.perf_counter() - t

        # The same rows a microsecond later: the same work for COPY, and no clash with the
        # rows the writer just stored.
        records = [
            (
                r.target_id,
                r.checked_at + _MICROSECOND,
                r.due_at,
                r.ok,
                r.latency_ms,
                r.status_code,
                r.error_class,
                r.error_message,
            )
            for r in results
        ]
        async with pool.acquire() as conn:
            t = time.perf_counter()
            await conn.copy_records_to_table(
                "checks",
                records=records,
                columns=[
                    "target_id",
                    "checked_at",
                    "due_at",
                    "ok",
                    "latency_ms",
                    "status_code",
                    "error_class",
                    "error_message",
                ],
            )
            copy_s = time.perf_counter() - t
    finally:
        gc.unfreeze()
        gc.set_threshold(*threshold)
        await pool.close()
    return {
        "writer_rows_per_s": n / writer_s,
        "copy_rows_per_s": n / copy_s,
        "writer_vs_copy": (n / writer_s) / (n / copy_s),
    }


async def _worker_rss(lab: Lab, db_url: str, conn, first: int, last: int, p: dict) -> dict:
    """Every target scheduled, spread over one interval from now; the worker's peak RSS meanwhile."""
    ids = list(range(first, last + 1))
    start = await conn.fetchval(Q["now"])
    await spread_schedule(conn, ids, start, p["interval_s"])
    before = await conn.fetchval(Q["count_checks"])
    worker = lab.vigil("worker-rss", ["worker"], db_url, worker_metrics_port=0)
    peak = 0
    end = time.monotonic() + p["worker_s"]
    t0 = time.monotonic()
    while time.monotonic() < end:
        worker.check_alive()
        peak = max(peak, worker.rss_bytes())
        await asyncio.sleep(0.25)
    wall = time.monotonic() - t0
    lab.forget(worker)
    done = await conn.fetchval(Q["count_checks"]) - before
    return {"worker_peak_rss_mb": peak / 2**20, "worker_checks_per_s": done / wall}
