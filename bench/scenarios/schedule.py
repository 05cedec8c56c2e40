"""schedule: N targets at a fixed interval for a while, with one worker and then two; lag and slot accounting.

Anchors are spread evenly over the first interval (a steady rate, as targets created over time
have), starting a few seconds after setup so the workers are up. Everything is read back from
`checks`: schedule lag = checked_at - due_at; a slot is anchor + k * interval.
"""

from __future__ import annotations

import asyncio
from datetime import timedelta

from vigil_core.db import connect

from ..harness.db import Q, insert_targets, spread_schedule
from ..harness.lab import Lab
from ..harness.report import Goal, Report
from ..harness.stats import ratio

NAME = "schedule"
SIZES = {
    "tiny": {
        "targets": 50,
        "interval_s": 1,
        "duration_s": 2,
        "lead_s": 0.5,
        "workers": "2",
        "repeat": 1,
    },
    "short": {
        "targets": 10_000,
        "interval_s": 10,
        "duration_s": 60,
        "lead_s": 1,
        "workers": "1,2",
        "repeat": 1,
    },
    "full": {
        "targets": 10_000,
        "interval_s": 10,
        "duration_s": 600,
        "lead_s": 1,
        "workers": "1,2",
        "repeat": 1,
    },
}
FIGURES = [
    ("lag_p50_ms", "ms"),
    ("lag_p99_ms", "ms"),
    ("lag_max_ms", "ms"),
    ("checks_per_s", "checks/s"),
    ("missed_slots", "slots"),
    ("duplicate_slots", "slots"),
    ("targets_off_count", "targets"),
    ("never_checked", "targets"),
    ("first_check_max_s", "s"),
    ("worker_cpu_cores", "cores"),
]


async def run(lab: Lab, size: str, p: dict) -> Report:
    report = Report(NAME, size, p)
    variants = [int(w) for w in str(p["workers"]).split(",")]
    for w in variants:
        for name, unit in FIGURES:
            report.figure(f"{name}_{w}w", unit)
        report.goals += [
            Goal(f"lag_p99_ms_{w}w", "<=", 100, f"{w} worker(s): p99 schedule lag <= 100 ms"),
            Goal(f"missed_slots_{w}w", "<=", 0, f"{w} worker(s): no missed slot"),
            Goal(f"duplicate_slots_{w}w", "<=", 0, f"{w} worker(s): no slot checked twice"),
            Goal(
                f"targets_off_count_{w}w",
                "<=",
                0,
                f"{w} worker(s): checks per target = duration/interval ± 1",
            ),
            Goal(
                f"first_check_max_s_{w}w",
                "<=",
                p["interval_s"] + 0.1,
                f"{w} worker(s): every target checked within the first interval",
            ),
        ]
    port = await lab.nginx()
    for _ in range(p["repeat"]):
        figures: dict[str, float | None] = {}
        for w in variants:
            figures |= {
                f"{k}_{w}w": v
                for k, v in (await _one(lab, p, w, f"http://127.0.0.1:{port}/")).items()
            }
        report.add_run(figures)
    return report


async def _one(lab: Lab, p: dict, workers: int, url: str) -> dict[str, float | None]:
    db_url = await lab.database()
    conn = await connect(db_url)
    try:
        interval = float(p["interval_s"])
        ids = await insert_targets(
            conn,
            prefix="sched",
            kind="http",
            address=url,
            count=p["targets"],
            interval_s=interval,
            timeout_s=min(2.0, interval / 2),
        )
        # Nothing is due until every worker is up; then the window starts `lead_s` later and a
        # wake-up on the workers' channel makes them read the new schedule.
        await spread_schedule(
            conn, ids, await conn.fetchval(Q["now"]) + timedelta(hours=1), interval
        )
        procs = await asyncio.gather(
            *(lab.ready_worker(f"worker-{i}", db_url) for i in range(workers))
        )
        start = await conn.fetchval(Q["now"]) + timedelta(seconds=p["lead_s"])
        end = start + timedelta(seconds=p["duration_s"])
        await spread_schedule(conn, ids, start, interval)
        await conn.fetchval(Q["wake_workers"], ids[0])
        # Wait out the window, then the last slot's check (its timeout) and a second for the flush.
        wait = (end - await conn.fetchval(Q["now"])).total_seconds() + min(2.0, interval / 2) + 1.0
        cpu_at_start = None
        while wait > 0:
            for proc in procs:
                proc.check_alive()
            if cpu_at_start is None and await conn.fetchval(Q["now"]) >= start:
                cpu_at_start = sum(proc.cpu_seconds() for proc in procs)
            step = min(wait, 0.5)
            await asyncio.sleep(step)
            wait -= step
        cpu = sum(proc.cpu_seconds() for proc in procs) - (cpu_at_start or 0.0)
        for proc in procs:
            lab.forget(proc)
        lag = await conn.fetchrow(Q["schedule_lag"], start, end)
        slots = await conn.fetchrow(Q["schedule_slots"], start, end, p["duration_s"] / interval)
    finally:
        await conn.close()
    ms = lambda s: None if s is None else s * 1000  # noqa: E731
    return {
        "lag_p50_ms": ms(lag["p50"]),
        "lag_p99_ms": ms(lag["p99"]),
        "lag_max_ms": ms(lag["max"]),
        "checks_per_s": ratio(lag["checks"], p["duration_s"]),
        "missed_slots": slots["missed"],
        "duplicate_slots": slots["duplicates"],
        "targets_off_count": slots["off_count"],
        "never_checked": slots["never_checked"],
        "first_check_max_s": slots["first_check_max_s"],
        "worker_cpu_cores": ratio(cpu, p["duration_s"]),
    }
