"""throughput-dns: one worker asking a loopback DNS responder for N dns targets flat out, against a bare aiodns loop.

The responder (bench.harness.dns_responder) runs in its own process; the worker's figures are
its stored checks per CPU-second, the baseline's (bench.baselines.raw_dns) its completed
queries per CPU-second, on both event loops.
"""

from __future__ import annotations

import asyncio
import json

import asyncpg

from vigil_core.db import connect, load_queries

from ..harness.db import insert_targets
from ..harness.lab import Lab
from ..harness.measure import LOOPS, WORKER_VS_RAW_UNITS, worker_throughput
from ..harness.pg import server_pid
from ..harness.procs import Child
from ..harness.report import Goal, Report
from ..harness.stats import ratio
from .support import worker_lacks

NAME = "throughput-dns"
DNS_NAME = "bench.test"
Q = load_queries(__package__, "throughput_dns.sql")
SIZES = {
    "tiny": {"targets": 50, "concurrency": 20, "warmup_s": 0.3, "duration_s": 1.0, "repeat": 1},
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
        loops = set()
        for _ in range(p["repeat"]):
            figures, loop = await worker_vs_raw(lab, db_url, conn, address, p, pg_pid)
            loops.add(loop)
            report.add_run(figures)
        report.notes.append(f"worker event loop: {', '.join(sorted(loops))}")
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


async def worker_vs_raw(
    lab: Lab, db_url: str, conn: asyncpg.Connection, address: str, p: dict, pg_pid: int | None
) -> tuple[dict[str, float | None], str]:
    """One repetition, as measure.worker_vs_raw does for the kinds its RAW_MODULES knows."""
    w = await worker_throughput(
        lab,
        db_url,
        conn,
        concurrency=p["concurrency"],
        warmup_s=p["warmup_s"],
        duration_s=p["duration_s"],
        pg_pid=pg_pid,
    )
    per_cpu = ratio(w["checks"], w["cpu_s"])
    figures: dict[str, float | None] = {
        "worker_checks_per_s": ratio(w["checks"], w["wall_s"]),
        "worker_cpu_cores": ratio(w["cpu_s"], w["wall_s"]),
        "worker_checks_per_cpu_s": per_cpu,
        "worker_failed": w["failed"],
        "pg_cpu_ms_per_1k_checks": ratio(w["pg_cpu_s"] * 1e6, w["checks"]),
    }
    raw_per_cpu = {}
    for loop in LOOPS:
        r = await raw_dns(lab, address, p, loop)
        raw_per_cpu[loop] = ratio(r["checks"] - r["errors"], r["cpu_s"])
        figures[f"raw_{loop}_checks_per_cpu_s"] = raw_per_cpu[loop]
        figures[f"raw_{loop}_checks_per_s"] = ratio(r["checks"], r["wall_s"])
        figures[f"raw_{loop}_failed"] = r["errors"]
    figures["ratio_vs_raw_same_loop"] = ratio(per_cpu, raw_per_cpu.get(w["loop"]))
    for loop in LOOPS:
        figures[f"ratio_vs_raw_{loop}"] = ratio(per_cpu, raw_per_cpu[loop])
    return figures, w["loop"]


async def raw_dns(lab: Lab, address: str, p: dict, loop: str) -> dict:
    """The bare aiodns loop in its own process; it reports its own count and CPU time."""
    child: Child = lab.python(
        f"raw-dns-{loop}",
        "bench.baselines.raw_dns",
        [
            "--address",
            address,
            "--name",
            DNS_NAME,
            "--concurrency",
            str(p["concurrency"]),
            "--warmup",
            str(p["warmup_s"]),
            "--duration",
            str(p["duration_s"]),
            "--loop",
            loop,
        ],
    )
    for _ in range(int((p["warmup_s"] + p["duration_s"] + 30) * 10)):
        if not child.alive():
            break
        await asyncio.sleep(0.1)
    lab.forget(child)
    lines = [ln for ln in child.log_path.read_text().splitlines() if ln.startswith("{")]
    if child.proc.returncode != 0 or not lines:
        raise RuntimeError(f"raw-dns-{loop} failed ({child.proc.returncode}):\n{child.tail()}")
    return json.loads(lines[-1])
