"""HTTP handler for GET /api/v1/events: the Server-Sent Events stream of state changes and results."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Annotated

from litestar import Controller, Request, get
from litestar.params import QueryParameter
from litestar.response import ServerSentEvent, ServerSentEventMessage

from ..auth import principal_of
from ..auth.credentials import Authenticator
from ..errors import DatabaseUnavailable, responses
from .hub import EventHub, Subscriber

HEARTBEAT_S = 15.0
RETRY_MS = 2000


async def stream(
    hub: EventHub,
    sub: Subscriber,
    heartbeat_s: float,
    still_allowed: Callable[[], Awaitable[bool]],
) -> AsyncIterator[ServerSentEventMessage]:
    """Events for one client until it goes away, is dropped as too slow, or its credentials
    are revoked or expire (checked when any credential changes, and at each heartbeat)."""
    try:
        # Sent at once so that the client (and any proxy) sees the stream open.
        yield ServerSentEventMessage(comment="connected", retry=RETRY_MS)
        while not sub.dropped:
            try:
                event = await asyncio.wait_for(sub.queue.get(), heartbeat_s)
            except TimeoutError:
                if not await still_allowed():
                    break
                yield ServerSentEventMessage(comment="heartbeat")
                continue
            if event.event == "credentials":
                if not await still_allowed():
                    break
                continue
            # Dropped means the queue filled up: end the stream rather than drain stale events.
            if sub.dropped:
                break
            yield ServerSentEventMessage(event=event.event, data=event.data)
    finally:
        hub.unsubscribe(sub)


class EventController(Controller):
    path = "/api/v1/events"
    tags = ["events"]

    @get(
        "/",
        operation_id="streamEvents",
        summary="Live state changes and results (Server-Sent Events)",
        media_type="text/event-stream",
        responses=responses(400, 503),
    )
    async def events(
        self,
        request: Request,
        target_id: Annotated[
            list[int] | None,
            QueryParameter(max_items=1000, description="Only these targets; repeat for several"),
        ] = None,
    ) -> ServerSentEvent:
        """`event: state` data {target_id,status,previous,since}; `event: result` data
        {target_id,checked_at,ok,latency_ms,status_code,error_class}; `event: maintenance` data
        {reason} when a maintenance window started, ended or was written (statuses that read
        `maintenance` may have changed: refetch them); `event: resync` after the
        server lost its database connection (refetch what you show); `: heartbeat` every 15 s.
        A client that cannot keep up is disconnected and should reconnect."""
        hub: EventHub | None = request.app.state.hub
        if hub is None:  # the app was not started through its lifespan
            raise DatabaseUnavailable("live events are not running")
        principal = principal_of(request)
        authenticator: Authenticator = request.app.state.authenticator
        db = request.app.state.db

        async def still_allowed() -> bool:
            try:
                pool = await db.pool()
            except DatabaseUnavailable:  # nothing can be revoked while it is away
                return time.time() < principal.valid_until
            return await authenticator.still_valid(pool, principal)

        sub = hub.subscribe(frozenset(target_id) if target_id else None)
        heartbeat_s = getattr(request.app.state, "sse_heartbeat_s", HEARTBEAT_S)
        return ServerSentEvent(stream(hub, sub, heartbeat_s, still_allowed))
