"""reaction: POST targets one by one through the API; time from the 201 to the first result visible there.

The worker learns of each new target from the NOTIFY sent in the inserting transaction. The client
polls GET /api/v1/targets/{id}/checks back to back after each 201; one such GET (the polling
resolution) is reported as the floor.
"""

from __future__ import annotations

import asyncio
import contextlib
import time

import aiohttp

from tests.support import bearer, free_port
from vigil_core.db import connect

from ..harness.db import Q
from ..harness.lab import Lab
from ..harness.procs import wait_http
from ..harness.report import Goal, Report
from ..harness.stats import percentile

NAME = "reaction"
SIZES = {
    "tiny": {"targets": 10, "deadline_s": 10.0, "repeat": 1},
    "short": {"targets": 200, "deadline_s": 10.0, "repeat": 1},
    "full": {"targets": 200, "deadline_s": 10.0, "repeat": 3},
}


@contextlib.asynccontextmanager
async def _closing(conn):
    try:
        yield conn
    finally:
        await conn.close()


def _items(body: object) -> list:
    # The API answers {"items": [...], "next": ...}; the first skeleton answered a bare list.
    return body["items"] if isinstance(body, dict) else body


async def _first_result(
    session: aiohttp.ClientSession, base: str, target_id: int, deadline_s: float, polls: list[float]
) -> None:
    url = f"{base}/api/v1/targets/{target_id}/checks?limit=1"
    end = time.monotonic() + deadline_s
    while time.monotonic() < end:
        t = time.perf_counter()
        async with session.get(url) as resp:
            body = await resp.json()
        polls.append((time.perf_counter() - t) * 1000)
        if resp.status == 200 and _items(body):
            return
        await asyncio.sleep(0.0005)
    raise TimeoutError(f"no result for target {target_id} within {deadline_s}s")


async def run(lab: Lab, size: str, p: dict) -> Report:
    report = Report(NAME, size, p)
    for name in (
        "reaction_p50_ms",
        "reaction_p99_ms",
        "reaction_max_ms",
        "created_to_check_start_p50_ms",
        "created_to_check_start_p99_ms",
        "floor_poll_p50_ms",
        "timeouts",
    ):
        report.figure(name, "" if name == "timeouts" else "ms")
    report.goals = [
        Goal("reaction_p50_ms", "<=", 10, "201 to first visible result p50 <= 10 ms"),
        Goal("reaction_p99_ms", "<=", 50, "201 to first visible result p99 <= 50 ms"),
        Goal("timeouts", "<=", 0, "every target's first result shows up"),
    ]
    nginx_port = await lab.nginx()
    target_url = f"http://127.0.0.1:{nginx_port}/"
    db_url = await lab.database()
    api_port = free_port()
    api = lab.vigil("api", ["api", "--port", str(api_port)], db_url)
    lab.vigil("worker", ["worker"], db_url, worker_metrics_port=0)
    base = f"http://127.0.0.1:{api_port}"
    await wait_http(f"{base}/healthz", api)

    headers = bearer(await lab.token(db_url, "write"))
    conn = await connect(db_url)
    async with aiohttp.ClientSession(headers=headers) as session, _closing(conn):
        serial = 0

        async def create(prefix: str = "reaction") -> tuple[int, float]:
            nonlocal serial
            serial += 1
            body = {
                "name": f"{prefix}-{serial}",
                "kind": "http",
                "url": target_url,
                "interval_s": 300,
                "timeout_s": 5,
            }
            async with session.post(f"{base}/api/v1/targets", json=body) as resp:
                created = await resp.json()
                at = time.perf_counter()
                if resp.status != 201:
                    raise RuntimeError(f"POST /api/v1/targets answered {resp.status}: {created}")
            return created["id"], at

        # Warm-up: the worker's first claim, the pools and the plans are not what is measured.
        tid, _ = await create("warmup")
        await _first_result(session, base, tid, 30, [])
        for rep in range(p["repeat"]):
            reactions: list[float] = []
            polls: list[float] = []
            timeouts = 0
            for _ in range(p["targets"]):
                tid, created_at = await create(f"reaction{rep}")
                try:
                    await _first_result(session, base, tid, p["deadline_s"], polls)
                except TimeoutError:
                    timeouts += 1
                    continue
                reactions.append((time.perf_counter() - created_at) * 1000)
            # The server-side part: created_at (the inserting transaction) to the check's start.
            start = await conn.fetchrow(Q["first_check_delay"], f"reaction{rep}")
            report.add_run(
                {
                    "created_to_check_start_p50_ms": start["p50"] and start["p50"] * 1000,
                    "created_to_check_start_p99_ms": start["p99"] and start["p99"] * 1000,
                    "reaction_p50_ms": percentile(reactions, 0.5),
                    "reaction_p99_ms": percentile(reactions, 0.99),
                    "reaction_max_ms": max(reactions, default=None),
                    "floor_poll_p50_ms": percentile(polls, 0.5),
                    "timeouts": timeouts,
                }
            )
    return report
