"""One apply: the whole document checked first, then written in one transaction under the apply
lock: channels, then targets, then their dependencies, then routes (which name channels), then
maintenance windows (which name targets).

Every item is matched to a stored one by name: new names are created, changed ones replaced as
a whole (fields left out take their defaults, as with PUT), equal ones not written at all. With
prune, stored items the document does not name are deleted, in each section the document has;
a section it leaves out is not touched. A dry run makes the same writes and rolls them back, so
it reports exactly what a real run would, rejections (a cycle) included.
"""

from __future__ import annotations

from msgspec import UnsetType

from vigil_core.db import Conn

from ..auth import Principal
from ..channels.schemas import ChannelCreate
from ..errors import InvalidInput
from ..targets import dependencies
from . import channels, maintenance, routes, targets
from .common import Q, stored_ids
from .schemas import ApplyDocument, ApplyResult, ApplyRoute, ApplyTarget

SECTIONS = ("channels", "targets", "routes", "maintenance")


class _DryRun(Exception):
    """Raised at the end of a dry run to roll its transaction back."""


class Plan:
    """A checked document: its items by section, and which sections prune."""

    def __init__(self, doc: ApplyDocument, prune: bool) -> None:
        present = {s: not isinstance(getattr(doc, s), UnsetType) for s in SECTIONS}
        if not any(present.values()):
            raise InvalidInput.one(
                "body",
                "must hold `targets`, `channels` or `routes`, each a list, or `maintenance`,"
                " windows by name",
            )
        self.channels: list[ChannelCreate] = doc.channels or []
        self.routes: list[ApplyRoute] = doc.routes or []
        checked, target_errors = targets.check(doc.targets or [])
        self.targets: list[ApplyTarget] = checked
        self.windows, window_errors = maintenance.check(doc.maintenance or {})
        errors = (
            channels.check(self.channels)
            + target_errors
            + routes.check(self.routes)
            + window_errors
        )
        if errors:
            raise InvalidInput(errors)
        self.prune = {section: prune and here for section, here in present.items()}


async def apply(
    conn: Conn, doc: ApplyDocument, prune: bool, dry_run: bool, principal: Principal
) -> ApplyResult:
    """Apply the document (or only report what that would change, for a dry run) as
    `principal`, whose scope decides whether channel secrets may change."""
    plan = Plan(doc, prune)
    result = ApplyResult(dry_run=dry_run)
    try:
        async with conn.transaction():
            await conn.execute(Q["lock_apply"])
            await dependencies.lock(conn)  # before any target row: see dependencies.lock
            await _run(conn, plan, result, principal)
            if dry_run:
                raise _DryRun
    except _DryRun:
        pass
    return result


async def _run(conn: Conn, plan: Plan, result: ApplyResult, principal: Principal) -> None:
    stored_channels = await channels.read(conn, plan.channels, plan.prune["channels"])
    stored_targets = await targets.read(conn, plan.targets, plan.prune["targets"])
    stored_routes = await routes.read(conn, plan.routes, plan.prune["routes"])
    stored_windows = await maintenance.read(conn, plan.windows, plan.prune["maintenance"])

    # References by name: to an item of the document first, else to a stored one (unless its
    # section is pruned, which deletes what the document does not hold).
    configs, errors = channels.configs(plan.channels, stored_channels)
    plan.targets, secret_errors = targets.restore_secrets(plan.targets, stored_targets)
    errors += secret_errors
    in_document = {t.name for t in plan.targets}
    target_refs = await stored_ids(
        conn,
        Q["target_ids"],
        (name for t in plan.targets for name in t.depends_on),
        in_document,
        plan.prune["targets"],
    )
    errors += targets.unknown_dependencies(plan.targets, in_document | set(target_refs))
    channel_names = {c.name for c in plan.channels}
    channel_refs = await stored_ids(
        conn,
        Q["channel_ids"],
        (name for r in plan.routes for name in r.channels),
        channel_names,
        plan.prune["channels"],
    )
    errors += routes.unknown_channels(plan.routes, channel_names | set(channel_refs))
    window_refs = await stored_ids(
        conn,
        Q["target_ids"],
        (name for w in plan.windows for name in w.targets),
        in_document,
        plan.prune["targets"],
    )
    errors += maintenance.unknown_targets(plan.windows, in_document | set(window_refs))
    if errors:
        raise InvalidInput(errors)

    channel_ids = await channels.write(
        conn,
        plan.channels,
        configs,
        stored_channels,
        plan.prune["channels"],
        result.channels,
        principal,
    )
    writer = targets.Writer(conn, result, target_refs)
    await writer.targets(plan.targets, stored_targets, plan.prune["targets"])
    await writer.dependencies()
    await routes.write(
        conn,
        plan.routes,
        stored_routes,
        {**channel_refs, **channel_ids},
        plan.prune["routes"],
        result.routes,
    )
    await maintenance.write(
        conn,
        plan.windows,
        stored_windows,
        {**window_refs, **writer.ids},
        plan.prune["maintenance"],
        result.maintenance,
    )
