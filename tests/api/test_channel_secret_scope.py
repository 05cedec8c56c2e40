"""Channel secrets need the `admin` scope: a `write` token may create, edit and apply channels,
but setting, changing or clearing a secret field, or sending a kept one to another receiver,
answers 403 naming the fields; echoing the masks back is no change, so apply with the same
secrets needs only `write`."""

from __future__ import annotations

from typing import Any

import asyncpg
import pytest

from vigil_core.channels import MASK

from ..support import bearer

pytestmark = pytest.mark.timeout(60)

SECRET = "hdr-9c8b7a6f5e4d3c2b1a0f"
SLACK_URL = "https://hooks.slack.com/services/T0/B0/abcdefabcdef"
HOOK = {
    "url": "http://127.0.0.1:9/hook",
    "headers": {"Authorization": f"Bearer {SECRET}"},
    "secret": "signing-secret-0123456789",
}
TELEGRAM = {"bot_token": "123456:bot-token-abcdef", "chat_id": "-100123"}
STORED = {
    "hook": ("webhook", HOOK),
    "ops-slack": ("slack", {"url": SLACK_URL}),
    "tg": ("telegram", TELEGRAM),
}


@pytest.fixture(autouse=True)
async def channels(client, db: asyncpg.Connection) -> dict[str, dict]:
    """The stored channels, made by the admin client, by name (as reads show them)."""
    await db.execute("DELETE FROM routes; DELETE FROM channels; DELETE FROM alert_events")
    made = {}
    for name, (kind, config) in STORED.items():
        resp = await client.post(
            "/api/v1/channels", json={"name": name, "kind": kind, "config": config}
        )
        assert resp.status_code == 201, resp.text
        made[name] = resp.json()
    return made


async def configs(db: asyncpg.Connection) -> dict[str, dict]:
    return {r["name"]: r["config"] for r in await db.fetch("SELECT name, config FROM channels")}


def echo(channel: dict, **config: Any) -> dict:
    """A PUT body from a read: the masks sent back, with `config` changed."""
    return {
        "name": channel["name"],
        "kind": channel["kind"],
        "enabled": channel["enabled"],
        "config": {**channel["config"], **config},
    }


# (id, method, channel or None for a create, body from the stored channels, the fields a
# `write` token is refused for, or None when it may)
CASES = [
    ("create-slack", "post", None, lambda c: {"name": "s", "kind": "slack", "config": {"url": SLACK_URL}}, None),  # a new channel's secrets are its maker's own
    ("create-webhook-plain", "post", None, lambda c: {"name": "w", "kind": "webhook", "config": {"url": HOOK["url"]}}, None),
    ("create-webhook-empty-headers", "post", None, lambda c: {"name": "w", "kind": "webhook", "config": {"url": HOOK["url"], "headers": {}, "secret": None}}, None),
    ("create-webhook-headers", "post", None, lambda c: {"name": "w", "kind": "webhook", "config": {"url": HOOK["url"], "headers": {"X-A": "b"}}}, None),
    ("create-email-password", "post", None, lambda c: {"name": "m", "kind": "email", "config": {"host": "127.0.0.1", "from_address": "v@example.org", "to": ["o@example.org"], "password": "pw"}}, None),
    ("create-email-no-password", "post", None, lambda c: {"name": "m", "kind": "email", "config": {"host": "127.0.0.1", "from_address": "v@example.org", "to": ["o@example.org"]}}, None),
    ("put-echo-renamed", "put", "hook", lambda c: {**echo(c["hook"]), "name": "hook2"}, None),
    ("put-echo-same-origin", "put", "hook", lambda c: echo(c["hook"], url="http://127.0.0.1:9/other"), None),
    ("put-new-header-value", "put", "hook", lambda c: echo(c["hook"], headers={"Authorization": "Bearer x"}), "secret fields (headers)"),
    ("put-header-added", "put", "hook", lambda c: echo(c["hook"], headers={"Authorization": MASK, "X-B": "c"}), "secret fields (headers)"),
    ("put-other-receiver", "put", "hook", lambda c: echo(c["hook"], url="http://evil.example/hook"), "where a channel sends its secrets (url)"),
    ("put-kind-change", "put", "ops-slack", lambda c: {"name": "ops-slack", "kind": "discord", "config": {"url": "https://discord.com/api/webhooks/1/x"}}, "secret fields (url)"),
    ("patch-enabled", "patch", "hook", lambda c: {"enabled": False}, None),
    ("patch-chat-id", "patch", "tg", lambda c: {"config": {"chat_id": "-100999"}}, None),
    ("patch-masks-echoed", "patch", "tg", lambda c: {"config": {"bot_token": MASK}}, None),
    ("patch-new-slack-url", "patch", "ops-slack", lambda c: {"config": {"url": SLACK_URL + "x"}}, "secret fields (url)"),
    ("patch-secret-cleared", "patch", "hook", lambda c: {"config": {"secret": None}}, "secret fields (secret)"),
    ("patch-telegram-api-url", "patch", "tg", lambda c: {"config": {"api_url": "http://127.0.0.1:9"}}, "where a channel sends its secrets (api_url)"),
    ("delete", "delete", "ops-slack", lambda c: None, None),
]  # fmt: skip


async def _send(anon_client, token: str, method: str, channel: dict | None, body: Any):
    path = "/api/v1/channels" + (f"/{channel['id']}" if channel else "")
    kw = {"json": body} if body is not None else {}
    return await anon_client.request(method.upper(), path, headers=bearer(token), **kw)


@pytest.mark.parametrize(
    ("method", "name", "body", "refused"), [c[1:] for c in CASES], ids=[c[0] for c in CASES]
)
async def test_a_write_token_may_not_touch_secrets(
    anon_client, db, tokens, channels, method, name, body, refused
) -> None:
    before = await configs(db)
    resp = await _send(anon_client, tokens["write"], method, channels.get(name), body(channels))
    if refused is None:
        assert resp.status_code in (200, 201, 204), resp.text
        if method == "patch" and name == "tg":
            assert (await configs(db))["tg"]["bot_token"] == TELEGRAM["bot_token"]
        return
    assert resp.status_code == 403, resp.text
    detail = resp.json()["detail"]
    assert refused in detail and "needs the `admin` scope" in detail, detail
    assert "has `write`" in detail
    assert SECRET not in resp.text
    assert await configs(db) == before


@pytest.mark.parametrize(
    ("method", "name", "body", "refused"),
    [c[1:] for c in CASES if c[4]],
    ids=[c[0] for c in CASES if c[4]],
)
async def test_an_admin_token_may(
    anon_client, db, tokens, channels, method, name, body, refused
) -> None:
    resp = await _send(anon_client, tokens["admin"], method, channels.get(name), body(channels))
    assert resp.status_code in (200, 201), resp.text


async def test_the_403_says_what_to_do(anon_client, tokens, channels) -> None:
    resp = await _send(
        anon_client,
        tokens["write"],
        "patch",
        channels["ops-slack"],
        {"config": {"url": SLACK_URL + "y"}},
    )
    assert resp.status_code == 403
    assert resp.headers["content-type"].startswith("application/problem+json")
    assert resp.json()["detail"].startswith(
        "channel 'ops-slack': changing a channel's secret fields (url) needs the `admin` scope;"
    )


def _document(channels: dict[str, dict], **changes: dict) -> dict:
    return {
        "channels": [
            {"name": n, "kind": k, "config": {**config, **changes.get(n, {})}}
            for n, (k, config) in STORED.items()
        ]
    }


async def _apply(anon_client, token: str, doc: dict, dry_run: bool = False):
    return await anon_client.post(
        f"/api/v1/apply?dry_run={str(dry_run).lower()}", json=doc, headers=bearer(token)
    )


async def test_apply_with_the_same_secrets_needs_only_write(anon_client, db, tokens, channels):
    before = await configs(db)
    masked = {n: c["config"] for n, c in channels.items()}
    for doc in (_document(channels), _document(channels, **masked)):
        resp = await _apply(anon_client, tokens["write"], doc)
        assert resp.status_code == 200, resp.text
        assert sorted(resp.json()["channels"]["unchanged"]) == sorted(STORED)
    # A change beside the secrets, with them echoed: `write` is enough.
    doc = _document(channels, **{**masked, "tg": {**masked["tg"], "chat_id": "-100777"}})
    resp = await _apply(anon_client, tokens["write"], doc)
    assert resp.status_code == 200, resp.text
    assert resp.json()["channels"]["updated"] == ["tg"]
    after = await configs(db)
    assert after["tg"] == {**before["tg"], "chat_id": "-100777"}
    assert {n: after[n] for n in ("hook", "ops-slack")} == {
        n: before[n] for n in ("hook", "ops-slack")
    }


@pytest.mark.parametrize("dry_run", [False, True], ids=["apply", "dry-run"])
@pytest.mark.parametrize(
    ("changes", "words"),
    [
        pytest.param({"ops-slack": {"url": SLACK_URL + "z"}}, "secret fields (url)", id="new-url"),
        pytest.param(
            {"hook": {"url": "http://evil.example/"}},
            "where a channel sends its secrets (url)",
            id="moved",
        ),
    ],
)
async def test_apply_changing_a_secret_needs_admin(
    anon_client, db, tokens, channels, changes, words, dry_run
) -> None:
    before = await configs(db)
    resp = await _apply(anon_client, tokens["write"], _document(channels, **changes), dry_run)
    assert resp.status_code == 403, resp.text
    assert words in resp.json()["detail"]
    assert await configs(db) == before
    resp = await _apply(anon_client, tokens["admin"], _document(channels, **changes), dry_run)
    assert resp.status_code == 200, resp.text
    assert resp.json()["channels"]["updated"] == list(changes)


async def test_apply_may_create_a_channel_with_secrets_but_not_change_them(anon_client, db, tokens):
    doc = {"channels": [{"name": "new-slack", "kind": "slack", "config": {"url": SLACK_URL}}]}
    assert (await _apply(anon_client, tokens["write"], doc)).status_code == 200
    assert await db.fetchval("SELECT count(*) FROM channels WHERE name = 'new-slack'") == 1
    other = SLACK_URL.replace("/services/", "/services/X")
    changed = {"channels": [{"name": "new-slack", "kind": "slack", "config": {"url": other}}]}
    resp = await _apply(anon_client, tokens["write"], changed)
    assert resp.status_code == 403, resp.text
    assert "channel 'new-slack'" in resp.json()["detail"]
