"""End to end: `vigil import gatus --apply` against a running API and worker, whose first checks
of the imported targets then appear; and `-o FILE`, which `vigil apply -f` takes unchanged."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
from collections.abc import AsyncIterator
from pathlib import Path

import aiohttp
import pytest
from aiohttp import web

from ..support import (
    bearer,
    free_port,
    mint_token,
    spawn_vigil,
    stop_process,
    wait_for_checks,
    wait_http_ok,
)

GATUS_CONFIG = """\
alerting:
  slack:
    webhook-url: "${{SLACK_WEBHOOK_URL}}"
    default-alert:
      send-on-resolved: true

endpoints:
  - name: api
    group: shop
    url: "http://127.0.0.1:{http_port}/health"
    interval: 5m
    client:
      timeout: 5s
    conditions:
      - "[STATUS] == 200"
      - "[BODY].status == UP"
      - "[BODY] == pat(*UP*)"
      - "[RESPONSE_TIME] < 4000"
    alerts:
      - type: slack
        failure-threshold: 2
  - name: cache
    group: shop
    url: "tcp://127.0.0.1:{tcp_port}"
    interval: 5m
    conditions:
      - "[CONNECTED] == true"
"""


@pytest.fixture
async def loopback_servers() -> AsyncIterator[tuple[int, int]]:
    """An HTTP server answering JSON and a TCP server that accepts: (http_port, tcp_port)."""

    async def health(request: web.Request) -> web.Response:
        return web.json_response({"status": "UP"})

    app = web.Application()
    app.router.add_get("/health", health)
    runner = web.AppRunner(app)
    await runner.setup()
    http_port = free_port()
    await web.TCPSite(runner, "127.0.0.1", http_port).start()

    async def accept(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        writer.close()

    tcp = await asyncio.start_server(accept, "127.0.0.1", 0)
    tcp_port = tcp.sockets[0].getsockname()[1]
    try:
        yield http_port, tcp_port
    finally:
        tcp.close()
        await tcp.wait_closed()
        await runner.cleanup()


@pytest.fixture
async def running_system(db_url: str) -> AsyncIterator[str]:
    """`vigil api` and `vigil worker` as real processes on the test's database."""
    port, metrics_port = free_port(), free_port()
    env = {
        "VIGIL_DATABASE_URL": db_url,
        "VIGIL_LOG_LEVEL": "warning",
        "VIGIL_WORKER_METRICS_HOST": "127.0.0.1",
    }
    worker = spawn_vigil(["worker", "--metrics-port", str(metrics_port)], env)
    api = spawn_vigil(["api", "--port", str(port)], env)
    base = f"http://127.0.0.1:{port}"
    try:
        await wait_http_ok(f"{base}/readyz", proc=api)
        await wait_http_ok(f"http://127.0.0.1:{metrics_port}/healthz", proc=worker)
        yield base
    finally:
        for proc in (api, worker):
            stop_process(proc)


def vigil(*args: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    """The `vigil` command as a user runs it."""
    return subprocess.run(
        [sys.executable, "-m", "vigil_cli", *args],
        env={**os.environ, **env},
        capture_output=True,
        text=True,
        timeout=60,
    )


async def test_import_apply_then_first_checks(
    running_system: str, loopback_servers: tuple[int, int], tmp_path: Path, db_url: str
) -> None:
    http_port, tcp_port = loopback_servers
    config = tmp_path / "config.yaml"
    config.write_text(GATUS_CONFIG.format(http_port=http_port, tcp_port=tcp_port))
    token = await mint_token(db_url, "admin")
    env = {"SLACK_WEBHOOK_URL": "http://127.0.0.1:9/services/T0/B0/e2e", "VIGIL_TOKEN": token}

    done = await asyncio.to_thread(
        vigil, "import", "gatus", str(config), "--apply", "--api-url", running_system, env=env
    )
    assert done.returncode == 0, done.stderr
    assert "vigil import gatus: 2 imported, 0 approximated, 0 skipped" in done.stderr
    assert "+ api" in done.stdout and "+ cache" in done.stdout
    assert "+ channel gatus-slack" in done.stdout and "+ route gatus-slack" in done.stdout

    async with aiohttp.ClientSession(headers=bearer(token)) as http:
        async with http.get(f"{running_system}/api/v1/targets") as resp:
            targets = {t["name"]: t for t in (await resp.json())["items"]}
        assert set(targets) == {"api", "cache"}
        api = targets["api"]
        assert (api["expected_status"], api["keyword"], api["max_latency_ms"]) == (
            [200],
            "UP",
            4000,
        )
        assert api["json"] == [{"path": "status", "op": "==", "value": "UP"}]
        assert api["labels"] == {"group": "shop", "gatus_alert_slack": "true"}
        assert (api["failure_threshold"], api["success_threshold"]) == (2, 2)
        for name in ("api", "cache"):
            checks = await wait_for_checks(http, running_system, targets[name]["id"], 20)
            assert checks, f"no check of {name} within 20 s"
            assert checks[0]["ok"] is True, checks[0]
        assert checks[0]["latency_ms"] > 0

    # -o FILE writes the same document; vigil apply -f takes it as it is: nothing to change.
    out = tmp_path / "vigil.yaml"
    written = await asyncio.to_thread(
        vigil, "import", "gatus", str(config), "-o", str(out), env=env
    )
    assert written.returncode == 0, written.stderr
    assert written.stdout == ""
    assert out.read_text().startswith("# Written by `vigil import gatus`")
    applied = await asyncio.to_thread(
        vigil, "apply", "-f", str(out), "--api-url", running_system, env=env
    )
    assert applied.returncode == 0, applied.stderr
    assert applied.stdout.splitlines()[-3:] == [
        "channels: 0 created, 0 updated, 0 deleted, 1 unchanged",
        "targets: 0 created, 0 updated, 0 deleted, 2 unchanged",
        "routes: 0 created, 0 updated, 0 deleted, 1 unchanged",
    ]


async def test_malformed_config_writes_nothing(tmp_path: Path) -> None:
    config = tmp_path / "config.yaml"
    config.write_text(
        "endpoints:\n  - name: a\n    url: http://x\n    conditions: ['[STATUS]==1']\n"
    )
    out = tmp_path / "vigil.yaml"
    failed = await asyncio.to_thread(vigil, "import", "gatus", str(config), "-o", str(out), env={})
    assert failed.returncode == 2
    assert failed.stderr.startswith(f"vigil import gatus: {config}:4: endpoint 'a': condition")
    assert not out.exists()
