"""HTTP handler for GET /api/v1/events: the Server-Sent Events stream of state changes and results."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Annotated

from litestar import Controller, Request, get
from litestar.params import QueryParameter
from litestar.response import Stream

from ..auth import principal_of
from ..auth.credentials import Authenticator
from ..errors import DatabaseUnavailable, InvalidInput, responses
from ..summary.controller import KIND_PATTERN, parse_labels
from .hub import DEFAULT_TYPES, TYPES, CountsFilter, EventHub, Subscriber

HEARTBEAT_S = 15.0
RETRY_MS = 2000

# Sent at once so that the client (and any proxy) sees the stream open.
CONNECTED = f": connected\r\nretry: {RETRY_MS}\r\n\r\n".encode()
HEARTBEAT = b": heartbeat\r\n\r\n"
HEADERS = {"Cache-Control": "no-cache", "X-Accel-Buffering": "no"}


async def stream(
    hub: EventHub,
    sub: Subscriber,
    heartbeat_s: float,
    still_allowed: Callable[[], Awaitable[bool]],
) -> AsyncIterator[bytes]:
    """Events for one client until it goes away, is dropped as too slow, or its credentials
    are revoked or expire (checked when any credential changes, and at each heartbeat).
    Each event's frame was encoded once by the hub; what queued up meanwhile leaves in one
    write."""
    queue = sub.queue
    try:
        yield CONNECTED
        while not sub.dropped:
            try:
                async with asyncio.timeout(heartbeat_s):
                    first = await queue.get()
            except TimeoutError:
                if not await still_allowed():
                    break
                yield HEARTBEAT
                continue
            # Dropped means the queue filled up: end the stream rather than drain stale events.
            if sub.dropped:
                break
            batch = [first]
            while not queue.empty():
                batch.append(queue.get_nowait())
            frames = []
            allowed = True
            for event in batch:
                if event.event == "credentials":
                    if not await still_allowed():
                        allowed = False
                        break
                    continue
                frames.append(event.wire)
            if frames:
                yield frames[0] if len(frames) == 1 else b"".join(frames)
            if not allowed:
                break
    finally:
        hub.unsubscribe(sub)


def parse_types(values: list[str] | None) -> frozenset[str]:
    """`type=state&type=result` or `type=state,result`; none: today's three."""
    if not values:
        return DEFAULT_TYPES
    types = {t.strip() for v in values for t in v.split(",") if t.strip()}
    bad = sorted(types - set(TYPES))
    if bad or not types:
        raise InvalidInput.one(
            "type", f"{', '.join(bad) or 'nothing'}: must be one of {', '.join(TYPES)}"
        )
    return frozenset(types)


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
            QueryParameter(
                max_items=1000,
                description="Only these targets' state and result events; repeat for several",
            ),
        ] = None,
        event_type: Annotated[
            list[str] | None,
            QueryParameter(
                name="type",
                max_items=4,
                description="state, result, maintenance, counts: repeat or comma-separate; "
                "default state, result and maintenance",
            ),
        ] = None,
        kind: Annotated[
            str | None,
            QueryParameter(pattern=KIND_PATTERN, description="`counts` of this kind only"),
        ] = None,
        label: Annotated[
            list[str] | None,
            QueryParameter(
                description="`counts` of targets with key:value; repeat to require several",
                max_items=20,
            ),
        ] = None,
        q: Annotated[
            str | None,
            QueryParameter(
                max_length=200,
                pattern=r"^[^\x00]*$",
                description="`counts` of targets whose name holds this, any case",
            ),
        ] = None,
    ) -> Stream:
        """`event: state` data {target_id,status,previous,since}; `event: result` data
        {target_id,checked_at,ok,latency_ms,status_code,error_class}; `event: maintenance` data
        {reason} when a maintenance window started, ended or was written (statuses that read
        `maintenance` may have changed: refetch them); `event: counts` (only with
        `type=counts`) data {up,down,pending,maintenance,paused,total}, the summary's counts
        under kind/label/q, soon after the stream opens and then at most once a second, when
        they changed; `event: resync` after the server lost its database connection (refetch
        what you show); `: heartbeat` every 15 s. A client that cannot keep up is
        disconnected and should reconnect."""
        types = parse_types(event_type)
        labels = parse_labels(label)
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

        counts_filter = CountsFilter(
            kind=kind, labels=tuple(sorted(labels.items())) if labels else None, q=q
        )
        sub = hub.subscribe(frozenset(target_id) if target_id else None, types, counts_filter)
        heartbeat_s = getattr(request.app.state, "sse_heartbeat_s", HEARTBEAT_S)
        return Stream(
            stream(hub, sub, heartbeat_s, still_allowed),
            media_type="text/event-stream",
            headers=HEADERS,
        )
