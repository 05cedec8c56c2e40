"""/api/v1/routes: validation naming each field, channels that must exist and keep their order,
unique names, partial updates, and routes the incidents trigger really follows."""

from __future__ import annotations

from typing import Any

import asyncpg
import pytest

from .conftest import create


@pytest.fixture(autouse=True)
async def no_channels(db: asyncpg.Connection) -> None:
    # tests/api/conftest's emptying predates alerting: it leaves channels, routes and test events.
    await db.execute("DELETE FROM routes; DELETE FROM channels; DELETE FROM alert_events")


async def add_channel(client, name: str) -> int:
    body = {"name": name, "kind": "webhook", "config": {"url": "http://127.0.0.1:9/hook"}}
    resp = await client.post("/api/v1/channels", json=body)
    assert resp.status_code == 201, resp.text
    return resp.json()["id"]


async def add_route(client, **fields: Any) -> dict:
    resp = await client.post("/api/v1/routes", json={"name": "web", **fields})
    assert resp.status_code == 201, resp.text
    return resp.json()


async def test_a_route_reads_as_written_with_its_channels_in_order(client) -> None:
    a, b, c = [await add_channel(client, n) for n in "abc"]
    route = await add_route(
        client,
        match_labels={"team": "web", "env": "prod"},
        channels=[c, a, b],
        send_resolved=False,
        delay_s=120,
        short_outage="summary",
        repeat_interval_s=3600,
    )
    assert route["channels"] == [c, a, b]
    assert route["match_labels"] == {"team": "web", "env": "prod"}
    assert (route["send_resolved"], route["delay_s"], route["short_outage"]) == (
        False,
        120,
        "summary",
    )
    assert route["repeat_interval_s"] == 3600 and route["enabled"] is True
    assert (await client.get(f"/api/v1/routes/{route['id']}")).json() == route
    listed = (await client.get("/api/v1/routes")).json()
    assert listed == {"items": [route], "next": None}


async def test_defaults(client) -> None:
    route = await add_route(client)
    assert {k: v for k, v in route.items() if k not in ("id", "created_at", "updated_at")} == {
        "name": "web",
        "match_labels": {},
        "channels": [],
        "send_resolved": True,
        "delay_s": 0,
        "short_outage": "silent",
        "repeat_interval_s": None,
        "enabled": True,
    }


async def test_put_replaces_and_patch_changes_only_what_is_sent(client) -> None:
    a, b = await add_channel(client, "a"), await add_channel(client, "b")
    route = await add_route(client, channels=[a, b], repeat_interval_s=600, delay_s=30)
    path = f"/api/v1/routes/{route['id']}"

    resp = await client.patch(path, json={"channels": [b, a], "repeat_interval_s": None})
    assert resp.status_code == 200, resp.text
    got = resp.json()
    assert got["channels"] == [b, a] and got["repeat_interval_s"] is None
    assert got["delay_s"] == 30 and got["name"] == "web"
    assert got["updated_at"] > route["updated_at"]

    resp = await client.put(path, json={"name": "all", "channels": [a]})
    assert resp.status_code == 200, resp.text
    got = resp.json()
    assert (got["name"], got["channels"], got["delay_s"]) == ("all", [a], 0)
    assert (await client.get(path)).json() == got


UNKNOWN = 9_000_001
# (case id, request body, the field the 400 must name, a word its message must hold)
BAD_BODIES = [
    ("repeat too short", {"repeat_interval_s": 59}, "repeat_interval_s", ">= 60"),
    ("repeat too long", {"repeat_interval_s": 2592001}, "repeat_interval_s", "<= 2592000"),
    ("repeat a float", {"repeat_interval_s": 60.5}, "repeat_interval_s", "int"),
    ("delay negative", {"delay_s": -1}, "delay_s", ">= 0"),
    ("delay over a day", {"delay_s": 86401}, "delay_s", "<= 86400"),
    ("delay as text", {"delay_s": "5"}, "delay_s", "int"),
    ("short_outage", {"short_outage": "loud"}, "short_outage", "enum"),
    ("label key", {"match_labels": {"1team": "web"}}, "match_labels", "regex"),
    ("label key too long", {"match_labels": {"k" * 64: "v"}}, "match_labels", "length"),
    ("label value type", {"match_labels": {"team": 1}}, "match_labels", "str"),
    ("label value NUL", {"match_labels": {"team": "a\x00"}}, "match_labels", "regex"),
    ("label value bidi", {"match_labels": {"team": "a\u202e"}}, "match_labels.team", "U+202E"),
    ("labels not an object", {"match_labels": ["team"]}, "match_labels", "object"),
    ("channel id zero", {"channels": [0]}, "channels[0]", ">= 1"),
    ("channel id text", {"channels": ["a"]}, "channels[0]", "int"),
    ("channels not a list", {"channels": 1}, "channels", "array"),
    ("unknown channel", {"channels": [UNKNOWN]}, "channels[0]", f"channel {UNKNOWN} does not"),
    ("empty name", {"name": ""}, "name", "length"),
    ("unknown field", {"colour": "red"}, "colour", "known"),
    ("enabled as number", {"enabled": 1}, "enabled", "bool"),
]


@pytest.mark.parametrize(
    ("body", "field", "word"), [c[1:] for c in BAD_BODIES], ids=[c[0] for c in BAD_BODIES]
)
async def test_invalid_routes_are_refused_naming_the_field(client, db, body, field, word) -> None:
    existing = await add_route(client, name="existing")
    path = f"/api/v1/routes/{existing['id']}"
    for method, url in (("post", "/api/v1/routes"), ("put", path), ("patch", path)):
        resp = await getattr(client, method)(url, json={"name": "web", **body})
        assert resp.status_code == 400, (method, resp.text)
        errors = resp.json()["errors"]
        assert [e["field"] for e in errors] == [field], (method, errors)
        assert word in errors[0]["message"], (method, errors)
    assert await db.fetchval("SELECT count(*) FROM routes") == 1
    assert (await client.get(path)).json() == existing


async def test_every_unknown_or_repeated_channel_is_named(client, db) -> None:
    a = await add_channel(client, "a")
    body = {"name": "web", "channels": [a, UNKNOWN, a, UNKNOWN + 1]}
    resp = await client.post("/api/v1/routes", json=body)
    assert resp.status_code == 400
    assert resp.json()["errors"] == [
        {"field": "channels[1]", "message": f"channel {UNKNOWN} does not exist"},
        {"field": "channels[2]", "message": f"lists channel {a} twice"},
        {"field": "channels[3]", "message": f"channel {UNKNOWN + 1} does not exist"},
    ]
    assert await db.fetchval("SELECT count(*) FROM routes") == 0


async def test_names_are_unique(client) -> None:
    await add_route(client, name="web")
    other = await add_route(client, name="ops")
    resp = await client.post("/api/v1/routes", json={"name": "web"})
    assert resp.status_code == 409
    assert resp.json()["errors"] == [
        {"field": "name", "message": "a route named 'web' already exists"}
    ]
    for method in ("put", "patch"):
        resp = await getattr(client, method)(f"/api/v1/routes/{other['id']}", json={"name": "web"})
        assert resp.status_code == 409 and resp.json()["errors"][0]["field"] == "name"
    assert (await client.get(f"/api/v1/routes/{other['id']}")).json()["name"] == "ops"


async def test_delete_and_unknown_ids(client, db) -> None:
    route = await add_route(client, channels=[await add_channel(client, "a")])
    assert (await client.delete(f"/api/v1/routes/{route['id']}")).status_code == 204
    assert await db.fetchval("SELECT count(*) FROM route_channels") == 0
    for method in ("get", "delete"):
        resp = await getattr(client, method)(f"/api/v1/routes/{route['id']}")
        assert resp.status_code == 404 and f"route {route['id']} does not exist" in resp.text
    for method in ("put", "patch"):
        resp = await getattr(client, method)(f"/api/v1/routes/{route['id']}", json={"name": "x"})
        assert resp.status_code == 404
    assert (await client.get("/api/v1/routes/0")).status_code == 400


async def test_paging_through_routes(client) -> None:
    ids = [(await add_route(client, name=f"r{i}"))["id"] for i in range(5)]
    seen, cursor = [], None
    for _ in range(5):
        params: dict[str, Any] = {"limit": 2} | ({"cursor": cursor} if cursor else {})
        page = (await client.get("/api/v1/routes", params=params)).json()
        seen += [r["id"] for r in page["items"]]
        if (cursor := page["next"]) is None:
            break
    assert seen == ids


async def test_the_trigger_follows_routes_written_through_the_api(client, db) -> None:
    """What a user relies on: an incident of a matching target reaches the route's channels,
    and a target whose labels do not match reaches none."""
    web, ops = await add_channel(client, "web"), await add_channel(client, "ops")
    await add_route(client, name="web", match_labels={"team": "web"}, channels=[web, ops])
    await add_route(client, name="off", channels=[ops], enabled=False)
    matching = await create(client, name="site", labels={"team": "web", "env": "prod"})
    other = await create(client, name="db", labels={"team": "data"})
    for target in (matching, other):
        await db.execute(
            "INSERT INTO incidents (target_id, started_at, cause) VALUES ($1, now(), 'refused')",
            target["id"],
        )
    rows = await db.fetch("SELECT target_id, channel_id FROM deliveries ORDER BY channel_id")
    assert [(r["target_id"], r["channel_id"]) for r in rows] == [
        (matching["id"], web),
        (matching["id"], ops),
    ]
