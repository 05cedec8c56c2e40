"""scaling: one worker's cost per check at growing target counts (the same check rate at each
size), then one worker against two on the two cores, saturated (issue 20).

Part 1, for each size in `sizes`: that many tcp targets (nginx's port on loopback) at the
interval that makes `rate` checks/s (targets ÷ rate; the schema's minimum interval is 1 s, so
`rate` is at most the smallest size), anchors spread evenly over the first interval, one
`vigil worker`. Every target has its first check (unknown → up) before the window opens
(`first_interval`: the window waits out one whole interval), then over `window_s`: the
worker's CPU-µs per check, its RSS ÷ targets, Postgres CPU-µs per check, and the mean flush
size from the worker's own `vigil_worker_flush_batch_size` histogram (Δ_sum ÷ Δ_count on
/metrics); the p99 schedule lag shows the worker was not saturated.

Part 2 (`saturated_targets` > 0): every slot of that many tcp targets overdue, one worker
(`measure.worker_throughput`), then two worker processes on the same targets, the order
alternating by run; checks/s of each, their ratio, and where the machine's CPU went.
"""

from __future__ import annotations

import asyncio
from datetime import datetime, timedelta

import aiohttp
import asyncpg
from prometheus_client.parser import text_string_to_metric_families

from tests.support import free_port
from vigil_core.db import connect

from ..harness.db import Q, insert_targets, spread_schedule
from ..harness.lab import Lab
from ..harness.measure import start_profiler, worker_throughput
from ..harness.pg import server_pid
from ..harness.procs import Child, busy_cpu_seconds, tree_cpu_seconds, wait_worker_ready
from ..harness.report import Goal, Report
from ..harness.servers import start_nginx
from ..harness.stats import ratio
from .support import worker_lacks

NAME = "scaling"
SIZES = {
    "tiny": {
        "sizes": "100,300,1000",
        "rate": 100,
        "first_interval": 0,
        "warmup_s": 1.0,
        "window_s": 2.0,
        "saturated_targets": 50,
        "concurrency": 20,
        "saturated_warmup_s": 0.5,
        "saturated_s": 1.0,
        "repeat": 1,
    },
    "short": {
        "sizes": "1000,5000,20000",
        "rate": 1000,
        "first_interval": 1,
        "warmup_s": 2.0,
        "window_s": 10.0,
        # Every target is due once a second: 10k targets capped two workers at 10k checks/s
        # on a VM where one did 9.9k (2026-12-03), so part 2 measured the cap, not the cores.
        "saturated_targets": 40_000,
        "concurrency": 256,
        "saturated_warmup_s": 4.0,
        "saturated_s": 8.0,
        "repeat": 1,
    },
    "full": {
        "sizes": "1000,10000,100000",
        "rate": 1000,
        "first_interval": 1,
        "warmup_s": 3.0,
        "window_s": 30.0,
        "saturated_targets": 40_000,
        "concurrency": 256,
        "saturated_warmup_s": 5.0,
        "saturated_s": 20.0,
        "repeat": 3,
    },
}
FLUSH_METRIC = "vigil_worker_flush_batch_size"
SIZE_FIGURES = [
    ("worker_us_per_check", "µs"),
    ("rss_mb", "MB"),
    ("rss_kb_per_target", "kB"),
    ("pg_us_per_check", "µs"),
    ("flush_rows", "rows/flush"),
    ("flushes_per_s", "flushes/s"),
    ("checks_per_s", "checks/s"),
    ("worker_cpu_cores", "cores"),
    ("lag_p99_ms", "ms"),
    ("failed", "checks"),
    ("nginx_cpu_cores", "cores"),
    ("machine_cpu_cores", "cores"),
]
SATURATED_FIGURES = [
    ("checks_per_s", "checks/s"),
    ("worker_cpu_cores", "cores"),
    ("pg_cpu_cores", "cores"),
    ("nginx_cpu_cores", "cores"),
    ("other_cpu_cores", "cores"),
    ("machine_cpu_cores", "cores"),
    ("worker_us_per_check", "µs"),
    ("pg_us_per_check", "µs"),
    ("nginx_us_per_check", "µs"),
    ("failed", "checks"),
]


def label(n: int) -> str:
    """1000 -> '1k', 100000 -> '100k', 300 -> '300' (figure names)."""
    return f"{n // 1000}k" if n % 1000 == 0 else str(n)


async def run(lab: Lab, size: str, p: dict) -> Report:
    report = Report(NAME, size, p)
    sizes = [int(s) for s in str(p["sizes"]).split(",")]
    if min(sizes) < p["rate"]:
        raise SystemExit(
            f"scaling: rate {p['rate']}/s needs intervals under 1 s at {min(sizes)} targets "
            "(the schema's minimum is 1 s); lower --set rate"
        )
    for n in sizes:
        for name, unit in SIZE_FIGURES:
            report.figure(f"{name}_{label(n)}", unit)
    if p["saturated_targets"]:
        for w in (1, 2):
            for name, unit in SATURATED_FIGURES:
                report.figure(f"sat_{name}_{w}w", unit)
        report.figure("sat_worker_cpu_cores_2w_min", "cores")
        report.figure("two_workers_ratio", "x")
        report.figure("two_workers_ratio_per_worker_cpu", "x")
        report.figure("two_workers_ratio_bound", "x")
        report.goals.append(
            Goal(
                "two_workers_ratio",
                ">=",
                1.8,
                "two worker processes ÷ one worker, checks/s saturated (issue 20)",
            )
        )
    if reason := worker_lacks("tcp"):
        report.skipped = reason
        return report
    nginx, port = await start_nginx(lab.workdir)
    lab.track(nginx)
    address = f"127.0.0.1:{port}"
    for i in range(p["repeat"]):
        figures: dict[str, float | None] = {}
        for n in sizes:
            one = await _at_size(lab, p, n, address, nginx)
            figures |= {f"{k}_{label(n)}": v for k, v in one.items()}
        if p["saturated_targets"]:
            figures |= await _one_and_two(lab, p, address, nginx, two_first=i % 2 == 1)
        report.add_run(figures)
    report.notes.append(
        f"part 1: {p['rate']} checks/s at every size (interval = targets ÷ rate), one worker "
        f"(concurrency as shipped), {p['window_s']} s window"
        + (", after every target's first check" if p["first_interval"] else "")
    )
    return report


async def _at_size(
    lab: Lab, p: dict, targets: int, address: str, nginx: Child
) -> dict[str, float | None]:
    db_url = await lab.database()
    pg_pid = await server_pid(db_url)
    conn = await connect(db_url)
    try:
        interval = targets / p["rate"]
        ids = await insert_targets(
            conn,
            prefix="scaling",
            kind="tcp",
            address=address,
            count=targets,
            interval_s=interval,
            timeout_s=0.9,
        )
        # Nothing is due until the worker listens; then the schedule starts a second later
        # and a wake-up on the workers' channel makes it read the schedule.
        await spread_schedule(
            conn, ids, await conn.fetchval(Q["now"]) + timedelta(hours=1), interval
        )
        metrics_port = free_port()
        worker = lab.vigil(
            f"worker-{label(targets)}", ["worker"], db_url, worker_metrics_port=str(metrics_port)
        )
        await wait_worker_ready(metrics_port, worker)
        start = await conn.fetchval(Q["now"]) + timedelta(seconds=1)
        await spread_schedule(conn, ids, start, interval)
        await conn.fetchval(Q["wake_workers"], ids[0])
        # The set-up's dead rows (every schedule row written twice) vacuumed now, in the
        # warm-up, not by an autovacuum in the window.
        await conn.execute("VACUUM (ANALYZE) targets, schedule, target_state")
        opens = start + timedelta(seconds=p["warmup_s"] + interval * p["first_interval"])
        await _wait_until(conn, worker, opens)
        # With --profile: py-spy samples the worker over the window (its cost is in the figures).
        profiler = start_profiler(lab, worker, p["window_s"])
        t0, cpu0 = await conn.fetchval(Q["now"]), _cpu(worker, pg_pid, nginx)
        flush0 = await _flush_histogram(metrics_port)
        await _wait_until(conn, worker, t0 + timedelta(seconds=p["window_s"]))
        t1, cpu1 = await conn.fetchval(Q["now"]), _cpu(worker, pg_pid, nginx)
        flush1 = await _flush_histogram(metrics_port)
        if profiler is not None:
            await asyncio.to_thread(profiler.proc.wait, 30)
        rss = worker.rss_bytes()
        lab.forget(worker)  # SIGTERM: the worker flushes what it holds before it exits
        row = await conn.fetchrow(Q["window_checks"], t0, t1)
        lag = await conn.fetchrow(Q["schedule_lag"], t0, t1)
    finally:
        await conn.close()
    wall = (t1 - t0).total_seconds()
    checks = row["checks"]
    worker_s, pg_s, nginx_s, busy_s = (b - a for a, b in zip(cpu0, cpu1, strict=True))
    flushes = flush1[1] - flush0[1]
    return {
        "worker_us_per_check": ratio(worker_s * 1e6, checks),
        "rss_mb": rss / 1e6,
        "rss_kb_per_target": rss / 1e3 / targets,
        "pg_us_per_check": ratio(pg_s * 1e6, checks),
        "flush_rows": ratio(flush1[0] - flush0[0], flushes),
        "flushes_per_s": ratio(flushes, wall),
        "checks_per_s": ratio(checks, wall),
        "worker_cpu_cores": ratio(worker_s, wall),
        "lag_p99_ms": None if lag["p99"] is None else lag["p99"] * 1000,
        "failed": row["failed"],
        "nginx_cpu_cores": ratio(nginx_s, wall),
        "machine_cpu_cores": ratio(busy_s, wall),
    }


def _cpu(worker: Child, pg_pid: int | None, nginx: Child) -> tuple[float, float, float, float]:
    """CPU seconds so far of the worker, Postgres, nginx and the whole machine."""
    return worker.cpu_seconds(), tree_cpu_seconds(pg_pid), nginx.cpu_seconds(), busy_cpu_seconds()


async def _wait_until(conn: asyncpg.Connection, worker: Child, until: datetime) -> None:
    """Sleep until the database clock reaches `until`, checking the worker is alive twice a second."""
    remaining = (until - await conn.fetchval(Q["now"])).total_seconds()
    for _ in range(int(remaining / 0.5) + 2):
        worker.check_alive()
        if remaining <= 0:
            return
        step = min(remaining, 0.5)
        await asyncio.sleep(step)
        remaining -= step


async def _flush_histogram(port: int) -> tuple[float, float]:
    """(rows, flushes) so far: the _sum and _count of the worker's flush batch size histogram."""
    timeout = aiohttp.ClientTimeout(total=10)
    async with (
        aiohttp.ClientSession(timeout=timeout) as session,
        session.get(f"http://127.0.0.1:{port}/metrics") as resp,
    ):
        text = await resp.text()
    for family in text_string_to_metric_families(text):
        if family.name == FLUSH_METRIC:
            values = {s.name: s.value for s in family.samples}
            return values[f"{FLUSH_METRIC}_sum"], values[f"{FLUSH_METRIC}_count"]
    raise RuntimeError(f"the worker's /metrics has no {FLUSH_METRIC}")


async def _one_and_two(
    lab: Lab, p: dict, address: str, nginx: Child, *, two_first: bool
) -> dict[str, float | None]:
    """One worker and then two (or two first) saturated on the same targets."""
    db_url = await lab.database()
    pg_pid = await server_pid(db_url)
    conn = await connect(db_url)
    figures: dict[str, float | None] = {}
    try:
        await insert_targets(
            conn,
            prefix="saturated",
            kind="tcp",
            address=address,
            count=p["saturated_targets"],
            interval_s=1,
            timeout_s=0.9,
        )
        for workers in (2, 1) if two_first else (1, 2):
            w = await worker_throughput(
                lab,
                db_url,
                conn,
                concurrency=p["concurrency"],
                warmup_s=p["saturated_warmup_s"],
                duration_s=p["saturated_s"],
                pg_pid=pg_pid,
                workers=workers,
                watch=[nginx],
            )
            wall = w["wall_s"]
            (nginx_s,) = w["watch_cpu_s"]
            other_s = w["machine_cpu_s"] - w["cpu_s"] - w["pg_cpu_s"] - nginx_s
            one = {
                "checks_per_s": ratio(w["checks"], wall),
                "worker_cpu_cores": ratio(w["cpu_s"], wall),
                "pg_cpu_cores": ratio(w["pg_cpu_s"], wall),
                "nginx_cpu_cores": ratio(nginx_s, wall),
                "other_cpu_cores": ratio(other_s, wall),
                "machine_cpu_cores": ratio(w["machine_cpu_s"], wall),
                "worker_us_per_check": ratio(w["cpu_s"] * 1e6, w["checks"]),
                "pg_us_per_check": ratio(w["pg_cpu_s"] * 1e6, w["checks"]),
                "nginx_us_per_check": ratio(nginx_s * 1e6, w["checks"]),
                "failed": w["failed"],
            }
            figures |= {f"sat_{k}_{workers}w": v for k, v in one.items()}
            if workers == 2:
                figures["sat_worker_cpu_cores_2w_min"] = ratio(min(w["cpu_s_each"]), wall)
    finally:
        await conn.close()
    figures["two_workers_ratio"] = ratio(
        figures["sat_checks_per_s_2w"], figures["sat_checks_per_s_1w"]
    )
    figures |= _two_worker_bounds(figures)
    return figures


def _two_worker_bounds(f: dict[str, float | None]) -> dict[str, float | None]:
    """`two_workers_ratio_per_worker_cpu`: checks per worker CPU-second, two ÷ one (1.0: two
    processes cost no more per check than one). `two_workers_ratio_bound`: the ratio two whole
    cores allow at the one-worker run's costs per check (worker + Postgres + nginx, µs), with
    nothing else running: 2 s of CPU a second ÷ that cost is the most two workers can do,
    divided by what one worker did."""
    w1, w2 = f["sat_worker_us_per_check_1w"], f["sat_worker_us_per_check_2w"]
    pg, nginx = f["sat_pg_us_per_check_1w"], f["sat_nginx_us_per_check_1w"]
    bound = None
    if w1 is not None and pg is not None and nginx is not None:
        bound = ratio(2e6 / (w1 + pg + nginx), f["sat_checks_per_s_1w"])
    return {"two_workers_ratio_per_worker_cpu": ratio(w1, w2), "two_workers_ratio_bound": bound}
