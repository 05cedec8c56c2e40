"""What the API answers when PostgreSQL is busy or rejects data, as vigil_core.dberrors
classifies it: a lock or a drained pool is a prompt 503 with Retry-After (never a request that
hangs), a broken database rule is a 400 naming the field. The app runs behind a real server,
so that requests run side by side and a client-side deadline really ends one."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Iterator
from typing import Any

import aiohttp
import asyncpg
import psycopg
import pytest

from vigil_api.app import create_app
from vigil_core.settings import Settings

from ..conftest import database_from_template
from ..support import TEST_SECRET_KEY, bearer, mint_token
from .conftest import HTTP_TARGET, LiveServer

pytestmark = pytest.mark.timeout(60)  # without the timeouts under test, these requests hang

LOCK_TIMEOUT_S = 0.5
ACQUIRE_TIMEOUT_S = 0.5
SLACK_S = 3.0  # generous on a slow, shared machine


class Api:
    """A live app and a client session; `call` answers (status, headers, JSON body)."""

    def __init__(self, live: LiveServer, http: aiohttp.ClientSession) -> None:
        self.live, self.http = live, http

    async def call(self, method: str, path: str, body: Any = None) -> tuple[int, dict, Any]:
        async with self.http.request(method, self.live.url + path, json=body) as resp:
            data = await resp.json(content_type=None) if resp.content_length != 0 else None
            return resp.status, dict(resp.headers), data


async def _api(db_url: str, **settings: Any) -> AsyncIterator[Api]:
    app = create_app(Settings(database_url=db_url, secret_key=TEST_SECRET_KEY, **settings))
    headers = bearer(await mint_token(db_url, "admin"))
    async with LiveServer(app) as live, aiohttp.ClientSession(headers=headers) as http:
        yield Api(live, http)


@pytest.fixture
async def api(db_url: str) -> AsyncIterator[Api]:
    async for a in _api(db_url, db_pool_max_size=3, db_lock_timeout_s=LOCK_TIMEOUT_S):
        yield a


async def _create(api: Api) -> dict:
    status, _, target = await api.call("POST", "/api/v1/targets", HTTP_TARGET)
    assert status == 201, target
    return target


async def _hold_row_lock(db_url: str, target_id: int) -> asyncpg.Connection:
    """Another session (an operator in psql, a slow migration) holding the target's row."""
    conn = await asyncpg.connect(db_url)
    await conn.execute("BEGIN")
    await conn.execute("SELECT 1 FROM targets WHERE id = $1 FOR UPDATE", target_id)
    return conn


async def _timed(
    api: Api, method: str, path: str, body: Any, bound_s: float
) -> tuple[float, int, dict, Any]:
    started = time.monotonic()
    async with asyncio.timeout(bound_s + SLACK_S):
        status, headers, problem = await api.call(method, path, body)
    return time.monotonic() - started, status, headers, problem


def _assert_busy(status: int, headers: dict, problem: Any) -> None:
    assert status == 503, problem
    assert headers.get("Retry-After") == "1", headers
    assert problem["title"] == "Database unavailable" and "busy" in problem["detail"], problem


@pytest.mark.parametrize(
    ("method", "path", "body"),
    [
        ("PATCH", "/api/v1/targets/{id}", {"interval_s": 45}),
        ("PUT", "/api/v1/targets/{id}", {**HTTP_TARGET, "interval_s": 45}),
        ("POST", "/api/v1/targets/{id}/pause", None),
        ("DELETE", "/api/v1/targets/{id}", None),
    ],
    ids=["patch", "replace", "pause", "delete"],
)
async def test_a_write_held_up_by_a_lock_answers_503_within_the_lock_timeout(
    api, db_url, method, path, body
) -> None:
    target = await _create(api)
    url = path.format(id=target["id"])
    blocker = await _hold_row_lock(db_url, target["id"])
    try:
        elapsed, *answer = await _timed(api, method, url, body, LOCK_TIMEOUT_S)
        _assert_busy(*answer)
        assert LOCK_TIMEOUT_S * 0.8 <= elapsed < LOCK_TIMEOUT_S + SLACK_S, elapsed
    finally:
        await blocker.execute("ROLLBACK")
        await blocker.close()
    # the lock is gone: the same request goes through
    status, _, answer = await api.call(method, url, body)
    assert status == (204 if method == "DELETE" else 200), answer


async def test_apply_waiting_for_another_apply_answers_503(api, db_url) -> None:
    blocker = await asyncpg.connect(db_url)
    try:
        # The key API processes of the previous version take too: either excludes the other.
        assert await blocker.fetchval("SELECT hashtext('vigil_apply') = vigil_apply_lock_key()")
        await blocker.execute("BEGIN")
        await blocker.execute("SELECT pg_advisory_xact_lock(vigil_apply_lock_key())")
        _, *answer = await _timed(
            api, "POST", "/api/v1/apply", {"targets": [HTTP_TARGET]}, LOCK_TIMEOUT_S
        )
        _assert_busy(*answer)
    finally:
        await blocker.close()
    status, _, result = await api.call("POST", "/api/v1/apply", {"targets": [HTTP_TARGET]})
    assert status == 200 and result["created"] == ["web"], result


async def test_a_drained_pool_answers_503_within_the_acquire_timeout(db_url) -> None:
    async for api in _api(
        db_url,
        db_pool_min_size=1,
        db_pool_max_size=1,
        db_acquire_timeout_s=ACQUIRE_TIMEOUT_S,
        db_lock_timeout_s=60,
    ):
        target = await _create(api)
        blocker = await _hold_row_lock(db_url, target["id"])
        try:
            # This PATCH waits on the lock with the pool's only connection...
            stuck = asyncio.create_task(
                api.call("PATCH", f"/api/v1/targets/{target['id']}", {"interval_s": 45})
            )
            async with asyncio.timeout(10):
                while not await blocker.fetchval(
                    "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database()"
                    " AND wait_event_type = 'Lock'"
                ):
                    await asyncio.sleep(0.02)
            # ... so any other request finds no free connection.
            elapsed, status, headers, problem = await _timed(
                api, "GET", "/api/v1/targets", None, ACQUIRE_TIMEOUT_S
            )
            assert (status, headers.get("Retry-After")) == (503, "1"), problem
            assert ACQUIRE_TIMEOUT_S * 0.8 <= elapsed < ACQUIRE_TIMEOUT_S + SLACK_S, elapsed
        finally:
            await blocker.execute("ROLLBACK")
            await blocker.close()
        assert (await asyncio.wait_for(stuck, 10))[0] == 200
        assert (await api.call("GET", "/api/v1/targets"))[0] == 200


STRICTER_RULES = """
    ALTER TABLE targets DROP CONSTRAINT targets_interval_valid;
    ALTER TABLE targets ADD CONSTRAINT targets_interval_valid CHECK (interval_s >= 30);
    ALTER TABLE targets ADD CONSTRAINT targets_no_example_net CHECK (address NOT LIKE '%example.net%');
"""


@pytest.fixture
def strict_db_url(pg_server_url: str, template_db: str) -> Iterator[str]:
    """A database of its own whose rules are stricter than the API's validation, as after a
    migration that tightened one: the database is the last line, and its answer must be a 400."""
    with database_from_template(pg_server_url, template_db, "vigil_api_strict") as url:
        with psycopg.connect(url, autocommit=True) as conn:
            conn.execute(STRICTER_RULES)
        yield url


@pytest.mark.parametrize(
    ("fields", "field", "rule"),
    [
        ({"interval_s": 20, "timeout_s": 5}, "interval_s", "targets_interval_valid"),
        ({"url": "http://example.net/"}, "body", "targets_no_example_net"),
    ],
    ids=["mapped-constraint", "unmapped-constraint"],
)
async def test_a_database_rule_broken_is_400_naming_the_field(
    strict_db_url, fields, field, rule
) -> None:
    async for api in _api(strict_db_url):
        status, _, problem = await api.call("POST", "/api/v1/targets", {**HTTP_TARGET, **fields})
        assert status == 400, problem
        assert problem["errors"] == [
            {"field": field, "message": f"breaks the database rule {rule}"}
        ]
        assert (await api.call("GET", "/api/v1/targets"))[2]["items"] == []
