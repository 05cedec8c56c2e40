"""Fixtures for the API tests: the app in-process against the test's own migrated database,
and a real uvicorn server on loopback for streaming (SSE)."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Iterator
from typing import Any

import asyncpg
import httpx
import pytest
import uvicorn
from litestar import Litestar
from litestar.testing import AsyncTestClient

from vigil_api.app import create_app
from vigil_core.settings import Settings

from ..conftest import database_from_template
from ..support import TEST_SECRET_KEY, bearer, free_port, mint_token


def make_app(db_url: str, settings: dict[str, Any] | None = None, **kwargs: Any) -> Litestar:
    options: dict[str, Any] = {
        "db_pool_max_size": 5,
        "secret_key": TEST_SECRET_KEY,
        **(settings or {}),
    }
    return create_app(Settings(database_url=db_url, **options), **kwargs)


@pytest.fixture(scope="module")
def module_db_url(pg_server_url: str, template_db: str) -> Iterator[str]:
    """One migrated database per test module: creating one per test would cost most of the run."""
    with database_from_template(pg_server_url, template_db, "vigil_api") as url:
        yield url


@pytest.fixture
async def db_url(module_db_url: str) -> str:
    """The module's database, emptied: each test starts with no targets and no results."""
    conn = await asyncpg.connect(module_db_url)
    try:
        await conn.execute(TRUNCATE)
    finally:
        await conn.close()
    return module_db_url


# DELETE, not TRUNCATE: on these few rows it is far cheaper than TRUNCATE's exclusive locks
# and file swaps over every partition. Ids keep counting; tests use the ids they get back.
TRUNCATE = (
    "DELETE FROM targets; DELETE FROM checks; DELETE FROM check_rollups_hourly;"
    " DELETE FROM check_rollups_daily; DELETE FROM alert_events; DELETE FROM routes;"
    " DELETE FROM channels; DELETE FROM login_failures; DELETE FROM sessions; DELETE FROM users;"
    " DELETE FROM maintenance_windows; DELETE FROM status_pages;"
    " DELETE FROM api_tokens WHERE created_by <> 'tests'"
)


@pytest.fixture(scope="module")
async def app(module_db_url: str) -> Litestar:
    return make_app(module_db_url, sse_heartbeat_s=0.3)


@pytest.fixture(scope="module")
async def module_tokens(module_db_url: str) -> dict[str, str]:
    """A token of each scope in the module's database (made once: they survive the emptying)."""
    return {scope: await mint_token(module_db_url, scope) for scope in ("read", "write", "admin")}


@pytest.fixture
async def tokens(module_tokens: dict[str, str], db_url: str) -> dict[str, str]:
    """{"read": token, "write": token, "admin": token} for the module's app."""
    return module_tokens


@pytest.fixture(scope="module")
async def module_client(
    app: Litestar, module_tokens: dict[str, str]
) -> AsyncIterator[AsyncTestClient]:
    async with AsyncTestClient(app, base_url="http://127.0.0.1") as c:
        c.headers.update(bearer(module_tokens["admin"]))
        yield c


@pytest.fixture
async def client(module_client: AsyncTestClient, db_url: str) -> AsyncTestClient:
    """The module's app, in-process, over an emptied database, with an admin token, and without
    the summary answers an earlier test's database left in its caches."""
    state = module_client.app.state
    state.summary_counts.invalidate()
    state.summary_pages.clear()
    return module_client


@pytest.fixture
async def anon_client(
    module_client: AsyncTestClient, db_url: str
) -> AsyncIterator[httpx.AsyncClient]:
    """The module's app with no credentials at all (the same app and lifespan as `client`).
    Not closed: closing it would close the transport it shares with `client`."""
    yield httpx.AsyncClient(transport=module_client._transport, base_url="http://127.0.0.1")


class LiveServer:
    """A real uvicorn server on 127.0.0.1 in this event loop."""

    def __init__(self, app: Litestar, token: str | None = None) -> None:
        self.port = free_port()
        # An admin token for requests to it: `aiohttp.ClientSession(headers=live.headers)`.
        self.headers = bearer(token) if token else {}
        self.url = f"http://127.0.0.1:{self.port}"
        self.server = uvicorn.Server(
            uvicorn.Config(
                app,
                host="127.0.0.1",
                port=self.port,
                log_level="warning",
                lifespan="on",
                timeout_graceful_shutdown=3,
            )
        )
        self.task: asyncio.Task | None = None

    async def __aenter__(self) -> LiveServer:
        self.task = asyncio.create_task(self.server.serve())
        async with asyncio.timeout(10):
            while not self.server.started:
                if self.task.done():
                    self.task.result()
                await asyncio.sleep(0.02)
        return self

    async def __aexit__(self, *exc: object) -> None:
        self.server.should_exit = True
        async with asyncio.timeout(10):
            await self.task


@pytest.fixture(scope="module")
async def module_live(app: Litestar, module_tokens: dict[str, str]) -> AsyncIterator[LiveServer]:
    async with LiveServer(app, module_tokens["admin"]) as server:
        yield server


@pytest.fixture
async def live(module_live: LiveServer, db_url: str) -> LiveServer:
    """The module's app behind a real uvicorn on loopback, over an emptied database."""
    return module_live


@pytest.fixture
async def http(live: LiveServer) -> AsyncIterator[httpx.AsyncClient]:
    """An httpx client with the module's admin token, through the real server (real cookies,
    client addresses and concurrent requests)."""
    async with httpx.AsyncClient(base_url=live.url, headers=live.headers) as c:
        yield c


@pytest.fixture
async def anon(live: LiveServer) -> AsyncIterator[httpx.AsyncClient]:
    """The same with no credentials."""
    async with httpx.AsyncClient(base_url=live.url) as c:
        yield c


HTTP_TARGET = {
    "name": "web",
    "kind": "http",
    "url": "http://127.0.0.1:9/",
    "interval_s": 30,
    "timeout_s": 5,
}


async def create(client: AsyncTestClient, **fields: Any) -> dict:
    body = {**HTTP_TARGET, **fields}
    resp = await client.post("/api/v1/targets", json=body)
    assert resp.status_code == 201, resp.text
    return resp.json()
