"""The Litestar application: routes, the database handle and live-events hub owned by the
lifespan, the error map, metrics and the OpenAPI document."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import asyncpg
from litestar import Litestar
from litestar.datastructures import State
from litestar.di import Provide
from litestar.types import Message, Scope

from vigil_core.logging import get_logger
from vigil_core.settings import Settings

from .apply.controller import ApplyController
from .audit.controller import AuditController
from .auth.bootstrap import ensure_initial_admin
from .auth.controller import AuthController
from .auth.credentials import Authenticator
from .auth.middleware import AuthMiddleware
from .cache import SharedCache
from .channels.controller import ChannelController
from .database import Database
from .deliveries.controller import DeliveryController
from .errors import EXCEPTION_HANDLERS
from .events.controller import EventController
from .events.hub import EventHub
from .health import healthz, readyz
from .incidents.controller import IncidentController
from .incidents.updates import IncidentUpdateController
from .maintenance.controller import MaintenanceController
from .metrics import ApiMetrics, metrics_endpoint
from .openapi import openapi_config
from .public.controller import PublicController
from .push.controller import PushController
from .results.controller import CheckController
from .routes.controller import RouteController
from .status_pages.controller import StatusPageController
from .summary.cache import Cached, page_cache
from .summary.controller import Counts, SummaryController
from .targets.controller import TargetController
from .tokens.controller import TokenController
from .ui.controller import UIController
from .uptime.controller import UptimeController
from .users.controller import UserController

log = get_logger("vigil_api")

MAX_BODY = 64 * 1024
GRACEFUL_SHUTDOWN_S = 5
READ_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})


def create_app(settings: Settings, *, sse_heartbeat_s: float | None = None) -> Litestar:
    """The app. It starts without a database and becomes ready when one answers."""
    db = Database.from_settings(settings)
    metrics = ApiMetrics()
    summary_counts: Cached[Counts] = Cached()
    summary_pages = page_cache()

    def forget_summary() -> None:
        # After a write through this process (its writer sees it), or a change heard from any
        # (a client that reads again because of a live event must see it): the next request of
        # each query reads the database, once for all who ask at the same time.
        summary_counts.invalidate()
        summary_pages.clear()

    public_cache = SharedCache()
    authenticator = Authenticator(
        settings.keyring(), idle_timeout_s=settings.session_idle_timeout_s
    )
    if settings.allowed_hosts() is None and not settings.api_allowed_hosts:
        log.warning(
            "api.allowed_hosts_unset",
            detail="any Host header is answered; set VIGIL_API_ALLOWED_HOSTS to the names "
            "clients use",
        )

    @asynccontextmanager
    async def lifespan(app: Litestar) -> AsyncIterator[None]:
        hub = EventHub(db, on_change=forget_summary, on_auth_change=authenticator.clear)
        app.state.hub = hub
        hub.start()  # its side tasks are watched: a death fails /healthz
        await db.warm()
        bootstrap = asyncio.create_task(ensure_initial_admin(db, settings))
        log.info("api.started", db_ready=db.pool_or_none is not None)
        try:
            yield
        finally:
            bootstrap.cancel()
            await hub.stop()
            await summary_counts.close()
            await summary_pages.close()
            await public_cache.close()
            await db.close()

    async def provide_pool(state: State) -> asyncpg.Pool:
        return await state.db.pool()

    async def provide_keyed_pool(state: State) -> asyncpg.Pool:
        return await state.db.keyed_pool()

    async def invalidate_on_write(message: Message, scope: Scope) -> None:
        # Before the answer to a write leaves, so the writer's next summary sees its write.
        if message["type"] == "http.response.start" and scope.get("method") not in READ_METHODS:
            forget_summary()

    state = {
        "db": db,
        "metrics": metrics,
        "hub": None,
        "summary_counts": summary_counts,
        "summary_pages": summary_pages,
        "public_cache": public_cache,
        "settings": settings,
        "authenticator": authenticator,
    }
    if sse_heartbeat_s is not None:
        state["sse_heartbeat_s"] = sse_heartbeat_s

    return Litestar(
        route_handlers=[
            healthz,
            readyz,
            metrics_endpoint,
            TargetController,
            ApplyController,
            CheckController,
            UptimeController,
            IncidentController,
            IncidentUpdateController,
            StatusPageController,
            ChannelController,
            RouteController,
            MaintenanceController,
            DeliveryController,
            PushController,
            SummaryController,
            EventController,
            AuthController,
            TokenController,
            UserController,
            AuditController,
            UIController,
            PublicController,
        ],
        dependencies={"pool": Provide(provide_pool), "keyed_pool": Provide(provide_keyed_pool)},
        lifespan=[lifespan],
        state=State(state),
        # The metrics middleware is outermost, so it counts refusals with their status.
        middleware=[metrics.middleware, AuthMiddleware(settings, db, authenticator)],
        before_send=[invalidate_on_write],
        exception_handlers=EXCEPTION_HANDLERS,
        request_max_body_size=MAX_BODY,
        openapi_config=openapi_config(),
    )


def run(settings: Settings, host: str, port: int) -> None:
    import uvicorn

    # SSE streams never end by themselves: without a graceful-shutdown timeout, SIGTERM would
    # wait for every open browser tab. After it, uvicorn cancels what is still running.
    uvicorn.run(
        create_app(settings),
        host=host,
        port=port,
        log_level="warning",
        access_log=False,
        timeout_graceful_shutdown=GRACEFUL_SHUTDOWN_S,
    )
