"""A target's dependencies: checked (they exist, not itself, no cycle) and written in the
transaction that writes the target, for the targets endpoints and apply alike."""

from __future__ import annotations

from collections.abc import Iterable

import asyncpg

from vigil_core.db import Conn

from ..errors import InvalidInput
from ..target_writes import (
    DEPENDENCY_CYCLE,
    LOCK_DEPENDENCIES,
    MISSING_TARGETS,
    SET_DEPENDENCIES,
)


async def lock(conn: Conn) -> None:
    """Serialise writes of dependencies until commit, so two of them never close a cycle
    together. Take it before locking target rows (apply does, after its own lock): a
    transaction that holds a target row and then waits for this lock would deadlock with one
    that holds this lock and then waits for the row."""
    await conn.execute(LOCK_DEPENDENCIES)


async def write(
    conn: Conn, target_id: int, ids: Iterable[int], field: str = "depends_on"
) -> list[int]:
    """Make target `target_id` depend on exactly `ids` (duplicates count once); InvalidInput
    names `field` for an unknown id, the target itself or a cycle. Returns the ids stored."""
    wanted = sorted(set(ids))
    if target_id in wanted:
        raise InvalidInput.one(field, f"names the target itself ({target_id})")
    if wanted:
        await lock(conn)  # a no-op when the caller took it already
        if missing := await conn.fetchval(MISSING_TARGETS, wanted):
            raise InvalidInput.one(field, f"no target has the id {', '.join(map(str, missing))}")
        if cycle := await conn.fetchrow(DEPENDENCY_CYCLE, target_id, wanted):
            raise InvalidInput.one(
                field,
                f"target {cycle['id']} ({cycle['name']!r}) already depends on this one,"
                " directly or through others: that would be a cycle",
            )
    try:
        await conn.execute(SET_DEPENDENCIES, target_id, wanted)
    except asyncpg.ForeignKeyViolationError:
        # A dependency deleted after the check above (deletes do not take the lock).
        raise InvalidInput.one(field, "names a target that was deleted meanwhile") from None
    return wanted
