"""HTTP handlers for /api/v1/channels: create, list, read, replace, patch, delete, and send a
test. Every read masks the secrets; a write may send a mask back to keep the stored secret,
and only the `admin` scope may set or change one."""

from __future__ import annotations

from typing import Annotated, TypeAlias

from litestar import Controller, Request, delete, get, patch, post, put
from litestar.params import JSONBody, PathParameter, QueryParameter
from litestar.status_codes import HTTP_201_CREATED, HTTP_204_NO_CONTENT

from ..auth import principal_of
from ..body import StrictBody
from ..database import PoolDep
from ..deliveries import service as deliveries
from ..deliveries.schemas import Delivery
from ..errors import responses
from ..pagination import decode_cursor, encode_cursor
from . import service
from .schemas import Channel, ChannelCreate, ChannelPage, ChannelUpdate

ChannelId: TypeAlias = Annotated[
    int, PathParameter(ge=1, le=2**63 - 1, description="The channel's id")
]
WRITE_ERRORS = responses(400, 403, 404, 409, 413, 503)
MAX_WAIT_S = 30


class ChannelController(Controller):
    path = "/api/v1/channels"
    tags = ["channels"]

    @post(
        "/",
        operation_id="createChannel",
        summary="Create a channel",
        dto=StrictBody.of(ChannelCreate),
        return_dto=None,
        responses=responses(400, 403, 409, 413, 503),
    )
    async def create(
        self, data: JSONBody[ChannelCreate], pool: PoolDep, request: Request
    ) -> Channel:
        """Create a channel; `kind` selects the fields of `config` (errors name them, e.g.
        `config.url`). Secrets are write-only: reads show them as "********". A channel with
        a secret set needs the `admin` scope (403 otherwise)."""
        async with pool.acquire() as conn:
            return service.to_channel(await service.insert(conn, data))

    @get("/", operation_id="listChannels", summary="List channels", responses=responses(400, 503))
    async def list_channels(
        self,
        pool: PoolDep,
        limit: Annotated[int, QueryParameter(ge=1, le=1000, description="Channels per page")] = 100,
        cursor: Annotated[
            str | None, QueryParameter(max_length=200, description="`next` of the previous page")
        ] = None,
    ) -> ChannelPage:
        """Channels in creation order (by id), a page at a time, with their status and last
        error."""
        after = decode_cursor(cursor, int)[0] if cursor else 0
        rows = await pool.fetch(service.Q["list_channels"], after, limit + 1)
        items = [service.to_channel(r) for r in rows[:limit]]
        return ChannelPage(
            items=items, next=encode_cursor(items[-1].id) if len(rows) > limit else None
        )

    @get(
        "/{channel_id:int}",
        operation_id="getChannel",
        summary="Get a channel",
        responses=responses(400, 404, 503),
    )
    async def get_channel(self, channel_id: ChannelId, pool: PoolDep) -> Channel:
        """A channel with its secrets masked."""
        async with pool.acquire() as conn:
            return service.to_channel(await service.get(conn, channel_id))

    @put(
        "/{channel_id:int}",
        operation_id="replaceChannel",
        summary="Replace a channel",
        dto=StrictBody.of(ChannelCreate),
        return_dto=None,
        responses=WRITE_ERRORS,
    )
    async def replace(
        self, channel_id: ChannelId, data: JSONBody[ChannelCreate], pool: PoolDep, request: Request
    ) -> Channel:
        """Replace every field of a channel. A secret sent back as "********" keeps its stored
        value (when the kind stays the same); setting, changing or clearing one needs the
        `admin` scope. Clears the broken status."""
        async with pool.acquire() as conn:
            return service.to_channel(
                await service.replace(conn, channel_id, data, principal_of(request))
            )

    @patch(
        "/{channel_id:int}",
        operation_id="updateChannel",
        summary="Change some fields of a channel",
        dto=StrictBody.of(ChannelUpdate),
        return_dto=None,
        responses=WRITE_ERRORS,
    )
    async def update(
        self, channel_id: ChannelId, data: JSONBody[ChannelUpdate], pool: PoolDep, request: Request
    ) -> Channel:
        """Change name, enabled or config; config is merged key by key into the stored one
        (a null key takes its default, "********" keeps the secret; changing a secret needs
        the `admin` scope). Clears the broken status."""
        async with pool.acquire() as conn:
            return service.to_channel(
                await service.patch(conn, channel_id, data, principal_of(request))
            )

    @delete(
        "/{channel_id:int}",
        operation_id="deleteChannel",
        summary="Delete a channel",
        status_code=HTTP_204_NO_CONTENT,
        responses=responses(400, 404, 503),
    )
    async def delete_channel(self, channel_id: ChannelId, pool: PoolDep) -> None:
        """Delete a channel. It is removed from every route that lists it, and its deliveries
        (the log of what was sent to it, and anything still pending) are deleted with it."""
        async with pool.acquire() as conn:
            await service.delete(conn, channel_id)

    @post(
        "/{channel_id:int}/test",
        operation_id="testChannel",
        summary="Send a test message to a channel",
        status_code=HTTP_201_CREATED,
        responses=responses(400, 404, 409, 503),
    )
    async def test(
        self,
        channel_id: ChannelId,
        pool: PoolDep,
        wait_s: Annotated[
            float,
            QueryParameter(
                ge=0,
                le=MAX_WAIT_S,
                description="Seconds to wait for the outcome (0: answer at once)",
            ),
        ] = 10,
    ) -> Delivery:
        """Create a `test` event and its delivery to this channel, due now, and wake the
        workers, which send it. Waits up to wait_s for the delivery to be sent or fail, then
        answers with the delivery as it is (still pending if no worker took it in time; its
        outcome shows later in GET /api/v1/deliveries/{id}). A disabled channel: 409."""
        async with pool.acquire() as conn:
            delivery_id = await service.insert_test(conn, channel_id)
        return deliveries.to_delivery(await deliveries.wait_settled(pool, delivery_id, wait_s))
