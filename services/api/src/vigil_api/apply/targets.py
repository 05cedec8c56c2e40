"""The targets of an apply document: validated as POST /api/v1/targets validates them, compared
with the stored ones (equal ones are not written, so they send no NOTIFY), written, and then
their dependencies, by name.

Secrets (header values, a URL's password) are compared as stored, after the masks a document
echoed are restored, and shown masked: a change of a secret alone is reported in `hidden`."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import asyncpg
import msgspec

from vigil_core.db import Conn

from ..errors import FieldError, InvalidInput
from ..target_writes import DELETE_TARGET, INSERT_TARGET, REPLACE_TARGET
from ..targets import dependencies, masking, rules, service
from .common import Q, duplicates, unknown
from .schemas import MAX_TARGETS, ApplyTarget, Change, FieldChange, Section

# Identity, timestamps and the live state: not part of what a target is configured to be; and
# its dependencies, which apply compares by name.
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
    "depends_on",
    "push_url",  # a secret, and not configuration: the target keeps its token
    "maintenance",  # live state too: the window it is in now
}


def check(items: Sequence[ApplyTarget]) -> tuple[list[ApplyTarget], list[FieldError]]:
    """Each target with its defaults resolved (rules.check), and what is wrong in the document
    without looking at stored state."""
    if len(items) > MAX_TARGETS:
        raise InvalidInput.one("targets", f"must hold at most {MAX_TARGETS} targets")
    repeated = duplicates("targets", [t.name for t in items])
    checked: list[ApplyTarget] = []
    errors: list[FieldError] = []
    for i, target in enumerate(items):
        checked.append(target)
        if i in repeated:
            errors.append(repeated[i])
            continue
        try:
            checked[i] = rules.check(target, prefix=f"targets[{i}].")
        except InvalidInput as exc:
            errors.extend(exc.errors)
        if target.name in target.depends_on:
            errors.append(FieldError(f"targets[{i}].depends_on", "names the target itself"))
    return checked, errors


async def read(conn: Conn, items: Sequence[ApplyTarget], prune: bool) -> dict[str, asyncpg.Record]:
    """The stored targets the document names (all when pruning), locked until commit."""
    rows = await conn.fetch(Q["targets_for_apply"], [t.name for t in items], prune)
    return {r["name"]: r for r in rows}


def restore_secrets(
    items: Sequence[ApplyTarget], stored: dict[str, asyncpg.Record]
) -> tuple[list[ApplyTarget], list[FieldError]]:
    """Each target with the masks it echoes replaced by the stored target's secrets
    (masking.restore), and the errors naming `targets[i].url` or `targets[i].headers.<name>`."""
    restored: list[ApplyTarget] = []
    errors: list[FieldError] = []
    for i, target in enumerate(items):
        try:
            restored.append(
                masking.restore(target, stored.get(target.name), prefix=f"targets[{i}].")
            )
        except InvalidInput as exc:
            errors.extend(exc.errors)
            restored.append(target)
    return restored, errors


def unknown_dependencies(items: Sequence[ApplyTarget], known: set[str]) -> list[FieldError]:
    return [
        error
        for i, target in enumerate(items)
        for error in unknown(f"targets[{i}].depends_on", "target", target.depends_on, known)
    ]


def _view(row: asyncpg.Record | dict[str, Any], reveal: bool = False) -> dict[str, Any]:
    """A target as the API shows it, without what _META names: what apply shows, and with
    `reveal` (secrets as stored) what it compares."""
    shown = msgspec.to_builtins(service.to_target(row, reveal=reveal))
    return {k: v for k, v in shown.items() if k not in _META}


class _Views:
    """A target as apply compares it (secrets included) and as its diff shows it (masked)."""

    def __init__(self, row: asyncpg.Record | dict[str, Any]) -> None:
        self.compared = _view(row, reveal=True)
        self.shown = _view(row)


class Writer:
    """Writes the document's targets, then their dependencies once every target exists."""

    def __init__(self, conn: Conn, section: Section, stored_ids: dict[str, int]) -> None:
        self.conn = conn
        self.section = section
        # Every target a dependency may name: the stored ones the document refers to, and
        # the document's own as they are written.
        self.ids = dict(stored_ids)
        self._dependencies: list[tuple[int, ApplyTarget]] = []  # (index, target) to write

    async def targets(
        self, items: Sequence[ApplyTarget], stored: dict[str, asyncpg.Record], prune: bool
    ) -> None:
        for i, target in sorted(enumerate(items), key=lambda p: p[1].name):
            row = service.to_row(target)
            new = _Views({"id": 0, "created_at": None, "updated_at": None, "depends_on": [], **row})
            names = sorted(set(target.depends_on))
            old = stored.get(target.name)
            old_names = list(old["depends_on_names"]) if old is not None else []
            if old is None:
                await self._create(target, row, new, names)
            else:
                await self._update(old, row, new, FieldChange(old_names, names))
            if names != old_names:
                self._dependencies.append((i, target))
        if prune:
            for name in sorted(set(stored) - {t.name for t in items}):
                self.section.add(Change(op="delete", name=name, id=stored[name]["id"], fields={}))
                await self.conn.execute(DELETE_TARGET, stored[name]["id"])

    async def _create(
        self, target: ApplyTarget, row: dict[str, Any], new: _Views, names: list[str]
    ) -> None:
        fields = {k: FieldChange(None, v) for k, v in new.shown.items() if v is not None}
        if names:
            fields["depends_on"] = FieldChange(None, names)
        self.section.add(Change(op="create", name=target.name, id=None, fields=fields))
        created = await self.conn.fetchrow(INSERT_TARGET, *service.params(row))
        assert created is not None  # the INSERT returns the row it made
        self.ids[target.name] = created["id"]

    async def _update(
        self, old: asyncpg.Record, row: dict[str, Any], new: _Views, names: FieldChange
    ) -> None:
        """Replace the row only when a field of it differs (a write sends a NOTIFY); the
        dependencies are written later. A field whose masked values are equal changed only
        in a secret: it is named in `hidden`, its values not shown."""
        self.ids[old["name"]] = old["id"]
        stored = _Views(old)
        changed = [k for k, v in new.compared.items() if stored.compared.get(k) != v]
        if changed:
            await self.conn.execute(REPLACE_TARGET, old["id"], *service.params(row))
        fields = {
            k: FieldChange(stored.shown.get(k), new.shown[k])
            for k in changed
            if stored.shown.get(k) != new.shown[k]
        }
        hidden = [k for k in changed if k not in fields]
        if names.old != names.new:
            fields["depends_on"] = names
        if fields or hidden:
            self.section.add(
                Change(op="update", name=old["name"], id=old["id"], fields=fields, hidden=hidden)
            )
        else:
            self.section.unchanged.append(old["name"])

    async def dependencies(self) -> None:
        """Every changed target's dependencies are cleared first, then written: the graph then
        only ever holds edges of the one the document describes, so a document that turns
        A->B into B->A is no cycle, and one that makes a cycle is named at its target."""
        for i, target in self._dependencies:
            await dependencies.write(
                self.conn, self.ids[target.name], [], f"targets[{i}].depends_on"
            )
        for i, target in self._dependencies:
            if target.depends_on:
                await dependencies.write(
                    self.conn,
                    self.ids[target.name],
                    [self.ids[name] for name in target.depends_on],
                    f"targets[{i}].depends_on",
                )
