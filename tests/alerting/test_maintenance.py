"""Alerts during maintenance windows, with real webhook receivers on loopback: a target that goes
down in a window sends nothing (its firing reads suppressed in the delivery log) until the window
ends with the incident still open, and then the late firing arrives; an incident that ends inside
the window sends nothing at all, whichever way its resolve was written; storms and reminders in a
window send nothing either."""

from __future__ import annotations

import asyncio
import datetime as dt
from collections.abc import AsyncIterator

import asyncpg
import pytest

from vigil_core import windows as schedules
from vigil_core.db import create_pool
from vigil_worker.alerting.policy import StormPolicy
from vigil_worker.main import Worker
from vigil_worker.metrics import WorkerMetrics

from ..support import free_port
from ..worker.conftest import add_target, running_worker, wait_for
from ..worker.test_windows import move_end, once_window, status_inbox
from .receivers import Receiver
from .test_dispatcher import (
    channel,
    close_incident,
    delivery,
    dispatching,
    open_incident,
    route,
    sample,
    settings,
    target,
    until_settled,
    until_status,
)

UTC = dt.UTC


@pytest.fixture
async def pool(db_url: str) -> AsyncIterator[asyncpg.Pool]:
    p = await create_pool(db_url, max_size=4, acquire_timeout=5, command_timeout=10)
    yield p
    await p.close()


@pytest.fixture
async def up_address() -> AsyncIterator[str]:
    """host:port of a TCP listener: a tcp target pointed at it is up."""

    async def accept(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        writer.close()

    server = await asyncio.start_server(accept, "127.0.0.1", 0)
    yield f"127.0.0.1:{server.sockets[0].getsockname()[1]}"
    server.close()


async def open_incident_of(db: asyncpg.Connection, tid: int) -> int:
    """The id of the target's open incident, once the worker has opened one."""
    iid = await wait_for(
        lambda: db.fetchval(
            "SELECT id FROM incidents WHERE target_id = $1 AND ended_at IS NULL", tid
        ),
        timeout=20,
        what="an open incident",
    )
    assert isinstance(iid, int)
    return iid


async def seen_running(worker: Worker) -> None:
    """The worker's windows task has had its first round: it knows what runs, and tells when
    that changes (a first round tells nothing)."""
    windows = worker.windows
    assert windows is not None
    await wait_for(lambda: windows.rounds >= 1, what="the windows task's first round")


def held_reason(name: str, window_id: int) -> str:
    return f"in maintenance window {name} (id {window_id})"


# -- the worker end to end: a real tcp target that is down, a real webhook receiver ---------


async def test_a_webhook_hears_nothing_during_a_window_then_the_late_firing(
    db: asyncpg.Connection, db_url: str
) -> None:
    metrics = WorkerMetrics()
    async with Receiver() as rx:
        cid = await channel(db, "hook", rx.url("/hook"))
        await route(db, "all", [cid])
        tid = await add_target(db, "db", "tcp", f"127.0.0.1:{free_port()}")  # refused: down
        now = dt.datetime.now(UTC)
        wid = await once_window(db, "db upgrade", [tid], now, now + dt.timedelta(hours=1))
        async with running_worker(settings(db_url, worker_poll_interval_s=60.0), metrics=metrics):
            iid = await open_incident_of(db, tid)
            firing = await delivery(db, iid)
            held = await until_status(db, firing["id"], "suppressed")
            heard_while_held = list(rx.requests)
            # The window ends a moment from now (its end moved, as a PUT would): the worker's
            # timer at that boundary releases the firing; the incident is still open.
            ends_at = dt.datetime.now(UTC) + dt.timedelta(seconds=1)
            await move_end(db, wid, ends_at)
            requests = await rx.wait_for(1, timeout=30)
            sent = await until_status(db, firing["id"], "sent")
            still_open = await db.fetchval(
                "SELECT ended_at IS NULL FROM incidents WHERE id = $1", iid
            )
        flagged = await db.fetchval(
            "SELECT count(*) FROM checks WHERE target_id = $1 AND maintenance_window_id = $2",
            tid,
            wid,
        )
    assert heard_while_held == []
    assert held["last_error"] == held_reason("db upgrade", wid)
    assert (held["maintenance_window_id"], held["attempts"], held["released_at"]) == (wid, 0, None)
    assert held["finished_at"] is not None
    [request] = requests
    body = request.json()
    assert body["event"] == "firing" and body["incident"]["id"] == iid
    assert request.headers["X-Vigil-Delivery-Id"] == str(firing["id"])
    assert still_open
    assert sent["released_at"] >= ends_at and sent["sent_at"] >= sent["released_at"]
    assert (sent["maintenance_window_id"], sent["attempts"], sent["last_error"]) == (wid, 1, None)
    assert flagged >= 1  # its checks ran and were stored, flagged with the window
    assert sample(metrics, "vigil_notifications_held_total", channel_kind="webhook") == 1
    assert sample(metrics, "vigil_notifications_released_total", channel_kind="webhook") == 1


async def test_an_incident_that_ends_inside_a_window_sends_nothing(
    db: asyncpg.Connection, db_url: str, up_address: str
) -> None:
    async with Receiver() as rx:
        cid = await channel(db, "hook", rx.url("/hook"))
        await route(db, "all", [cid])
        tid = await add_target(db, "db", "tcp", f"127.0.0.1:{free_port()}")
        now = dt.datetime.now(UTC)
        wid = await once_window(db, "db upgrade", [tid], now, now + dt.timedelta(hours=1))
        async with (
            status_inbox(db) as inbox,
            running_worker(settings(db_url, worker_poll_interval_s=60.0)) as worker,
        ):
            iid = await open_incident_of(db, tid)
            firing = await delivery(db, iid)
            await until_status(db, firing["id"], "suppressed")
            await db.execute("UPDATE targets SET address = $2 WHERE id = $1", tid, up_address)
            await wait_for(
                lambda: db.fetchval(
                    "SELECT ended_at IS NOT NULL FROM incidents WHERE id = $1", iid
                ),
                timeout=20,
                what="the incident closed",
            )
            resolved = await until_status(
                db, (await delivery(db, iid, "resolved"))["id"], "suppressed"
            )
            # The window is ended early; the worker's round that saw it end (and told clients
            # so) released nothing, and nothing is left to send.
            await seen_running(worker)
            seen = len(inbox.heard)
            async with db.transaction():
                assert await schedules.end_now(db, wid, "once", dt.datetime.now(UTC))
            await inbox.next(timeout=20, after=seen)
            await until_settled(db)
            heard = list(rx.requests)
        after = await db.fetchrow("SELECT * FROM deliveries WHERE id = $1", firing["id"])
    assert heard == []
    assert resolved["last_error"] == "its firing was suppressed"
    assert after is not None and (after["status"], after["released_at"]) == ("suppressed", None)


async def test_a_reminder_due_in_a_window_is_suppressed_and_not_sent_after_it(
    db: asyncpg.Connection, db_url: str
) -> None:
    async with Receiver() as rx:
        cid = await channel(db, "hook", rx.url("/hook"))
        await route(db, "hourly", [cid], repeat_interval_s=3600)
        tid = await target(db, "a")  # paused: its incident is the test's
        now = dt.datetime.now(UTC)
        iid = await open_incident(db, tid, now - dt.timedelta(hours=2, minutes=1))
        # Its firing went out before the window began.
        await db.execute(
            "UPDATE deliveries SET status = 'sent', attempts = 1, sent_at = now(),"
            " finished_at = now() WHERE incident_id = $1",
            iid,
        )
        wid = await once_window(db, "w", [tid], now, now + dt.timedelta(hours=1))
        async with (
            status_inbox(db) as inbox,
            running_worker(settings(db_url, worker_poll_interval_s=60.0)) as worker,
        ):
            reminder = await wait_for(
                lambda: db.fetchrow(
                    "SELECT * FROM deliveries WHERE incident_id = $1 AND event_kind = 'reminder'"
                    " AND status = 'suppressed'",
                    iid,
                ),
                timeout=20,
                what="the reminder made and held",
            )
            assert isinstance(reminder, asyncpg.Record)
            await seen_running(worker)
            seen = len(inbox.heard)
            async with db.transaction():
                assert await schedules.end_now(db, wid, "once", dt.datetime.now(UTC))
            await inbox.next(timeout=20, after=seen)
            await until_settled(db)
            heard = list(rx.requests)
        after = await db.fetchrow("SELECT * FROM deliveries WHERE id = $1", reminder["id"])
    assert heard == []
    assert reminder["last_error"] == held_reason("w", wid)
    assert after is not None
    assert (after["status"], after["maintenance_window_id"], after["released_at"]) == (
        "suppressed",
        wid,
        None,
    )


# -- the dispatcher alone: what it finds when it looks ---------------------------------------


@pytest.mark.parametrize(
    "delay_s, short_outage, firing_status, resolve_held_by_window",
    [
        # The firing was due when the incident ended: the resolve waits behind it, and goes
        # with it when it is held.
        (0, "silent", "suppressed", False),
        # The firing was not due yet: the incident's end collapsed it, and the short outage's
        # summary is held by the window itself.
        (60, "summary", "collapsed", True),
    ],
    ids=["resolve-behind-firing", "short-outage-summary"],
)
async def test_an_incident_over_before_the_dispatcher_looked_sends_nothing(
    db: asyncpg.Connection,
    db_url: str,
    pool: asyncpg.Pool,
    delay_s: int,
    short_outage: str,
    firing_status: str,
    resolve_held_by_window: bool,
) -> None:
    async with Receiver() as rx:
        cid = await channel(db, "hook", rx.url("/hook"))
        await route(db, "all", [cid], delay_s=delay_s, short_outage=short_outage)
        tid = await target(db, "a")
        now = dt.datetime.now(UTC)
        wid = await once_window(
            db, "w", [tid], now - dt.timedelta(minutes=1), now + dt.timedelta(hours=1)
        )
        iid = await open_incident(db, tid, now - dt.timedelta(seconds=10))
        await close_incident(db, iid)
        async with dispatching(pool, db_url):
            await until_settled(db)
            heard = list(rx.requests)
        firing = await delivery(db, iid)
        resolved = await delivery(db, iid, "resolved")
    assert heard == []
    assert firing["status"] == firing_status
    assert resolved["status"] == "suppressed"
    if resolve_held_by_window:
        assert (resolved["last_error"], resolved["maintenance_window_id"]) == (
            held_reason("w", wid),
            wid,
        )
    else:
        assert firing["last_error"] == held_reason("w", wid)
        assert (resolved["last_error"], resolved["maintenance_window_id"]) == (
            "its firing was suppressed",
            None,
        )


async def test_a_storm_inside_a_window_sends_no_digest(
    db: asyncpg.Connection, db_url: str, pool: asyncpg.Pool
) -> None:
    async with Receiver() as rx:
        cid = await channel(db, "hook", rx.url("/hook"))
        await route(db, "all", [cid])
        tids = [await target(db, f"t{i}") for i in range(5)]
        now = dt.datetime.now(UTC)
        wid = await once_window(
            db, "w", tids, now - dt.timedelta(minutes=1), now + dt.timedelta(hours=1)
        )
        for tid in tids:
            await open_incident(db, tid)
        # Five firings at once on a channel that storms over two: a digest would be due at once.
        storm = StormPolicy(threshold=2, digest_every_s=1.0, group_wait_s=0.0)
        async with dispatching(pool, db_url, storm=storm):
            await until_settled(db)
            heard = list(rx.requests)
        rows = await db.fetch("SELECT * FROM deliveries ORDER BY id")
    assert heard == []
    assert [(r["event_kind"], r["status"], r["maintenance_window_id"]) for r in rows] == [
        ("firing", "suppressed", wid)
    ] * 5
