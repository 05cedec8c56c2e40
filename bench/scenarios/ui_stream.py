"""ui-stream: the API's cost of live dashboards. N targets, results flowing at `rate` checks/s
(synthetic, `bench.harness.feed`: what a worker's flushes leave in target_state, and the same
notifications) with `flips_per_s` changes of state among them, and `streams` SSE clients
opened without a browser as the dashboard opens its stream: the states and results of its first
page (50 targets by name, read from GET /api/v1/summary as the page reads them) and the counts
(`type=state,result,maintenance,counts&target_id=...`).

Three phases in each run, each over `duration_s` after `warmup_s`, on one `vigil api`:
`idle` (the feed, no stream: the floor), `dashboards` (the filtered streams) and `unfiltered`
(the same number of streams without parameters: every result of every target, what every tab
received before issue 20). Figures: the API process's CPU in cores, events per client per
second, the clients dropped (their stream ended: the API found them too slow) and the resyncs
they got. A client whose stream ends reconnects at once, as EventSource does, and counts it.

`paint_ms` (with `--set paint=1`, the default at full size): the dashboard's first rows in
Chromium (Debian's, through Playwright), ms after navigation start, best of 3 reloads, with the
`dashboards` streams open and the feed running.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import time
from collections import Counter

import aiohttp

from tests.support import bearer, free_port
from vigil_core import accounts
from vigil_core.db import connect

from ..harness.db import Q, insert_targets
from ..harness.feed import ResultFeed
from ..harness.lab import Lab
from ..harness.procs import Child, wait_http
from ..harness.report import Goal, Report

NAME = "ui-stream"
PAGE = 50  # the dashboard's page size (ui/static/js/dashboard.js)
SIZES = {
    "tiny": {
        "targets": 500,
        "rate": 100,
        "flips_per_s": 2,
        "streams": 5,
        "warmup_s": 1,
        "duration_s": 3,
        "paint": 0,
        "repeat": 1,
    },
    "short": {
        "targets": 10_000,
        "rate": 1000,
        "flips_per_s": 5,
        "streams": 50,
        "warmup_s": 2,
        "duration_s": 10,
        "paint": 1,
        "repeat": 1,
    },
    "full": {
        "targets": 10_000,
        "rate": 1000,
        "flips_per_s": 5,
        "streams": 50,
        "warmup_s": 3,
        "duration_s": 30,
        "paint": 1,
        "repeat": 3,
    },
}
PASSWORD = "bench-password-0123"


class StreamClient:
    """One SSE client that counts what it gets and reconnects when its stream ends."""

    def __init__(self, session: aiohttp.ClientSession, url: str) -> None:
        self.session = session
        self.url = url
        self.events: Counter[str] = Counter()
        self.ended = 0  # streams that ended under it (dropped by the API, or failed)
        self.connected = asyncio.Event()
        self._task = asyncio.create_task(self._run())

    async def _run(self) -> None:
        while True:
            try:
                async with self.session.get(self.url) as resp:
                    if resp.status != 200:
                        raise RuntimeError(f"{self.url}: {resp.status} {await resp.text()}")
                    self.connected.set()
                    async for line in resp.content:
                        if line.startswith(b"event: "):
                            self.events[line[7:].strip().decode()] += 1
            except aiohttp.ClientError:
                pass
            self.ended += 1

    def reset(self) -> None:
        self.events.clear()
        self.ended = 0

    async def close(self) -> None:
        self._task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await self._task


async def run(lab: Lab, size: str, p: dict) -> Report:
    report = Report(NAME, size, p)
    report.goals = [
        Goal("dashboards_api_cores", "<=", 0.3, "50 dashboards' streams cost the API ≤ 0.3 core"),
        Goal("dashboards_dropped", "<=", 0, "no dashboard stream dropped (no resync loop)"),
        Goal("paint_ms", "<=", 1000, "the dashboard's first rows paint within 1 s in Chromium"),
    ]
    for name, unit in (
        ("idle_api_cores", "cores"),
        ("dashboards_api_cores", "cores"),
        ("dashboards_stream_cores", "cores"),
        ("dashboards_events_per_client_s", "ev/s"),
        ("dashboards_counts_per_client_s", "ev/s"),
        ("dashboards_dropped", ""),
        ("dashboards_resyncs", ""),
        ("unfiltered_api_cores", "cores"),
        ("unfiltered_events_per_client_s", "ev/s"),
        ("unfiltered_dropped", ""),
        ("feed_results_per_s", "checks/s"),
        ("paint_ms", "ms"),
    ):
        report.figure(name, unit)
    db_url = await lab.database()
    conn = await connect(db_url)
    try:
        ids = await insert_targets(
            conn,
            prefix="ui",
            kind="http",
            address="http://127.0.0.1:9/",
            count=p["targets"],
            interval_s=p["targets"] / p["rate"],
            timeout_s=1,
        )
        await conn.execute(Q["fill_state"], ids[0], ids[-1])
        await conn.execute("ANALYZE")
        if p["paint"]:
            await accounts.create_user(conn, "bench", "admin", PASSWORD)
    finally:
        await conn.close()
    headers = bearer(await lab.token(db_url, "read"))

    for rep in range(p["repeat"]):
        port = free_port()
        api = lab.vigil(f"api-{rep}", ["api", "--port", str(port)], db_url)
        base = f"http://127.0.0.1:{port}"
        await wait_http(f"{base}/healthz", api)
        figures: dict[str, float | None] = {}
        async with (
            aiohttp.ClientSession(
                headers=headers, timeout=aiohttp.ClientTimeout(total=None, sock_read=None)
            ) as session,
            ResultFeed(db_url, ids, rate=p["rate"], flips_per_s=p["flips_per_s"]) as feed,
        ):
            async with session.get(f"{base}/api/v1/summary", params={"limit": PAGE}) as resp:
                assert resp.status == 200, await resp.text()
                page = [item["id"] for item in (await resp.json())["items"]]
            query = "type=state,result,maintenance,counts&" + "&".join(
                f"target_id={i}" for i in page
            )
            await asyncio.sleep(p["warmup_s"])
            results = feed.results
            figures["idle_api_cores"] = await _cores(api, p["duration_s"])
            figures["feed_results_per_s"] = (feed.results - results) / p["duration_s"]
            clients = await _measure(
                api, session, f"{base}/api/v1/events?{query}", p, figures, "dashboards"
            )
            figures["dashboards_stream_cores"] = (
                figures["dashboards_api_cores"] - figures["idle_api_cores"]
            )
            figures["dashboards_counts_per_client_s"] = sum(c.events["counts"] for c in clients) / (
                len(clients) * p["duration_s"]
            )
            figures["dashboards_resyncs"] = sum(c.events["resync"] for c in clients)
            if p["paint"]:
                figures["paint_ms"] = await _paint(base)
            for c in clients:
                await c.close()
            for c in await _measure(
                api, session, f"{base}/api/v1/events", p, figures, "unfiltered"
            ):
                await c.close()
        report.add_run(figures)
        lab.forget(api)
    if not p["paint"]:
        report.unmeasured("paint_ms", "not asked for (--set paint=1)")
    return report


async def _cores(child: Child, duration_s: float) -> float:
    cpu, t = child.cpu_seconds(), time.monotonic()
    await asyncio.sleep(duration_s)
    child.check_alive()
    return (child.cpu_seconds() - cpu) / (time.monotonic() - t)


async def _measure(
    api: Child,
    session: aiohttp.ClientSession,
    url: str,
    p: dict,
    figures: dict[str, float | None],
    name: str,
) -> list[StreamClient]:
    """Open the streams, let them settle, then the API's cores and what the clients got."""
    clients = [StreamClient(session, url) for _ in range(p["streams"])]
    async with asyncio.timeout(30):
        await asyncio.gather(*(c.connected.wait() for c in clients))
    await asyncio.sleep(p["warmup_s"])
    for c in clients:
        c.reset()
    figures[f"{name}_api_cores"] = await _cores(api, p["duration_s"])
    events = sum(sum(c.events.values()) for c in clients)
    figures[f"{name}_events_per_client_s"] = events / (len(clients) * p["duration_s"])
    figures[f"{name}_dropped"] = sum(c.ended for c in clients)
    return clients


async def _paint(base: str) -> float | None:
    """The dashboard's first rows in Chromium: ms after navigation start, best of 3."""
    from playwright.async_api import async_playwright

    chromium = "/usr/lib/chromium/chromium"
    if not os.path.exists(chromium):
        return None
    async with async_playwright() as pw:
        browser = await pw.chromium.launch(
            executable_path=chromium,
            headless=True,
            args=["--no-sandbox", "--disable-gpu", "--no-first-run"],
        )
        try:
            page = await browser.new_page()
            resp = await page.context.request.post(
                f"{base}/api/v1/auth/login", data={"username": "bench", "password": PASSWORD}
            )
            assert resp.ok, await resp.text()
            await page.goto(f"{base}/")  # warm: the module cache and the API's plans
            await page.locator("tbody tr[data-id]").first.wait_for()
            best = None
            for _ in range(3):
                await page.reload()
                await page.locator("tbody tr[data-id]").first.wait_for()
                painted = await page.evaluate(
                    "performance.getEntriesByName('vigil:rows')[0].startTime"
                )
                best = painted if best is None else min(best, painted)
            return best
        finally:
            await browser.close()
