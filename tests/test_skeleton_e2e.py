"""End to end: a target POSTed to a running API is checked by a running worker, woken by NOTIFY alone."""

from __future__ import annotations

import time

import aiohttp
import pytest
from aiohttp import web

from .support import free_port, spawn_vigil, stop_process, wait_http_ok


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
async def running_system(db_url: str):
    """`vigil api` and `vigil worker` as real processes; the worker's safety-net poll is 60 s."""
    port = free_port()
    env = {"VIGIL_DATABASE_URL": db_url, "VIGIL_WORKER_POLL_INTERVAL_S": "60", "VIGIL_LOG_LEVEL": "warning"}
    worker = spawn_vigil(["worker"], env)
    api = spawn_vigil(["api", "--port", str(port)], env)
    base = f"http://127.0.0.1:{port}"
    try:
        await wait_http_ok(f"{base}/readyz", proc=api)
        # Give the worker time to reach its first (60 s) sleep, so only a NOTIFY can wake it.
        await _wait_worker_idle(worker)
        yield base
    finally:
        for proc in (api, worker):
            stop_process(proc)


async def _wait_worker_idle(worker) -> None:
    import asyncio

    await asyncio.sleep(1.5)
    assert worker.poll() is None, stop_process(worker)


async def test_posted_target_is_checked_within_two_seconds(running_system: str, loopback_http) -> None:
    target_url, hits = loopback_http
    async with aiohttp.ClientSession() as http:
        async with http.post(
            f"{running_system}/api/v1/targets",
            json={"name": "loopback", "kind": "http", "url": target_url, "interval_s": 300, "timeout_s": 5},
        ) as resp:
            assert resp.status == 201, await resp.text()
            target = await resp.json()
        created = time.monotonic()

        deadline = created + 2.0
        checks: list = []
        while time.monotonic() < deadline:
            async with http.get(f"{running_system}/api/v1/targets/{target['id']}/checks") as resp:
                assert resp.status == 200
                body = await resp.json()
                checks = body["items"] if isinstance(body, dict) else body
            if checks:
                break
        elapsed = time.monotonic() - created

    assert checks, "no check result within 2 s of the POST (the worker sleeps 60 s unless NOTIFY wakes it)"
    assert checks[0]["ok"] is True and checks[0]["status_code"] == 200
    assert checks[0]["latency_ms"] > 0
    assert len(hits) == 1
    print(f"POST -> first visible check: {elapsed * 1000:.1f} ms")


async def test_failed_target_is_recorded_with_error_class(running_system: str) -> None:
    dead_port = free_port()  # nothing listens here
    async with aiohttp.ClientSession() as http:
        async with http.post(
            f"{running_system}/api/v1/targets",
            json={"name": "refused", "kind": "http", "url": f"http://127.0.0.1:{dead_port}/", "interval_s": 300, "timeout_s": 2},
        ) as resp:
            assert resp.status == 201
            tid = (await resp.json())["id"]
        deadline = time.monotonic() + 5
        checks: list = []
        while time.monotonic() < deadline and not checks:
            async with http.get(f"{running_system}/api/v1/targets/{tid}/checks") as resp:
                body = await resp.json()
                checks = body["items"] if isinstance(body, dict) else body
    assert checks and checks[0]["ok"] is False
    assert checks[0]["error_class"] == "refused"
