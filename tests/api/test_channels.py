"""/api/v1/channels: validation naming each field, write-only secrets (masked on every read,
kept when echoed back), unique names, status, delete, and the test message."""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import asyncpg
import httpx
import pytest

from vigil_core.channels import CONFIGS, MASK
from vigil_core.db import create_pool
from vigil_core.settings import load_settings
from vigil_worker.alerting.dispatcher import Dispatcher
from vigil_worker.metrics import WorkerMetrics

from ..alerting.receivers import Answer, Receiver
from .conftest import LiveServer, create, make_app

pytestmark = pytest.mark.timeout(90)


@pytest.fixture(autouse=True)
async def no_channels(db: asyncpg.Connection) -> None:
    # tests/api/conftest's emptying predates alerting: it leaves channels, routes and test events.
    await db.execute("DELETE FROM routes; DELETE FROM channels; DELETE FROM alert_events")


# One valid config per kind and the secret it carries: every kind's secret must stay hidden.
SECRET = "s3cr3t-value-0123456789"
KIND_CASES: dict[str, dict[str, Any]] = {
    "webhook": {
        "url": "http://127.0.0.1:9/hook",
        "secret": SECRET,
        "headers": {"Authorization": f"Bearer {SECRET}"},
    },
    "slack": {"url": f"https://hooks.slack.com/services/{SECRET}"},
    "discord": {"url": f"https://discord.com/api/webhooks/1/{SECRET}"},
    "teams": {"url": f"https://example.webhook.office.com/{SECRET}"},
    "telegram": {"bot_token": f"123:{SECRET}", "chat_id": "-100123"},
    "ntfy": {"topic": "alerts", "token": f"tk_{SECRET}"},
    "pagerduty": {"routing_key": SECRET},
    "email": {
        "host": "127.0.0.1",
        "from_address": "vigil@example.org",
        "to": ["ops@example.org"],
        "username": "vigil",
        "password": SECRET,
    },
    "apprise": {"urls": [f"json://127.0.0.1:9/{SECRET}"]},
}


def test_every_kind_has_a_case() -> None:
    assert set(KIND_CASES) == set(CONFIGS)


async def add_channel(client, name: str = "hook", kind: str = "webhook", **fields: Any) -> dict:
    body = {"name": name, "kind": kind, "config": KIND_CASES[kind], **fields}
    resp = await client.post("/api/v1/channels", json=body)
    assert resp.status_code == 201, resp.text
    return resp.json()


async def stored_config(db: asyncpg.Connection, channel_id: int) -> dict:
    return await db.fetchval("SELECT config FROM channels WHERE id = $1", channel_id)


@pytest.mark.parametrize("kind", sorted(KIND_CASES))
async def test_secrets_are_stored_but_never_read_back(client, db, kind: str) -> None:
    created = await add_channel(client, kind=kind)
    got = await client.get(f"/api/v1/channels/{created['id']}")
    listed = await client.get("/api/v1/channels")
    for resp in (got, listed):
        assert resp.status_code == 200
        assert SECRET not in resp.text
    assert SECRET not in json.dumps(created)
    assert listed.json()["items"] == [got.json()] and listed.json()["next"] is None
    assert MASK in json.dumps(created["config"])
    stored = await stored_config(db, created["id"])
    assert SECRET in json.dumps(stored)
    assert stored.items() >= KIND_CASES[kind].items()  # defaults filled in besides


async def test_a_created_channel_reads_as_written_with_status_ok(client) -> None:
    created = await add_channel(client, name="ops hook")
    assert created["name"] == "ops hook" and created["kind"] == "webhook"
    assert created["enabled"] is True and created["status"] == "ok"
    assert created["config"] == {
        "url": "http://127.0.0.1:9/hook",
        "secret": MASK,
        "headers": {"Authorization": MASK},
    }
    for field in ("broken_at", "broken_reason", "last_error", "last_error_at", "last_sent_at"):
        assert created[field] is None
    assert created["created_at"] == created["updated_at"]


async def test_a_read_sent_back_keeps_every_secret(client, db) -> None:
    created = await add_channel(client)
    read = (await client.get(f"/api/v1/channels/{created['id']}")).json()
    body = {k: read[k] for k in ("name", "kind", "config", "enabled")}
    body["config"]["headers"]["X-Team"] = "web"  # an edit beside the masked values
    resp = await client.put(f"/api/v1/channels/{created['id']}", json=body)
    assert resp.status_code == 200, resp.text
    assert SECRET not in resp.text
    assert await stored_config(db, created["id"]) == {
        "url": "http://127.0.0.1:9/hook",
        "secret": SECRET,
        "headers": {"Authorization": f"Bearer {SECRET}", "X-Team": "web"},
    }


async def test_patch_merges_config_key_by_key(client, db) -> None:
    created = await add_channel(client)
    path = f"/api/v1/channels/{created['id']}"
    resp = await client.patch(path, json={"config": {"url": "http://127.0.0.1:10/new"}})
    assert resp.status_code == 200, resp.text
    stored = await stored_config(db, created["id"])
    assert stored["url"] == "http://127.0.0.1:10/new" and stored["secret"] == SECRET
    assert stored["headers"] == {"Authorization": f"Bearer {SECRET}"}
    # a null key takes its default: the signature secret is removed
    resp = await client.patch(path, json={"config": {"secret": None, "headers": {}}})
    assert resp.status_code == 200, resp.text
    assert await stored_config(db, created["id"]) == {
        "url": "http://127.0.0.1:10/new",
        "headers": {},
    }
    # a new secret replaces the stored one; name and enabled change alone
    resp = await client.patch(path, json={"config": {"secret": "another-secret-16+"}})
    assert (await stored_config(db, created["id"]))["secret"] == "another-secret-16+"
    resp = await client.patch(path, json={"name": "renamed", "enabled": False})
    assert resp.json()["name"] == "renamed" and resp.json()["status"] == "disabled"
    assert (await stored_config(db, created["id"]))["secret"] == "another-secret-16+"


async def test_a_mask_with_no_stored_secret_is_refused(client) -> None:
    """A value copied from another channel's read would store the mask as the secret."""
    body = {"name": "x", "kind": "ntfy", "config": {"topic": "t", "token": MASK}}
    resp = await client.post("/api/v1/channels", json=body)
    assert resp.status_code == 400
    assert [e["field"] for e in resp.json()["errors"]] == ["config.token"]
    # nor does a change of kind carry another kind's secret over
    hook = await add_channel(client, kind="slack")
    body = {"name": "x", "kind": "discord", "config": {"url": MASK}}
    resp = await client.put(f"/api/v1/channels/{hook['id']}", json=body)
    assert resp.status_code == 400
    assert [e["field"] for e in resp.json()["errors"]] == ["config.url"]


WEBHOOK = KIND_CASES["webhook"]
EMAIL = KIND_CASES["email"]
# (case id, request body, the field the 400 must name, a word its message must hold)
BAD_BODIES = [
    ("unknown kind", {"kind": "sms"}, "kind", "webhook, slack"),
    ("kind not a string", {"kind": 1}, "kind", "str"),
    ("no config", {"config": None}, "config", "required"),
    ("config not an object", {"config": ["x"]}, "config", "object"),
    ("url missing", {"config": {}}, "config.url", "required"),
    ("url not http", {"config": {"url": "ftp://127.0.0.1/x"}}, "config.url", "regex"),
    ("secret short", {"config": {**WEBHOOK, "secret": "short"}}, "config.secret", "length"),
    ("header name", {"config": {**WEBHOOK, "headers": {"a b": "1"}}}, "config.headers", "regex"),
    ("header value", {"config": {**WEBHOOK, "headers": {"a": 1}}}, "config.headers", "str"),
    ("unknown config field", {"config": {**WEBHOOK, "colour": "red"}}, "config.colour", "known"),
    (
        "email address",
        {"kind": "email", "config": {**EMAIL, "to": ["ops@example.org", "nobody"]}},
        "config.to[1]",
        "regex",
    ),
    ("email port", {"kind": "email", "config": {**EMAIL, "port": 70000}}, "config.port", "65535"),
    ("port as text", {"kind": "email", "config": {**EMAIL, "port": "25"}}, "config.port", "int"),
    (
        "email security",
        {"kind": "email", "config": {**EMAIL, "security": "ssl"}},
        "config.security",
        "starttls",
    ),
    (
        "telegram chat",
        {"kind": "telegram", "config": {"bot_token": "123:abcdefghij"}},
        "config.chat_id",
        "required",
    ),
    ("ntfy topic", {"kind": "ntfy", "config": {"topic": "a b"}}, "config.topic", "regex"),
    ("apprise no urls", {"kind": "apprise", "config": {"urls": []}}, "config.urls", "length"),
    (
        "NUL in a secret",
        {"kind": "pagerduty", "config": {"routing_key": "a\x00b"}},
        "config.routing_key",
        "NUL",
    ),
    ("empty name", {"name": ""}, "name", "length"),
    ("name padded", {"name": " hook"}, "name", "regex"),
    ("invisible name", {"name": "ho\u200bok"}, "name", "U+200B"),
    ("enabled as text", {"enabled": "yes"}, "enabled", "bool"),
    ("unknown field", {"colour": "red"}, "colour", "known"),
]


@pytest.mark.parametrize(
    ("body", "field", "word"), [c[1:] for c in BAD_BODIES], ids=[c[0] for c in BAD_BODIES]
)
async def test_invalid_channels_are_refused_naming_the_field(client, db, body, field, word) -> None:
    full = {"name": "hook", "kind": "webhook", "config": WEBHOOK, **body}
    full = {k: v for k, v in full.items() if v is not None}
    existing = await add_channel(client, name="existing")
    for method, path in (
        ("post", "/api/v1/channels"),
        ("put", f"/api/v1/channels/{existing['id']}"),
    ):
        resp = await getattr(client, method)(path, json=full)
        assert resp.status_code == 400, resp.text
        errors = resp.json()["errors"]
        assert [e["field"] for e in errors] == [field], errors
        assert word in errors[0]["message"], errors
    assert await db.fetchval("SELECT count(*) FROM channels") == 1


BAD_PATCHES = [
    ("kind", {"kind": "slack"}, "kind", "known"),
    ("bad url", {"config": {"url": "nope"}}, "config.url", "length"),
    ("required to null", {"config": {"url": None}}, "config.url", "required"),
    ("unknown config field", {"config": {"colour": "red"}}, "config.colour", "known"),
    ("name", {"name": "x\n"}, "name", "control"),
    ("enabled", {"enabled": None}, "enabled", "bool"),
]


@pytest.mark.parametrize(
    ("body", "field", "word"), [c[1:] for c in BAD_PATCHES], ids=[c[0] for c in BAD_PATCHES]
)
async def test_invalid_patches_are_refused_naming_the_field(client, db, body, field, word) -> None:
    channel = await add_channel(client)
    resp = await client.patch(f"/api/v1/channels/{channel['id']}", json=body)
    assert resp.status_code == 400, resp.text
    errors = resp.json()["errors"]
    assert [e["field"] for e in errors] == [field] and word in errors[0]["message"], errors
    assert (await stored_config(db, channel["id"]))["url"] == WEBHOOK["url"]


async def test_names_are_unique(client) -> None:
    first = await add_channel(client, name="ops")
    second = await add_channel(client, name="dev", kind="slack")
    resp = await client.post(
        "/api/v1/channels", json={"name": "ops", "kind": "slack", "config": KIND_CASES["slack"]}
    )
    assert resp.status_code == 409
    assert resp.json()["errors"] == [
        {"field": "name", "message": "a channel named 'ops' already exists"}
    ]
    resp = await client.patch(f"/api/v1/channels/{second['id']}", json={"name": "ops"})
    assert resp.status_code == 409 and resp.json()["errors"][0]["field"] == "name"
    body = {"name": "ops", "kind": "slack", "config": {"url": MASK}}
    resp = await client.put(f"/api/v1/channels/{second['id']}", json=body)
    assert resp.status_code == 409
    assert (await client.get(f"/api/v1/channels/{first['id']}")).json()["kind"] == "webhook"


async def test_status_and_any_change_clears_broken(client, db) -> None:
    channel = await add_channel(client)
    path = f"/api/v1/channels/{channel['id']}"

    async def break_it() -> None:
        await db.execute(
            "UPDATE channels SET broken_at = now(), broken_reason = 'HTTP 410 Gone' WHERE id = $1",
            channel["id"],
        )

    await break_it()
    got = (await client.get(path)).json()
    assert got["status"] == "broken" and got["broken_reason"] == "HTTP 410 Gone"
    assert got["broken_at"] is not None
    resp = (await client.patch(path, json={"enabled": False})).json()
    assert resp["status"] == "disabled" and resp["broken_at"] is None
    assert resp["broken_reason"] is None
    await break_it()
    assert (await client.get(path)).json()["status"] == "disabled"  # disabled wins
    body = {"name": "hook", "kind": "webhook", "config": {"url": WEBHOOK["url"]}}
    resp = (await client.put(path, json=body)).json()
    assert resp["status"] == "ok" and resp["broken_at"] is None
    assert resp["updated_at"] > channel["updated_at"]


async def test_paging_through_channels(client) -> None:
    ids = [(await add_channel(client, name=f"c{i}", kind="slack"))["id"] for i in range(5)]
    seen, cursor = [], None
    for _ in range(5):
        params: dict[str, Any] = {"limit": 2} | ({"cursor": cursor} if cursor else {})
        page = (await client.get("/api/v1/channels", params=params)).json()
        seen += [c["id"] for c in page["items"]]
        if (cursor := page["next"]) is None:
            break
    assert seen == ids
    resp = await client.get("/api/v1/channels", params={"cursor": "bogus"})
    assert resp.status_code == 400 and resp.json()["errors"][0]["field"] == "cursor"


async def test_delete_takes_the_channel_out_of_routes_and_its_deliveries(client, db) -> None:
    gone = await add_channel(client, name="gone")
    kept = await add_channel(client, name="kept", kind="slack")
    route = await client.post(
        "/api/v1/routes", json={"name": "all", "channels": [gone["id"], kept["id"]]}
    )
    assert route.status_code == 201, route.text
    target = await create(client)
    await db.execute(
        "INSERT INTO incidents (target_id, started_at, cause) VALUES ($1, now(), 'refused')",
        target["id"],
    )
    assert await db.fetchval("SELECT count(*) FROM deliveries") == 2

    resp = await client.delete(f"/api/v1/channels/{gone['id']}")
    assert resp.status_code == 204
    assert (await client.get(f"/api/v1/channels/{gone['id']}")).status_code == 404
    assert (await client.delete(f"/api/v1/channels/{gone['id']}")).status_code == 404
    assert (await client.get(f"/api/v1/routes/{route.json()['id']}")).json()["channels"] == [
        kept["id"]
    ]
    rows = await db.fetch("SELECT channel_id FROM deliveries")
    assert [r["channel_id"] for r in rows] == [kept["id"]]


async def test_unknown_and_invalid_ids(client) -> None:
    for path in ("/api/v1/channels/424242", "/api/v1/channels/424242/test?wait_s=0"):
        resp = await (client.get(path) if "test" not in path else client.post(path))
        assert resp.status_code == 404 and "channel 424242 does not exist" in resp.text
    for bad in ("0", "9223372036854775808"):
        assert (await client.get(f"/api/v1/channels/{bad}")).status_code == 400


# --- the test message -------------------------------------------------------------------


class Alerts:
    """A LISTEN on vigil_alerts, as a dispatcher holds it."""

    def __init__(self, conn: asyncpg.Connection) -> None:
        self.conn = conn
        self.got: asyncio.Queue[str] = asyncio.Queue()

    def _on(self, *args: Any) -> None:
        self.got.put_nowait(args[-1])

    async def __aenter__(self) -> Alerts:
        await self.conn.add_listener("vigil_alerts", self._on)
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.conn.remove_listener("vigil_alerts", self._on)

    async def wait(self) -> None:
        await asyncio.wait_for(self.got.get(), 10)


@pytest.fixture
async def listener(db_url: str):
    conn = await asyncpg.connect(db_url)
    try:
        async with Alerts(conn) as alerts:
            yield alerts
    finally:
        await conn.close()


async def test_a_test_writes_the_event_and_delivery_and_wakes_the_workers(
    client, db, listener
) -> None:
    channel = await add_channel(client)
    started = time.monotonic()
    resp = await client.post(f"/api/v1/channels/{channel['id']}/test", params={"wait_s": 0})
    assert time.monotonic() - started < 5  # wait_s=0 answers at once
    assert resp.status_code == 201, resp.text
    delivery = resp.json()
    assert delivery["status"] == "pending" and delivery["attempts"] == 0
    assert delivery["event_kind"] == "test"
    assert (delivery["channel_id"], delivery["channel_name"], delivery["channel_kind"]) == (
        channel["id"],
        "hook",
        "webhook",
    )
    assert delivery["target_id"] is None and delivery["incident_id"] is None
    await listener.wait()
    event = await db.fetchrow("SELECT * FROM alert_events WHERE id = $1", delivery["event_id"])
    assert event["kind"] == "test" and event["target_id"] is None
    assert set(event["payload"]) == {"event", "occurred_at"}
    assert event["payload"]["event"] == "test"
    got = await client.get(f"/api/v1/deliveries/{delivery['id']}")
    assert got.json() == delivery


async def test_a_test_waits_for_the_outcome_a_worker_writes(
    client, db, db_url, admin_headers
) -> None:
    """The API only waits: the outcome is whatever the worker that claimed the row wrote.
    (Behind a real server: the in-process client holds the event loop for the whole request.)"""
    channel = await add_channel(client)
    async with (
        LiveServer(make_app(db_url)) as live,
        httpx.AsyncClient(timeout=30, headers=admin_headers) as http,
    ):
        request = asyncio.create_task(
            http.post(f"{live.url}/api/v1/channels/{channel['id']}/test", params={"wait_s": 20})
        )
        async with asyncio.timeout(15):
            while (ident := await db.fetchval("SELECT id FROM deliveries")) is None:
                await asyncio.sleep(0.02)
        await db.execute(
            "UPDATE deliveries SET status = 'sending', attempts = 1,"
            " lease_until = now() + '1 minute'::interval WHERE id = $1",
            ident,
        )
        await asyncio.sleep(0.5)  # several of the API's polls see it sending, and keep waiting
        assert not request.done()
        started = time.monotonic()
        await db.execute(
            "UPDATE deliveries SET status = 'sent', sent_at = now(), finished_at = now(),"
            " last_status = 200 WHERE id = $1",
            ident,
        )
        resp = await asyncio.wait_for(request, 10)
    assert time.monotonic() - started < 5  # it ended on the outcome, not at wait_s
    assert resp.status_code == 201, resp.text
    assert resp.json()["status"] == "sent" and resp.json()["last_status"] == 200
    assert resp.json()["attempts"] == 1


async def test_a_test_that_no_worker_takes_answers_pending_after_wait_s(client) -> None:
    channel = await add_channel(client)
    started = time.monotonic()
    resp = await client.post(f"/api/v1/channels/{channel['id']}/test", params={"wait_s": 1})
    assert 1 <= time.monotonic() - started < 10
    assert resp.status_code == 201 and resp.json()["status"] == "pending"


async def test_a_disabled_channel_gets_no_test(client, db) -> None:
    channel = await add_channel(client, enabled=False)
    resp = await client.post(f"/api/v1/channels/{channel['id']}/test", params={"wait_s": 0})
    assert resp.status_code == 409
    assert f"channel {channel['id']} is disabled" in resp.json()["detail"]
    assert await db.fetchval("SELECT count(*) FROM deliveries") == 0


@pytest.mark.parametrize("wait_s", ["-1", "31", "abc", "nan", "inf"])
async def test_wait_s_is_checked(client, wait_s: str) -> None:
    channel = await add_channel(client)
    resp = await client.post(f"/api/v1/channels/{channel['id']}/test", params={"wait_s": wait_s})
    assert resp.status_code == 400, resp.text
    assert [e["field"] for e in resp.json()["errors"]] == ["wait_s"]


# --- the test message, sent by a real dispatcher to a real receiver ------------------------


@asynccontextmanager
async def dispatcher(db_url: str) -> AsyncIterator[None]:
    """A worker's dispatcher in this process; its safety-net poll is 30 s, so what it sends
    within a test was woken by the API's NOTIFY."""
    settings = load_settings(
        {},
        database_url=db_url,
        worker_metrics_port=0,
        worker_alert_poll_s=30.0,
        worker_alert_timeout_s=5.0,
        worker_alert_lease_s=10.0,
    )
    pool = await create_pool(db_url, max_size=4, acquire_timeout=5, command_timeout=10)
    d = Dispatcher(pool, db_url, settings, WorkerMetrics())
    task = asyncio.create_task(d.run())
    try:
        async with asyncio.timeout(15):
            while not (d.connected or task.done()):
                await asyncio.sleep(0.02)
        if task.done():
            task.result()
        yield
    finally:
        await d.drain(5)
        await asyncio.wait_for(task, timeout=10)
        await pool.close()


async def test_a_test_reaches_the_receiver_and_answers_with_the_outcome(
    db_url, admin_headers
) -> None:
    async with (
        Receiver() as rx,
        dispatcher(db_url),
        LiveServer(make_app(db_url)) as live,
        httpx.AsyncClient(base_url=live.url, timeout=40, headers=admin_headers) as http,
    ):
        body = {
            "name": "hook",
            "kind": "webhook",
            "config": {"url": rx.url("/hook"), "secret": SECRET},
        }
        channel = (await http.post("/api/v1/channels", json=body)).json()
        started = time.monotonic()
        resp = await http.post(f"/api/v1/channels/{channel['id']}/test", params={"wait_s": 20})
        assert time.monotonic() - started < 10  # the outcome ended the wait, not wait_s
        assert resp.status_code == 201, resp.text
        delivery = resp.json()
        assert delivery["status"] == "sent" and delivery["attempts"] == 1
        assert delivery["sent_at"] is not None and delivery["last_error"] is None
        [request] = await rx.wait_for(1)
        assert request.path == "/hook"
        assert request.headers["X-Vigil-Event-Id"] == str(delivery["event_id"])
        assert request.headers["X-Vigil-Delivery-Id"] == str(delivery["id"])
        assert request.headers["X-Vigil-Event"] == "test"
        assert request.headers["X-Vigil-Signature"].startswith("t=")
        assert request.json()["event"] == "test"
        assert (await http.get(f"/api/v1/channels/{channel['id']}")).json()["last_sent_at"]

        # a receiver that is gone: the test answers failed, and the channel shows broken
        rx.script(Answer(status=410, body="no such hook"))
        resp = await http.post(f"/api/v1/channels/{channel['id']}/test", params={"wait_s": 20})
        assert resp.status_code == 201, resp.text
        failed = resp.json()
        assert failed["status"] == "failed" and failed["last_status"] == 410
        got = (await http.get(f"/api/v1/channels/{channel['id']}")).json()
        assert got["status"] == "broken" and got["broken_at"] is not None
        assert got["last_error"]
        assert SECRET not in json.dumps(got)
