"""throughput-icmp: ICMP echo to 127.0.0.1. 1,000 targets must see no false timeout; saturated, >= 10k pings/s.

Phase one runs 1,000 targets at a 1 s interval (all anchored together, so each second starts with
a burst of 1,000 pings). Phase two saturates the worker with more targets than it can ping and
compares it with a bare shared-raw-socket pinger (bench.baselines.raw_icmp).
"""

from __future__ import annotations

from vigil_core.db import connect

from ..harness.db import insert_targets
from ..harness.lab import Lab
from ..harness.measure import WORKER_VS_RAW_UNITS, repeat_worker_vs_raw, worker_throughput
from ..harness.pg import server_pid
from ..harness.report import Goal, Report
from ..harness.stats import ratio
from .support import worker_lacks

NAME = "throughput-icmp"
SIZES = {
    "tiny": {
        "targets": 50,
        "saturate_targets": 200,
        "concurrency": 50,
        "warmup_s": 0.3,
        "duration_s": 1.0,
        "repeat": 1,
    },
    "short": {
        "targets": 1000,
        "saturate_targets": 15_000,
        "concurrency": 500,
        "warmup_s": 2.0,
        "duration_s": 8.0,
        "repeat": 3,
    },
    "full": {
        "targets": 1000,
        "saturate_targets": 20_000,
        "concurrency": 1000,
        "warmup_s": 3.0,
        "duration_s": 20.0,
        "repeat": 5,
    },
}


async def run(lab: Lab, size: str, p: dict) -> Report:
    report = Report(NAME, size, p)
    for name, unit in [
        ("steady_pings_per_s", "pings/s"),
        ("steady_failed", "pings"),
        ("steady_cpu_cores", "cores"),
    ]:
        report.figure(name, unit)
    report.units.update(WORKER_VS_RAW_UNITS)
    report.goals = [
        Goal("steady_failed", "<=", 0, f"{p['targets']} targets on 127.0.0.1: 0 false timeouts"),
        Goal("worker_checks_per_s", ">=", 10_000, "saturated: >= 10k pings/s"),
        Goal("worker_failed", "<=", 0, "saturated: 0 false timeouts"),
    ]
    if reason := worker_lacks("icmp"):
        report.skipped = reason
        return report
    steady_url, saturate_url = await lab.database(), await lab.database()
    steady, saturate = await connect(steady_url), await connect(saturate_url)
    try:
        await insert_targets(
            steady,
            prefix="icmp",
            kind="icmp",
            address="127.0.0.1",
            count=p["targets"],
            interval_s=1,
            timeout_s=0.9,
        )
        await insert_targets(
            saturate,
            prefix="icmp",
            kind="icmp",
            address="127.0.0.1",
            count=p["saturate_targets"],
            interval_s=1,
            timeout_s=0.9,
        )
        pg_pid = await server_pid(steady_url)

        async def steady_phase(figures: dict) -> dict:
            s = await worker_throughput(
                lab,
                steady_url,
                steady,
                concurrency=p["concurrency"],
                warmup_s=p["warmup_s"],
                duration_s=p["duration_s"],
                pg_pid=pg_pid,
            )
            return {
                "steady_pings_per_s": ratio(s["checks"], s["wall_s"]),
                "steady_failed": s["failed"],
                "steady_cpu_cores": ratio(s["cpu_s"], s["wall_s"]),
            }

        await repeat_worker_vs_raw(
            lab,
            report,
            saturate_url,
            saturate,
            kind="icmp",
            address="127.0.0.1",
            p=p,
            pg_pid=pg_pid,
            extra=steady_phase,
        )
    finally:
        await steady.close()
        await saturate.close()
    return report
