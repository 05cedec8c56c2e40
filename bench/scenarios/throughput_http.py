"""throughput-http: one worker checking N http targets flat out, against a bare aiohttp loop and blackbox_exporter.

Every slot is made due at once so the worker is saturated; checks per CPU-second of the worker
process (Postgres not counted) are compared with the raw client (same concurrency, fresh connection
per GET, nothing stored) and with blackbox_exporter's probes per CPU-second under wrk on /probe.
"""

from __future__ import annotations

from vigil_core.db import connect

from ..harness.db import insert_targets
from ..harness.lab import Lab
from ..harness.measure import WORKER_VS_RAW_UNITS, repeat_worker_vs_raw, wrk_against
from ..harness.pg import server_pid
from ..harness.report import Goal, Report
from ..harness.stats import ratio

NAME = "throughput-http"
SIZES = {
    "tiny": {"targets": 300, "concurrency": 20, "warmup_s": 0.3, "duration_s": 1.0, "repeat": 1},
    "short": {"targets": 5000, "concurrency": 256, "warmup_s": 2.0, "duration_s": 8.0, "repeat": 3},
    "full": {"targets": 8000, "concurrency": 256, "warmup_s": 3.0, "duration_s": 20.0, "repeat": 5},
}


async def run(lab: Lab, size: str, p: dict) -> Report:
    report = Report(NAME, size, p)
    report.units.update(WORKER_VS_RAW_UNITS)
    for name, unit in [
        ("blackbox_probes_per_cpu_s", "probes/CPU-s"),
        ("blackbox_probes_per_s", "probes/s"),
        ("blackbox_cpu_cores", "cores"),
        ("ratio_vs_blackbox", "x"),
    ]:
        report.figure(name, unit)
    report.goals = [
        Goal(
            "ratio_vs_raw_same_loop",
            ">=",
            0.60,
            "worker checks per CPU-second >= 60 % of the bare aiohttp loop on the same event loop",
        ),
        Goal(
            "ratio_vs_blackbox",
            ">=",
            2.5,
            "worker checks per CPU-second >= 2.5x blackbox_exporter's",
        ),
        Goal("worker_failed", "<=", 0, "no failed checks against a healthy nginx"),
    ]

    port = await lab.nginx()
    url = f"http://127.0.0.1:{port}/"
    db_url = await lab.database()
    conn = await connect(db_url)
    bb, bb_port = await lab.blackbox()
    probe_url = f"http://127.0.0.1:{bb_port}/probe?module=http_2xx&target={url}"
    try:
        await insert_targets(
            conn,
            prefix="http",
            kind="http",
            address=url,
            count=p["targets"],
            interval_s=1,
            timeout_s=0.9,
        )
        pg_pid = await server_pid(db_url)

        async def blackbox(figures: dict) -> dict:
            b = await wrk_against(bb, probe_url, duration_s=p["duration_s"], connections=64)
            bb_per_cpu = ratio(b["requests"] - b["errors"], b["cpu_s"])
            return {
                "blackbox_probes_per_cpu_s": bb_per_cpu,
                "blackbox_probes_per_s": b["rps"],
                "blackbox_cpu_cores": ratio(b["cpu_s"], b["wall_s"]),
                "ratio_vs_blackbox": ratio(figures["worker_checks_per_cpu_s"], bb_per_cpu),
            }

        await repeat_worker_vs_raw(
            lab, report, db_url, conn, kind="http", address=url, p=p, pg_pid=pg_pid, extra=blackbox
        )
    finally:
        await conn.close()
    return report
