"""Migration 0009: a paused target's stored status is `paused`, old rows are renamed on upgrade
and named back on rollback, and the trigger and the CHECK constraint follow each way; the
status clients see comes from one function."""

from __future__ import annotations

import asyncpg
import pytest

from vigil_core import migrations

NEW_TARGET = (
    "INSERT INTO targets (name, kind, address, interval_s, timeout_s)"
    " VALUES ($1, 'tcp', '127.0.0.1:9', 60, 5) RETURNING id"
)
STATUS = "SELECT status FROM target_state WHERE target_id = $1"


async def _pause(conn: asyncpg.Connection, name: str) -> int:
    tid = await conn.fetchval(NEW_TARGET, name)
    await conn.execute("UPDATE targets SET enabled = false WHERE id = $1", tid)
    return tid


def _roll_back_0009(url: str) -> None:
    while "0009" not in (last := migrations.applied(url)[-1]):
        migrations.rollback(url, 1)  # the migrations after 0009
    assert migrations.rollback(url, 1) == [last]


async def test_0009_renames_the_stored_status_both_ways(empty_db: str) -> None:
    migrations.apply(empty_db)
    conn = await asyncpg.connect(empty_db)
    try:
        paused = await _pause(conn, "paused")
        assert await conn.fetchval(STATUS, paused) == "paused"
        with pytest.raises(asyncpg.CheckViolationError, match="target_state_status_valid"):
            await conn.execute(
                "UPDATE target_state SET status = 'unknown' WHERE target_id = $1", paused
            )

        _roll_back_0009(empty_db)
        assert await conn.fetchval(STATUS, paused) == "unknown"
        assert await conn.fetchval(STATUS, await _pause(conn, "paused before 0009")) == "unknown"
        with pytest.raises(asyncpg.CheckViolationError, match="target_state_status_valid"):
            await conn.execute(
                "UPDATE target_state SET status = 'paused' WHERE target_id = $1", paused
            )
        assert (
            await conn.fetchval(
                "SELECT count(*) FROM pg_proc"
                " WHERE proname IN ('vigil_target_status', 'vigil_apply_lock_key')"
            )
            == 0
        )

        migrations.apply(empty_db)
        assert [r["status"] for r in await conn.fetch("SELECT status FROM target_state")] == [
            "paused",
            "paused",
        ]
        # Resuming starts afresh in pending, as before.
        await conn.execute("UPDATE targets SET enabled = true WHERE id = $1", paused)
        assert await conn.fetchval(STATUS, paused) == "pending"
    finally:
        await conn.close()


@pytest.mark.parametrize(
    ("enabled", "stored", "shown"),
    [
        (True, "up", "up"),
        (True, "down", "down"),
        (True, "pending", "pending"),
        (False, "pending", "paused"),
        (False, "up", "paused"),
        (False, "paused", "paused"),
    ],
    ids=[
        "enabled-up",
        "enabled-down",
        "enabled-pending",
        "created-disabled",
        "disabled-stale-up",
        "paused",
    ],
)
async def test_the_status_clients_see(
    db: asyncpg.Connection, enabled: bool, stored: str, shown: str
) -> None:
    assert await db.fetchval("SELECT vigil_target_status($1, $2)", enabled, stored) == shown


async def test_the_status_function_is_inlined(db: asyncpg.Connection) -> None:
    """The planner inlines it, so the API's queries plan as with the CASE written out."""
    plan = await db.fetchval(
        "EXPLAIN (VERBOSE, FORMAT JSON) SELECT vigil_target_status(t.enabled, s.status)"
        " FROM targets t JOIN target_state s ON s.target_id = t.id"
    )
    text = str(plan)
    assert "CASE WHEN" in text and "vigil_target_status" not in text
