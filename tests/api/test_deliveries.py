"""/api/v1/deliveries: the log of alerts (real deliveries, made by the incidents trigger),
filtered and paged newest first, one delivery, and retrying a failed one."""

from __future__ import annotations

import asyncio
import datetime as dt
from typing import Any

import asyncpg
import pytest

from .conftest import create


@pytest.fixture(autouse=True)
async def no_channels(db: asyncpg.Connection) -> None:
    # tests/api/conftest's emptying predates alerting: it leaves channels, routes and test events.
    await db.execute("DELETE FROM routes; DELETE FROM channels; DELETE FROM alert_events")


class World:
    """Two channels on one route, two targets, and incidents that the trigger fans out."""

    def __init__(self, client: Any, db: asyncpg.Connection) -> None:
        self.client, self.db = client, db
        self.channels: dict[str, int] = {}
        self.targets: dict[str, int] = {}

    async def build(self) -> World:
        for name in ("web", "ops"):
            body = {"name": name, "kind": "slack", "config": {"url": f"http://127.0.0.1:9/{name}"}}
            self.channels[name] = (await self.client.post("/api/v1/channels", json=body)).json()[
                "id"
            ]
        resp = await self.client.post(
            "/api/v1/routes", json={"name": "all", "channels": list(self.channels.values())}
        )
        assert resp.status_code == 201, resp.text
        for name in ("site", "db"):
            self.targets[name] = (await create(self.client, name=name))["id"]
        return self

    async def incident(self, target: str, ended: bool = False) -> int:
        """An incident of `target` (closed at once when `ended`): 2 or 4 deliveries."""
        now = dt.datetime.now(dt.UTC)
        return await self.db.fetchval(
            "INSERT INTO incidents (target_id, started_at, ended_at, cause)"
            " VALUES ($1, $2, $3, 'refused') RETURNING id",
            self.targets[target],
            now - dt.timedelta(minutes=1),
            now if ended else None,
        )


@pytest.fixture
async def world(client, db) -> World:
    return await World(client, db).build()


async def ids(client, **params: Any) -> list[int]:
    resp = await client.get("/api/v1/deliveries", params=params)
    assert resp.status_code == 200, resp.text
    assert resp.json()["next"] is None
    return [d["id"] for d in resp.json()["items"]]


async def test_deliveries_are_listed_newest_first_and_filtered(client, db, world) -> None:
    first = await world.incident("site", ended=True)  # firing + resolved to each channel
    second = await world.incident("db")
    rows = await db.fetch("SELECT id, target_id, incident_id, channel_id FROM deliveries")
    assert len(rows) == 6
    everything = sorted((r["id"] for r in rows), reverse=True)
    assert await ids(client) == everything

    def where(**match: int) -> list[int]:
        return [
            r["id"]
            for r in sorted(rows, key=lambda r: -r["id"])
            if all(r[k] == v for k, v in match.items())
        ]

    site, web = world.targets["site"], world.channels["web"]
    assert await ids(client, target_id=site) == where(target_id=site)
    assert len(where(target_id=site)) == 4
    assert await ids(client, incident_id=second) == where(incident_id=second)
    assert await ids(client, channel_id=web) == where(channel_id=web)
    assert await ids(client, incident_id=first, channel_id=web) == where(
        incident_id=first, channel_id=web
    )
    assert await ids(client, status="pending") == everything
    assert await ids(client, status="sent") == []
    await db.execute("UPDATE deliveries SET status = 'sent' WHERE id = $1", everything[2])
    assert await ids(client, status="sent") == [everything[2]]
    assert await ids(client, status="sent", target_id=world.targets["db"]) == [
        i for i in where(target_id=world.targets["db"]) if i == everything[2]
    ]
    assert await ids(client, target_id=999999) == []


async def test_pages_walk_the_whole_log_once(client, world) -> None:
    for target in ("site", "db"):
        await world.incident(target, ended=True)
    everything = await ids(client)
    assert len(everything) == 8
    seen: list[int] = []
    cursor = None
    for _ in range(10):
        params: dict[str, Any] = {"limit": 3} | ({"cursor": cursor} if cursor else {})
        page = (await client.get("/api/v1/deliveries", params=params)).json()
        assert len(page["items"]) <= 3
        seen += [d["id"] for d in page["items"]]
        if (cursor := page["next"]) is None:
            break
    assert seen == everything
    # a filter holds across pages
    page = (
        await client.get(
            "/api/v1/deliveries", params={"limit": 1, "channel_id": world.channels["ops"]}
        )
    ).json()
    rest = (
        await client.get(
            "/api/v1/deliveries",
            params={"limit": 10, "channel_id": world.channels["ops"], "cursor": page["next"]},
        )
    ).json()
    ops = [d["id"] for d in page["items"] + rest["items"]]
    assert len(ops) == 4 and ops == sorted(ops, reverse=True)
    assert {d["channel_name"] for d in page["items"] + rest["items"]} == {"ops"}


BAD_FILTERS = [
    ("target_id", "0"),
    ("target_id", "abc"),
    ("incident_id", "-3"),
    ("channel_id", "9223372036854775808"),
    ("status", "lost"),
    ("limit", "0"),
    ("limit", "1001"),
    ("cursor", "not-a-cursor"),
]


@pytest.mark.parametrize(("name", "value"), BAD_FILTERS, ids=[f"{n}={v}" for n, v in BAD_FILTERS])
async def test_invalid_filters_are_refused_naming_them(client, name: str, value: str) -> None:
    resp = await client.get("/api/v1/deliveries", params={name: value})
    assert resp.status_code == 400, resp.text
    assert [e["field"] for e in resp.json()["errors"]] == [name]


async def test_one_delivery_as_listed(client, db, world) -> None:
    incident = await world.incident("site")
    listed = (await client.get("/api/v1/deliveries")).json()["items"]
    one = (await client.get(f"/api/v1/deliveries/{listed[0]['id']}")).json()
    assert one == listed[0]
    assert one["event_kind"] == "firing" and one["status"] == "pending"
    assert (one["target_id"], one["target_name"], one["incident_id"]) == (
        world.targets["site"],
        "site",
        incident,
    )
    assert one["channel_kind"] == "slack" and one["route_id"] is not None
    assert one["attempts"] == 0 and one["summary"] is False and one["digest_id"] is None
    resp = await client.get("/api/v1/deliveries/123456789")
    assert resp.status_code == 404 and "delivery 123456789 does not exist" in resp.text
    assert (await client.get("/api/v1/deliveries/0")).status_code == 400


async def test_a_failed_delivery_is_retried_now_with_a_fresh_day(client, db, db_url, world) -> None:
    await world.incident("site")
    ident = await db.fetchval("SELECT min(id) FROM deliveries")
    await db.execute(
        "UPDATE deliveries SET status = 'failed', attempts = 7, last_status = 503,"
        " last_error = 'HTTP 503', finished_at = now(),"
        " created_at = now() - interval '25 hours', next_attempt_at = now() - interval '1 hour'"
        " WHERE id = $1",
        ident,
    )
    listener = await asyncpg.connect(db_url)
    woken: asyncio.Queue[str] = asyncio.Queue()
    await listener.add_listener("vigil_alerts", lambda *a: woken.put_nowait(a[-1]))
    try:
        before = await db.fetchval("SELECT now()")
        resp = await client.post(f"/api/v1/deliveries/{ident}/retry")
        assert resp.status_code == 200, resp.text
        await asyncio.wait_for(woken.get(), 10)  # the dispatchers are woken
    finally:
        await listener.close()
    got = resp.json()
    assert got["status"] == "pending" and got["attempts"] == 7
    assert got["finished_at"] is None
    row = await db.fetchrow("SELECT * FROM deliveries WHERE id = $1", ident)
    assert row["created_at"] >= before and row["next_attempt_at"] >= before
    assert row["next_attempt_at"] <= await db.fetchval("SELECT now()")  # due now
    assert row["lease_until"] is None and row["leased_by"] is None


async def test_only_a_failed_delivery_can_be_retried(client, db, world) -> None:
    await world.incident("site")
    first, second = [r["id"] for r in await db.fetch("SELECT id FROM deliveries ORDER BY id")]
    await db.execute(
        "UPDATE deliveries SET next_attempt_at = '2031-05-06T07:08:09Z' WHERE id = $1", first
    )
    resp = await client.post(f"/api/v1/deliveries/{first}/retry")
    assert resp.status_code == 409
    assert resp.json()["detail"] == (
        f"delivery {first} is pending: it will be sent at 2031-05-06T07:08:09+00:00"
    )
    for status in ("sent", "suppressed", "collapsed"):
        await db.execute("UPDATE deliveries SET status = $2 WHERE id = $1", second, status)
        resp = await client.post(f"/api/v1/deliveries/{second}/retry")
        assert resp.status_code == 409
        assert resp.json()["detail"] == (
            f"only a failed delivery can be retried; delivery {second} is {status}"
        )
    await db.execute(
        "UPDATE deliveries SET status = 'sending', attempts = 2, lease_until = now() + '1 minute'"
        " WHERE id = $1",
        second,
    )
    resp = await client.post(f"/api/v1/deliveries/{second}/retry")
    assert resp.status_code == 409 and "is being sent now" in resp.json()["detail"]
    assert await db.fetchval("SELECT status FROM deliveries WHERE id = $1", second) == "sending"
    assert (await client.post("/api/v1/deliveries/123456789/retry")).status_code == 404


async def test_a_firing_whose_resolve_went_out_is_not_sent_after_it(client, db, world) -> None:
    """The receiver would see the outage begin after it ended, and keep it open for ever."""
    incident = await world.incident("site", ended=True)
    web = world.channels["web"]
    firing, resolved = [
        r["id"]
        for r in await db.fetch(
            "SELECT id FROM deliveries WHERE incident_id = $1 AND channel_id = $2 ORDER BY id",
            incident,
            web,
        )
    ]
    await db.execute(
        "UPDATE deliveries SET status = 'failed', attempts = 9, finished_at = now() WHERE id = $1",
        firing,
    )
    # the resolve not tried yet: the firing may go first (the dispatcher keeps the order)
    resp = await client.post(f"/api/v1/deliveries/{firing}/retry")
    assert resp.status_code == 200, resp.text
    await db.execute("UPDATE deliveries SET status = 'failed' WHERE id = $1", firing)
    await db.execute("UPDATE deliveries SET status = 'sent', attempts = 1 WHERE id = $1", resolved)
    resp = await client.post(f"/api/v1/deliveries/{firing}/retry")
    assert resp.status_code == 409
    assert resp.json()["detail"] == (
        f"delivery {firing} is the firing of incident {incident}, whose resolve (delivery"
        f" {resolved}, sent) has already gone to this channel: sent now, it would reopen the"
        " alert there"
    )
    assert await db.fetchval("SELECT status FROM deliveries WHERE id = $1", firing) == "failed"
    # the resolve itself may be retried
    await db.execute("UPDATE deliveries SET status = 'failed' WHERE id = $1", resolved)
    assert (await client.post(f"/api/v1/deliveries/{resolved}/retry")).status_code == 200
