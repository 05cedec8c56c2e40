"""api: wrk against GET /api/v1/targets/{id} and /api/v1/summary, with Litestar's minimal app as the ceiling.

The same uvicorn options serve both; each gets the same wrk load in turn. Figures are requests/s,
p99 latency and requests per CPU-second of the server process, and Vigil's share of the ceiling.
"""

from __future__ import annotations

import asyncio

import aiohttp

from tests.support import free_port
from vigil_core.db import connect

from ..harness.db import Q
from ..harness.history import generate
from ..harness.lab import Lab
from ..harness.measure import wrk_against
from ..harness.procs import wait_http
from ..harness.report import Goal, Report
from ..harness.stats import ratio

NAME = "api"
SIZES = {
    "tiny": {"targets": 200, "duration_s": 1, "connections": 8, "repeat": 1},
    "short": {"targets": 10_000, "duration_s": 5, "connections": 32, "repeat": 3},
    "full": {"targets": 10_000, "duration_s": 15, "connections": 32, "repeat": 5},
}


async def run(lab: Lab, size: str, p: dict) -> Report:
    report = Report(NAME, size, p)
    report.goals = [Goal("errors", "<=", 0, "no socket errors or non-2xx answers under load")]
    db_url = await lab.database()
    conn = await connect(db_url)
    try:
        await generate(
            conn,
            targets=p["targets"],
            address="http://127.0.0.1:9/",
            interval_s=60,
            rollup_hours=48,
            raw_hours=0,
            raw_every_s=60,
        )
        first, last = await conn.fetchrow(Q["target_id_range"])
    finally:
        await conn.close()

    ceiling_port = free_port()
    ceiling = lab.python(
        "litestar-min", "bench.baselines.litestar_min", ["--port", str(ceiling_port)]
    )
    ceiling_url = f"http://127.0.0.1:{ceiling_port}/hello"
    api_port = free_port()
    api = lab.vigil("api", ["api", "--port", str(api_port)], db_url)
    base = f"http://127.0.0.1:{api_port}"
    await asyncio.gather(wait_http(ceiling_url, ceiling), wait_http(f"{base}/healthz", api))

    routes = {
        "target": f"{base}/api/v1/targets/{(first + last) // 2}",
        "summary": f"{base}/api/v1/summary",
    }
    async with aiohttp.ClientSession() as session:
        for name, url in list(routes.items()):
            async with session.get(url) as resp:
                if resp.status != 200:
                    report.unmeasured(name, f"{url} answered {resp.status}")
                    del routes[name]

    for _ in range(p["repeat"]):
        figures: dict[str, float | None] = {}
        errors = 0
        c = await wrk_against(
            ceiling, ceiling_url, duration_s=p["duration_s"], connections=p["connections"]
        )
        figures |= _figures("ceiling", c)
        errors += c["errors"]
        for name, url in routes.items():
            r = await wrk_against(
                api, url, duration_s=p["duration_s"], connections=p["connections"]
            )
            figures |= _figures(name, r)
            figures[f"{name}_vs_ceiling"] = ratio(r["rps"], c["rps"])
            errors += r["errors"]
        figures["errors"] = errors
        report.add_run(figures)
    for name in report.units:
        report.units[name] = (
            "req/s"
            if name.endswith("_rps")
            else "ms"
            if name.endswith("_ms")
            else "req/CPU-s"
            if name.endswith("_per_cpu_s")
            else "x"
            if "_vs_" in name
            else ""
        )
    return report


def _figures(name: str, r: dict) -> dict[str, float | None]:
    return {
        f"{name}_rps": r["rps"],
        f"{name}_p99_ms": r["latency_ms"].get("99"),
        f"{name}_req_per_cpu_s": ratio(r["requests"], r["cpu_s"]),
    }
