"""Fixtures for the API tests: the app in-process against the test's own migrated database,
and a real uvicorn server on loopback for streaming (SSE)."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Any

import pytest
import uvicorn
from litestar import Litestar
from litestar.testing import AsyncTestClient

from vigil_api.app import create_app
from vigil_core.settings import Settings

from ..support import free_port


def make_app(db_url: str, **kwargs: Any) -> Litestar:
    return create_app(Settings(database_url=db_url, db_pool_max_size=5), **kwargs)


@pytest.fixture
async def app(db_url: str) -> Litestar:
    return make_app(db_url, sse_heartbeat_s=0.3)


@pytest.fixture
async def client(app: Litestar) -> AsyncIterator[AsyncTestClient]:
    async with AsyncTestClient(app, base_url="http://127.0.0.1") as c:
        yield c


class LiveServer:
    """A real uvicorn server on 127.0.0.1 in this event loop."""

    def __init__(self, app: Litestar) -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=self.port,
                                                    log_level="warning", lifespan="on"))
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
        self.server.force_exit = True  # SSE streams would otherwise hold the shutdown
        async with asyncio.timeout(10):
            await self.task


@pytest.fixture
async def live(app: Litestar) -> AsyncIterator[LiveServer]:
    async with LiveServer(app) as server:
        yield server


HTTP_TARGET = {"name": "web", "kind": "http", "url": "http://127.0.0.1:9/", "interval_s": 30, "timeout_s": 5}


async def create(client: AsyncTestClient, **fields: Any) -> dict:
    body = {**HTTP_TARGET, **fields}
    resp = await client.post("/api/v1/targets", json=body)
    assert resp.status_code == 201, resp.text
    return resp.json()
