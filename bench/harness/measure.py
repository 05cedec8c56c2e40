"""Measurement steps several scenarios share: a worker's checks per CPU-second, a baseline's, wrk's."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

import asyncpg

from .db import Q, wait_for_checks
from .lab import Lab
from .procs import Child, tree_cpu_seconds
from .wrk import run_wrk


def event_loop_of(child: Child) -> str:
    """'uvloop' when the process has uvloop's extension mapped, else 'asyncio'."""
    try:
        maps = Path(f"/proc/{child.pid}/maps").read_text()
    except OSError:
        return "unknown"
    return "uvloop" if "uvloop/loop" in maps else "asyncio"


async def worker_throughput(lab: Lab, db_url: str, conn: asyncpg.Connection, *, concurrency: int,
                            warmup_s: float, duration_s: float, pg_pid: int | None) -> dict:
    """Start a worker with every slot overdue, let it warm up, count the checks it stores in a window."""
    await conn.execute(Q["all_due_now"])
    before = await conn.fetchval(Q["count_checks"])
    worker = lab.vigil("worker", ["worker"], db_url, worker_concurrency=concurrency,
                       worker_metrics_port=0)
    try:
        await wait_for_checks(conn, before + 1, deadline_s=30)
    except TimeoutError:
        worker.check_alive()
        raise
    await asyncio.sleep(warmup_s)
    loop = event_loop_of(worker)
    t0, cpu0, pg0 = await conn.fetchval(Q["now"]), worker.cpu_seconds(), tree_cpu_seconds(pg_pid)
    await asyncio.sleep(duration_s)
    t1, cpu1, pg1 = await conn.fetchval(Q["now"]), worker.cpu_seconds(), tree_cpu_seconds(pg_pid)
    rss = worker.rss_bytes()
    worker.check_alive()
    lab.forget(worker)  # SIGTERM: the worker flushes what it holds before it exits
    row = await conn.fetchrow(Q["window_checks"], t0, t1)
    wall = (t1 - t0).total_seconds()
    cpu = cpu1 - cpu0
    return {"checks": row["checks"], "failed": row["failed"], "wall_s": wall, "cpu_s": cpu,
            "pg_cpu_s": pg1 - pg0, "rss_bytes": rss, "loop": loop}


async def raw_client(lab: Lab, *, kind: str, address: str, concurrency: int, warmup_s: float,
                     duration_s: float, loop: str) -> dict:
    """Baseline A in its own process; it reports its own count and CPU time for the window."""
    name = f"raw-{kind}-{loop}"
    child = lab.python(name, "bench.baselines.raw_client", [
        "--kind", kind, "--address", address, "--concurrency", str(concurrency),
        "--warmup", str(warmup_s), "--duration", str(duration_s), "--loop", loop])
    deadline = warmup_s + duration_s + 30
    for _ in range(int(deadline * 10)):
        if not child.alive():
            break
        await asyncio.sleep(0.1)
    lab.forget(child)
    lines = [ln for ln in child.log_path.read_text().splitlines() if ln.startswith("{")]
    if child.proc.returncode != 0 or not lines:
        raise RuntimeError(f"{name} failed ({child.proc.returncode}):\n{child.tail()}")
    return json.loads(lines[-1])


async def wrk_against(child: Child, url: str, *, duration_s: float, connections: int) -> dict:
    """wrk load on `url`, with the CPU time `child` spent serving it."""
    cpu0 = child.cpu_seconds()
    result = await run_wrk(url, duration_s=duration_s, connections=connections)
    cpu1 = child.cpu_seconds()
    return {"requests": result.requests, "errors": result.errors, "wall_s": result.seconds,
            "rps": result.rps, "cpu_s": cpu1 - cpu0, "latency_ms": result.latency_ms}
