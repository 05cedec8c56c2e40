"""Real `vigil worker` processes: sharing, kill -9 hand-over, SIGTERM, /metrics and /healthz."""

from __future__ import annotations

import asyncio
import datetime as dt
import re
import signal
import subprocess
import time

import aiohttp

from ..support import free_port, spawn_vigil, stop_process, wait_http_ok
from .conftest import Servers, add_target, wait_for

INTERVAL = dt.timedelta(seconds=1)


def _worker(db_url: str, port: int) -> subprocess.Popen:
    return spawn_vigil(["worker", "--metrics-port", str(port)],
                       {"VIGIL_DATABASE_URL": db_url, "VIGIL_LOG_FORMAT": "json",
                        "VIGIL_WORKER_METRICS_HOST": "127.0.0.1",
                        "VIGIL_WORKER_LISTENER_PING_S": "1", "VIGIL_WORKER_GRACE_S": "5"})


async def _checks_done(port: int) -> float:
    async with aiohttp.ClientSession() as s, s.get(f"http://127.0.0.1:{port}/metrics") as r:
        text = await r.text()
    return sum(float(v) for v in re.findall(r'^vigil_worker_checks_total\{[^}]*\} (\S+)$', text, re.M))


async def test_two_workers_share_without_double_checks_and_hand_over_on_kill(
        db, db_url: str, servers: Servers) -> None:
    await db.execute("""INSERT INTO targets (name, kind, address, interval_s, timeout_s)
                        SELECT 'shared ' || g, 'tcp', $1, 1, 0.5 FROM generate_series(1, 40) g""",
                     servers.listening)
    ports = [free_port(), free_port()]
    procs = [_worker(db_url, p) for p in ports]
    try:
        for proc, port in zip(procs, ports):
            await wait_http_ok(f"http://127.0.0.1:{port}/healthz", proc=proc)
        await asyncio.sleep(2.5)
        done = [await _checks_done(p) for p in ports]
        assert all(n > 0 for n in done), f"both workers take a share: {done}"

        procs[0].send_signal(signal.SIGKILL)
        procs[0].wait(timeout=5)
        killed_at = await db.fetchval("SELECT now()")
        # within one interval (plus the claim lookahead) every target is checked again
        await wait_for(lambda: db.fetchval(
            """SELECT count(*) = 40 FROM (SELECT target_id FROM checks GROUP BY target_id
                                           HAVING max(due_at) > $1) x""", killed_at + INTERVAL),
            timeout=4, what="all targets checked after the kill")
        assert await _checks_done(ports[1]) > done[1]
    finally:
        out = stop_process(procs[1])
        stop_process(procs[0])
    assert procs[1].returncode == 0, out
    twice = await db.fetch("SELECT target_id, due_at, count(*) FROM checks "
                           "GROUP BY 1, 2 HAVING count(*) > 1")
    assert twice == [], "a slot was checked twice"
    rows = await db.fetch("SELECT s.anchor_at, c.due_at FROM checks c "
                          "JOIN schedule s USING (target_id)")
    # every check is on its target's grid: anchor + k * interval
    assert all((r["due_at"] - r["anchor_at"]) % INTERVAL == dt.timedelta(0) for r in rows)


async def test_metrics_lint_healthz_and_graceful_sigterm(db, db_url: str, servers: Servers) -> None:
    await add_target(db, "web", "http", servers.http + "/ok", interval_s=1)
    await add_target(db, "down", "tcp", servers.refused, interval_s=1)
    await add_target(db, "hang", "http", servers.hang + "/", interval_s=5, timeout_s=2)
    port = free_port()
    proc = _worker(db_url, port)
    try:
        await wait_http_ok(f"http://127.0.0.1:{port}/healthz", proc=proc)
        await wait_for(lambda: db.fetchval("SELECT count(DISTINCT target_id) >= 2 FROM checks"),
                       timeout=5, what="checks stored")
        async with aiohttp.ClientSession() as s:
            async with s.get(f"http://127.0.0.1:{port}/metrics") as r:
                text = await r.text()
            async with s.get(f"http://127.0.0.1:{port}/healthz") as r:
                health = await r.json()
        lint = subprocess.run(["promtool", "check", "metrics"], input=text, text=True,
                              capture_output=True)
        assert lint.returncode == 0, lint.stdout + lint.stderr
        for name in ("vigil_worker_checks_total", "vigil_worker_check_errors_total",
                     "vigil_worker_check_duration_seconds", "vigil_worker_schedule_lag_seconds",
                     "vigil_worker_flush_batch_size", "vigil_worker_flush_duration_seconds",
                     "vigil_worker_result_buffer_depth", "vigil_worker_results_dropped_total",
                     "vigil_worker_notifications_received_total",
                     "vigil_worker_listener_reconnects_total"):
            assert f"# TYPE {name.removesuffix('_total')}" in text, name
        assert 'vigil_worker_check_errors_total{error_class="refused",kind="tcp"}' in text
        assert health["status"] == "ok" and health["listener_connected"] is True

        # SIGTERM while the hanging check is in flight: it finishes (times out), is flushed,
        # and the process exits within the grace period.
        await wait_for(lambda: db.fetchval("SELECT count(*) FROM checks c JOIN targets t "
                                           "ON t.id = c.target_id WHERE t.name = 'hang'"),
                       timeout=6, what="first hang check")
        await asyncio.sleep(3.3)  # the hang target's 2nd slot (at 5 s) is in flight now
        sent = time.monotonic()
        proc.send_signal(signal.SIGTERM)
        out, _ = proc.communicate(timeout=10)
        took = time.monotonic() - sent
    finally:
        stop_process(proc)
    assert proc.returncode == 0, out
    assert took < 5 + 1, f"exit took {took:.1f}s"
    assert '"event": "worker.stopped"' in out and '"unflushed": 0' in out
