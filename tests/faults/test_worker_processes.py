"""Faults around `vigil worker` processes: one killed with -9, its LISTEN backend terminated."""

from __future__ import annotations

import datetime as dt

import pytest

from ..worker.conftest import add_target, wait_for
from .conftest import Worker

pytestmark = pytest.mark.timeout(120)

INTERVAL = dt.timedelta(seconds=1)
# The listener's backend: its last statement is a LISTEN or its own ping (listener_ping).
# The scheduler's listener (the alert dispatcher and the push intake have their own, named
# after their events as this one is).
LISTENER_BACKEND = """
SELECT pid FROM pg_stat_activity
 WHERE datname = current_database() AND pid <> pg_backend_pid()
   AND application_name = 'vigil listener'
"""


async def test_kill_9_of_one_of_two_workers_hands_its_targets_over(
    db, db_url: str, healthy, certs
) -> None:
    await db.execute(
        """INSERT INTO targets (name, kind, address, interval_s, timeout_s)
                        SELECT 'shared ' || g, 'tcp', $1, 1, 0.5 FROM generate_series(1, 40) g""",
        f"127.0.0.1:{healthy['tcp']}",
    )
    victim, survivor = workers = [Worker(db_url, healthy, certs), Worker(db_url, healthy, certs)]
    try:
        for w in workers:
            await w.started()

        async def shares() -> list[float]:
            done = [await w.metric("vigil_worker_checks_total") for w in workers]
            return done if all(done) else []

        before = await wait_for(shares, timeout=15, what="both workers take a share", every=0.2)

        victim.proc.kill()
        victim.proc.wait(timeout=5)
        killed_at = await db.fetchval("SELECT now()")
        # the first check of every target after the kill, once all 40 have one
        first = await wait_for(
            lambda: _first_checks_after(db, killed_at),
            timeout=15,
            what="every target checked after the kill",
        )
        handover = max(first) - killed_at
        print(f"kill -9: every target checked again {handover.total_seconds():.2f}s after it")
        assert handover <= INTERVAL + dt.timedelta(seconds=1), handover
        assert await survivor.metric("vigil_worker_checks_total") > before[1]
    finally:
        code = survivor.stop()
        victim.stop()
    assert code == 0, survivor.output
    twice = await db.fetch(
        "SELECT target_id, due_at, count(*) FROM checks GROUP BY 1, 2 HAVING count(*) > 1"
    )
    assert twice == [], "a slot was checked twice"
    rows = await db.fetch(
        "SELECT s.anchor_at, c.due_at FROM checks c JOIN schedule s USING (target_id)"
    )
    # every check is on its target's grid: anchor + k * interval
    assert all((r["due_at"] - r["anchor_at"]) % INTERVAL == dt.timedelta(0) for r in rows)


async def _first_checks_after(db, at: dt.datetime) -> list[dt.datetime]:
    rows = await db.fetch(
        "SELECT min(checked_at) AS first FROM checks WHERE checked_at > $1 GROUP BY target_id", at
    )
    return [r["first"] for r in rows] if len(rows) == 40 else []


async def test_terminated_listen_connection_still_hears_new_targets(
    db, db_url: str, healthy, certs
) -> None:
    tcp = f"127.0.0.1:{healthy['tcp']}"
    # A 60 s safety-net poll: only a NOTIFY or the listener's resync can start a new target.
    worker = Worker(db_url, healthy, certs, VIGIL_WORKER_POLL_INTERVAL_S="60")
    try:
        await worker.started()
        await wait_for(lambda: _listener_ready(worker), timeout=10, what="listener connected")
        backends = await wait_for(lambda: db.fetch(LISTENER_BACKEND), what="listener backend")
        assert len(backends) == 1, backends
        old_pid = backends[0]["pid"]
        assert await db.fetchval("SELECT pg_terminate_backend($1)", old_pid)
        # Created while the listener is away: its NOTIFY is lost, the resync must find it.
        lost = await add_target(db, "created while away", "tcp", tcp, interval_s=60)
        await wait_for(lambda: _checked(db, lost), timeout=5, what="target created while away")

        await wait_for(
            lambda: worker.metric("vigil_worker_listener_reconnects_total"),
            timeout=5,
            what="listener reconnect counted",
        )
        await wait_for(lambda: _listener_ready(worker), timeout=5, what="listener back")
        backends = await db.fetch(LISTENER_BACKEND)
        assert [b["pid"] for b in backends] != [old_pid], backends
        # and it LISTENs again: a target created now is woken by its NOTIFY
        heard = await add_target(db, "created after reconnect", "tcp", tcp, interval_s=60)
        await wait_for(lambda: _checked(db, heard), timeout=5, what="target created after")
    finally:
        code = worker.stop()
    assert code == 0, worker.output


async def _listener_ready(worker: Worker) -> bool:
    status, body = await worker.healthz()
    return status == 200 and body.get("listener_connected") is True


async def _checked(db, target_id: int) -> int:
    return await db.fetchval("SELECT count(*) FROM checks WHERE target_id = $1", target_id)
