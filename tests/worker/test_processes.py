"""A real `vigil worker` process: /metrics, /healthz and a graceful SIGTERM."""

from __future__ import annotations

import asyncio
import signal
import subprocess
import time
from collections.abc import AsyncIterator

import aiohttp
import pytest

from ..support import free_port, spawn_vigil, stop_process, wait_http_ok
from .conftest import Servers, add_target, wait_for


def _worker(db_url: str, port: int) -> subprocess.Popen:
    return spawn_vigil(
        ["worker", "--metrics-port", str(port)],
        {
            "VIGIL_DATABASE_URL": db_url,
            "VIGIL_LOG_FORMAT": "json",
            "VIGIL_WORKER_METRICS_HOST": "127.0.0.1",
            "VIGIL_WORKER_LISTENER_PING_S": "1",
            "VIGIL_WORKER_GRACE_S": "5",
        },
    )


@pytest.fixture
async def hang_server() -> AsyncIterator[tuple[str, list[asyncio.StreamWriter]]]:
    """An HTTP address that accepts and never answers; yields it and the connections accepted."""
    accepted: list[asyncio.StreamWriter] = []

    async def hold(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        accepted.append(writer)

    server = await asyncio.start_server(hold, "127.0.0.1", 0)
    yield f"http://127.0.0.1:{server.sockets[0].getsockname()[1]}/", accepted
    for writer in accepted:
        writer.close()
    server.close()


async def test_metrics_lint_healthz_and_graceful_sigterm(
    db, db_url: str, servers: Servers, hang_server: tuple[str, list[asyncio.StreamWriter]]
) -> None:
    hang_url, hang_accepted = hang_server
    await add_target(db, "web", "http", servers.http + "/ok", interval_s=1)
    await add_target(db, "down", "tcp", servers.refused, interval_s=1)
    await add_target(db, "hang", "http", hang_url, interval_s=5, timeout_s=2)
    port = free_port()
    proc = _worker(db_url, port)
    try:
        await wait_http_ok(f"http://127.0.0.1:{port}/healthz", proc=proc)
        await wait_for(
            lambda: db.fetchval("SELECT count(DISTINCT target_id) >= 2 FROM checks"),
            timeout=5,
            what="checks stored",
        )
        async with aiohttp.ClientSession() as s:
            async with s.get(f"http://127.0.0.1:{port}/metrics") as r:
                text = await r.text()
            async with s.get(f"http://127.0.0.1:{port}/healthz") as r:
                health = await r.json()
        lint = subprocess.run(
            ["promtool", "check", "metrics"], input=text, text=True, capture_output=True
        )
        assert lint.returncode == 0, lint.stdout + lint.stderr
        for name in (
            "vigil_worker_checks_total",
            "vigil_worker_check_errors_total",
            "vigil_worker_check_duration_seconds",
            "vigil_worker_schedule_lag_seconds",
            "vigil_worker_flush_batch_size",
            "vigil_worker_flush_duration_seconds",
            "vigil_worker_result_buffer_depth",
            "vigil_worker_results_dropped_total",
            "vigil_worker_notifications_received_total",
            "vigil_worker_listener_reconnects_total",
        ):
            assert f"# TYPE {name.removesuffix('_total')}" in text, name
        assert 'vigil_worker_check_errors_total{error_class="refused",kind="tcp"}' in text
        assert health["status"] == "ok" and health["listener_connected"] is True

        # SIGTERM while the hanging check is in flight: it finishes (times out), is flushed,
        # and the process exits within the grace period.
        # The hang target's 2nd slot (5 s after the 1st) has connected: it is in flight.
        await wait_for(
            lambda: len(hang_accepted) == 2, timeout=15, what="the hang target's 2nd check"
        )
        sent = time.monotonic()
        proc.send_signal(signal.SIGTERM)
        out, _ = proc.communicate(timeout=10)
        took = time.monotonic() - sent
    finally:
        stop_process(proc)
    assert proc.returncode == 0, out
    assert took < 5 + 1, f"exit took {took:.1f}s"
    assert '"event": "worker.stopped"' in out and '"unflushed": 0' in out
