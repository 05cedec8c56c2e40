"""The API's side tasks are watched: when the events hub's results fetcher dies of a bug, a real
`vigil api` process logs it with its traceback and /healthz answers 503 naming it, so the
orchestrator restarts the process. A bug in a request is a 500 logged once, and leaves
/healthz alone; so do a database outage (test_outage.py) and bad data in a notification."""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Iterator

import aiohttp
import asyncpg
import pytest

from vigil_core.notify import STATUS_CHANNEL, ResultsStored, encode

from ..conftest import database_from_template
from ..support import bearer, free_port, mint_token, spawn_vigil, stop_process, wait_http_ok
from .conftest import HTTP_TARGET
from .sse import SSEStream

pytestmark = pytest.mark.timeout(90)


@pytest.fixture
def own_db_url(pg_server_url: str, template_db: str) -> Iterator[str]:
    """A database of this test's own: the test breaks its schema."""
    with database_from_template(pg_server_url, template_db, "vigil_api_supervision") as url:
        yield url


async def _get(http: aiohttp.ClientSession, url: str) -> tuple[int, dict]:
    async with http.get(url) as resp:
        return resp.status, await resp.json(content_type=None)


def _events(output: str, name: str) -> list[dict]:
    found = []
    for line in output.splitlines():
        if line.startswith("{"):
            record = json.loads(line)
            if record.get("event") == name:
                found.append(record)
    return found


async def test_a_dead_results_fetcher_fails_healthz_and_is_logged(own_db_url) -> None:
    headers = bearer(await mint_token(own_db_url, "admin"))
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    api = spawn_vigil(
        ["api", "--port", str(port)], {"VIGIL_DATABASE_URL": own_db_url, "VIGIL_LOG_FORMAT": "json"}
    )
    output = ""
    try:
        await wait_http_ok(f"{base}/readyz", proc=api)
        conn = await asyncpg.connect(own_db_url)
        try:
            # The schema lacks a column the API reads, as when the API is newer than the
            # migrations applied: a bug, which no retry cures.
            await conn.execute(
                "ALTER TABLE target_state RENAME COLUMN last_error_class TO last_error_kind"
            )
            target_id = await conn.fetchval(
                "INSERT INTO targets (name, kind, address, interval_s, timeout_s)"
                " VALUES ('web', 'http', 'http://127.0.0.1:9/', 60, 5) RETURNING id"
            )
            async with aiohttp.ClientSession(headers=headers) as http:
                # A request that hits the bug is a 500; the process is still healthy.
                status, problem = await _get(http, f"{base}/api/v1/targets/{target_id}")
                assert status == 500, problem
                assert (await _get(http, f"{base}/healthz"))[0] == 200

                async with SSEStream(f"{base}/api/v1/events", headers=headers) as stream:
                    assert (await stream.next()).comment == "connected"
                    await conn.execute(
                        "SELECT pg_notify($1, $2)",
                        STATUS_CHANNEL,
                        encode(ResultsStored(target_ids=[target_id])),
                    )
                    end = time.monotonic() + 15
                    while (health := await _get(http, f"{base}/healthz"))[
                        0
                    ] == 200 and time.monotonic() < end:
                        await asyncio.sleep(0.05)
                status, problem = health
                assert status == 503, problem
                assert (
                    "events-results" in problem["detail"]
                    and "UndefinedColumnError" in problem["detail"]
                ), problem
                assert "events-hub" not in problem["detail"], problem  # the listener still runs
                assert (await _get(http, f"{base}/readyz"))[0] == 503
        finally:
            await conn.close()
    finally:
        output = stop_process(api)

    assert "shutdown failed" not in output, output  # a dead task is not the shutdown's error
    died = _events(output, "events.task_died")
    assert [d["task"] for d in died] == ["events-results"], output
    assert "Traceback" in died[0]["exception"] and "last_error_class" in died[0]["exception"], died
    unhandled = _events(output, "api.unhandled")
    assert len(unhandled) == 1, output  # once, with its traceback
    # the route, not the URL: logs never carry what a path holds (a push URL's token)
    assert unhandled[0]["path"] == "/api/v1/targets/{target_id}"
    assert "Traceback" in unhandled[0]["exception"], unhandled


async def test_a_bad_id_in_a_notification_costs_nothing(live, db) -> None:
    """A NOTIFY is input from anyone who can reach the database: an id PostgreSQL cannot take
    must neither kill the fetcher nor drop the other ids of its batch."""
    async with aiohttp.ClientSession(headers=live.headers) as http:
        async with http.post(f"{live.url}/api/v1/targets", json=HTTP_TARGET) as resp:
            target = await resp.json()
        await db.execute(
            "UPDATE target_state SET last_checked_at = now(), last_ok = true, last_latency_ms = 7"
            " WHERE target_id = $1",
            target["id"],
        )
        async with SSEStream(f"{live.url}/api/v1/events", headers=live.headers) as stream:
            assert (await stream.next()).comment == "connected"
            await db.execute(
                "SELECT pg_notify($1, $2)",
                STATUS_CHANNEL,
                encode(ResultsStored(target_ids=[2**63, target["id"], -1])),
            )
            assert (await stream.next_event("result", timeout=5)).json()["target_id"] == target[
                "id"
            ]
        assert (await _get(http, f"{live.url}/healthz"))[0] == 200
    assert live.server.config.app.state.hub.dead == {}
