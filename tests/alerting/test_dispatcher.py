"""The dispatcher against real PostgreSQL and real loopback receivers: retries, permanent
failures, broken channels, ordering, delay_s, reminders, digests, dependencies, a database that
goes away, and two dispatchers that never send one delivery twice."""

from __future__ import annotations

import asyncio
import datetime as dt
import json
import statistics
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import asyncpg
import pytest

from vigil_core.db import create_pool
from vigil_core.settings import Settings
from vigil_worker.alerting.dispatcher import Dispatcher
from vigil_worker.alerting.policy import RetryPolicy, StormPolicy
from vigil_worker.metrics import WorkerMetrics

from ..worker.conftest import wait_for, worker_settings
from .receivers import HANG, Answer, Receiver, Request

# Retries in tenths of a second, so a test sees several; the real schedule is test_policy's.
FAST = RetryPolicy(schedule_s=(0.2, 0.3, 0.4), then_every_s=0.5)


# -- the database as the trigger and the API leave it ---------------------------------------


async def target(db: asyncpg.Connection, name: str, labels: dict[str, str] | None = None) -> int:
    """A paused target (no worker checks it here; incidents are written by the test)."""
    return await db.fetchval(
        """INSERT INTO targets (name, kind, address, interval_s, timeout_s, enabled, labels)
           VALUES ($1, 'http', 'http://127.0.0.1:9/', 60, 5, false, $2) RETURNING id""",
        name,
        labels or {},
    )


async def channel(
    db: asyncpg.Connection, name: str, url: str, *, enabled: bool = True, **config: object
) -> int:
    return await db.fetchval(
        "INSERT INTO channels (name, kind, config, enabled) VALUES ($1, 'webhook', $2, $3) "
        "RETURNING id",
        name,
        {"url": url, **config},
        enabled,
    )


async def route(
    db: asyncpg.Connection,
    name: str,
    channels: list[int],
    match_labels: dict[str, str] | None = None,
    *,
    delay_s: int = 0,
    short_outage: str = "silent",
    repeat_interval_s: int | None = None,
) -> int:
    rid = await db.fetchval(
        """INSERT INTO routes (name, match_labels, delay_s, short_outage, repeat_interval_s)
           VALUES ($1, $2, $3, $4, $5) RETURNING id""",
        name,
        match_labels or {},
        delay_s,
        short_outage,
        repeat_interval_s,
    )
    for pos, cid in enumerate(channels):
        await db.execute("INSERT INTO route_channels VALUES ($1, $2, $3)", rid, cid, pos)
    return rid


async def open_incident(
    db: asyncpg.Connection, target_id: int, started_at: dt.datetime | None = None
) -> int:
    """As the worker's flush opens one: the trigger writes the firing and NOTIFYs."""
    return await db.fetchval(
        "INSERT INTO incidents (target_id, started_at, cause) "
        "VALUES ($1, coalesce($2, now()), 'refused') RETURNING id",
        target_id,
        started_at,
    )


async def close_incident(db: asyncpg.Connection, incident_id: int) -> None:
    await db.execute(
        "UPDATE incidents SET ended_at = greatest(now(), started_at) WHERE id = $1", incident_id
    )


async def delivery(
    db: asyncpg.Connection, incident_id: int, kind: str = "firing", channel_id: int | None = None
) -> asyncpg.Record:
    row = await db.fetchrow(
        """SELECT * FROM deliveries WHERE incident_id = $1 AND event_kind = $2
              AND ($3::bigint IS NULL OR channel_id = $3) ORDER BY id LIMIT 1""",
        incident_id,
        kind,
        channel_id,
    )
    assert row is not None, f"no {kind} delivery of incident {incident_id}"
    return row


async def until_status(
    db: asyncpg.Connection, delivery_id: int, *statuses: str, timeout: float = 20
) -> asyncpg.Record:
    async def check() -> asyncpg.Record | None:
        row = await db.fetchrow("SELECT * FROM deliveries WHERE id = $1", delivery_id)
        return row if row is not None and row["status"] in statuses else None

    return await wait_for(check, timeout=timeout, what=f"delivery {delivery_id} {statuses}")


async def until_settled(db: asyncpg.Connection, timeout: float = 30) -> None:
    await wait_for(
        lambda: db.fetchval(
            "SELECT NOT EXISTS (SELECT 1 FROM deliveries WHERE status IN ('pending', 'sending'))"
        ),
        timeout=timeout,
        what="no delivery pending or sending",
        every=0.05,
    )


# -- a running dispatcher ------------------------------------------------------------------


def settings(db_url: str, **overrides: object) -> Settings:
    """A long safety-net poll: every wake-up a test sees is a NOTIFY or a timer."""
    values: dict[str, object] = dict(
        worker_alert_poll_s=30.0,
        worker_alert_timeout_s=2.0,
        worker_alert_lease_s=10.0,
        worker_db_timeout_s=5.0,
    )
    unknown = set(overrides) - set(Settings.__struct_fields__)
    assert not unknown, f"not settings: {unknown}"  # load_settings would ignore them
    return worker_settings(db_url, **{**values, **overrides})


@pytest.fixture
async def pool(db_url: str) -> AsyncIterator[asyncpg.Pool]:
    p = await create_pool(db_url, max_size=4, acquire_timeout=5, command_timeout=10)
    yield p
    await p.close()


@asynccontextmanager
async def dispatching(
    pool: asyncpg.Pool,
    db_url: str,
    *,
    metrics: WorkerMetrics | None = None,
    retry: RetryPolicy = FAST,
    storm: StormPolicy | None = None,
    bug_pause_s: float = 10.0,
    **overrides: object,
) -> AsyncIterator[Dispatcher]:
    """A Dispatcher running on its own; `overrides` are Settings fields."""
    d = Dispatcher(
        pool,
        db_url,
        settings(db_url, **overrides),
        metrics or WorkerMetrics(),
        retry=retry,
        storm=storm,
        bug_pause_s=bug_pause_s,
    )
    task = asyncio.create_task(d.run())
    try:
        await wait_for(lambda: d.connected or task.done(), timeout=10, what="LISTEN connected")
        if task.done():
            task.result()
        yield d
    finally:
        await d.drain(5)
        await asyncio.wait_for(task, timeout=10)


def sample(metrics: WorkerMetrics, name: str, **labels: str) -> float:
    return metrics.registry.get_sample_value(name, labels) or 0.0


def event_ids(requests: list[Request]) -> list[str | None]:
    return [r.headers.get("X-Vigil-Event-Id") for r in requests]


# -- retries and failures ------------------------------------------------------------------


async def test_retries_after_500_500_429_until_sent_and_honours_retry_after(
    db, db_url: str, pool
) -> None:
    metrics = WorkerMetrics()
    async with Receiver() as rx:
        rx.script(500, 500, Answer(status=429, body="slow down", headers={"Retry-After": "2"}))
        cid = await channel(db, "hook", rx.url("/hook"), secret="s" * 16)
        await route(db, "all", [cid])
        tid = await target(db, "api", {"team": "web"})
        async with dispatching(
            pool, db_url, metrics=metrics, public_url="https://vigil.example.com"
        ):
            iid = await open_incident(db, tid)
            d = await delivery(db, iid)
            # After the 429: due no sooner than its Retry-After, though FAST says 0.4 s.
            await wait_for(
                lambda: db.fetchval(
                    "SELECT attempts = 3 AND status = 'pending' FROM deliveries WHERE id = $1",
                    d["id"],
                ),
                what="the third attempt marked",
            )
            waited = await db.fetchval(
                """SELECT extract(epoch FROM d.next_attempt_at - c.last_error_at)::float8
                     FROM deliveries d JOIN channels c ON c.id = d.channel_id
                    WHERE d.id = $1""",
                d["id"],
            )
            due_at = await db.fetchval(
                "SELECT next_attempt_at FROM deliveries WHERE id = $1", d["id"]
            )
            requests = await rx.wait_for(4, timeout=20)
            row = await until_status(db, d["id"], "sent")
    assert 2.0 <= waited < 2.5, waited
    assert row["sent_at"] >= due_at
    assert [r.answered for r in requests] == [500, 500, 429, 200]
    event_id = str(d["event_id"])
    assert event_ids(requests) == [event_id] * 4  # receivers de-duplicate by it
    assert {r.headers["X-Vigil-Delivery-Id"] for r in requests} == {str(d["id"])}
    body = requests[3].json()
    assert body["event"] == "firing" and body["event_id"] == d["event_id"]
    assert body["target"]["name"] == "api" and body["target"]["labels"] == {"team": "web"}
    assert body["incident"]["id"] == iid and body["incident"]["ended_at"] is None
    assert body["ui_url"] == f"https://vigil.example.com/#/targets/{tid}"
    assert requests[3].headers["X-Vigil-Signature"].startswith("t=")
    assert (row["status"], row["attempts"], row["last_error"]) == ("sent", 4, None)
    assert row["lease_until"] is None and row["leased_by"] is None
    ch = await db.fetchrow("SELECT * FROM channels WHERE id = $1", cid)
    assert ch["last_sent_at"] is not None and ch["last_error"].startswith("http 429: slow down")
    assert (
        sample(metrics, "vigil_notifications_total", channel_kind="webhook", outcome="retry") == 3
    )
    assert sample(metrics, "vigil_notifications_total", channel_kind="webhook", outcome="sent") == 1
    count = "vigil_notification_attempt_duration_seconds_count"
    assert sample(metrics, count, channel_kind="webhook") == 4


async def test_a_400_fails_at_once_with_the_receivers_message_and_is_not_tried_again(
    db, db_url: str, pool
) -> None:
    async with Receiver() as rx:
        rx.script(Answer(status=400, body='{"error": "unknown field \\"text\\""}'))
        cid = await channel(db, "hook", rx.url("/hook"))
        await route(db, "all", [cid])
        first, second = await target(db, "a"), await target(db, "b")
        async with dispatching(pool, db_url):
            d = await delivery(db, await open_incident(db, first))
            failed = await until_status(db, d["id"], "failed")
            # The dispatcher goes on: the next delivery is sent, and the failed one not again.
            later = await delivery(db, await open_incident(db, second))
            await until_status(db, later["id"], "sent")
        requests = rx.requests
    assert event_ids(requests) == [str(d["event_id"]), str(later["event_id"])]
    assert (failed["attempts"], failed["last_status"]) == (1, 400)
    assert failed["last_error"] == 'http 400: {"error": "unknown field \\"text\\""}'
    assert failed["finished_at"] is not None
    ch = await db.fetchrow("SELECT * FROM channels WHERE id = $1", cid)
    assert ch["broken_at"] is None and ch["last_error"].startswith("http 400")


async def test_a_410_marks_the_channel_broken_until_a_send_succeeds(db, db_url: str, pool) -> None:
    async with Receiver() as rx:
        rx.script(Answer(status=410, body="webhook deleted"))
        cid = await channel(db, "hook", rx.url("/hook"))
        await route(db, "all", [cid])
        first, second = await target(db, "a"), await target(db, "b")
        async with dispatching(pool, db_url):
            d = await delivery(db, await open_incident(db, first))
            failed = await until_status(db, d["id"], "failed")
            broken = await db.fetchrow("SELECT * FROM channels WHERE id = $1", cid)
            # Still attempted (the receiver may come back), and a success clears broken_at.
            later = await delivery(db, await open_incident(db, second))
            await until_status(db, later["id"], "sent")
    assert (failed["attempts"], failed["last_status"]) == (1, 410)
    assert broken["broken_at"] is not None
    assert broken["broken_reason"] == "http 410: webhook deleted"
    healed = await db.fetchrow("SELECT * FROM channels WHERE id = $1", cid)
    assert healed["broken_at"] is None and healed["broken_reason"] is None


async def test_a_hanging_receiver_times_out_and_is_tried_again(db, db_url: str, pool) -> None:
    metrics = WorkerMetrics()
    async with Receiver() as rx:
        rx.script(HANG)
        cid = await channel(db, "hook", rx.url("/hook"))
        await route(db, "all", [cid])
        tid = await target(db, "a")
        async with dispatching(pool, db_url, metrics=metrics, worker_alert_timeout_s=1.0):
            started = time.monotonic()
            d = await delivery(db, await open_incident(db, tid))
            row = await until_status(db, d["id"], "sent")
            took = time.monotonic() - started
            requests = rx.requests
    assert [r.answered for r in requests] == [None, 200]
    assert event_ids(requests) == [str(d["event_id"])] * 2
    assert row["attempts"] == 2 and row["sent_at"] is not None
    assert 1.0 <= took < 10, took
    slow = "vigil_notification_attempt_duration_seconds_bucket"
    assert sample(metrics, slow, channel_kind="webhook", le="0.5") == 1  # the quick second try


async def test_a_test_event_as_the_api_writes_it_is_sent_at_once(db, db_url: str, pool) -> None:
    async with Receiver() as rx:
        cid = await channel(db, "hook", rx.url("/hook"))
        async with dispatching(pool, db_url):
            async with db.transaction():
                ev = await db.fetchval(
                    "INSERT INTO alert_events (kind, payload) VALUES ('test', "
                    "jsonb_build_object('event', 'test', 'occurred_at', now())) RETURNING id"
                )
                did = await db.fetchval(
                    "INSERT INTO deliveries (event_id, channel_id, event_kind) "
                    "VALUES ($1, $2, 'test') RETURNING id",
                    ev,
                    cid,
                )
                await db.execute("SELECT pg_notify('vigil_alerts', '')")
            row = await until_status(db, did, "sent", timeout=10)
    body = rx.requests[0].json()
    assert (body["event"], body["event_id"], body["delivery_id"]) == ("test", ev, did)
    assert body["target"] is None and body["incident"] is None
    assert rx.requests[0].headers["X-Vigil-Event"] == "test"
    assert row["attempts"] == 1


async def test_a_bug_is_shown_retried_after_a_pause_and_cleared_when_fixed(
    db, db_url: str, pool
) -> None:
    """A statement the database refuses for a reason no retry cures soon (here a column that
    a bad migration renamed): shown in `bug` (/healthz), retried after the pause, and the
    delivery is sent once it is fixed."""
    async with Receiver() as rx:
        cid = await channel(db, "hook", rx.url("/hook"))
        await route(db, "all", [cid])
        tid = await target(db, "a")
        async with dispatching(pool, db_url, bug_pause_s=1.0) as d:
            await db.execute("ALTER TABLE deliveries RENAME COLUMN leased_by TO held_by")
            try:
                iid = await open_incident(db, tid)
                bug = await wait_for(lambda: d.bug, timeout=10, what="the bug shown")
            finally:
                await db.execute("ALTER TABLE deliveries RENAME COLUMN held_by TO leased_by")
            row = await until_status(db, (await delivery(db, iid))["id"], "sent")
            await wait_for(lambda: d.bug is None, timeout=10, what="the bug cleared")
    assert bug == "UndefinedColumnError(42703)"
    assert row["attempts"] == 1 and len(rx.requests) == 1


async def test_no_more_than_worker_alert_concurrency_are_in_flight(db, db_url: str, pool) -> None:
    async with Receiver() as rx:
        rx.script(HANG, HANG, HANG, HANG)  # every slot is held until its attempt times out
        cid = await channel(db, "hook", rx.url("/hook"))
        await route(db, "all", [cid])
        targets = [await target(db, f"t{i}") for i in range(5)]
        counts: list[int] = []

        async def all_sent() -> bool:
            row = await db.fetchrow(
                """SELECT count(*) FILTER (WHERE status = 'sending') AS sending,
                          count(*) FILTER (WHERE status = 'sent') AS sent FROM deliveries"""
            )
            counts.append(row["sending"])
            return row["sent"] == 5

        async with dispatching(
            pool, db_url, worker_alert_concurrency=2, worker_alert_timeout_s=1.0
        ) as d:
            async with db.transaction():
                for tid in targets:
                    await open_incident(db, tid)
            await rx.wait_for(2)
            assert d.in_flight == 2
            await wait_for(all_sent, timeout=30, what="all five sent", every=0.01)
    assert max(counts) == 2, counts
    assert len(rx.requests) == 5 + 4  # four attempts timed out and were tried again


# -- ordering ------------------------------------------------------------------------------


async def test_a_resolve_is_never_received_before_its_firing(db, db_url: str, pool) -> None:
    async with Receiver() as rx:
        rx.script(500, 500)  # the firing fails twice; the resolve is due meanwhile
        cid = await channel(db, "hook", rx.url("/hook"))
        await route(db, "all", [cid])
        tid = await target(db, "a")
        async with dispatching(pool, db_url):
            iid = await open_incident(db, tid)
            await close_incident(db, iid)
            resolved = await delivery(db, iid, "resolved")
            await until_status(db, resolved["id"], "sent")
            requests = await rx.wait_for(4)
    events = [(r.json()["event"], r.answered) for r in requests]
    assert events == [("firing", 500), ("firing", 500), ("firing", 200), ("resolved", 200)]
    assert len(rx.requests) == 4


async def test_a_firing_that_was_sent_gets_its_resolve_after_the_route_is_deleted(
    db, db_url: str, pool
) -> None:
    async with Receiver() as rx:
        cid = await channel(db, "hook", rx.url("/hook"))
        rid = await route(db, "all", [cid])
        tid = await target(db, "a")
        async with dispatching(pool, db_url):
            iid = await open_incident(db, tid)
            await until_status(db, (await delivery(db, iid))["id"], "sent")
            await db.execute("DELETE FROM routes WHERE id = $1", rid)
            await close_incident(db, iid)
            resolved = await delivery(db, iid, "resolved")
            await until_status(db, resolved["id"], "sent")
    assert [r.json()["event"] for r in rx.requests] == ["firing", "resolved"]
    assert resolved["route_id"] is None


# -- delay_s -------------------------------------------------------------------------------


async def test_delay_s_collapses_a_short_outage_silently_or_into_one_summary(
    db, db_url: str, pool
) -> None:
    async with Receiver() as rx:
        quiet = await channel(db, "quiet", rx.url("/quiet"))
        summed = await channel(db, "summed", rx.url("/summary"))
        await route(db, "quiet", [quiet], delay_s=60, short_outage="silent")
        await route(db, "summed", [summed], delay_s=60, short_outage="summary")
        tid = await target(db, "blip")
        async with dispatching(pool, db_url):
            iid = await open_incident(db, tid)
            await close_incident(db, iid)
            summary = await delivery(db, iid, "resolved", summed)
            await until_status(db, summary["id"], "sent")
            # The dispatcher is running and has sent what it had: nothing else is pending.
            await until_settled(db)
        requests = rx.requests
    assert [r.path for r in requests] == ["/summary"]
    body = requests[0].json()
    assert (body["event"], body["summary"]) == ("resolved", True)
    assert body["incident"]["ended_at"] is not None
    statuses = await db.fetch(
        "SELECT channel_id, event_kind, status FROM deliveries WHERE incident_id = $1 ORDER BY id",
        iid,
    )
    assert {(r["channel_id"], r["event_kind"], r["status"]) for r in statuses} == {
        (quiet, "firing", "collapsed"),
        (summed, "firing", "collapsed"),
        (quiet, "resolved", "collapsed"),
        (summed, "resolved", "sent"),
    }


async def test_a_held_back_firing_leaves_when_due_not_at_the_next_poll(
    db, db_url: str, pool
) -> None:
    """The timer: a firing held back by delay_s is sent within moments of being due although
    the safety-net poll is 30 s (and no NOTIFY comes at that time)."""
    async with Receiver() as rx:
        cid = await channel(db, "hook", rx.url("/hook"))
        await route(db, "held", [cid], delay_s=1)
        await route(db, "now", [cid], {"fast": "yes"})
        held = [await target(db, f"held {i}") for i in range(8)]
        fast = [await target(db, f"fast {i}", {"fast": "yes"}) for i in range(8)]
        async with dispatching(pool, db_url):
            for tid in held + fast:
                await open_incident(db, tid)
            await rx.wait_for(16, timeout=20)
            await until_settled(db)
    rows = await db.fetch(
        """SELECT t.name, extract(epoch FROM d.sent_at - d.next_attempt_at)::float8 AS late
             FROM deliveries d JOIN targets t ON t.id = d.target_id WHERE d.status = 'sent'"""
    )
    late = {r["name"]: r["late"] for r in rows}
    held_late = sorted(late[f"held {i}"] for i in range(8))
    fast_late = sorted(late[f"fast {i}"] for i in range(8))
    print(
        f"due -> sent: held back by delay_s p50 {statistics.median(held_late) * 1000:.0f} ms, "
        f"max {held_late[-1] * 1000:.0f} ms; on NOTIFY p50 "
        f"{statistics.median(fast_late) * 1000:.0f} ms, max {fast_late[-1] * 1000:.0f} ms"
    )
    assert held_late[-1] < 1.0, held_late
    assert fast_late[-1] < 1.0, fast_late


# -- reminders -----------------------------------------------------------------------------


async def test_reminders_send_only_the_latest_due_one_and_the_next_on_time(
    db, db_url: str, pool
) -> None:
    async with Receiver() as rx:
        cid = await channel(db, "hook", rx.url("/hook"))
        await route(db, "nag", [cid], repeat_interval_s=60)
        old, soon, fresh = (
            await target(db, "old"),
            await target(db, "soon"),
            await target(db, "new"),
        )
        now = await db.fetchval("SELECT now()")
        async with dispatching(pool, db_url):
            # Down for 150 s: reminders 1 and 2 are both past, only #2 is sent.
            old_i = await open_incident(db, old, now - dt.timedelta(seconds=150))
            # Down for 58.5 s: reminder 1 is due in 1.5 s, which the dispatcher wakes for.
            soon_i = await open_incident(db, soon, now - dt.timedelta(seconds=58.5))
            fresh_i = await open_incident(db, fresh)
            await wait_for(
                lambda: db.fetchval(
                    "SELECT count(*) = 2 FROM deliveries WHERE event_kind = 'reminder' "
                    "AND status = 'sent'"
                ),
                timeout=15,
                what="two reminders sent",
            )
            await close_incident(db, old_i)
            await until_status(db, (await delivery(db, old_i, "resolved"))["id"], "sent")
        requests = rx.requests
    by_incident: dict[int, list[tuple[str, int | None]]] = {}
    for r in requests:
        body = r.json()
        by_incident.setdefault(body["incident"]["id"], []).append((body["event"], body["seq"]))
    assert by_incident[old_i] == [("firing", None), ("reminder", 2), ("resolved", None)]
    assert by_incident[soon_i] == [("firing", None), ("reminder", 1)]
    assert by_incident[fresh_i] == [("firing", None)]
    events = await db.fetch(
        "SELECT incident_id, seq, occurred_at, payload FROM alert_events WHERE kind = 'reminder'"
    )
    assert sorted((e["incident_id"], e["seq"]) for e in events) == [(old_i, 2), (soon_i, 1)]
    soon_event = next(e for e in events if e["incident_id"] == soon_i)
    sent_at = await db.fetchval(
        "SELECT sent_at FROM deliveries WHERE incident_id = $1 AND event_kind = 'reminder'", soon_i
    )
    # due at started_at + 60 s; sent within moments of it
    assert soon_event["occurred_at"] == now + dt.timedelta(seconds=1.5)
    assert dt.timedelta(0) <= sent_at - soon_event["occurred_at"] < dt.timedelta(seconds=1.5)
    assert soon_event["payload"]["event"] == "reminder"


# -- storm control -------------------------------------------------------------------------


async def test_more_than_20_firings_in_a_minute_become_one_digest_a_period(
    db, db_url: str, pool
) -> None:
    metrics = WorkerMetrics()
    storm = StormPolicy(digest_every_s=3.0)  # the real period is a minute
    async with Receiver() as rx:
        cid = await channel(db, "hook", rx.url("/hook"))
        await route(db, "all", [cid])
        targets = [await target(db, f"t{i}") for i in range(35)]
        async with dispatching(pool, db_url, metrics=metrics, storm=storm):
            for n, tid in enumerate(targets[:20], start=1):
                await open_incident(db, tid)
                await rx.wait_for(n)  # one by one: 20 is not a storm
            async with db.transaction():
                for tid in targets[20:30]:
                    await open_incident(db, tid)
            first = await rx.wait_for(21)
            for tid in targets[30:]:
                await open_incident(db, tid)
            second = await rx.wait_for(22, timeout=20)
            await until_settled(db)
        requests = rx.requests
    assert [r.json()["event"] for r in requests[:20]] == ["firing"] * 20
    digest = first[20].json()
    assert digest["event"] == "digest" and digest["event_id"] is None
    assert "X-Vigil-Event-Id" not in first[20].headers
    assert len(digest["items"]) == 10
    assert [i["target"]["name"] for i in digest["items"]] == [f"t{i}" for i in range(20, 30)]
    assert all(i["event"] == "firing" and i["event_id"] for i in digest["items"])
    later = second[21].json()
    assert later["event"] == "digest" and len(later["items"]) == 5
    assert len(requests) == 22
    digests = await db.fetch(
        "SELECT id, status, created_at FROM deliveries WHERE event_kind = 'digest' ORDER BY id"
    )
    assert [d["status"] for d in digests] == ["sent", "sent"]
    assert [d["id"] for d in digests] == [digest["delivery_id"], later["delivery_id"]]
    assert digests[1]["created_at"] - digests[0]["created_at"] >= dt.timedelta(seconds=3)
    collapsed = await db.fetch(
        "SELECT target_id, digest_id FROM deliveries WHERE status = 'collapsed' ORDER BY id"
    )
    assert [(r["target_id"], r["digest_id"]) for r in collapsed] == [
        *((t, digests[0]["id"]) for t in targets[20:30]),
        *((t, digests[1]["id"]) for t in targets[30:]),
    ]
    assert (
        sample(metrics, "vigil_notifications_total", channel_kind="webhook", outcome="collapsed")
        == 15
    )


# -- dependencies and disabled channels ----------------------------------------------------


async def test_a_firing_held_back_while_its_parent_went_down_is_suppressed(
    db, db_url: str, pool
) -> None:
    metrics = WorkerMetrics()
    async with Receiver() as rx:
        cid = await channel(db, "hook", rx.url("/hook"))
        await route(db, "held", [cid], {"tier": "app"}, delay_s=1)
        await route(db, "now", [cid], {"tier": "net"})
        parent = await target(db, "router", {"tier": "net"})
        child = await target(db, "app", {"tier": "app"})
        await db.execute("INSERT INTO target_dependencies VALUES ($1, $2)", child, parent)
        async with dispatching(pool, db_url, metrics=metrics):
            # One transaction, child first: its trigger does not see the parent down yet, so
            # only the dispatcher can suppress the held-back firing, however slow this runs.
            async with db.transaction():
                child_i = await open_incident(db, child)  # held back by delay_s ...
                parent_i = await open_incident(db, parent)  # ... while its parent goes down
            firing = await delivery(db, child_i)
            assert firing["status"] == "pending"
            suppressed = await until_status(db, firing["id"], "suppressed")
            await close_incident(db, child_i)
            resolve = await delivery(db, child_i, "resolved")
            # Parent up: the child's next incident is sent.
            await close_incident(db, parent_i)
            again = await open_incident(db, child)
            await until_status(db, (await delivery(db, again))["id"], "sent", timeout=20)
            await until_settled(db)
        requests = rx.requests
    assert suppressed["last_error"] == f"a target it depends on is down: router (id {parent})"
    assert suppressed["attempts"] == 0 and suppressed["finished_at"] is not None
    assert resolve["status"] == "suppressed"
    seen = [(r.json()["target"]["name"], r.json()["event"]) for r in requests]
    assert seen == [("router", "firing"), ("router", "resolved"), ("app", "firing")]
    assert (
        sample(metrics, "vigil_notifications_total", channel_kind="webhook", outcome="suppressed")
        == 1
    )


async def test_a_delivery_to_a_disabled_channel_is_suppressed(db, db_url: str, pool) -> None:
    async with Receiver() as rx:
        cid = await channel(db, "hook", rx.url("/hook"))
        await route(db, "held", [cid], delay_s=1)
        tid = await target(db, "a")
        async with dispatching(pool, db_url):
            iid = await open_incident(db, tid)
            await db.execute("UPDATE channels SET enabled = false WHERE id = $1", cid)
            row = await until_status(db, (await delivery(db, iid))["id"], "suppressed")
    assert row["last_error"] == "channel disabled"
    assert rx.requests == []


# -- the database going away; two dispatchers ---------------------------------------------


async def test_the_dispatcher_recovers_when_its_connections_are_terminated(
    db, db_url: str, pool
) -> None:
    async with Receiver() as rx:
        cid = await channel(db, "hook", rx.url("/hook"))
        await route(db, "all", [cid])
        first, second = await target(db, "a"), await target(db, "b")
        async with dispatching(pool, db_url) as d:
            await until_status(
                db, (await delivery(db, await open_incident(db, first)))["id"], "sent"
            )
            killed = await db.fetchval(
                """SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity
                    WHERE datname = current_database() AND pid <> pg_backend_pid()"""
            )
            assert killed >= 2  # the LISTEN connection and the pool's
            await wait_for(lambda: d.listen.reconnects >= 1, timeout=20, what="LISTEN again")
            later = await delivery(db, await open_incident(db, second))
            row = await until_status(db, later["id"], "sent", timeout=30)
            assert d.bug is None
    assert row["attempts"] == 1
    assert len(rx.requests) == 2


async def test_two_dispatchers_sharing_a_database_never_send_a_delivery_twice(
    db, db_url: str
) -> None:
    storm = StormPolicy(digest_every_s=1.0)
    async with Receiver() as rx:
        groups = [await channel(db, f"group {g}", rx.url(f"/g{g}")) for g in range(8)]
        everything = await channel(db, "everything", rx.url("/all"))  # storms: digests
        for g, cid in enumerate(groups):
            await route(db, f"group {g}", [cid], {"group": str(g)})
        await route(db, "everything", [everything])
        targets = [await target(db, f"t{i}", {"group": str(i % 8)}) for i in range(40)]
        pools = [await create_pool(db_url, max_size=3) for _ in range(2)]
        metrics = [WorkerMetrics(), WorkerMetrics()]
        try:
            async with (
                dispatching(
                    pools[0], db_url, metrics=metrics[0], storm=storm, worker_alert_concurrency=3
                ),
                dispatching(
                    pools[1], db_url, metrics=metrics[1], storm=storm, worker_alert_concurrency=3
                ),
            ):
                incidents = [await open_incident(db, t) for t in targets]
                for iid in incidents:
                    await close_incident(db, iid)
                await until_settled(db, timeout=60)
        finally:
            for p in pools:
                await p.close()
        requests = rx.requests
    received: list[tuple[str, int]] = []
    for r in requests:
        body = r.json()
        for item in body["items"] if body["event"] == "digest" else [body]:
            received.append((r.path, item["event_id"]))
    expected = await db.fetch(
        """SELECT '/' || CASE WHEN c.name = 'everything' THEN 'all'
                              ELSE 'g' || split_part(c.name, ' ', 2) END AS path, d.event_id
             FROM deliveries d JOIN channels c ON c.id = d.channel_id
            WHERE d.event_kind <> 'digest'"""
    )
    assert len(expected) == 40 * 2 * 2
    assert sorted(received) == sorted((r["path"], r["event_id"]) for r in expected)
    statuses = await db.fetch("SELECT status, count(*) FROM deliveries GROUP BY 1")
    assert {r["status"] for r in statuses} <= {"sent", "collapsed"}
    sent_by = [
        sample(m, "vigil_notifications_total", channel_kind="webhook", outcome="sent")
        for m in metrics
    ]
    assert all(sent_by), sent_by  # both took a share
    print(f"two dispatchers: {len(requests)} requests, sent by each {sent_by}")
    assert json.loads(requests[0].body)  # bodies are JSON
