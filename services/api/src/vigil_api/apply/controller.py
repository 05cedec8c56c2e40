"""HTTP handler for POST /api/v1/apply, the endpoint behind `vigil apply -f targets.yaml`.

Each target in the document is matched to a stored one by name: new names are created,
changed ones are replaced as a whole (fields left out take their defaults, as with PUT), and
equal ones are not written at all (so they send no NOTIFY). With prune, stored targets the
document does not name are deleted. Everything runs in one transaction; dry_run computes the
same plan and writes nothing.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

import asyncpg
import msgspec
from litestar import Controller, post
from litestar.params import JSONBody, QueryParameter

from vigil_core.db import load_queries

from ..body import StrictBody
from ..database import PoolDep
from ..errors import FieldError, InvalidInput, responses
from ..target_writes import DELETE_TARGET, INSERT_TARGET, REPLACE_TARGET
from ..targets import rules, service
from ..targets.schemas import TargetCreate

Q = load_queries(__package__)

MAX_BODY = 4 * 1024 * 1024
MAX_TARGETS = 20_000


class ApplyDocument(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    """Every target that should exist, each in the same form as POST /api/v1/targets."""

    targets: list[TargetCreate]


class FieldChange(msgspec.Struct):
    old: Any
    new: Any


class Change(msgspec.Struct, kw_only=True):
    op: Literal["create", "update", "delete"]
    name: str
    id: int | None
    fields: dict[str, FieldChange]


class ApplyResult(msgspec.Struct, kw_only=True):
    dry_run: bool
    created: list[str]
    updated: list[str]
    deleted: list[str]
    unchanged: list[str]
    changes: list[Change]


# Identity, timestamps and the live state: not part of what a target is configured to be.
_META = {
    "id",
    "created_at",
    "updated_at",
    "status",
    "since",
    "last_checked_at",
    "last_latency_ms",
    "last_error_class",
    "tls_expires_at",
}


def _view(row: asyncpg.Record | dict) -> dict[str, Any]:
    """A target as the API shows it, without id and timestamps: what apply compares."""
    return {k: v for k, v in msgspec.to_builtins(service.to_target(row)).items() if k not in _META}


def validate(doc: ApplyDocument) -> list[TargetCreate]:
    if len(doc.targets) > MAX_TARGETS:
        raise InvalidInput.one("targets", f"must hold at most {MAX_TARGETS} targets")
    checked: list[TargetCreate] = []
    errors: list[FieldError] = []
    seen: dict[str, int] = {}
    for i, target in enumerate(doc.targets):
        if target.name in seen:
            errors.append(
                FieldError(
                    f"targets[{i}].name", f"repeats the name of targets[{seen[target.name]}]"
                )
            )
            continue
        seen[target.name] = i
        try:
            checked.append(rules.check(target, prefix=f"targets[{i}]."))
        except InvalidInput as exc:
            errors.extend(exc.errors)
    if errors:
        raise InvalidInput(errors)
    return checked


class ApplyController(Controller):
    path = "/api/v1/apply"
    tags = ["targets"]

    @post(
        "/",
        operation_id="applyTargets",
        summary="Create, update (and prune) targets from one document",
        dto=StrictBody.of(ApplyDocument),
        return_dto=None,
        status_code=200,
        request_max_body_size=MAX_BODY,
        responses=responses(400, 409, 413, 503),
    )
    async def apply(
        self,
        data: JSONBody[ApplyDocument],
        pool: PoolDep,
        prune: Annotated[
            bool, QueryParameter(description="Delete stored targets the document does not name")
        ] = False,
        dry_run: Annotated[
            bool, QueryParameter(description="Report the changes without making them")
        ] = False,
    ) -> ApplyResult:
        """Upsert targets by name in one transaction (config as code, like `kubectl apply`).
        The body may be up to 4 MiB."""
        targets = validate(data)
        wanted = {t.name: t for t in targets}
        changes: list[Change] = []
        result = ApplyResult(
            dry_run=dry_run, created=[], updated=[], deleted=[], unchanged=[], changes=changes
        )
        async with pool.acquire() as conn, conn.transaction():
            await conn.execute(Q["lock_apply"])
            stored = {
                r["name"]: r for r in await conn.fetch(Q["targets_for_apply"], list(wanted), prune)
            }
            for name in sorted(wanted):
                row = service.to_row(wanted[name])
                new = _view({"id": 0, "created_at": None, "updated_at": None, **row})
                if (stored_row := stored.get(name)) is None:
                    changes.append(
                        Change(
                            op="create",
                            name=name,
                            id=None,
                            fields={
                                k: FieldChange(None, v) for k, v in new.items() if v is not None
                            },
                        )
                    )
                    result.created.append(name)
                    if not dry_run:
                        await conn.execute(INSERT_TARGET, *service.params(row))
                    continue
                old = _view(stored_row)
                diff = {k: FieldChange(old.get(k), v) for k, v in new.items() if old.get(k) != v}
                if not diff:
                    result.unchanged.append(name)
                    continue
                changes.append(Change(op="update", name=name, id=stored_row["id"], fields=diff))
                result.updated.append(name)
                if not dry_run:
                    await conn.execute(REPLACE_TARGET, stored_row["id"], *service.params(row))
            if prune:
                for name in sorted(set(stored) - set(wanted)):
                    changes.append(Change(op="delete", name=name, id=stored[name]["id"], fields={}))
                    result.deleted.append(name)
                    if not dry_run:
                        await conn.execute(DELETE_TARGET, stored[name]["id"])
        return result
