"""Applies, lists and rolls back the yoyo migrations in sql/migrations."""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from yoyo import get_backend, read_migrations
from yoyo.backends import DatabaseBackend
from yoyo.migrations import MigrationList


def migrations_dir() -> Path:
    """sql/migrations of the checkout (or image) Vigil runs from; VIGIL_MIGRATIONS_DIR overrides."""
    if env := os.environ.get("VIGIL_MIGRATIONS_DIR"):
        return Path(env)
    here = Path(__file__).resolve()
    for parent in here.parents:
        candidate = parent / "sql" / "migrations"
        if candidate.is_dir():
            return candidate
    raise FileNotFoundError("sql/migrations not found; set VIGIL_MIGRATIONS_DIR")


def yoyo_url(database_url: str) -> str:
    """yoyo is synchronous: it talks to Postgres through psycopg 3."""
    for prefix in ("postgresql://", "postgres://"):
        if database_url.startswith(prefix):
            return "postgresql+psycopg://" + database_url[len(prefix):]
    return database_url


@contextmanager
def _locked(database_url: str) -> Iterator[tuple[DatabaseBackend, MigrationList]]:
    """The yoyo backend under its migration lock, with the connection closed afterwards."""
    backend = get_backend(yoyo_url(database_url))
    try:
        with backend.lock():
            yield backend, read_migrations(str(migrations_dir()))
    finally:
        backend.connection.close()


def pending(database_url: str) -> list[str]:
    with _locked(database_url) as (backend, migrations):
        return [m.id for m in backend.to_apply(migrations)]


def applied(database_url: str) -> list[str]:
    with _locked(database_url) as (backend, migrations):
        return [m.id for m in migrations if backend.is_applied(m)]


def apply(database_url: str) -> list[str]:
    """Apply every pending migration; returns their ids."""
    with _locked(database_url) as (backend, migrations):
        todo = backend.to_apply(migrations)
        backend.apply_migrations(todo)
        return [m.id for m in todo]


def rollback(database_url: str, count: int) -> list[str]:
    """Roll back the last `count` applied migrations, newest first; returns their ids."""
    with _locked(database_url) as (backend, migrations):
        todo = backend.to_rollback(migrations)[:count]
        backend.rollback_migrations(todo)
        return [m.id for m in todo]
