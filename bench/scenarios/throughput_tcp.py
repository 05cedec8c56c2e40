"""throughput-tcp: one worker connecting to N tcp targets (nginx's port) flat out, against a bare asyncio connect loop."""

from __future__ import annotations

from vigil_core.db import connect

from ..harness.db import insert_targets
from ..harness.lab import Lab
from ..harness.measure import WORKER_VS_RAW_UNITS, repeat_worker_vs_raw
from ..harness.pg import server_pid
from ..harness.report import Goal, Report
from .support import worker_lacks

NAME = "throughput-tcp"
SIZES = {
    "tiny": {"targets": 300, "concurrency": 20, "warmup_s": 0.3, "duration_s": 1.0, "repeat": 1},
    "short": {
        "targets": 10_000,
        "concurrency": 256,
        "warmup_s": 2.0,
        "duration_s": 8.0,
        "repeat": 3,
    },
    "full": {
        "targets": 12_000,
        "concurrency": 256,
        "warmup_s": 3.0,
        "duration_s": 20.0,
        "repeat": 5,
    },
}


async def run(lab: Lab, size: str, p: dict) -> Report:
    report = Report(NAME, size, p)
    report.units.update(WORKER_VS_RAW_UNITS)
    report.goals = [
        Goal("worker_checks_per_s", ">=", 6000, "TCP checks >= 6k/s"),
        Goal(
            "ratio_vs_raw_same_loop",
            ">=",
            0.60,
            "worker checks per CPU-second >= 60 % of a bare connect loop on the same event loop",
        ),
        Goal("worker_failed", "<=", 0, "no failed checks against a listening port"),
    ]
    if reason := worker_lacks("tcp"):
        report.skipped = reason
        return report
    port = await lab.nginx()
    address = f"127.0.0.1:{port}"
    db_url = await lab.database()
    conn = await connect(db_url)
    try:
        await insert_targets(
            conn,
            prefix="tcp",
            kind="tcp",
            address=address,
            count=p["targets"],
            interval_s=1,
            timeout_s=0.9,
        )
        await repeat_worker_vs_raw(
            lab,
            report,
            db_url,
            conn,
            kind="tcp",
            address=address,
            p=p,
            pg_pid=await server_pid(db_url),
        )
    finally:
        await conn.close()
    return report
