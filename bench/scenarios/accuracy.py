"""accuracy: one loopback target is broken and healed while healthy targets keep the worker busy.

The flaky target is an HTTP server in this process whose mode flips between healthy, "status"
(answers 503) and "hang" (answers after its timeout). Detection is timed from the flip to
target_state saying down, recovery from the heal to up. The healthy targets (same thresholds)
must see no failed check, no incident and end up.
"""

from __future__ import annotations

import asyncio

from aiohttp import web

from tests.support import free_port
from vigil_core.db import connect

from ..harness.db import Q, insert_targets, spread_schedule, wait_status
from ..harness.lab import Lab
from ..harness.report import Goal, Report

NAME = "accuracy"
SIZES = {
    "tiny": {
        "healthy": 20,
        "interval_s": 1,
        "timeout_s": 0.5,
        "failure_threshold": 2,
        "success_threshold": 2,
        "modes": "status",
        "repeat": 1,
    },
    "short": {
        "healthy": 1000,
        "interval_s": 1,
        "timeout_s": 0.5,
        "failure_threshold": 3,
        "success_threshold": 2,
        "modes": "status,hang",
        "repeat": 2,
    },
    "full": {
        "healthy": 1000,
        "interval_s": 1,
        "timeout_s": 0.5,
        "failure_threshold": 3,
        "success_threshold": 2,
        "modes": "status,hang",
        "repeat": 5,
    },
}


class Flaky:
    """A loopback HTTP server whose answers the scenario breaks and heals."""

    def __init__(self, timeout_s: float) -> None:
        self.mode = "ok"
        self._hang_s = timeout_s * 4

    async def handle(self, request: web.Request) -> web.Response:
        if self.mode == "status":
            return web.Response(status=503, text="broken\n")
        if self.mode == "hang":
            await asyncio.sleep(self._hang_s)
        return web.Response(text="ok\n")


async def run(lab: Lab, size: str, p: dict) -> Report:
    report = Report(NAME, size, p)
    modes = str(p["modes"]).split(",")
    interval, timeout = float(p["interval_s"]), float(p["timeout_s"])
    detect_budget = interval * p["failure_threshold"] + timeout + 1
    recover_budget = interval * p["success_threshold"] + 1
    for mode in modes:
        report.figure(f"detect_{mode}_s", "s")
        report.figure(f"recover_{mode}_s", "s")
        report.goals += [
            Goal(
                f"detect_{mode}_s",
                "<=",
                detect_budget,
                f"{mode}: outage seen within interval x failure_threshold + timeout + 1 s",
            ),
            Goal(
                f"recover_{mode}_s",
                "<=",
                recover_budget,
                f"{mode}: recovery seen within interval x success_threshold + 1 s",
            ),
        ]
    for name in ("healthy_failed_checks", "healthy_incidents", "healthy_not_up"):
        report.figure(name, "")
    report.goals += [
        Goal("healthy_failed_checks", "<=", 0, "no failed check on the healthy targets"),
        Goal("healthy_incidents", "<=", 0, "0 false down verdicts on the healthy targets"),
    ]

    flaky = Flaky(timeout)
    app = web.Application()
    app.router.add_get("/", flaky.handle)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    flaky_port = free_port()
    await web.TCPSite(runner, "127.0.0.1", flaky_port).start()
    nginx_port = await lab.nginx()
    db_url = await lab.database()
    conn = await connect(db_url)
    try:
        healthy = await insert_targets(
            conn,
            prefix="healthy",
            kind="http",
            address=f"http://127.0.0.1:{nginx_port}/",
            count=p["healthy"],
            interval_s=interval,
            timeout_s=timeout,
            failure_threshold=p["failure_threshold"],
            success_threshold=p["success_threshold"],
        )
        [flaky_id] = await insert_targets(
            conn,
            prefix="flaky",
            kind="http",
            address=f"http://127.0.0.1:{flaky_port}/",
            count=1,
            interval_s=interval,
            timeout_s=timeout,
            failure_threshold=p["failure_threshold"],
            success_threshold=p["success_threshold"],
        )
        await spread_schedule(conn, healthy, await conn.fetchval(Q["now"]), interval)
        lab.vigil("worker", ["worker"], db_url, worker_metrics_port=0)
        try:
            await wait_status(
                conn, flaky_id, "up", deadline_s=interval * (p["success_threshold"] + 2) + 30
            )
        except TimeoutError as exc:
            if not await conn.fetchval(Q["any_state_derived"]):
                report.skipped = f"the worker derives no up/down state yet ({exc})"
                return report
            raise
        since = await conn.fetchval(Q["now"])
        for _ in range(p["repeat"]):
            figures: dict[str, float | None] = {}
            for mode in modes:
                flaky.mode = mode
                figures[f"detect_{mode}_s"] = await wait_status(
                    conn, flaky_id, "down", detect_budget * 3
                )
                flaky.mode = "ok"
                figures[f"recover_{mode}_s"] = await wait_status(
                    conn, flaky_id, "up", recover_budget * 3
                )
            verdicts = await conn.fetchrow(Q["healthy_verdicts"], healthy, since)
            figures |= {
                "healthy_failed_checks": verdicts["failed"],
                "healthy_incidents": verdicts["incidents"],
                "healthy_not_up": verdicts["not_up"],
            }
            report.add_run(figures)
        classes = await conn.fetch(Q["healthy_error_classes"], healthy, since)
        if classes:
            report.notes.append(
                "healthy targets' failed checks by error class: "
                + ", ".join(f"{r['error_class']} {r['n']}" for r in classes)
            )
    finally:
        await conn.close()
        await runner.cleanup()
    return report
