"""The one map from errors to HTTP statuses, rendered as RFC 9457 problem details."""

from __future__ import annotations

from typing import Any

import asyncpg
import msgspec
from litestar import MediaType, Request, Response
from litestar.exceptions import HTTPException, ValidationException

from vigil_core.logging import get_logger

log = get_logger("vigil_api.errors")

PROBLEM_JSON = "application/problem+json"


class Problem(msgspec.Struct, omit_defaults=True):
    """An RFC 9457 problem; `errors` names each invalid field."""

    title: str
    status: int
    detail: str
    type: str = "about:blank"
    errors: list[dict[str, str]] | None = None


class NotFound(Exception):
    def __init__(self, what: str, ident: object) -> None:
        super().__init__(f"{what} {ident} does not exist")


class Conflict(Exception):
    pass


def problem(status: int, title: str, detail: str, errors: list[dict[str, str]] | None = None) -> Response:
    return Response(
        content=Problem(title=title, status=status, detail=detail, errors=errors),
        status_code=status,
        media_type=PROBLEM_JSON,
    )


def _field_errors(extra: Any) -> list[dict[str, str]]:
    out = []
    for item in extra if isinstance(extra, list) else []:
        if isinstance(item, dict):
            field = str(item.get("key") or "body")
            out.append({"field": field, "message": str(item.get("message", "invalid"))})
    return out


def on_validation(request: Request, exc: ValidationException) -> Response:
    errors = _field_errors(exc.extra)
    if errors:
        detail = "; ".join(f"{e['field']}: {e['message']}" for e in errors)
    else:
        detail = exc.detail or "the request body is not valid"
    return problem(400, "Invalid request", detail, errors or None)


def on_http(request: Request, exc: HTTPException) -> Response:
    return problem(exc.status_code, _title(exc.status_code), str(exc.detail))


def on_not_found(request: Request, exc: NotFound) -> Response:
    return problem(404, "Not found", str(exc))


def on_conflict(request: Request, exc: Conflict) -> Response:
    return problem(409, "Conflict", str(exc))


def on_database_down(request: Request, exc: Exception) -> Response:
    log.warning("db.unavailable", error=repr(exc), path=request.url.path)
    return problem(503, "Database unavailable", "the database cannot be reached; try again shortly")


def on_unexpected(request: Request, exc: Exception) -> Response:
    log.exception("api.unhandled", path=request.url.path)
    return problem(500, "Internal server error", "an unexpected error occurred; it has been logged")


def _title(status: int) -> str:
    from http import HTTPStatus

    try:
        return HTTPStatus(status).phrase
    except ValueError:
        return "Error"


DB_DOWN_ERRORS: tuple[type[Exception], ...] = (
    asyncpg.CannotConnectNowError,
    asyncpg.ConnectionDoesNotExistError,
    asyncpg.InterfaceError,
    ConnectionError,
    OSError,
    TimeoutError,
)

EXCEPTION_HANDLERS = {
    ValidationException: on_validation,
    HTTPException: on_http,
    NotFound: on_not_found,
    Conflict: on_conflict,
    **{exc: on_database_down for exc in DB_DOWN_ERRORS},
    Exception: on_unexpected,
}
