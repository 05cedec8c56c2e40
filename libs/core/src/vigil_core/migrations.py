"""Applies, lists and rolls back the yoyo migrations in sql/migrations; keeps their manifest and schema.

`python -m vigil_core.migrations --manifest --write-schema` is the one step after adding a
migration: it appends the new files to sql/manifest.sha256 and regenerates sql/schema.sql.
"""

from __future__ import annotations

import argparse
import hashlib
import os
import re
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from yoyo import get_backend, read_migrations
from yoyo.backends import DatabaseBackend
from yoyo.migrations import MigrationList

# Both live in sql/, beside migrations/; the manifest names files relative to sql/, so that
# `cd sql && sha256sum -c manifest.sha256` checks it too.
MANIFEST_NAME = "manifest.sha256"
SCHEMA_NAME = "schema.sql"
MANIFEST_COMMAND = "uv run python -m vigil_core.migrations --manifest"
SCHEMA_COMMAND = "uv run python -m vigil_core.migrations --write-schema"
LANDED_RULE = "a landed migration is never edited: put the fix in a new migration"


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
            return "postgresql+psycopg://" + database_url[len(prefix) :]
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


# -- the manifest: each landed migration file (forward and rollback) with its SHA-256 ---------


def migration_files(sql_dir: Path) -> list[str]:
    """Every migration file under sql_dir/migrations, as manifest names (relative to sql_dir)."""
    return sorted(p.relative_to(sql_dir).as_posix() for p in (sql_dir / "migrations").glob("*.sql"))


def file_sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def read_manifest(sql_dir: Path) -> dict[str, str]:
    """name -> SHA-256 from sql_dir/manifest.sha256 (the `sha256sum` format: digest, two spaces, name)."""
    path = sql_dir / MANIFEST_NAME
    if not path.exists():
        return {}
    entries: dict[str, str] = {}
    for line in path.read_text().splitlines():
        if line.strip():
            digest, name = line.split(maxsplit=1)
            entries[name.lstrip("*")] = digest
    return entries


def manifest_problems(sql_dir: Path) -> list[str]:
    """What breaks the rule that landed migrations never change; empty when the files match."""
    listed = read_manifest(sql_dir)
    present = set(migration_files(sql_dir))
    problems = []
    for name, digest in listed.items():
        if name not in present:
            problems.append(
                f"sql/{name} is in sql/{MANIFEST_NAME} but gone: {LANDED_RULE} "
                f"(restore it with `git checkout -- sql/{name}`)"
            )
        elif file_sha256(sql_dir / name) != digest:
            problems.append(
                f"sql/{name} differs from its SHA-256 in sql/{MANIFEST_NAME}: {LANDED_RULE} "
                f"(restore it with `git checkout -- sql/{name}`; if it has not landed yet, "
                f"delete its line from the manifest and append it again)"
            )
    for name in sorted(present - listed.keys()):
        problems.append(
            f"sql/{name} is not in sql/{MANIFEST_NAME}; when it is final, append it: "
            f"`{MANIFEST_COMMAND}` (or `cd sql && sha256sum {name} >> {MANIFEST_NAME}`)"
        )
    return problems


def append_to_manifest(sql_dir: Path) -> list[str]:
    """Append the migration files the manifest does not list yet; never rewrites a line."""
    listed = read_manifest(sql_dir)
    new = [name for name in migration_files(sql_dir) if name not in listed]
    with (sql_dir / MANIFEST_NAME).open("a") as out:
        for name in new:
            out.write(f"{file_sha256(sql_dir / name)}  {name}\n")
    return new


# -- the schema all migrations produce, as a normalised `pg_dump --schema-only` ---------------

# yoyo's bookkeeping, and the daily partitions of checks (which ones exist depends on the day).
SCHEMA_EXCLUDED_TABLES = ("public._yoyo*", "public.yoyo_lock", "public.checks_" + "[0-9]" * 8)
_ENTRY_HEADER = re.compile(
    r"^--\n-- Name: (?P<name>.*?); Type: (?P<type>.*?);.*\n--\n", re.MULTILINE
)
_SESSION_LINE = re.compile(
    r"^(SET \w+ = .*;|SELECT pg_catalog\.set_config\(.*\);|\\(un)?restrict .*)$"
)
_FOOTER = "\n--\n-- PostgreSQL database dump complete\n--\n"
SCHEMA_PREAMBLE = f"""\
-- The schema that every migration in sql/migrations produces (a normalised pg_dump --schema-only).
-- Generated: do not edit. After adding a migration, regenerate it with
--   {MANIFEST_COMMAND} --write-schema
"""


def pg_dump_command() -> list[str]:
    """pgserver's pg_dump (the embedded server's version), else the one on PATH."""
    from . import embedded_pg  # here, not at the top: `vigil migrate` in the image never needs it

    try:
        return [str(embedded_pg.bin_dir() / "pg_dump")]
    except embedded_pg.EmbeddedPostgresUnavailable:
        found = shutil.which("pg_dump")
        if found is None:
            raise
        return [found]


def dump_schema(database_url: str) -> str:
    """The normalised schema of the database at `database_url`."""
    excludes = [arg for pattern in SCHEMA_EXCLUDED_TABLES for arg in ("--exclude-table", pattern)]
    done = subprocess.run(
        [
            *pg_dump_command(),
            "--schema-only",
            "--no-owner",
            "--no-privileges",
            "--no-tablespaces",
            *excludes,
            "--dbname",
            database_url,
        ],
        capture_output=True,
        text=True,
    )
    if done.returncode != 0:
        raise RuntimeError(f"pg_dump failed (exit status {done.returncode}): {done.stderr.strip()}")
    return normalise_schema(done.stdout)


def normalise_schema(raw: str) -> str:
    """pg_dump's entries in its (dependency) order, each under `-- TYPE: name`, without the
    dump's header, versions, owners and session settings."""
    raw = raw.split(_FOOTER, 1)[0]
    headers = list(_ENTRY_HEADER.finditer(raw))
    entries = []
    for header, following in zip(headers, [*headers[1:], None], strict=True):
        body = raw[header.end() : following.start() if following else len(raw)]
        statement = "\n".join(
            line for line in body.splitlines() if not _SESSION_LINE.match(line)
        ).strip()
        if statement:
            entries.append(f"-- {header['type']}: {header['name']}\n\n{statement}\n")
    return SCHEMA_PREAMBLE + "\n\n" + "\n\n".join(entries)


def write_schema(path: Path, database_url: str | None = None) -> None:
    """Migrate an empty database (a throwaway embedded cluster unless given one) and dump it."""
    if database_url is not None:
        apply(database_url)
        path.write_text(dump_schema(database_url))
        return
    from . import embedded_pg

    root = Path(tempfile.mkdtemp(prefix="vigil-schema-"))
    try:
        url = embedded_pg.start(root / "pgdata")
        apply(url)
        path.write_text(dump_schema(url))
    finally:
        embedded_pg.stop(root / "pgdata")
        shutil.rmtree(root, ignore_errors=True)


def main(argv: list[str] | None = None) -> int:
    sql_dir = migrations_dir().parent
    parser = argparse.ArgumentParser(
        prog="python -m vigil_core.migrations",
        description="Keep sql/manifest.sha256 and sql/schema.sql up to date.",
    )
    parser.add_argument(
        "--manifest",
        action="store_true",
        help=f"append migration files not yet listed to sql/{MANIFEST_NAME}",
    )
    parser.add_argument(
        "--write-schema",
        nargs="?",
        const=sql_dir / SCHEMA_NAME,
        type=Path,
        metavar="PATH",
        help=f"regenerate the schema file (default: sql/{SCHEMA_NAME})",
    )
    parser.add_argument(
        "--database-url",
        metavar="URL",
        help="an empty database to migrate and dump (default: a throwaway embedded one)",
    )
    args = parser.parse_args(argv)
    if not (args.manifest or args.write_schema):
        parser.error("nothing to do: give --manifest, --write-schema or both")
    if args.manifest:
        added = append_to_manifest(sql_dir)
        print(
            f"appended {', '.join(added)}"
            if added
            else f"sql/{MANIFEST_NAME} lists every migration"
        )
    if args.write_schema:
        from .embedded_pg import EmbeddedPostgresUnavailable

        try:
            write_schema(args.write_schema, args.database_url)
        except EmbeddedPostgresUnavailable:
            parser.error(
                "the throwaway database needs pgserver (uv sync installs it): "
                "or give --database-url URL of an empty database"
            )
        print(f"wrote {args.write_schema}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
