"""PostgreSQL goes away under running `vigil api` and `vigil worker` processes (a cluster of the
test's own, stopped and started with pg_ctl)."""

from __future__ import annotations

import asyncio
import datetime as dt
import signal
import time

import aiohttp
import pytest

from vigil_core.db import connect

from ..support import bearer, mint_token
from ..worker.conftest import wait_for
from .conftest import Api, OwnPostgres, Worker

pytestmark = pytest.mark.timeout(120)

TARGETS = 50
INTERVAL = dt.timedelta(seconds=1)
OUTAGE_S = 3.0
API_503_WITHIN_S = 0.5  # "well under a second"


async def _add_targets(url: str, healthy: dict[str, int]) -> None:
    db = await connect(url)
    try:
        await db.execute(
            """INSERT INTO targets (name, kind, address, interval_s, timeout_s)
               SELECT 'tcp ' || g, 'tcp', $1, 1, 0.5 FROM generate_series(1, $3::int) g
               UNION ALL
               SELECT 'http ' || g, 'http', $2, 1, 0.5 FROM generate_series(1, $3::int) g""",
            f"127.0.0.1:{healthy['tcp']}",
            f"http://127.0.0.1:{healthy['http']}/",
            TARGETS // 2,
        )
    finally:
        await db.close()


async def _all_checked(url: str) -> bool:
    db = await connect(url)
    try:
        return await db.fetchval("SELECT count(DISTINCT target_id) FROM checks") == TARGETS
    finally:
        await db.close()


async def _get(session: aiohttp.ClientSession, url: str) -> tuple[int, float]:
    started = time.monotonic()
    async with session.get(url) as resp:
        await resp.read()
        return resp.status, time.monotonic() - started


async def test_postgres_restart_under_load(own_pg: OwnPostgres, healthy, certs) -> None:
    api, worker = Api(own_pg.url), Worker(own_pg.url, healthy, certs)
    targets_url = f"{api.base}/api/v1/targets"
    try:
        await api.until_http_ok(f"{api.base}/readyz")
        await worker.started()
        await _add_targets(own_pg.url, healthy)
        await wait_for(
            lambda: _all_checked(own_pg.url), timeout=15, every=0.2, what="every target checked"
        )

        headers = bearer(await mint_token(own_pg.url, "read"))
        await own_pg.stop()
        answers: list[tuple[int, float]] = []
        async with aiohttp.ClientSession(headers=headers) as http:
            end = time.monotonic() + OUTAGE_S
            while time.monotonic() < end:
                answers.append(await _get(http, targets_url))
                await asyncio.sleep(0.1)
            health_status, health = await worker.healthz()
            await own_pg.start()
            # The API recovers alone, with no restart.
            recovered = time.monotonic()
            await wait_for(
                lambda: _ok(http, targets_url), timeout=20, every=0.1, what="API answers 200 again"
            )
            recovered = time.monotonic() - recovered
        await wait_for(
            lambda: _flushed(worker), timeout=20, every=0.1, what="worker flushed its buffer"
        )
        # Slots after the restart, too, are stored before we look.
        resumed = await _now(own_pg.url)
        await wait_for(
            lambda: _stored_through(own_pg.url, resumed),
            timeout=10,
            every=0.2,
            what="slots after the restart stored",
        )
        dropped = await worker.metric("vigil_worker_results_dropped_total")
    finally:
        worker_code, api_code = worker.stop(), api.stop()

    statuses = sorted({status for status, _ in answers})
    slowest = max(took for _, took in answers)
    print(
        f"outage: {len(answers)} API answers {statuses}, slowest {slowest * 1000:.0f} ms; "
        f"worker held {health.get('buffered')}; API 200 again {recovered:.2f}s after start"
    )
    assert statuses == [503], answers
    assert slowest < API_503_WITHIN_S, f"a 503 took {slowest:.2f}s"
    # alive through the outage, and it went on checking meanwhile
    assert health_status == 200 and health.get("buffered", 0) > 0, health
    assert dropped == 0
    assert worker_code == 0, worker.output
    # uvicorn re-raises SIGTERM after its graceful shutdown, so -15 is a clean exit too.
    assert api_code in (0, -signal.SIGTERM), api.output

    db = await connect(own_pg.url)
    try:
        rows, slots = await db.fetchrow(
            "SELECT count(*), count(DISTINCT (target_id, due_at)) FROM checks"
        )
        assert rows == slots, f"{rows - slots} slots stored twice"
        gaps = await db.fetch(
            """SELECT target_id, due_at - lag(due_at) OVER w AS gap FROM checks
               WINDOW w AS (PARTITION BY target_id ORDER BY due_at)"""
        )
        # every slot through the outage, each once: 1 s apart, none missing
        holes = [
            (r["target_id"], r["gap"])
            for r in gaps
            if r["gap"] is not None and r["gap"] != INTERVAL
        ]
        assert holes == [], f"{len(holes)} gaps in the slots, e.g. {holes[:5]}"
        failed = await db.fetch(
            "SELECT target_id, error_class, error_message FROM checks WHERE NOT ok LIMIT 5"
        )
        assert failed == [], "a healthy target failed during the outage"
        first = await db.fetchval(
            """SELECT count(*) FROM checks c JOIN schedule s USING (target_id)
                WHERE c.due_at = s.anchor_at"""
        )
        assert first == TARGETS, "each target's first slot is stored"
    finally:
        await db.close()


async def _ok(http: aiohttp.ClientSession, url: str) -> bool:
    try:
        return (await _get(http, url))[0] == 200
    except aiohttp.ClientError:
        return False


async def _flushed(worker: Worker) -> bool:
    status, body = await worker.healthz()
    return status == 200 and body.get("buffered") == 0 and body.get("database_reachable") is True


async def _now(url: str) -> dt.datetime:
    db = await connect(url)
    try:
        return await db.fetchval("SELECT now()")
    finally:
        await db.close()


async def _stored_through(url: str, at: dt.datetime) -> bool:
    db = await connect(url)
    try:
        return (
            await db.fetchval("SELECT count(DISTINCT target_id) FROM checks WHERE due_at > $1", at)
            == TARGETS
        )
    finally:
        await db.close()


async def test_sigterm_while_the_database_is_down(own_pg: OwnPostgres, healthy, certs) -> None:
    grace_s = 2.0
    worker = Worker(own_pg.url, healthy, certs, VIGIL_WORKER_GRACE_S=str(grace_s))
    try:
        await worker.started()
        await _add_targets(own_pg.url, healthy)
        await wait_for(
            lambda: _all_checked(own_pg.url), timeout=15, every=0.2, what="every target checked"
        )
        await own_pg.stop()

        async def buffered() -> int:
            return (await worker.healthz())[1].get("buffered", 0)

        held = await wait_for(buffered, timeout=10, what="results held while the database is down")
        sent = time.monotonic()
        worker.proc.send_signal(signal.SIGTERM)
        await asyncio.to_thread(worker.proc.wait, grace_s + 10)
        took = time.monotonic() - sent
    finally:
        worker.stop()
    lost = [e.get("lost") for e in worker.events("worker.final_flush_failed")]
    unflushed = [e.get("unflushed") for e in worker.events("worker.stopped")]
    print(
        f"SIGTERM with the database down: exit after {took:.2f}s (grace {grace_s:g}s), "
        f"held {held}; final_flush_failed lost={lost}, stopped unflushed={unflushed}"
    )
    assert took <= grace_s + 1, f"exit took {took:.2f}s"
    assert any(isinstance(n, int) and n > 0 for n in lost + unflushed), (
        f"no count of the results it could not store: final_flush_failed lost={lost}, "
        f"stopped unflushed={unflushed}\n{worker.output[-3000:]}"
    )
