"""Alert events and their deliveries are written by the flush that opens or closes an incident
(0011's trigger): once, in the same transaction, fanned out by routes, and kept by retention."""

from __future__ import annotations

import datetime as dt

import asyncpg
import pytest

from vigil_core.db import create_pool
from vigil_core.models import CheckResult
from vigil_worker import maintenance
from vigil_worker.metrics import WorkerMetrics
from vigil_worker.results import ResultWriter

from ..worker.conftest import add_target


@pytest.fixture
async def pool(db_url: str):
    p = await create_pool(db_url, max_size=3)
    yield p
    await p.close()


def result(tid: int, at: dt.datetime, ok: bool) -> CheckResult:
    return CheckResult(
        target_id=tid,
        checked_at=at,
        due_at=at,
        ok=ok,
        latency_ms=1.0,
        error_class=None if ok else "refused",
        error_message=None if ok else "connection refused",
    )


async def channel(db: asyncpg.Connection, name: str, enabled: bool = True) -> int:
    return await db.fetchval(
        "INSERT INTO channels (name, kind, config, enabled) VALUES ($1, 'webhook', $2, $3) "
        "RETURNING id",
        name,
        {"url": "http://127.0.0.1:9/hook"},
        enabled,
    )


async def route(db: asyncpg.Connection, name: str, channels: list[int], **cols: object) -> int:
    names = ["name", *cols]
    values = [name, *cols.values()]
    params = ", ".join(f"${i + 1}" for i in range(len(values)))
    rid = await db.fetchval(
        f"INSERT INTO routes ({', '.join(names)}) VALUES ({params}) RETURNING id", *values
    )
    for pos, cid in enumerate(channels):
        await db.execute("INSERT INTO route_channels VALUES ($1, $2, $3)", rid, cid, pos)
    return rid


async def deliveries(db: asyncpg.Connection) -> list[tuple[str, str, str, int]]:
    rows = await db.fetch(
        "SELECT d.event_kind, d.status, c.name AS channel, d.incident_id FROM deliveries d "
        "JOIN channels c ON c.id = d.channel_id ORDER BY d.id"
    )
    return [(r["event_kind"], r["status"], r["channel"], r["incident_id"]) for r in rows]


T0 = dt.datetime.now(dt.UTC).replace(microsecond=0) - dt.timedelta(minutes=5)


def at(i: int) -> dt.datetime:
    return T0 + dt.timedelta(seconds=i)


async def test_a_flush_that_opens_and_closes_an_incident_writes_each_event_once(db, pool) -> None:
    tid = await add_target(db, "api", "tcp", "127.0.0.1:9", failure_threshold=2)
    await db.execute('UPDATE targets SET labels = \'{"team": "web"}\' WHERE id = $1', tid)
    web, ops, off = (
        await channel(db, "web"),
        await channel(db, "ops"),
        await channel(db, "off", False),
    )
    await route(db, "web", [web], match_labels={"team": "web"})
    await route(db, "db-team", [ops], match_labels={"team": "db"})  # does not match
    await route(db, "all", [web, off])  # web again: still one delivery; off is disabled
    writer = ResultWriter(pool, 1000, WorkerMetrics())

    await writer.write([result(tid, at(0), False)])
    assert await deliveries(db) == []  # below the failure threshold: no incident, no alert
    await writer.write([result(tid, at(1), False)])
    incident = await db.fetchval("SELECT id FROM incidents WHERE target_id = $1", tid)
    assert await deliveries(db) == [("firing", "pending", "web", incident)]
    await writer.write([result(tid, at(2), False)])  # still down: nothing new
    await writer.write([result(tid, at(3), True)])
    assert await deliveries(db) == [
        ("firing", "pending", "web", incident),
        ("resolved", "pending", "web", incident),
    ]
    events = await db.fetch("SELECT kind, payload FROM alert_events ORDER BY id")
    assert [e["kind"] for e in events] == ["firing", "resolved"]
    firing = events[0]["payload"]
    assert firing["target"] == {
        "id": tid,
        "name": "api",
        "kind": "tcp",
        "address": "127.0.0.1:9",
        "labels": {"team": "web"},
    }
    assert firing["incident"]["cause"] == "refused: connection refused"
    assert dt.datetime.fromisoformat(firing["occurred_at"]) == at(1)
    assert dt.datetime.fromisoformat(events[1]["payload"]["incident"]["ended_at"]) == at(3)


async def test_the_alert_is_part_of_the_incidents_transaction(db, pool) -> None:
    """A transaction that fails after opening an incident leaves no event behind either, and
    no incident without its event."""
    tid = await add_target(db, "api", "tcp", "127.0.0.1:9")
    await route(db, "all", [await channel(db, "web")])
    await db.execute(
        "CREATE FUNCTION boom() RETURNS trigger LANGUAGE plpgsql AS "
        "$$BEGIN RAISE EXCEPTION 'boom'; END$$"
    )
    await db.execute(
        "CREATE TRIGGER boom AFTER INSERT ON alert_events FOR EACH ROW EXECUTE FUNCTION boom()"
    )
    async with pool.acquire() as conn:
        with pytest.raises(asyncpg.RaiseError):
            async with conn.transaction():
                await conn.execute(
                    "INSERT INTO incidents (target_id, started_at, cause) VALUES ($1, now(), 'x')",
                    tid,
                )
    assert await db.fetchval("SELECT count(*) FROM incidents") == 0
    assert await db.fetchval("SELECT count(*) FROM deliveries") == 0


@pytest.mark.parametrize(
    ("short_outage", "expected"),
    [
        ("silent", [("firing", "collapsed"), ("resolved", "collapsed")]),
        ("summary", [("firing", "collapsed"), ("resolved", "pending")]),
    ],
    ids=["silent", "summary"],
)
async def test_an_outage_shorter_than_the_delay_collapses_its_firing(
    db, pool, short_outage, expected
) -> None:
    tid = await add_target(db, "api", "tcp", "127.0.0.1:9")
    await route(db, "slow", [await channel(db, "web")], delay_s=60, short_outage=short_outage)
    writer = ResultWriter(pool, 1000, WorkerMetrics())
    await writer.write([result(tid, at(0), False)])
    due = await db.fetchval("SELECT next_attempt_at FROM deliveries")
    assert due == at(60)  # held back by delay_s from the incident's start
    await writer.write([result(tid, at(10), True)])
    rows = await db.fetch("SELECT event_kind, status, summary FROM deliveries ORDER BY id")
    assert [(r["event_kind"], r["status"]) for r in rows] == expected
    assert rows[1]["summary"]


async def test_with_no_delay_both_events_of_a_short_outage_are_sent(db, pool) -> None:
    tid = await add_target(db, "api", "tcp", "127.0.0.1:9")
    await route(db, "now", [await channel(db, "web")])
    writer = ResultWriter(pool, 1000, WorkerMetrics())
    # one batch holds the failure and the recovery: the incident opens and closes in one flush
    await writer.write([result(tid, at(0), False), result(tid, at(1), True)])
    rows = await db.fetch("SELECT event_kind, status, summary FROM deliveries ORDER BY id")
    assert [(r["event_kind"], r["status"], r["summary"]) for r in rows] == [
        ("firing", "pending", False),
        ("resolved", "pending", False),
    ]


async def test_a_route_without_send_resolved_gets_no_resolve(db, pool) -> None:
    tid = await add_target(db, "api", "tcp", "127.0.0.1:9")
    await route(db, "fire-only", [await channel(db, "web")], send_resolved=False)
    writer = ResultWriter(pool, 1000, WorkerMetrics())
    await writer.write([result(tid, at(0), False)])
    await writer.write([result(tid, at(1), True)])
    assert [k for k, *_ in await deliveries(db)] == ["firing"]


async def test_a_target_whose_dependency_is_down_has_its_firing_suppressed(db, pool) -> None:
    router = await add_target(db, "router", "tcp", "127.0.0.1:9")
    app = await add_target(db, "app", "tcp", "127.0.0.1:8")
    await db.execute("INSERT INTO target_dependencies VALUES ($1, $2)", app, router)
    await route(db, "all", [await channel(db, "web")])
    writer = ResultWriter(pool, 1000, WorkerMetrics())
    # both fail in one flush: the parent's incident is seen by the child's trigger
    await writer.write([result(router, at(0), False), result(app, at(0), False)])
    rows = await db.fetch("SELECT target_id, status, last_error FROM deliveries ORDER BY target_id")
    assert [(r["target_id"], r["status"]) for r in rows] == [
        (router, "pending"),
        (app, "suppressed"),
    ]
    assert rows[1]["last_error"] == "a target it depends on is down"
    await writer.write([result(router, at(1), True), result(app, at(1), True)])
    resolves = await db.fetch(
        "SELECT target_id, status FROM deliveries WHERE event_kind = 'resolved' ORDER BY target_id"
    )
    assert [(r["target_id"], r["status"]) for r in resolves] == [
        (router, "pending"),
        (app, "suppressed"),
    ]
    # the parent is up again: the child's next incident is sent
    await writer.write([result(app, at(2), False)])
    latest = await db.fetchrow("SELECT status FROM deliveries ORDER BY id DESC LIMIT 1")
    assert latest["status"] == "pending"


async def test_pausing_a_down_target_resolves_its_incident(db, pool) -> None:
    tid = await add_target(db, "api", "tcp", "127.0.0.1:9")
    await route(db, "all", [await channel(db, "web")])
    writer = ResultWriter(pool, 1000, WorkerMetrics())
    await writer.write([result(tid, at(0), False)])
    await db.execute("UPDATE targets SET enabled = false WHERE id = $1", tid)
    assert [k for k, *_ in await deliveries(db)] == ["firing", "resolved"]


async def test_the_alert_channel_is_notified_once_per_transaction(db, pool) -> None:
    heard: list[str] = []
    await db.add_listener("vigil_alerts", lambda *a: heard.append(a[3]))
    ids = [await add_target(db, f"t{i}", "tcp", f"127.0.0.1:{i + 1}") for i in range(5)]
    await route(db, "all", [await channel(db, "web")])
    writer = ResultWriter(pool, 1000, WorkerMetrics())
    await writer.write([result(t, at(0), False) for t in ids])
    await db.execute("SELECT 1")  # a round trip: notifications sent before it have arrived
    assert heard == [""]
    assert await db.fetchval("SELECT count(*) FROM deliveries") == 5


async def test_retention_deletes_old_final_alerts_and_keeps_pending_ones(db, pool) -> None:
    tid = await add_target(db, "api", "tcp", "127.0.0.1:9")
    await route(db, "all", [await channel(db, "web")])
    old = dt.datetime.now(dt.UTC) - dt.timedelta(days=40)
    for days, status in ((0, "sent"), (1, "pending")):
        async with pool.acquire() as conn:
            iid = await conn.fetchval(
                "INSERT INTO incidents (target_id, started_at, ended_at, cause) "
                "VALUES ($1, $2, $2, 'x') RETURNING id",
                tid,
                old + dt.timedelta(days=days),
            )
            await conn.execute(
                "UPDATE deliveries SET status = $2 WHERE incident_id = $1", iid, status
            )
    await db.execute("UPDATE alert_events SET occurred_at = $1", old)
    done = await maintenance.run_once(pool, retention_days=30)
    assert done is not None and done["alert_events"] == 2  # the first incident's two events
    assert await db.fetchval("SELECT count(*) FROM alert_events") == 2
    assert {r[0] for r in await db.fetch("SELECT status FROM deliveries")} == {"pending"}
