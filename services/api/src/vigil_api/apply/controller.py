"""HTTP handler for POST /api/v1/apply, the endpoint behind `vigil apply -f vigil.yaml`.

The document holds targets, channels, routes and maintenance windows, each matched to a stored
one by name; see
service.py for what is created, replaced, left alone and pruned, in one transaction.
"""

from __future__ import annotations

from typing import Annotated

from litestar import Controller, Request, post
from litestar.params import JSONBody, QueryParameter

from ..auth import principal_of
from ..body import StrictBody
from ..database import PoolDep
from ..errors import responses
from . import service
from .schemas import ApplyDocument, ApplyResult

__all__ = ["ApplyController", "ApplyDocument"]

MAX_BODY = 4 * 1024 * 1024


class ApplyController(Controller):
    path = "/api/v1/apply"
    tags = ["targets"]

    @post(
        "/",
        operation_id="applyTargets",
        summary="Create, update (and prune) targets, channels, routes and maintenance windows"
        " from one document",
        dto=StrictBody.of(ApplyDocument),
        return_dto=None,
        status_code=200,
        request_max_body_size=MAX_BODY,
        responses=responses(400, 403, 409, 413, 503),
        # Its audit rows say they came from an apply run.
        opt={"audit_via": "apply"},
    )
    async def apply(
        self,
        data: JSONBody[ApplyDocument],
        pool: PoolDep,
        request: Request,
        prune: Annotated[
            bool,
            QueryParameter(
                description="Delete stored items the document does not name, in each of its"
                " sections (a section left out is not touched)"
            ),
        ] = False,
        dry_run: Annotated[
            bool, QueryParameter(description="Report the changes without making them")
        ] = False,
    ) -> ApplyResult:
        """Upsert targets, channels, routes and maintenance windows by name in one transaction
        (config as code, like `kubectl apply`). Routes name their channels, targets their
        dependencies and windows (`maintenance`, keyed by name) their targets, by name. The diff never shows a channel's config, only that it changed, nor a target's
        header values or URL password ("********"; a document may send that back to keep the
        stored value). The body may be up to 4 MiB."""
        async with pool.acquire() as conn:
            return await service.apply(
                conn, data, prune=prune, dry_run=dry_run, principal=principal_of(request)
            )
