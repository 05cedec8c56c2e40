"""The Litestar application: routes, the asyncpg pool owned by the lifespan, error map."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import asyncpg
from litestar import Litestar
from litestar.datastructures import State
from litestar.di import Provide
from litestar.openapi import OpenAPIConfig

from vigil_core.db import create_pool
from vigil_core.logging import get_logger
from vigil_core.settings import Settings

from .checks.controller import CheckController
from .errors import EXCEPTION_HANDLERS
from .health import healthz, readyz
from .targets.controller import TargetController
from .ui.controller import UIController

log = get_logger("vigil_api")


def create_app(settings: Settings) -> Litestar:
    dsn = settings.require_database_url()

    @asynccontextmanager
    async def lifespan(app: Litestar) -> AsyncIterator[None]:
        pool = await create_pool(
            dsn, min_size=settings.db_pool_min_size, max_size=settings.db_pool_max_size
        )
        app.state.pool = pool
        log.info("api.started")
        try:
            yield
        finally:
            await pool.close()

    def provide_pool(state: State) -> asyncpg.Pool:
        return state.pool

    return Litestar(
        route_handlers=[healthz, readyz, TargetController, CheckController, UIController],
        dependencies={"pool": Provide(provide_pool, sync_to_thread=False)},
        lifespan=[lifespan],
        exception_handlers=EXCEPTION_HANDLERS,
        request_max_body_size=64 * 1024,
        openapi_config=OpenAPIConfig(title="Vigil", version="0.1.0", path="/schema"),
    )


def run(settings: Settings, host: str, port: int) -> None:
    import uvicorn

    uvicorn.run(create_app(settings), host=host, port=port, log_level="warning", access_log=False)
