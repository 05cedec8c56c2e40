"""End to end: a target POSTed to a running API is checked by a running worker, woken by NOTIFY alone."""

from __future__ import annotations

import asyncio
import subprocess
import time
from collections.abc import AsyncIterator

import aiohttp
import pytest
from aiohttp import web

from .support import (
    create_target,
    free_port,
    spawn_vigil,
    stop_process,
    wait_for_checks,
    wait_http_ok,
)


@pytest.fixture
async def loopback_http():
    """A loopback HTTP server the test controls; yields its base URL and a hit counter."""
    hits: list[float] = []

    async def ok(request: web.Request) -> web.Response:
        hits.append(time.monotonic())
        return web.Response(text="hello from the loopback target")

    app = web.Application()
    app.router.add_get("/", ok)
    runner = web.AppRunner(app)
    await runner.setup()
    port = free_port()
    site = web.TCPSite(runner, "127.0.0.1", port)
    await site.start()
    yield f"http://127.0.0.1:{port}/", hits
    await runner.cleanup()


@pytest.fixture
async def running_system(db_url: str, admin_headers: dict[str, str]) -> AsyncIterator[str]:
    """`vigil api` and `vigil worker` as real processes; the worker's safety-net poll is 60 s."""
    port, metrics_port = free_port(), free_port()
    env = {
        "VIGIL_DATABASE_URL": db_url,
        "VIGIL_WORKER_POLL_INTERVAL_S": "60",
        "VIGIL_LOG_LEVEL": "warning",
        "VIGIL_WORKER_METRICS_HOST": "127.0.0.1",
    }
    worker = spawn_vigil(["worker", "--metrics-port", str(metrics_port)], env)
    api = spawn_vigil(["api", "--port", str(port)], env)
    base = f"http://127.0.0.1:{port}"
    try:
        await wait_http_ok(f"{base}/readyz", proc=api)
        await _wait_worker_idle(
            worker, base, f"http://127.0.0.1:{metrics_port}/healthz", port, admin_headers
        )
        yield base
    finally:
        for proc in (api, worker):
            stop_process(proc)


async def _wait_worker_idle(
    worker: subprocess.Popen, base: str, healthz: str, api_port: int, admin_headers: dict[str, str]
) -> None:
    """Until the worker LISTENs and has checked a warm-up target (interval 300 s): from then on
    it sleeps for its 60 s poll, and only a NOTIFY can wake it."""
    await wait_http_ok(healthz, proc=worker)
    end = time.monotonic() + 20
    async with aiohttp.ClientSession(headers=admin_headers) as http:
        while not (await (await http.get(healthz)).json())["listener_connected"]:
            assert time.monotonic() < end, "the worker's listener did not connect within 20 s"
            await asyncio.sleep(0.05)
        warm_up = await create_target(
            http,
            base,
            {
                "name": "warm-up",
                "kind": "tcp",
                "host": "127.0.0.1",
                "port": api_port,
                "interval_s": 300,
            },
        )
        assert await wait_for_checks(http, base, warm_up["id"], deadline_s=20), (
            "the warm-up target was not checked"
        )


async def test_posted_target_is_checked_within_two_seconds(
    running_system: str, loopback_http, admin_headers: dict[str, str]
) -> None:
    target_url, hits = loopback_http
    async with aiohttp.ClientSession(headers=admin_headers) as http:
        target = await create_target(
            http,
            running_system,
            {
                "name": "loopback",
                "kind": "http",
                "url": target_url,
                "interval_s": 300,
                "timeout_s": 5,
            },
        )
        created = time.monotonic()
        checks = await wait_for_checks(http, running_system, target["id"], deadline_s=2.0)
        elapsed = time.monotonic() - created

    assert checks, (
        "no check result within 2 s of the POST (the worker sleeps 60 s unless NOTIFY wakes it)"
    )
    assert checks[0]["ok"] is True and checks[0]["status_code"] == 200
    assert checks[0]["latency_ms"] > 0
    assert len(hits) == 1
    print(f"POST -> first visible check: {elapsed * 1000:.1f} ms")


async def test_failed_target_is_recorded_with_error_class(
    running_system: str, admin_headers: dict[str, str]
) -> None:
    dead_port = free_port()  # nothing listens here
    async with aiohttp.ClientSession(headers=admin_headers) as http:
        target = await create_target(
            http,
            running_system,
            {
                "name": "refused",
                "kind": "http",
                "url": f"http://127.0.0.1:{dead_port}/",
                "interval_s": 300,
                "timeout_s": 2,
            },
        )
        checks = await wait_for_checks(http, running_system, target["id"], deadline_s=5)
    assert checks and checks[0]["ok"] is False
    assert checks[0]["error_class"] == "refused"
