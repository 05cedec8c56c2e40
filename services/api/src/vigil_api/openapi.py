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

from .apply.controller import ApplyDocument
from .targets.schemas import TargetCreate, TargetUpdate

REQUEST_MODELS: tuple[Any, ...] = (TargetCreate, TargetUpdate, ApplyDocument)


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


def _add_links(schema: dict[str, Any]) -> None:
    create = schema["paths"]["/api/v1/targets"]["post"]["responses"]["201"]
    create["links"] = {
        op: {"operationId": op, "parameters": {"target_id": "$response.body#/id"}}
        for op in _TARGET_OPERATIONS
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
    )
