"""engine: the worker's own CPU per check around a no-op check (bench/harness/engine_loop.py),
no network and no database: the slot timer, the task, run_check's deadline, the result and the
metrics. A floor under the throughput scenarios' engine overhead, and steady enough on a shared
machine for A/B pairs of changes worth a few µs, which whole scenarios cannot show.
"""

from __future__ import annotations

import asyncio
import json
import sys
from pathlib import Path

from ..harness.lab import Lab
from ..harness.report import Goal, Report

NAME = "engine"
ROOT = Path(__file__).resolve().parents[2]  # where `bench` imports from
SIZES = {
    "tiny": {"checks": 5_000, "concurrency": 500, "repeat": 1},
    "short": {"checks": 50_000, "concurrency": 500, "repeat": 3},
    "full": {"checks": 200_000, "concurrency": 1_000, "repeat": 5},
}


async def run(lab: Lab, size: str, p: dict) -> Report:
    report = Report(NAME, size, p)
    report.goals = [
        Goal(
            "us_per_check",
            "<=",
            25,
            "the engine around a no-op check costs at most issue 20's whole overhead budget",
        )
    ]
    report.figure("us_per_check", "µs")
    proc = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "bench.harness.engine_loop",
        str(p["checks"]),
        str(p["concurrency"]),
        str(p["repeat"]),
        stdout=asyncio.subprocess.PIPE,
        cwd=ROOT,
    )
    out, _ = await proc.communicate()
    if proc.returncode != 0:
        raise RuntimeError(f"engine_loop exited with {proc.returncode}")
    for value in json.loads(out)["us_per_check"]:
        report.add_run({"us_per_check": value})
    return report
