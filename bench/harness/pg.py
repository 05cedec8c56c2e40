"""A throwaway PostgreSQL for one benchmark run: the embedded cluster under a temp dir, or a given server."""

from __future__ import annotations

import os
import uuid
from pathlib import Path

import asyncpg

from tests.support import database_url_for
from vigil_core import embedded_pg, migrations
from vigil_core.db import connect


class BenchPostgres:
    """pgserver's cluster in WORKDIR/pgdata (unix socket), or VIGIL_BENCH_DATABASE_URL's server.

    Every benchmark database is created fresh and migrated with the real migrations.
    """

    def __init__(self, workdir: Path) -> None:
        self._pgdata = workdir / "pgdata"
        self._external = os.environ.get("VIGIL_BENCH_DATABASE_URL")
        self._created: list[str] = []
        self.server_url: str | None = None

    def start(self) -> str:
        self.server_url = self._external or embedded_pg.start(self._pgdata)
        return self.server_url

    async def new_database(self, prefix: str = "vigil_bench") -> str:
        """A fresh, migrated database; returns its URL."""
        assert self.server_url, "start() first"
        name = f"{prefix}_{uuid.uuid4().hex[:8]}"
        conn = await asyncpg.connect(self.server_url)
        try:
            await conn.execute(f'CREATE DATABASE "{name}"')
        finally:
            await conn.close()
        self._created.append(name)
        url = database_url_for(self.server_url, name)
        migrations.apply(url)
        return url

    async def stop(self) -> None:
        if self._external and self.server_url:
            conn = await asyncpg.connect(self.server_url)
            try:
                for name in self._created:
                    await conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
            finally:
                await conn.close()
        elif self.server_url:
            embedded_pg.stop(self._pgdata)


async def server_pid(url: str) -> int | None:
    """The postmaster's pid (to count Postgres CPU), when the server runs on this machine."""
    conn = await connect(url)
    try:
        path = await conn.fetchval("SELECT current_setting('data_directory')")
    finally:
        await conn.close()
    try:
        return int(Path(path, "postmaster.pid").read_text().split()[0])
    except (OSError, ValueError, IndexError):
        return None
