"""The one map from errors to HTTP statuses, rendered as RFC 9457 problem details.

Every error the API returns has the same shape: application/problem+json with
{type, title, status, detail, errors: [{field, message}]}, where `field` is the JSON field name
(a dotted path with [index] for nested values, e.g. `targets[2].url`).
"""

from __future__ import annotations

import re
from http import HTTPStatus
from typing import Any

import asyncpg
import msgspec
from litestar import Request, Response
from litestar.exceptions import HTTPException, ValidationException
from litestar.openapi.datastructures import ResponseSpec

from vigil_core.dberrors import DbFault, classify, describe
from vigil_core.logging import get_logger

log = get_logger("vigil_api.errors")

PROBLEM_JSON = "application/problem+json"


class FieldError(msgspec.Struct):
    """One invalid field: its JSON name (path) and the rule it breaks."""

    field: str
    message: str


class Problem(msgspec.Struct, omit_defaults=True):
    """An RFC 9457 problem; `errors` names each invalid field."""

    title: str
    status: int
    detail: str
    type: str = "about:blank"
    errors: list[FieldError] | None = None


class NotFound(Exception):
    def __init__(self, what: str, ident: object) -> None:
        super().__init__(f"{what} {ident} does not exist")


class Conflict(Exception):
    """The request clashes with stored state (a duplicate name); `field` names the culprit."""

    def __init__(self, message: str, field: str | None = None) -> None:
        super().__init__(message)
        self.field = field


class InvalidInput(Exception):
    """Input that breaks a rule; each FieldError names the field and the rule."""

    def __init__(self, errors: list[FieldError]) -> None:
        super().__init__("; ".join(f"{e.field}: {e.message}" for e in errors))
        self.errors = errors

    @classmethod
    def one(cls, field: str, message: str) -> InvalidInput:
        return cls([FieldError(field, message)])


class DatabaseUnavailable(Exception):
    """The database cannot be reached right now (the pool could not be created)."""


# A 503 says when to come back, in whole seconds (the header takes no fractions): the API tries a
# lost server again within half a second, and a busy one (a lock or statement timeout) is worth
# another try a moment later.
RETRY_AFTER_S = 1


def _path(request: Request) -> str:
    """The route a request matched, for logs (`/api/v1/push/{token}`), not its URL: a push
    URL's path is its secret. A request that matched no route logs its raw path."""
    return str(request.scope.get("path_template") or request.url.path)


def problem(
    status: int,
    title: str,
    detail: str,
    errors: list[FieldError] | None = None,
    headers: dict[str, str] | None = None,
) -> Response:
    return Response(
        content=Problem(title=title, status=status, detail=detail, errors=errors),
        status_code=status,
        media_type=PROBLEM_JSON,
        headers=headers,
    )


def responses(*statuses: int) -> dict[int, ResponseSpec]:
    """OpenAPI entries for the error statuses an operation can answer (all with a Problem body)."""
    return {
        status: ResponseSpec(
            data_container=Problem,
            description=_DESCRIPTIONS.get(status, _title(status)),
            media_type=PROBLEM_JSON,
        )
        for status in statuses
    }


_DESCRIPTIONS = {
    400: "Invalid input: malformed JSON, or a field that is missing, unknown or breaks a rule",
    404: "No such resource",
    409: "Conflict with stored state (a duplicate name)",
    413: "The request body is over 64 KiB",
    503: "The database is unavailable; retry shortly",
}

# msgspec says "Expected `int`, got `str` - at `$.targets[0].port`"; missing and unknown
# fields are reported at the object that holds them, with the name in backticks.
_AT = re.compile(r"^(?P<msg>.*?)(?: - at (?P<key>`key` in )?`\$(?P<path>[^`]*)`)?$", re.DOTALL)
_NAMED = re.compile(r"(?:missing required field|unknown field) `(?P<name>[^`]+)`")


def field_error_from_msgspec(exc: msgspec.ValidationError, prefix: str = "") -> FieldError:
    """Turn a msgspec validation message into a FieldError that names the JSON field."""
    m = _AT.match(str(exc))
    message, path = (m["msg"], m["path"] or "") if m else (str(exc), "")
    if m and m["key"]:
        message = f"key {_humanize(message)}"
    # msgspec writes a map value as `$.labels[...]`; the field is the map.
    path = path.replace("[...]", "").lstrip(".")
    if named := _NAMED.search(message):
        path = f"{path}.{named['name']}" if path else named["name"]
    if "missing required field" in message:
        message = "is required"
    elif "unknown field" in message:
        message = "is not a known field"
    field = ".".join(p for p in (prefix, path) if p) or "body"
    return FieldError(field=field.replace(".[", "["), message=_humanize(message))


def _humanize(message: str) -> str:
    # msgspec's wording is precise; only make it read as a rule about the field.
    return message.replace("Expected", "must be").replace("`", "")


# Python names of parameters whose JSON/query name differs (`state` is reserved by Litestar).
_PARAM_NAMES = {"state_filter": "state", "open_": "open", "data": "body"}


def on_validation(request: Request, exc: ValidationException) -> Response:
    errors = []
    for item in exc.extra if isinstance(exc.extra, list) else []:
        if isinstance(item, dict):
            key = str(item.get("key") or "body")
            message = _humanize(str(item.get("message", "is invalid")))
            if key == "data":
                message = "is required: send a JSON object"
            errors.append(FieldError(_PARAM_NAMES.get(key, key), message))
    detail = (
        "; ".join(f"{e.field}: {e.message}" for e in errors)
        or exc.detail
        or "the request is not valid"
    )
    return problem(400, "Invalid request", detail, errors or None)


def on_invalid(request: Request, exc: InvalidInput) -> Response:
    return problem(400, "Invalid request", str(exc), exc.errors)


def on_http(request: Request, exc: HTTPException) -> Response:
    if exc.status_code >= 500:
        log.warning(
            "api.http_error", status=exc.status_code, detail=exc.detail, path=_path(request)
        )
    detail = str(exc.detail)
    if exc.status_code == 413:
        detail = "the request body is over the 64 KiB limit"
    return problem(exc.status_code, _title(exc.status_code), detail)


def on_not_found(request: Request, exc: NotFound) -> Response:
    return problem(404, "Not found", str(exc))


def on_conflict(request: Request, exc: Conflict) -> Response:
    errors = [FieldError(exc.field, str(exc))] if exc.field else None
    return problem(409, "Conflict", str(exc), errors)


def on_database_unavailable(request: Request, exc: DatabaseUnavailable) -> Response:
    log.warning("db.unavailable", fault=DbFault.LOST.value, error=str(exc), path=_path(request))
    return _unavailable(DbFault.LOST)


def on_error(request: Request, exc: Exception) -> Response:
    """Any other exception, answered by what vigil_core.dberrors says it means: the database
    gone or busy is 503, bad data is 400 (409 for a duplicate), a bug is 500."""
    fault = classify(exc)
    if fault in (DbFault.LOST, DbFault.BUSY):
        log.warning("db.unavailable", fault=fault.value, error=describe(exc), path=_path(request))
        return _unavailable(fault)
    if fault is DbFault.DATA:
        return _rejected(request, exc)
    return on_unexpected(request, exc)


def _unavailable(fault: DbFault) -> Response:
    detail = (
        "the database is busy (a lock or statement took too long); try again shortly"
        if fault is DbFault.BUSY
        else "the database cannot be reached; try again shortly"
    )
    return problem(503, "Database unavailable", detail, headers={"Retry-After": str(RETRY_AFTER_S)})


def _rejected(request: Request, exc: Exception) -> Response:
    # Validation runs before every write, so this is a safety net: the schema's CHECK
    # constraints still hold the line, and the client hears which rule it broke.
    if isinstance(exc, asyncpg.UniqueViolationError):
        return problem(
            409,
            "Conflict",
            "a target with that name already exists",
            [FieldError("name", "is already used by another target")],
        )
    constraint = getattr(exc, "constraint_name", None) or ""
    rule = constraint or getattr(exc, "sqlstate", None) or describe(exc)
    log.warning("db.rejected", constraint=constraint, error=describe(exc), path=_path(request))
    field = _CONSTRAINT_FIELDS.get(constraint, "body")
    return problem(
        400,
        "Invalid request",
        f"the value breaks the rule {rule}",
        [FieldError(field, f"breaks the database rule {rule}")],
    )


_CONSTRAINT_FIELDS = {
    "targets_name_valid": "name",
    "targets_address_valid": "url",
    "targets_interval_valid": "interval_s",
    "targets_timeout_valid": "timeout_s",
    "targets_failure_threshold_valid": "failure_threshold",
    "targets_success_threshold_valid": "success_threshold",
    "targets_labels_object": "labels",
}


def on_unexpected(request: Request, exc: Exception) -> Response:
    log.error("api.unhandled", path=_path(request), error=describe(exc), exc_info=exc)
    return problem(500, "Internal server error", "an unexpected error occurred; it has been logged")


def _title(status: int) -> str:
    try:
        return HTTPStatus(status).phrase
    except ValueError:
        return "Error"


EXCEPTION_HANDLERS: dict[Any, Any] = {
    ValidationException: on_validation,
    InvalidInput: on_invalid,
    HTTPException: on_http,
    NotFound: on_not_found,
    Conflict: on_conflict,
    DatabaseUnavailable: on_database_unavailable,
    # Everything else, asyncpg's errors and the socket errors under them included, goes to the
    # classifier; what it calls a bug (any non-database exception too) is a 500.
    Exception: on_error,
}
