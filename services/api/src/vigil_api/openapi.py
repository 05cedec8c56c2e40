"""The OpenAPI document at /schema (JSON at /schema/openapi.json).

Request bodies are decoded by msgspec (body.py), so their schemas come from msgspec too:
Litestar's own rendering of msgspec structs drops constraints inside unions and maps (status
codes, header names) and the `kind` tag. The JSON render plugin swaps in msgspec's exact
component schemas, so clients and schemathesis see the rules the server applies.
"""

from __future__ import annotations

from typing import Any

import msgspec
from litestar import Request
from litestar.openapi import OpenAPIConfig
from litestar.openapi.plugins import JsonRenderPlugin, SwaggerRenderPlugin
from litestar.openapi.spec import Tag

from vigil_core.channels import CONFIGS

from .apply.controller import ApplyDocument
from .auth.schemas import Login
from .channels.schemas import ChannelCreate, ChannelUpdate
from .routes.schemas import RouteCreate, RouteUpdate
from .targets.schemas import TargetCreate, TargetUpdate
from .tokens.schemas import TokenCreate
from .users.schemas import UserCreate, UserUpdate

# The channel config structs are documented too: a channel's `config` is one of them, picked by
# its `kind` (validated by the server after it resolves echoed masks, hence not in the body's
# own schema).
REQUEST_MODELS: tuple[Any, ...] = (
    TargetCreate,
    TargetUpdate,
    ApplyDocument,
    ChannelCreate,
    ChannelUpdate,
    RouteCreate,
    RouteUpdate,
    Login,
    TokenCreate,
    UserCreate,
    UserUpdate,
    *CONFIGS.values(),
)

TAGS = [
    Tag(name="targets", description="What is monitored, and `vigil apply`"),
    Tag(name="results", description="Checks, uptime, latency and incidents"),
    Tag(name="dashboard", description="The summary the UI's dashboard shows"),
    Tag(name="events", description="Live updates (server-sent events)"),
    Tag(
        name="channels",
        description="Where alerts go: webhook, Slack, Discord, Teams, Telegram, ntfy, PagerDuty,"
        ' e-mail, Apprise. Secrets are write-only (read as "********").',
    ),
    Tag(name="routes", description="Which targets' alerts (by label) reach which channels"),
    Tag(name="deliveries", description="Every alert to every channel: status, attempts, retry"),
    Tag(name="operations", description="Health, readiness and Prometheus metrics"),
    Tag(
        name="auth",
        description="Logging in and out (a session cookie for the UI), and who the credentials"
        " belong to. Everything else needs `Authorization: Bearer <token>` or a session.",
    ),
    Tag(name="tokens", description="API tokens (admin): shown once when made, revoked by id"),
    Tag(name="users", description="Users and their roles (admin)"),
    Tag(name="audit", description="Who changed what, when and from where (admin)"),
]


def _request_components() -> dict[str, Any]:
    _, components = msgspec.json.schema_components(
        REQUEST_MODELS, ref_template="#/components/schemas/{name}"
    )
    return components


# OpenAPI links: a created target's id feeds every operation on that target, so clients
# (and schemathesis' stateful tests) can follow create -> read/patch/pause/delete.
_TARGET_OPERATIONS = (
    "getTarget",
    "replaceTarget",
    "updateTarget",
    "pauseTarget",
    "resumeTarget",
    "deleteTarget",
    "listTargetChecks",
    "getTargetUptime",
    "getTargetDailyUptime",
    "getTargetLatency",
    "listTargetIncidents",
)


# The same for channels and routes. Not testChannel: it may wait up to 30 s for a worker.
_LINKS = {
    "/api/v1/targets": ("target_id", _TARGET_OPERATIONS),
    "/api/v1/channels": (
        "channel_id",
        ("getChannel", "replaceChannel", "updateChannel", "deleteChannel"),
    ),
    "/api/v1/routes": ("route_id", ("getRoute", "replaceRoute", "updateRoute", "deleteRoute")),
}


def _add_links(schema: dict[str, Any]) -> None:
    for path, (param, operations) in _LINKS.items():
        create = schema["paths"][path]["post"]["responses"]["201"]
        create["links"] = {
            op: {"operationId": op, "parameters": {param: "$response.body#/id"}}
            for op in operations
        }


class ExactJsonRenderPlugin(JsonRenderPlugin):
    def __init__(self) -> None:
        super().__init__()
        self._components = _request_components()
        self._patched: dict[str, Any] | None = None

    def render(self, request: Request, openapi_schema: dict[str, Any]) -> bytes:
        if self._patched is None:
            schemas = openapi_schema.setdefault("components", {}).setdefault("schemas", {})
            schemas.update(self._components)
            _add_links(openapi_schema)
            self._patched = openapi_schema
        return super().render(request, self._patched)


def openapi_config() -> OpenAPIConfig:
    return OpenAPIConfig(
        title="Vigil",
        version="0.1.0",
        path="/schema",
        description="Uptime monitoring API. Errors are RFC 9457 problem details "
        "(application/problem+json) whose `errors` name each invalid field.",
        render_plugins=[ExactJsonRenderPlugin(), SwaggerRenderPlugin()],
        tags=TAGS,
    )
