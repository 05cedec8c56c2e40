"""The LISTEN connection: killed from the server side, it reconnects and resyncs."""

from __future__ import annotations

from .conftest import Servers, add_target, running_worker, wait_for, worker_settings


async def test_terminated_listener_reconnects_and_resyncs(
    db, db_url: str, servers: Servers
) -> None:
    tid = await add_target(db, "watched", "tcp", servers.listening, interval_s=2)
    async with running_worker(worker_settings(db_url, worker_lookahead_s=1.5)) as worker:
        listener, scheduler = worker.listener, worker.scheduler
        await wait_for(lambda: listener.connected, what="listener up")
        await wait_for(
            lambda: db.fetchval("SELECT count(*) FROM checks WHERE target_id = $1", tid),
            what="first check",
        )
        await wait_for(lambda: scheduler.in_flight == 1, what="2nd slot claimed")
        pid = listener.conn.get_server_pid()
        # Kill the listener's backend, and disable the target while it is away: that NOTIFY
        # is lost, so only the resync after the reconnect can cancel the claimed slot.
        await db.execute("SELECT pg_terminate_backend($1)", pid)
        await db.execute("UPDATE targets SET enabled = false WHERE id = $1", tid)
        await wait_for(
            lambda: listener.reconnects == 1 and listener.connected,
            timeout=5,
            what="listener reconnected",
        )
        await wait_for(lambda: scheduler.in_flight == 0, timeout=2, what="slot cancelled")
        assert listener.conn.get_server_pid() != pid
        await wait_for(
            lambda: db.fetchval(
                "SELECT now() > min(due_at) + interval '2 s' FROM checks WHERE target_id = $1", tid
            ),
            timeout=5,
            what="the database clock past the cancelled slot's due time",
        )
        assert (
            worker.metrics.registry.get_sample_value("vigil_worker_listener_reconnects_total") == 1
        )
        # and it hears NOTIFYs again: a new target is checked at once. Once its result is
        # stored, the cancelled slot (due earlier) would be stored too, had it run.
        new = await add_target(db, "after reconnect", "tcp", servers.listening, interval_s=60)
        await wait_for(
            lambda: db.fetchval("SELECT count(*) FROM checks WHERE target_id = $1", new),
            timeout=2,
            what="check after reconnect",
        )
        assert await db.fetchval("SELECT count(*) FROM checks WHERE target_id = $1", tid) == 1
    assert await db.fetchval("SELECT count(*) FROM checks WHERE target_id = $1", tid) == 1
