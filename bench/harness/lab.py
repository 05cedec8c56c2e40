"""The lab of one benchmark run: a temp dir, a throwaway Postgres, and every child it started."""

from __future__ import annotations

import os
import shutil
import tempfile
from pathlib import Path

from tests.support import free_port
from vigil_core import accounts
from vigil_core.db import connect
from vigil_core.tokens import Keyring

from .pg import BenchPostgres
from .procs import (
    BENCH_SECRET_KEY,
    VIGIL_ENV,
    Child,
    raise_fd_limit,
    spawn_python,
    spawn_vigil,
    wait_worker_ready,
)
from .servers import start_blackbox, start_nginx

KEYRING = Keyring(BENCH_SECRET_KEY.encode())


class Lab:
    """Use as `async with Lab() as lab:`; children are stopped in reverse order on the way out."""

    def __init__(self, keep: bool = False) -> None:
        self.keep = keep
        self.workdir = Path(tempfile.mkdtemp(prefix="vigil-bench-"))
        self.children: list[Child] = []
        self._pg: BenchPostgres | None = None

    async def __aenter__(self) -> Lab:
        raise_fd_limit()
        return self

    async def __aexit__(self, *exc) -> None:
        for child in reversed(self.children):
            child.stop(timeout=10)
        if self._pg is not None:
            await self._pg.stop()
        if self.keep or exc[0] is not None:
            print(f"bench: logs kept in {self.workdir}")
        else:
            shutil.rmtree(self.workdir, ignore_errors=True)

    async def database(self) -> str:
        """A fresh migrated database on the lab's Postgres (started on first use)."""
        if self._pg is None:
            self._pg = BenchPostgres(self.workdir)
            self._pg.start()
        return await self._pg.new_database()

    def track(self, child: Child) -> Child:
        self.children.append(child)
        return child

    def forget(self, child: Child) -> None:
        """Stop a child now (e.g. a worker between repetitions)."""
        child.stop()
        if child in self.children:
            self.children.remove(child)

    async def token(self, db_url: str, scope: str = "admin") -> str:
        """A new API token (`read`, `write` or `admin`) in the database at `db_url`, as `vigil
        token create` makes one; every Vigil process of the lab accepts it."""
        conn = await connect(db_url)
        try:
            token, _ = await accounts.create_token(
                conn,
                KEYRING,
                name=f"bench-{scope}-{os.urandom(4).hex()}",
                scope=scope,
                expires_at=None,
                created_by="bench",
            )
        finally:
            await conn.close()
        return token

    def vigil(self, name: str, args: list[str], db_url: str, **env: str) -> Child:
        return self.track(spawn_vigil(name, args, self.workdir, _settings_env(db_url, env)))

    def app(self, name: str, module: str, args: list[str], db_url: str, **env: str) -> Child:
        """A bench module that serves Vigil's own app (a variant of `vigil api`), with the
        environment a `vigil` child gets."""
        env_vars = {**VIGIL_ENV, **_settings_env(db_url, env)}
        return self.track(spawn_python(name, module, args, self.workdir, env_vars))

    async def ready_worker(self, name: str, db_url: str, **env: str) -> Child:
        """A `vigil worker` that is up and listening (its /healthz says so) when this returns."""
        port = free_port()
        child = self.vigil(name, ["worker"], db_url, worker_metrics_port=str(port), **env)
        await wait_worker_ready(port, child)
        return child

    def python(self, name: str, module: str, args: list[str]) -> Child:
        return self.track(spawn_python(name, module, args, self.workdir))

    async def nginx(self, workers: int = 1) -> int:
        child, port = await start_nginx(self.workdir, workers)
        self.track(child)
        return port

    async def blackbox(self) -> tuple[Child, int]:
        child, port = await start_blackbox(self.workdir)
        self.track(child)
        return child, port


def _settings_env(db_url: str, env: dict[str, str]) -> dict[str, str]:
    return {
        "VIGIL_DATABASE_URL": db_url,
        **{f"VIGIL_{k.upper()}": str(v) for k, v in env.items()},
    }
