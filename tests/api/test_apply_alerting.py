"""POST /api/v1/apply with channels and routes beside targets: references by name, unchanged on
re-apply, updates, prune per section, dry runs that never show a secret, all-or-nothing 400s."""

from __future__ import annotations

import json

import pytest

from vigil_api.apply.schemas import ApplyRoute
from vigil_api.routes.schemas import RouteCreate

SLACK_URL = "http://127.0.0.1:9/services/T0/B0/slack-token-1"
HOOK_SECRET = "hook-signing-secret-1"
AUTH = "Bearer header-token-1"
SECRETS = (SLACK_URL, HOOK_SECRET, AUTH, "slack-token", "signing-secret", "header-token")

SLACK = {"name": "ops-slack", "kind": "slack", "config": {"url": SLACK_URL}}
HOOK = {
    "name": "ops-hook",
    "kind": "webhook",
    "config": {
        "url": "http://127.0.0.1:9/hook",
        "secret": HOOK_SECRET,
        "headers": {"Authorization": AUTH},
    },
}
PROD = {"name": "prod", "match_labels": {"env": "prod"}, "channels": ["ops-slack", "ops-hook"]}
ALL = {"name": "everything", "channels": ["ops-hook"], "delay_s": 60}
DB = {"name": "db", "kind": "tcp", "host": "127.0.0.1", "port": 5432}
WEB = {
    "name": "web",
    "kind": "http",
    "url": "http://127.0.0.1:9/",
    "labels": {"env": "prod"},
    "depends_on": ["db"],
}
DOC = {"channels": [SLACK, HOOK], "targets": [WEB, DB], "routes": [PROD, ALL]}


@pytest.fixture(autouse=True)
async def no_channels(db) -> None:
    # The module's database is emptied of targets for each test; channels and routes too here.
    await db.execute("DELETE FROM routes; DELETE FROM channels")


async def apply(client, doc, **params):
    return await client.post(
        "/api/v1/apply", json=doc, params={k: str(v).lower() for k, v in params.items()}
    )


async def items(client, what: str) -> dict[str, dict]:
    resp = await client.get(f"/api/v1/{what}")
    assert resp.status_code == 200, resp.text
    return {i["name"]: i for i in resp.json()["items"]}


def assert_no_secret(text: str) -> None:
    for secret in SECRETS:
        assert secret not in text, f"{secret!r} shown"


async def test_one_document_creates_channels_targets_and_routes_by_name(client, db) -> None:
    resp = await apply(client, DOC)
    assert resp.status_code == 200, resp.text
    result = resp.json()
    assert result["channels"]["created"] == ["ops-hook", "ops-slack"]
    assert result["created"] == ["db", "web"] and result["routes"]["created"] == [
        "everything",
        "prod",
    ]
    assert_no_secret(resp.text)

    channels = await items(client, "channels")
    targets = await items(client, "targets")
    routes = await items(client, "routes")
    assert targets["web"]["depends_on"] == [targets["db"]["id"]]
    assert routes["prod"]["channels"] == [channels["ops-slack"]["id"], channels["ops-hook"]["id"]]
    assert (
        routes["prod"]["match_labels"] == {"env": "prod"} and routes["everything"]["delay_s"] == 60
    )
    assert channels["ops-slack"]["config"] == {"url": "********"}
    stored = json.loads(
        await db.fetchval("SELECT config::text FROM channels WHERE name = 'ops-hook'")
    )
    assert stored == {**HOOK["config"], "headers": {"Authorization": AUTH}}


async def test_re_applying_the_same_document_changes_nothing(client) -> None:
    assert (await apply(client, DOC)).status_code == 200
    before = [await items(client, w) for w in ("channels", "targets", "routes")]
    result = (await apply(client, DOC, prune=True)).json()
    for section in (result["channels"], result, result["routes"]):
        assert section["changes"] == [] and section["created"] == section["deleted"] == []
    assert result["channels"]["unchanged"] == ["ops-hook", "ops-slack"]
    assert result["unchanged"] == ["db", "web"]
    assert result["routes"]["unchanged"] == ["everything", "prod"]
    assert [await items(client, w) for w in ("channels", "targets", "routes")] == before, (
        "nothing was written: updated_at unchanged"
    )


async def test_changes_are_reported_and_a_channel_config_only_as_changed(client, db) -> None:
    await apply(client, DOC)
    new_url = "http://127.0.0.1:9/services/T0/B0/slack-token-2"
    changed = {
        "channels": [{**SLACK, "config": {"url": new_url}}, {**HOOK, "enabled": False}],
        "targets": [{**WEB, "depends_on": []}, {**DB, "depends_on": ["web"]}],
        "routes": [{**PROD, "channels": ["ops-hook", "ops-slack"]}, {**ALL, "delay_s": 0}],
    }
    resp = await apply(client, changed)
    assert resp.status_code == 200, resp.text
    assert_no_secret(resp.text)
    assert "slack-token-2" not in resp.text
    result = resp.json()
    by_name = {
        c["name"]: c
        for part in (result["channels"], result, result["routes"])
        for c in part["changes"]
    }
    assert (by_name["ops-slack"]["fields"], by_name["ops-slack"]["hidden"]) == ({}, ["config"])
    assert by_name["ops-hook"]["fields"] == {"enabled": {"old": True, "new": False}}
    assert by_name["ops-hook"]["hidden"] == []
    assert by_name["web"]["fields"] == {"depends_on": {"old": ["db"], "new": []}}
    assert by_name["db"]["fields"] == {"depends_on": {"old": [], "new": ["web"]}}
    assert by_name["prod"]["fields"] == {
        "channels": {"old": ["ops-slack", "ops-hook"], "new": ["ops-hook", "ops-slack"]}
    }
    assert by_name["everything"]["fields"] == {"delay_s": {"old": 60, "new": 0}}

    config = await db.fetchval("SELECT config FROM channels WHERE name = 'ops-slack'")
    assert config == {"url": new_url}
    targets, channels = await items(client, "targets"), await items(client, "channels")
    assert (
        targets["db"]["depends_on"] == [targets["web"]["id"]] and targets["web"]["depends_on"] == []
    )
    assert (await items(client, "routes"))["prod"]["channels"] == [
        channels["ops-hook"]["id"],
        channels["ops-slack"]["id"],
    ]


async def test_prune_deletes_channels_and_routes_only_in_sections_the_file_has(client) -> None:
    await apply(client, DOC)
    result = (await apply(client, {"targets": [DB]}, prune=True)).json()
    assert result["deleted"] == ["web"]
    assert result["channels"]["changes"] == result["routes"]["changes"] == []
    assert set(await items(client, "channels")) == {"ops-slack", "ops-hook"}, "no channels: section"

    result = (
        await apply(client, {"channels": [HOOK], "routes": [{**ALL, "delay_s": 5}]}, prune=True)
    ).json()
    assert result["channels"]["deleted"] == ["ops-slack"] and result["routes"]["deleted"] == [
        "prod"
    ]
    assert result["routes"]["updated"] == ["everything"]
    assert list(await items(client, "channels")) == ["ops-hook"]
    assert list(await items(client, "routes")) == ["everything"]
    assert list(await items(client, "targets")) == ["db"], "no targets: section, none pruned"

    result = (await apply(client, {"channels": [], "routes": []}, prune=True)).json()
    assert result["channels"]["deleted"] == ["ops-hook"] and await items(client, "routes") == {}


async def test_a_dry_run_shows_the_diff_writes_nothing_and_shows_no_secret(client, db) -> None:
    resp = await apply(client, DOC, dry_run=True)
    assert resp.status_code == 200, resp.text
    assert_no_secret(resp.text)
    result = resp.json()
    assert result["dry_run"] is True and result["channels"]["created"] == ["ops-hook", "ops-slack"]
    hook = next(c for c in result["channels"]["changes"] if c["name"] == "ops-hook")
    assert hook["fields"] == {
        "kind": {"old": None, "new": "webhook"},
        "enabled": {"old": None, "new": True},
    }
    assert hook["hidden"] == ["config"]
    assert await db.fetchval("SELECT count(*) FROM channels") == 0
    assert await db.fetchval("SELECT count(*) FROM routes") == 0
    assert await db.fetchval("SELECT count(*) FROM targets") == 0

    await apply(client, DOC)
    other = {**HOOK, "config": {**HOOK["config"], "secret": "another-secret-22"}}
    resp = await apply(client, {**DOC, "channels": [SLACK, other]}, dry_run=True, prune=True)
    assert_no_secret(resp.text)
    assert "another-secret" not in resp.text
    assert resp.json()["channels"]["updated"] == ["ops-hook"]
    stored = await db.fetchval("SELECT config FROM channels WHERE name = 'ops-hook'")
    assert stored["secret"] == HOOK_SECRET


async def test_a_route_naming_a_missing_channel_is_rejected_and_nothing_is_written(
    client, db
) -> None:
    doc = {**DOC, "routes": [{**PROD, "channels": ["ops-slack", "x"]}]}
    resp = await apply(client, doc)
    assert resp.status_code == 400
    assert resp.json()["errors"] == [
        {"field": "routes[0].channels", "message": 'no channel named "x"'}
    ]
    for table in ("channels", "routes", "targets"):
        assert await db.fetchval(f"SELECT count(*) FROM {table}") == 0, table


@pytest.mark.parametrize(
    ("doc", "field"),
    [
        ({"channels": [SLACK, {**HOOK, "config": {"url": "ftp://x"}}]}, "channels[1].config.url"),
        ({"channels": [SLACK, {**SLACK, "kind": "pager"}]}, "channels[1].name"),
        ({"channels": [{**SLACK, "kind": "pager"}]}, "channels[0].kind"),
        ({"targets": [{**WEB, "depends_on": ["nope"]}]}, "targets[0].depends_on"),
        ({"targets": [{**WEB, "depends_on": ["web"]}]}, "targets[0].depends_on"),
        ({"routes": [{**ALL, "channels": ["ops-hook"]}]}, "routes[0].channels"),
        ({"routes": [{**ALL, "channels": []}, ALL]}, "routes[1].name"),
        ({"routes": [{**ALL, "channels": [], "delay_s": -1}]}, "routes[0].delay_s"),
    ],
    ids=[
        "bad-config",
        "repeated-channel",
        "unknown-kind",
        "unknown-target",
        "self",
        "no-stored-channel",
        "repeated-route",
        "bad-route-field",
    ],
)
async def test_invalid_items_are_named(client, db, doc, field) -> None:
    resp = await apply(client, doc)
    assert resp.status_code == 400, resp.text
    assert [e["field"] for e in resp.json()["errors"]] == [field]
    assert await db.fetchval("SELECT count(*) FROM channels") == 0


async def test_references_reach_stored_items_unless_their_section_is_pruned(client) -> None:
    await apply(client, DOC)
    doc = {"targets": [{**DB, "name": "cache", "depends_on": ["db"]}], "routes": [ALL]}
    resp = await apply(client, doc)
    assert resp.status_code == 200, resp.text
    targets = await items(client, "targets")
    assert targets["cache"]["depends_on"] == [targets["db"]["id"]]

    resp = await apply(
        client, {"targets": [{**DB, "name": "cache", "depends_on": ["db"]}]}, prune=True
    )
    assert resp.status_code == 400
    assert resp.json()["errors"] == [
        {"field": "targets[0].depends_on", "message": 'no target named "db"'}
    ]


async def test_a_cycle_in_the_document_is_rejected_even_in_a_dry_run(client, db) -> None:
    await apply(client, DOC)  # web -> db
    cycle = {"targets": [WEB, {**DB, "depends_on": ["web"]}]}
    for dry_run in (True, False):
        resp = await apply(client, cycle, dry_run=dry_run)
        assert resp.status_code == 400, resp.text
        (error,) = resp.json()["errors"]
        assert error["field"] == "targets[1].depends_on" and "cycle" in error["message"]
    rows = await db.fetch(
        "SELECT t.name, p.name FROM target_dependencies d JOIN targets t ON t.id = d.target_id"
        " JOIN targets p ON p.id = d.depends_on_id"
    )
    assert [tuple(r) for r in rows] == [("web", "db")]


def test_an_apply_route_has_the_fields_of_a_route() -> None:
    # ApplyRoute repeats RouteCreate with channel names: a new route field must reach apply.
    assert ApplyRoute.__struct_fields__ == RouteCreate.__struct_fields__
