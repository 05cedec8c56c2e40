"""Every migration applies, rolls back and re-applies cleanly on an empty database, and a
landed migration never changes (sql/manifest.sha256)."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import asyncpg
import pytest

from vigil_core import migrations

SQL_DIR = Path(__file__).resolve().parents[1] / "sql"

SCHEMA_SQL = """
SELECT c.relname, c.relkind::text, a.attname, format_type(a.atttypid, a.atttypmod), a.attnotnull
  FROM pg_class c
  JOIN pg_namespace n ON n.oid = c.relnamespace
  LEFT JOIN pg_attribute a ON a.attrelid = c.oid AND a.attnum > 0 AND NOT a.attisdropped
 WHERE n.nspname = 'public' AND c.relname NOT LIKE '\\_yoyo%' AND c.relname NOT LIKE 'yoyo%'
 ORDER BY 1, 3
"""
OBJECTS_SQL = """
SELECT 'constraint:' || conname FROM pg_constraint c JOIN pg_namespace n ON n.oid = c.connamespace
 WHERE n.nspname = 'public' AND conname NOT LIKE '%yoyo%'
UNION ALL
SELECT 'trigger:' || tgname FROM pg_trigger WHERE NOT tgisinternal
UNION ALL
SELECT 'function:' || proname FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace
 WHERE n.nspname = 'public'
ORDER BY 1
"""


async def _schema(url: str) -> tuple[list[tuple], list[str]]:
    conn = await asyncpg.connect(url)
    try:
        tables = [tuple(r) for r in await conn.fetch(SCHEMA_SQL)]
        objects = [r[0] for r in await conn.fetch(OBJECTS_SQL)]
        return tables, objects
    finally:
        await conn.close()


async def test_migrations_apply_rollback_reapply(empty_db: str) -> None:
    all_ids = migrations.pending(empty_db)
    assert all_ids, "no migrations found"
    assert migrations.apply(empty_db) == all_ids
    assert migrations.pending(empty_db) == []
    first_tables, first_objects = await _schema(empty_db)
    assert {
        "targets",
        "schedule",
        "checks",
        "target_state",
        "incidents",
        "check_rollups_hourly",
    } <= {t[0] for t in first_tables}

    rolled = migrations.rollback(empty_db, len(all_ids))
    assert rolled == list(reversed(all_ids))
    tables, objects = await _schema(empty_db)
    assert tables == [] and objects == [], f"rollback left {tables or objects}"

    assert migrations.apply(empty_db) == all_ids
    assert await _schema(empty_db) == (first_tables, first_objects)


async def test_each_migration_rolls_back_one_at_a_time(empty_db: str) -> None:
    all_ids = migrations.pending(empty_db)
    migrations.apply(empty_db)
    for expected in reversed(all_ids):
        assert migrations.rollback(empty_db, 1) == [expected]
    assert migrations.pending(empty_db) == all_ids


async def test_checks_partitions_exist_ahead(db) -> None:
    days = await db.fetchval(
        """SELECT count(*) FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhparent
            WHERE c.relname = 'checks'"""
    )
    assert days >= 8  # yesterday, today and a week ahead
    # a check written now lands in a partition
    await db.execute(
        "INSERT INTO checks (target_id, checked_at, ok, latency_ms) VALUES (1, now(), true, 1)"
    )
    await db.execute(
        "INSERT INTO checks (target_id, checked_at, ok, latency_ms) VALUES (1, now() + interval '6 days', true, 1)"
    )


async def test_rolling_back_0004_keeps_the_current_hours(empty_db: str) -> None:
    """0004 keeps each target's current roll-up hour in target_state; its rollback moves them
    into check_rollups_hourly (added to a row of the same hour) instead of dropping them."""
    migrations.apply(empty_db)
    conn = await asyncpg.connect(empty_db)
    try:
        tid = await conn.fetchval(
            "INSERT INTO targets (name, kind, address, interval_s, timeout_s)"
            " VALUES ('t', 'tcp', '127.0.0.1:9', 60, 5) RETURNING id"
        )
        hour = await conn.fetchval(
            "SELECT date_trunc('hour', now() AT TIME ZONE 'UTC') AT TIME ZONE 'UTC'"
        )
        buckets = [0] * 17
        await conn.execute(
            "INSERT INTO check_rollups_hourly (target_id, hour, checks, ok, latency_buckets) VALUES ($1, $2, 2, 1, $3)",
            tid,
            hour,
            buckets,
        )
        await conn.execute(
            """UPDATE target_state SET cur_hour = $2, cur_checks = 5, cur_ok = 4, cur_latency_count = 4,
                      cur_latency_sum_ms = 40, cur_latency_max_ms = 12, cur_latency_buckets = $3
                WHERE target_id = $1""",
            tid,
            hour,
            [0, 0, 0, 4] + [0] * 13,
        )
        viewed = await conn.fetchval(
            "SELECT sum(checks) FROM check_rollups WHERE target_id = $1", tid
        )
        assert viewed == 7
        while "0004" not in (last := migrations.applied(empty_db)[-1]):
            migrations.rollback(empty_db, 1)  # the migrations after 0004
        assert migrations.rollback(empty_db, 1) == [last]
        row = await conn.fetchrow(
            "SELECT checks, ok, latency_count, latency_buckets FROM check_rollups_hourly"
            " WHERE target_id = $1",
            tid,
        )
        assert (row["checks"], row["ok"], row["latency_count"], row["latency_buckets"][3]) == (
            7,
            5,
            4,
            4,
        )
    finally:
        await conn.close()


def test_landed_migrations_are_unchanged_and_listed() -> None:
    problems = migrations.manifest_problems(SQL_DIR)
    assert not problems, "\n".join(problems)


@pytest.fixture
def sql_copy(tmp_path: Path) -> Path:
    """sql/migrations copied where a test may break it, with a manifest listing every file."""
    shutil.copytree(SQL_DIR / "migrations", tmp_path / "sql" / "migrations")
    migrations.append_to_manifest(tmp_path / "sql")
    assert migrations.manifest_problems(tmp_path / "sql") == []
    return tmp_path / "sql"


def _edit(sql: Path) -> str:
    path = sql / "migrations" / "0002_worker_spread_and_retention.sql"
    path.write_text(path.read_text() + "\n-- a fix\n")
    return "differs from its SHA-256"


def _delete(sql: Path) -> str:
    (sql / "migrations" / "0002_worker_spread_and_retention.rollback.sql").unlink()
    return "gone"


@pytest.mark.parametrize("breakage", [_edit, _delete], ids=["edited", "deleted"])
def test_a_changed_or_deleted_landed_migration_fails_by_name(
    sql_copy: Path, breakage: Callable[[Path], str]
) -> None:
    expected = breakage(sql_copy)
    (problem,) = migrations.manifest_problems(sql_copy)
    assert (
        problem.startswith("sql/migrations/0002_worker_spread_and_retention.")
        and expected in problem
    )
    assert "a landed migration is never edited: put the fix in a new migration" in problem


@pytest.mark.parametrize("how", ["one-liner", "python"])
def test_an_unlisted_migration_fails_with_the_command_that_appends_it(
    sql_copy: Path, how: str
) -> None:
    """Both commands the failure names, run as printed, fix it (and touch no listed line)."""
    before = (sql_copy / migrations.MANIFEST_NAME).read_text()
    (sql_copy / "migrations" / "0099_new.sql").write_text("SELECT 1;\n")
    (problem,) = migrations.manifest_problems(sql_copy)
    assert problem.startswith("sql/migrations/0099_new.sql is not in sql/manifest.sha256")
    python_cmd, one_liner = re.findall(r"`([^`]+)`", problem)
    assert python_cmd == "uv run python -m vigil_core.migrations --manifest"
    assert one_liner == "cd sql && sha256sum migrations/0099_new.sql >> manifest.sha256"
    if how == "one-liner":
        subprocess.run(["bash", "-c", one_liner], cwd=sql_copy.parent, check=True)
    else:  # `uv run python` is this interpreter; the migrations dir is the copy's
        subprocess.run(
            [sys.executable, *python_cmd.split()[3:]],
            check=True,
            capture_output=True,
            env={**os.environ, "VIGIL_MIGRATIONS_DIR": str(sql_copy / "migrations")},
        )
    assert migrations.manifest_problems(sql_copy) == []
    after = (sql_copy / migrations.MANIFEST_NAME).read_text()
    assert after.startswith(before) and after.count("\n") == before.count("\n") + 1
