"""Target writes: CRUD, pause/resume, NOTIFY in the writing transaction, and the schedule reset
that makes a new interval or address take effect at once."""

from __future__ import annotations

import asyncio
import json

import asyncpg
import pytest

from vigil_core.notify import TARGETS_CHANNEL

from .conftest import HTTP_TARGET, create

MARKER = {"op": "update", "id": -1}


class Notifications:
    """LISTENs on vigil_targets on its own connection, as the worker does."""

    def __init__(self, conn: asyncpg.Connection) -> None:
        self.conn = conn
        self.queue: asyncio.Queue[dict] = asyncio.Queue()

    def __call__(self, conn: asyncpg.Connection, pid: int, channel: str, payload: str) -> None:
        self.queue.put_nowait(json.loads(payload))

    async def next(self) -> dict:
        return await asyncio.wait_for(self.queue.get(), 5)

    async def assert_no_more(self) -> None:
        """Nothing else was sent: a marker sent now (after every write so far) comes next."""
        await self.conn.execute("SELECT pg_notify($1, $2)", TARGETS_CHANNEL, json.dumps(MARKER))
        assert await self.next() == MARKER


@pytest.fixture
async def notes(db: asyncpg.Connection) -> Notifications:
    listener = Notifications(db)
    await db.add_listener(TARGETS_CHANNEL, listener)
    return listener


async def test_every_kind_of_write_sends_its_notify(client, notes) -> None:
    t = await create(client)
    assert await notes.next() == {"op": "insert", "id": t["id"]}

    writes = [
        ("PATCH", f"/api/v1/targets/{t['id']}", {"interval_s": 10}),
        ("PUT", f"/api/v1/targets/{t['id']}", {**HTTP_TARGET, "url": "http://127.0.0.1:10/"}),
        ("POST", f"/api/v1/targets/{t['id']}/pause", None),
        ("POST", f"/api/v1/targets/{t['id']}/resume", None),
    ]
    for method, path, body in writes:
        resp = await client.request(method, path, json=body)
        assert resp.status_code == 200, resp.text
        assert await notes.next() == {"op": "update", "id": t["id"]}, (method, path)

    resp = await client.post("/api/v1/apply", json={"targets": [{**HTTP_TARGET, "interval_s": 20}]})
    assert resp.json()["updated"] == ["web"]
    assert await notes.next() == {"op": "update", "id": t["id"]}

    assert (await client.delete(f"/api/v1/targets/{t['id']}")).status_code == 204
    assert await notes.next() == {"op": "delete", "id": t["id"]}
    await notes.assert_no_more()  # one NOTIFY per write, none extra


async def test_rejected_write_sends_no_notify(client, notes) -> None:
    t = await create(client)
    await notes.next()
    assert (
        await client.patch(f"/api/v1/targets/{t['id']}", json={"timeout_s": 99})
    ).status_code == 400
    assert (await client.post("/api/v1/targets", json=HTTP_TARGET)).status_code == 409
    await notes.assert_no_more()


async def test_crud_round_trip(client) -> None:
    t = await create(client, labels={"env": "prod"})
    assert t["kind"] == "http" and t["labels"] == {"env": "prod"} and t["enabled"] is True

    patched = (
        await client.patch(f"/api/v1/targets/{t['id']}", json={"keyword": "ok", "labels": {}})
    ).json()
    assert patched["keyword"] == "ok" and patched["labels"] == {}
    assert patched["url"] == t["url"] and patched["created_at"] == t["created_at"]
    assert patched["updated_at"] > t["updated_at"]
    cleared = (await client.patch(f"/api/v1/targets/{t['id']}", json={"keyword": None})).json()
    assert cleared["keyword"] is None

    replaced = (
        await client.put(
            f"/api/v1/targets/{t['id']}",
            json={"name": "db", "kind": "tcp", "host": "localhost", "port": 5432},
        )
    ).json()
    assert (replaced["kind"], replaced["host"], replaced["port"], replaced["url"]) == (
        "tcp",
        "localhost",
        5432,
        None,
    )
    assert (
        replaced["interval_s"] == 60 and replaced["timeout_s"] == 10
    )  # PUT resets what it leaves out

    page = (await client.get("/api/v1/targets")).json()
    assert [x["id"] for x in page["items"]] == [t["id"]] and page["next"] is None

    assert (await client.delete(f"/api/v1/targets/{t['id']}")).status_code == 204
    assert (await client.get(f"/api/v1/targets/{t['id']}")).status_code == 404
    assert (await client.delete(f"/api/v1/targets/{t['id']}")).status_code == 404


async def test_pause_and_resume(client, db) -> None:
    t = await create(client)
    paused = (await client.post(f"/api/v1/targets/{t['id']}/pause")).json()
    assert paused["enabled"] is False
    assert await db.fetchval("SELECT count(*) FROM schedule WHERE target_id = $1", t["id"]) == 0
    summary = (await client.get("/api/v1/summary")).json()
    assert summary["items"][0]["status"] == "paused" and summary["counts"]["paused"] == 1

    resumed = (await client.post(f"/api/v1/targets/{t['id']}/resume")).json()
    assert resumed["enabled"] is True
    assert await db.fetchval(
        "SELECT next_check_at <= now() FROM schedule WHERE target_id = $1", t["id"]
    )

    # the same through PATCH
    assert (await client.patch(f"/api/v1/targets/{t['id']}", json={"enabled": False})).json()[
        "enabled"
    ] is False
    assert await db.fetchval("SELECT count(*) FROM schedule WHERE target_id = $1", t["id"]) == 0


@pytest.mark.parametrize(
    "change",
    [
        pytest.param({"interval_s": 10}, id="interval"),
        pytest.param({"url": "http://127.0.0.1:11/"}, id="address"),
    ],
)
async def test_patch_of_interval_or_address_reschedules_at_once(client, db, change) -> None:
    t = await create(client, interval_s=3600, timeout_s=5)
    # as if the worker had just checked it: next check an hour away
    await db.execute(
        "UPDATE schedule SET next_check_at = now() + interval '1 hour' WHERE target_id = $1",
        t["id"],
    )
    resp = await client.patch(f"/api/v1/targets/{t['id']}", json=change)
    assert resp.status_code == 200, resp.text
    assert await db.fetchval(
        "SELECT next_check_at <= now() FROM schedule WHERE target_id = $1", t["id"]
    )


async def test_patch_interval_below_old_timeout_takes_default_timeout(client) -> None:
    t = await create(client, interval_s=60, timeout_s=30)
    patched = (await client.patch(f"/api/v1/targets/{t['id']}", json={"interval_s": 20})).json()
    assert (patched["interval_s"], patched["timeout_s"]) == (20, 10)


async def test_list_pages_by_id_without_gaps(client) -> None:
    ids = [
        (await create(client, name=f"t{i:02}", url=f"http://127.0.0.1:{1000 + i}/"))["id"]
        for i in range(7)
    ]
    seen, cursor = [], None
    while True:
        page = (
            await client.get(
                "/api/v1/targets", params={"limit": 3, **({"cursor": cursor} if cursor else {})}
            )
        ).json()
        seen += [t["id"] for t in page["items"]]
        if not (cursor := page["next"]):
            break
    assert seen == ids
    tcp = (await client.get("/api/v1/targets?kind=tcp")).json()
    assert tcp["items"] == []


async def test_stored_settings_are_the_contract_the_worker_reads(client, db) -> None:
    """What the API writes into targets.settings: every HTTP option, defaults spelled out,
    unset optional ones (keywords, tls_min_days_valid, max_latency_ms) left out; tcp and icmp
    have none unless max_latency_ms is set."""
    web = await create(client, keyword="ok", headers={"X-Probe": "vigil"})
    resp = await client.post(
        "/api/v1/targets", json={"name": "db", "kind": "tcp", "host": "::1", "port": 5432}
    )
    db_target = resp.json()
    rows = {r["id"]: r for r in await db.fetch("SELECT id, address, settings FROM targets")}
    assert rows[web["id"]]["settings"] == {
        "method": "GET",
        "expected_status": ["2xx", "3xx"],
        "keyword": "ok",
        "headers": {"X-Probe": "vigil"},
        "verify_tls": True,
        "follow_redirects": True,
        "max_redirects": 10,
        "keyword_regex": False,
        "json": [],
        "allow_url_password": False,
    }
    assert (rows[db_target["id"]]["address"], rows[db_target["id"]]["settings"]) == (
        "[::1]:5432",
        {},
    )


HTTP_DEFAULTS = {
    "method": "GET",
    "expected_status": ["2xx", "3xx"],
    "keyword": None,
    "keyword_absent": None,
    "headers": {},
    "verify_tls": True,
    "follow_redirects": True,
    "max_redirects": 10,
    "keyword_regex": False,
    "json": [],
    "tls_min_days_valid": None,
    "max_latency_ms": None,
}


@pytest.mark.parametrize(
    ("stored", "shown"),
    [
        pytest.param({}, HTTP_DEFAULTS, id="nothing-stored"),
        pytest.param(
            {"keyword": None, "expected_status": None, "headers": None, "max_redirects": 3},
            {**HTTP_DEFAULTS, "max_redirects": 3},
            id="nulls-take-defaults",
        ),
        pytest.param(
            {"method": "HEAD", "body": "ping"},
            {**HTTP_DEFAULTS, "method": "HEAD"},
            id="body-is-not-shown",
        ),
        pytest.param({"method": 5}, dict.fromkeys(HTTP_DEFAULTS), id="unreadable-shows-null"),
    ],
)
async def test_settings_written_by_hand_read_with_their_defaults(client, db, stored, shown) -> None:
    """A row written from psql or by an older version reads as the worker reads it."""
    tid = await db.fetchval(
        "INSERT INTO targets (name, kind, address, interval_s, timeout_s, settings)"
        " VALUES ('by-hand', 'http', 'http://127.0.0.1:9/', 60, 5, $1) RETURNING id",
        stored,
    )
    got = (await client.get(f"/api/v1/targets/{tid}")).json()
    assert {k: got[k] for k in shown} == shown
    listed = (await client.get("/api/v1/targets")).json()["items"]
    assert [t["id"] for t in listed] == [tid]
