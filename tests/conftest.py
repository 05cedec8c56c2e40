"""Shared fixtures: a real PostgreSQL (embedded by default), a migrated template, a fresh DB per test."""

from __future__ import annotations

import asyncio
import os
import shutil
import tempfile
import uuid
from collections.abc import AsyncIterator, Iterator
from contextlib import contextmanager
from pathlib import Path

import asyncpg
import pytest

from vigil_core import embedded_pg, migrations

from .support import database_url_for

TEMPLATE = f"vigil_template_{os.getpid()}"


@pytest.fixture(scope="session")
def pg_server_url() -> Iterator[str]:
    """The server the tests use: VIGIL_TEST_DATABASE_URL, or a pgserver cluster for this session."""
    if url := os.environ.get("VIGIL_TEST_DATABASE_URL"):
        yield url
        return
    # A private temp dir, not pytest's basetemp: a concurrent pytest run prunes old basetemps,
    # and that would delete a running cluster's data directory.
    root = Path(tempfile.mkdtemp(prefix="vigil-test-pg-"))
    pgdata = root / "data"
    url = embedded_pg.start(pgdata)
    try:
        yield url
    finally:
        embedded_pg.stop(pgdata)
        shutil.rmtree(root, ignore_errors=True)


def _admin(url: str, sql: str) -> None:
    async def go() -> None:
        conn = await asyncpg.connect(url)
        try:
            await conn.execute(sql)
        finally:
            await conn.close()

    asyncio.run(go())


@pytest.fixture(scope="session")
def template_db(pg_server_url: str) -> Iterator[str]:
    """A database with every migration applied, copied for each test."""
    _admin(pg_server_url, f'DROP DATABASE IF EXISTS "{TEMPLATE}" WITH (FORCE)')
    _admin(pg_server_url, f'CREATE DATABASE "{TEMPLATE}"')
    migrations.apply(database_url_for(pg_server_url, TEMPLATE))
    yield TEMPLATE
    _admin(pg_server_url, f'DROP DATABASE IF EXISTS "{TEMPLATE}" WITH (FORCE)')


@pytest.fixture
def empty_db(pg_server_url: str) -> Iterator[str]:
    """A fresh database with no schema at all; yields its URL."""
    name = f"vigil_test_{uuid.uuid4().hex[:12]}"
    _admin(pg_server_url, f'CREATE DATABASE "{name}"')
    yield database_url_for(pg_server_url, name)
    _admin(pg_server_url, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@contextmanager
def database_from_template(server_url: str, template: str, prefix: str) -> Iterator[str]:
    """A new database copied from `template` for as long as the block runs; yields its URL."""
    name = f"{prefix}_{uuid.uuid4().hex[:12]}"
    _admin(server_url, f'CREATE DATABASE "{name}" TEMPLATE "{template}"')
    try:
        yield database_url_for(server_url, name)
    finally:
        _admin(server_url, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture
def db_url(pg_server_url: str, template_db: str) -> Iterator[str]:
    """A fresh, migrated database for one test; yields its URL."""
    with database_from_template(pg_server_url, template_db, "vigil_test") as url:
        yield url


@pytest.fixture
async def db(db_url: str) -> AsyncIterator[asyncpg.Connection]:
    """A connection to the test's own migrated database."""
    from vigil_core.db import connect

    conn = await connect(db_url)
    try:
        yield conn
    finally:
        await conn.close()


@pytest.fixture
async def admin_headers(db_url: str) -> dict[str, str]:
    """Authorization headers with a new admin token in the test's database."""
    from .support import bearer, mint_token

    return bearer(await mint_token(db_url, "admin"))
