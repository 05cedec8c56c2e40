"""A Postgres restart under a running worker loses no result.

It runs on a cluster of its own (pgserver, in a temp dir) so that restarting it cannot disturb
the session cluster the other tests share.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import os
from pathlib import Path

import pytest

from vigil_core import embedded_pg, migrations
from vigil_core.db import connect

from .conftest import Servers, add_target, running_worker, wait_for, worker_settings

pgserver = pytest.importorskip("pgserver")


def _pg_ctl(pgdata: Path, *args: str) -> None:
    user = "pgserver" if os.geteuid() == 0 else None
    pgserver.pg_ctl(["-w", *args], pgdata=pgdata, user=user, timeout=30)


@pytest.fixture
def own_cluster(tmp_path: Path):
    pgdata = tmp_path / "pgdata"
    url = embedded_pg.start(pgdata)
    migrations.apply(url)
    yield pgdata, url
    embedded_pg.stop(pgdata)


async def test_postgres_restart_loses_no_buffered_result(own_cluster, servers: Servers) -> None:
    pgdata, url = own_cluster
    db = await connect(url)
    ids = [await add_target(db, f"t{i}", "tcp", servers.listening, interval_s=1) for i in range(5)]
    await db.close()
    async with running_worker(worker_settings(url, worker_listener_ping_s=0.5)) as worker:
        await asyncio.sleep(1.5)
        _pg_ctl(pgdata, "-m", "fast", "stop")
        await asyncio.sleep(3.0)  # checks go on; results are held
        held = len(worker.writer)
        assert worker.scheduler.offline and held >= 10, f"offline={worker.scheduler.offline} held={held}"
        socket_dir = url.split("host=", 1)[1]
        _pg_ctl(pgdata, "-o", '-h ""', "-o", f"-k {socket_dir}", "-l", str(pgdata / "log"), "start")
        await wait_for(lambda: _v(len(worker.writer) == 0 and not worker.scheduler.offline),
                       timeout=15, what="buffer flushed after the restart")
        await asyncio.sleep(1.5)  # and back to normal claiming
        assert worker.writer.dropped == 0
    db = await connect(url)
    try:
        for tid in ids:
            dues = [r[0] for r in await db.fetch(
                "SELECT due_at FROM checks WHERE target_id = $1 ORDER BY due_at", tid)]
            gaps = {b - a for a, b in zip(dues, dues[1:])}
            # every slot through the outage, each once: 1 s apart, none missing, none twice
            assert gaps == {dt.timedelta(seconds=1)}, (tid, dues)
            assert len(dues) >= 6
    finally:
        await db.close()


async def _v(value: object) -> object:
    return value
