"""A Postgres restart under a running worker loses no result.

It runs on a cluster of its own (pgserver, in a temp dir) so that restarting it cannot disturb
the session cluster the other tests share.
"""

from __future__ import annotations

import datetime as dt
import os
import shutil
import tempfile
from pathlib import Path

import pytest

from vigil_core import embedded_pg, migrations
from vigil_core.db import connect

from .conftest import Servers, add_target, running_worker, wait_for, worker_settings

pgserver = pytest.importorskip("pgserver")


def _pg_ctl(pgdata: Path, *args: str) -> None:
    user = "pgserver" if os.geteuid() == 0 else None
    pgserver.pg_ctl(["-w", *args], pgdata=pgdata, user=user, timeout=30)


EPOCH = dt.datetime(1970, 1, 1, tzinfo=dt.UTC)
# True once every target in $1 has a result stored for a slot due after $2.
STORED_SINCE = """SELECT count(DISTINCT target_id) = cardinality($1::bigint[])
                    FROM checks WHERE target_id = ANY($1) AND due_at > $2"""


@pytest.fixture
def own_cluster():
    # A private temp dir (as in tests/conftest.py): a concurrent pytest run may prune
    # pytest's own basetemp under a running cluster.
    root = Path(tempfile.mkdtemp(prefix="vigil-test-restart-"))
    pgdata = root / "pgdata"
    url = embedded_pg.start(pgdata)
    try:
        migrations.apply(url)
        yield pgdata, url
    finally:
        embedded_pg.stop(pgdata)
        shutil.rmtree(root, ignore_errors=True)


async def test_postgres_restart_loses_no_buffered_result(own_cluster, servers: Servers) -> None:
    pgdata, url = own_cluster
    db = await connect(url)
    ids = [await add_target(db, f"t{i}", "tcp", servers.listening, interval_s=1) for i in range(5)]
    async with running_worker(worker_settings(url, worker_listener_ping_s=0.5)) as worker:
        await wait_for(
            lambda: db.fetchval(STORED_SINCE, ids, EPOCH),
            timeout=10,
            what="every target checked and stored",
        )
        await db.close()
        _pg_ctl(pgdata, "-m", "fast", "stop")
        # Checks go on offline; their results are held (the targets share one interval, so 25
        # held results are at least 4 slots of each).
        await wait_for(
            lambda: worker.scheduler.offline and len(worker.writer) >= 25,
            timeout=20,
            what="results held while the database is down",
        )
        socket_dir = url.split("host=", 1)[1]
        _pg_ctl(pgdata, "-o", '-h ""', "-o", f"-k {socket_dir}", "-l", str(pgdata / "log"), "start")
        await wait_for(
            lambda: len(worker.writer) == 0 and not worker.scheduler.offline,
            timeout=15,
            what="buffer flushed after the restart",
        )
        db = await connect(url)
        try:  # and back to normal claiming: a slot of each target due after the flush is stored
            flushed_at = await db.fetchval("SELECT now()")
            await wait_for(
                lambda: db.fetchval(STORED_SINCE, ids, flushed_at),
                timeout=10,
                what="every target claimed again after the restart",
            )
        finally:
            await db.close()
        assert worker.writer.dropped == 0
    db = await connect(url)
    try:
        for tid in ids:
            dues = [
                r[0]
                for r in await db.fetch(
                    "SELECT due_at FROM checks WHERE target_id = $1 ORDER BY due_at", tid
                )
            ]
            gaps = {b - a for a, b in zip(dues, dues[1:], strict=False)}
            # every slot through the outage, each once: 1 s apart, none missing, none twice
            assert gaps == {dt.timedelta(seconds=1)}, (tid, dues)
            assert len(dues) >= 6  # one before the outage, 4 or more held through it, one after
    finally:
        await db.close()
