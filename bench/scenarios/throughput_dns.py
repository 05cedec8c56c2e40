"""throughput-dns: one worker asking a loopback DNS responder for N dns targets flat out, against a bare aiodns loop.

The responder (bench.harness.dns_responder) runs in its own process; the worker's figures are
its stored checks per CPU-second, the baseline's (bench.baselines.raw_dns, through
measure.repeat_worker_vs_raw like the other throughput scenarios) its completed queries per
CPU-second, on both event loops.
"""

from __future__ import annotations

import asyncio
import json

from vigil_core.db import connect, load_queries

from ..harness.db import insert_targets
from ..harness.lab import Lab
from ..harness.measure import WORKER_VS_RAW_UNITS, repeat_worker_vs_raw
from ..harness.pg import server_pid
from ..harness.report import Goal, Report
from .support import worker_lacks

NAME = "throughput-dns"
DNS_NAME = "bench.test"
Q = load_queries(__package__, "throughput_dns.sql")
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
        Goal("worker_checks_per_s", ">=", 4000, "DNS checks >= 4k/s"),
        Goal(
            "ratio_vs_raw_same_loop",
            ">=",
            0.40,
            "worker checks per CPU-second >= 40 % of a bare aiodns loop on the same event loop",
        ),
        Goal("worker_failed", "<=", 0, "no failed checks against a responder that answers"),
    ]
    if reason := worker_lacks("dns"):
        report.skipped = reason
        return report
    address = f"127.0.0.1:{await responder(lab)}"
    db_url = await lab.database()
    conn = await connect(db_url)
    try:
        await insert_targets(
            conn,
            prefix="dns",
            kind="dns",
            address=DNS_NAME,
            count=p["targets"],
            interval_s=1,
            timeout_s=0.9,
        )
        await conn.execute(Q["dns_settings"], address)
        pg_pid = await server_pid(db_url)
        # The baseline asks for DNS_NAME too: bench.baselines.raw_dns's default --name.
        await repeat_worker_vs_raw(
            lab, report, db_url, conn, kind="dns", address=address, p=p, pg_pid=pg_pid
        )
    finally:
        await conn.close()
    return report


async def responder(lab: Lab) -> int:
    """Start the loopback responder; its port once it answers."""
    child = lab.python("dns-responder", "bench.harness.dns_responder", [])
    for _ in range(200):
        child.check_alive()
        for line in child.log_path.read_text().splitlines():
            if line.startswith("{"):
                return int(json.loads(line)["port"])
        await asyncio.sleep(0.05)
    raise RuntimeError(f"the DNS responder did not start within 10 s:\n{child.tail()}")
