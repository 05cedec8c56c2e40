"""Measurement steps several scenarios share: a worker's checks per CPU-second, a baseline's, wrk's."""

from __future__ import annotations

import asyncio
import json
import os
import shutil
import sys
import time
from collections.abc import Awaitable, Callable, Mapping, Sequence
from pathlib import Path

import asyncpg

from .db import Q, wait_for_checks
from .lab import Lab
from .procs import Child, busy_cpu_seconds, spawn, tree_cpu_seconds
from .report import RESULTS_DIR, Report
from .stats import ratio
from .wrk import run_wrk

PROFILE_SUFFIX = {"flamegraph": "svg", "speedscope": "speedscope.json", "raw": "folded.txt"}


def start_profiler(lab: Lab, child: Child, duration_s: float) -> Child | None:
    """With --profile FORMAT (VIGIL_BENCH_PROFILE): py-spy samples `child` over the measured window
    and writes bench/results/profile-*.{svg,speedscope.json,folded.txt}."""
    fmt = os.environ.get("VIGIL_BENCH_PROFILE")
    if fmt not in PROFILE_SUFFIX:
        return None
    RESULTS_DIR.mkdir(parents=True, exist_ok=True)
    out = (
        RESULTS_DIR / f"profile-{child.name}-{time.strftime('%Y%m%d-%H%M%S')}.{PROFILE_SUFFIX[fmt]}"
    )
    pyspy = shutil.which("py-spy") or str(Path(sys.executable).with_name("py-spy"))
    return lab.track(
        spawn(
            f"py-spy-{child.name}",
            [
                pyspy,
                "record",
                "--pid",
                str(child.pid),
                "--duration",
                str(max(1, round(duration_s))),
                "--rate",
                "200",
                "--format",
                fmt,
                "--output",
                str(out),
                # VIGIL_BENCH_PROFILE_NATIVE=1: C frames too (uvloop, asyncpg, msgspec, the kernel
                # entry points), where the Python frames alone show only the event loop's line.
                *(["--native"] if os.environ.get("VIGIL_BENCH_PROFILE_NATIVE") == "1" else []),
            ],
            lab.workdir,
        )
    )


def event_loop_of(child: Child) -> str:
    """'uvloop' when the process has uvloop's extension mapped, else 'asyncio'."""
    try:
        maps = Path(f"/proc/{child.pid}/maps").read_text()
    except OSError:
        return "unknown"
    return "uvloop" if "uvloop/loop" in maps else "asyncio"


async def worker_throughput(
    lab: Lab,
    db_url: str,
    conn: asyncpg.Connection,
    *,
    concurrency: int,
    warmup_s: float,
    duration_s: float,
    pg_pid: int | None,
    workers: int = 1,
    watch: Sequence[Child] = (),
) -> dict:
    """Start `workers` worker processes with every slot overdue, let them warm up, count the
    checks they store in a window. `cpu_s` and `rss_bytes` are the workers' sums, `cpu_s_each`
    one CPU time per worker, `watch_cpu_s` one per child in `watch` (e.g. the target server),
    `machine_cpu_s` every core's busy time (psutil.cpu_times())."""
    await conn.execute(Q["all_due_now"])
    before = await conn.fetchval(Q["count_checks"])
    procs = [
        lab.vigil(
            "worker" if workers == 1 else f"worker-{i}",
            ["worker"],
            db_url,
            worker_concurrency=concurrency,
            worker_metrics_port=0,
        )
        for i in range(workers)
    ]
    try:
        await wait_for_checks(conn, before + 1, deadline_s=30)
    except TimeoutError:
        for worker in procs:
            worker.check_alive()
        raise
    await asyncio.sleep(warmup_s)
    loop = event_loop_of(procs[0])
    profiler = start_profiler(lab, procs[0], duration_s)
    t0, pg0, busy0 = await conn.fetchval(Q["now"]), tree_cpu_seconds(pg_pid), busy_cpu_seconds()
    cpu0 = [worker.cpu_seconds() for worker in procs]
    watch0 = [child.cpu_seconds() for child in watch]
    await asyncio.sleep(duration_s)
    t1, pg1, busy1 = await conn.fetchval(Q["now"]), tree_cpu_seconds(pg_pid), busy_cpu_seconds()
    cpu = [worker.cpu_seconds() - c0 for worker, c0 in zip(procs, cpu0, strict=True)]
    watched = [child.cpu_seconds() - c0 for child, c0 in zip(watch, watch0, strict=True)]
    rss = sum(worker.rss_bytes() for worker in procs)
    for worker in procs:
        worker.check_alive()
    if profiler is not None:
        await asyncio.to_thread(profiler.proc.wait, 30)
    for worker in procs:
        lab.forget(worker)  # SIGTERM: the worker flushes what it holds before it exits
    row = await conn.fetchrow(Q["window_checks"], t0, t1)
    wall = (t1 - t0).total_seconds()
    return {
        "checks": row["checks"],
        "failed": row["failed"],
        "wall_s": wall,
        "cpu_s": sum(cpu),
        "cpu_s_each": cpu,
        "watch_cpu_s": watched,
        "pg_cpu_s": pg1 - pg0,
        "machine_cpu_s": busy1 - busy0,
        "rss_bytes": rss,
        "loop": loop,
    }


RAW_MODULES = {
    "http": "bench.baselines.raw_client",
    "tcp": "bench.baselines.raw_client",
    "icmp": "bench.baselines.raw_icmp",
    "dns": "bench.baselines.raw_dns",
}
LOOPS = ("asyncio", "uvloop")


async def raw_client(
    lab: Lab,
    *,
    kind: str,
    address: str,
    concurrency: int,
    warmup_s: float,
    duration_s: float,
    loop: str,
) -> dict:
    """Baseline A in its own process; it reports its own count and CPU time for the window."""
    name = f"raw-{kind}-{loop}"
    child = lab.python(
        name,
        RAW_MODULES[kind],
        [
            "--kind",
            kind,
            "--address",
            address,
            "--concurrency",
            str(concurrency),
            "--warmup",
            str(warmup_s),
            "--duration",
            str(duration_s),
            "--loop",
            loop,
        ],
    )
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


async def wrk_against(
    child: Child,
    url: str,
    *,
    duration_s: float,
    connections: int,
    headers: Mapping[str, str] | None = None,
) -> dict:
    """wrk load on `url` (with `headers` on every request), with the CPU time `child` spent
    serving it."""
    cpu0 = child.cpu_seconds()
    result = await run_wrk(url, duration_s=duration_s, connections=connections, headers=headers)
    cpu1 = child.cpu_seconds()
    return {
        "requests": result.requests,
        "errors": result.errors,
        "wall_s": result.seconds,
        "rps": result.rps,
        "cpu_s": cpu1 - cpu0,
        "latency_ms": result.latency_ms,
    }


async def worker_vs_raw(
    lab: Lab,
    db_url: str,
    conn: asyncpg.Connection,
    *,
    kind: str,
    address: str,
    concurrency: int,
    warmup_s: float,
    duration_s: float,
    pg_pid: int | None,
) -> tuple[dict[str, float | None], str]:
    """One repetition: the worker saturated on every target in the database, then the bare client
    on both event loops; figures with ratios per CPU-second, and the worker's event loop."""
    w = await worker_throughput(
        lab,
        db_url,
        conn,
        concurrency=concurrency,
        warmup_s=warmup_s,
        duration_s=duration_s,
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
        r = await raw_client(
            lab,
            kind=kind,
            address=address,
            concurrency=concurrency,
            warmup_s=warmup_s,
            duration_s=duration_s,
            loop=loop,
        )
        raw_per_cpu[loop] = ratio(r["checks"] - r["errors"], r["cpu_s"])
        figures[f"raw_{loop}_checks_per_cpu_s"] = raw_per_cpu[loop]
        figures[f"raw_{loop}_checks_per_s"] = ratio(r["checks"], r["wall_s"])
        figures[f"raw_{loop}_failed"] = r["errors"]
    figures["ratio_vs_raw_same_loop"] = ratio(per_cpu, raw_per_cpu.get(w["loop"]))
    for loop in LOOPS:
        figures[f"ratio_vs_raw_{loop}"] = ratio(per_cpu, raw_per_cpu[loop])
    return figures, w["loop"]


async def repeat_worker_vs_raw(
    lab: Lab,
    report: Report,
    db_url: str,
    conn: asyncpg.Connection,
    *,
    kind: str,
    address: str,
    p: dict,
    pg_pid: int | None,
    extra: Callable[[dict], Awaitable[dict]] | None = None,
) -> None:
    """`repeat` runs of worker_vs_raw into `report`; `extra` adds a scenario's own figures per run."""
    loops = set()
    for _ in range(p["repeat"]):
        figures, loop = await worker_vs_raw(
            lab,
            db_url,
            conn,
            kind=kind,
            address=address,
            concurrency=p["concurrency"],
            warmup_s=p["warmup_s"],
            duration_s=p["duration_s"],
            pg_pid=pg_pid,
        )
        loops.add(loop)
        if extra is not None:
            figures |= await extra(figures)
        report.add_run(figures)
    report.notes.append(f"worker event loop: {', '.join(sorted(loops))}")


WORKER_VS_RAW_UNITS = {
    "worker_checks_per_s": "checks/s",
    "worker_cpu_cores": "cores",
    "worker_checks_per_cpu_s": "checks/CPU-s",
    "worker_failed": "checks",
    "pg_cpu_ms_per_1k_checks": "ms",
    **{f"raw_{loop}_checks_per_cpu_s": "checks/CPU-s" for loop in LOOPS},
    **{f"raw_{loop}_checks_per_s": "checks/s" for loop in LOOPS},
    **{f"raw_{loop}_failed": "checks" for loop in LOOPS},
    "ratio_vs_raw_same_loop": "x",
    **{f"ratio_vs_raw_{loop}": "x" for loop in LOOPS},
}
