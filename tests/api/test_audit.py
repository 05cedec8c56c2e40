"""The audit log end to end: real requests over a real server (so the address is the client's),
read back through GET /api/v1/audit. Each change says who (a user or token name), when, from
where, and what changed, with every secret masked; logins and failed logins are there too, and
the filters and pages narrow it down."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import UTC, datetime
from typing import Any

import asyncpg
import httpx
import pytest

from vigil_core.channels import MASK

from ..support import TEST_KEYRING, bearer
from .conftest import HTTP_TARGET, LiveServer

pytestmark = pytest.mark.timeout(60)

SECRET = "s3cr3t-audit-value-0123456789"
PASSWORD = "an audited passphrase 1"
LOOPBACK = "127.0.0.1"
# The actions of row changes, in the API's words (apply's diff says create/update/delete too).
CREATE, UPDATE, DELETE = "create", "update", "delete"


@pytest.fixture(autouse=True)
async def fresh(db: asyncpg.Connection, tokens: dict[str, str]) -> None:
    keep = [TEST_KEYRING.hash(t) for t in tokens.values()]
    await db.execute("DELETE FROM users; DELETE FROM login_failures")
    await db.execute("DELETE FROM api_tokens WHERE hash <> ALL ($1::bytea[])", keep)
    await db.execute("DELETE FROM audit_log")


@asynccontextmanager
async def admin(live: LiveServer) -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(base_url=live.url, headers=live.headers) as http:
        yield http


@asynccontextmanager
async def logged_in(live: LiveServer, name: str, password: str) -> AsyncIterator[httpx.AsyncClient]:
    """A browser-like client with a session: the cookie, the CSRF header, a same-origin Origin."""
    async with httpx.AsyncClient(base_url=live.url) as http:
        resp = await http.post("/api/v1/auth/login", json={"username": name, "password": password})
        assert resp.status_code == 200, resp.text
        http.headers.update({"X-CSRF-Token": resp.json()["csrf_token"], "Origin": live.url})
        yield http


async def audit(http: httpx.AsyncClient, **params: Any) -> list[dict]:
    resp = await http.get("/api/v1/audit", params={"limit": 1000, **params})
    assert resp.status_code == 200, resp.text
    assert resp.json()["next"] is None
    return resp.json()["items"]


async def my_name(http: httpx.AsyncClient) -> str:
    me = (await http.get("/api/v1/auth/me")).json()
    assert me["kind"] == "token"
    return me["name"]


async def db_now(db: asyncpg.Connection) -> datetime:
    return await db.fetchval("SELECT clock_timestamp()")


def made_by(entry: dict, actor: str, kind: str, since: datetime, until: datetime) -> None:
    """Who, from where and when: every entry says all three."""
    assert (entry["actor"], entry["actor_kind"]) == (actor, kind), entry
    assert entry["address"] == LOOPBACK, entry
    assert since <= datetime.fromisoformat(entry["at"]) <= until, entry


async def test_a_targets_life(live, db) -> None:
    async with admin(live) as http:
        me = await my_name(http)
        start = await db_now(db)
        body = {**HTTP_TARGET, "headers": {"X-Api-Key": SECRET}}
        created = await http.post("/api/v1/targets", json=body)
        assert created.status_code == 201, created.text
        target_id = created.json()["id"]
        changed = await http.patch(f"/api/v1/targets/{target_id}", json={"interval_s": 60})
        assert changed.status_code == 200, changed.text
        assert (await http.post(f"/api/v1/targets/{target_id}/pause")).status_code == 200
        assert (await http.delete(f"/api/v1/targets/{target_id}")).status_code == 204
        end = await db_now(db)

        resp = await http.get(
            "/api/v1/audit", params={"object_kind": "target", "object_id": str(target_id)}
        )
    assert SECRET not in resp.text
    deleted, paused, updated, create = resp.json()["items"]  # newest first
    for entry in (deleted, paused, updated, create):
        made_by(entry, me, "token", start, end)
        assert (entry["object_kind"], entry["object_id"]) == ("target", str(target_id))
        assert entry["object_name"] == "web"
        assert entry["via"] is None

    assert (create["action"], create["before"]) == (CREATE, None)
    assert create["after"]["name"] == "web"
    assert create["after"]["address"] == HTTP_TARGET["url"]
    assert create["after"]["settings"]["headers"] == {"X-Api-Key": MASK}
    assert "created_at" not in create["after"]

    # An update shows only what changed, not every column again.
    assert updated["action"] == UPDATE
    assert (updated["before"], updated["after"]) == ({"interval_s": 30.0}, {"interval_s": 60.0})
    assert paused["action"] == UPDATE
    assert (paused["before"], paused["after"]) == ({"enabled": True}, {"enabled": False})

    assert (deleted["action"], deleted["after"]) == (DELETE, None)
    assert deleted["before"]["name"] == "web"
    assert deleted["before"]["enabled"] is False
    assert deleted["before"]["settings"]["headers"] == {"X-Api-Key": MASK}


async def test_a_new_header_value_shows_as_changed_but_masked(live) -> None:
    async with admin(live) as http:
        body = {**HTTP_TARGET, "headers": {"X-Api-Key": SECRET}}
        target_id = (await http.post("/api/v1/targets", json=body)).json()["id"]
        new = f"{SECRET}-rotated"
        changed = await http.patch(
            f"/api/v1/targets/{target_id}", json={"headers": {"X-Api-Key": new}}
        )
        assert changed.status_code == 200, changed.text
        resp = await http.get("/api/v1/audit", params={"object_kind": "target", "action": UPDATE})
    assert SECRET not in resp.text
    [entry] = resp.json()["items"]
    assert set(entry["before"]) == set(entry["after"]) == {"settings"}
    assert entry["after"]["settings"]["headers"] == {"X-Api-Key": MASK}


async def test_apply_is_marked_as_such(live, db) -> None:
    async with admin(live) as http:
        me = await my_name(http)
        start = await db_now(db)
        document = {"targets": [{**HTTP_TARGET, "name": "applied"}]}
        resp = await http.post("/api/v1/apply", json=document)
        assert resp.status_code == 200, resp.text
        end = await db_now(db)
        entries = await audit(http)
    assert entries, "apply left no trace in the audit log"
    for entry in entries:
        made_by(entry, me, "token", start, end)
        assert entry["via"] == "apply", entry
    creates = [e for e in entries if (e["object_kind"], e["action"]) == ("target", CREATE)]
    assert [e["object_name"] for e in creates] == ["applied"]


async def test_a_channels_secrets_are_masked(live) -> None:
    config = {
        "url": "http://127.0.0.1:9/hook",
        "secret": SECRET,
        "headers": {"Authorization": f"Bearer {SECRET}"},
    }
    async with admin(live) as http:
        made = await http.post(
            "/api/v1/channels", json={"name": "hook", "kind": "webhook", "config": config}
        )
        assert made.status_code == 201, made.text
        channel_id = made.json()["id"]
        rotated = f"{SECRET}-2"
        resp = await http.patch(
            f"/api/v1/channels/{channel_id}", json={"config": {"secret": rotated}}
        )
        assert resp.status_code == 200, resp.text
        resp = await http.get(
            "/api/v1/audit", params={"object_kind": "channel", "object_id": str(channel_id)}
        )
    assert SECRET not in resp.text
    update, create = resp.json()["items"]
    assert create["action"] == CREATE
    assert create["after"]["config"]["url"] == "http://127.0.0.1:9/hook"
    assert create["after"]["config"]["secret"] == MASK
    assert create["after"]["config"]["headers"] == MASK
    assert update["action"] == UPDATE
    assert update["before"]["config"]["secret"] == update["after"]["config"]["secret"] == MASK


async def test_tokens_made_and_revoked(live, db) -> None:
    async with admin(live) as http:
        me = await my_name(http)
        start = await db_now(db)
        made = await http.post("/api/v1/tokens", json={"name": "deploy", "scope": "write"})
        assert made.status_code == 201, made.text
        token_id = made.json()["id"]
        assert (await http.delete(f"/api/v1/tokens/{token_id}")).status_code == 204
        end = await db_now(db)
        resp = await http.get(
            "/api/v1/audit", params={"object_kind": "token", "object_id": str(token_id)}
        )
    secret = made.json()["token"]
    hashed = TEST_KEYRING.hash(secret).hex()
    assert secret not in resp.text and hashed not in resp.text
    revoke, create = resp.json()["items"]
    for entry in (revoke, create):
        made_by(entry, me, "token", start, end)
        assert entry["object_name"] == "deploy"
    assert create["action"] == CREATE
    assert "hash" not in create["after"]
    assert create["after"]["scope"] == "write"
    assert create["after"]["prefix"] == secret[:12]
    assert create["after"]["created_by"] == f"token:{me}"
    assert revoke["action"] == UPDATE
    assert revoke["before"] == {"revoked_at": None}
    assert set(revoke["after"]) == {"revoked_at"}


async def test_users_made_and_given_a_new_password(live, db) -> None:
    new = "a second audited passphrase"
    async with admin(live) as http:
        me = await my_name(http)
        start = await db_now(db)
        made = await http.post(
            "/api/v1/users", json={"name": "alice", "role": "editor", "password": PASSWORD}
        )
        assert made.status_code == 201, made.text
        changed = await http.patch("/api/v1/users/alice", json={"password": new})
        assert changed.status_code == 200, changed.text
        end = await db_now(db)
        resp = await http.get("/api/v1/audit", params={"object_kind": "user"})
    for leak in (PASSWORD, new, "argon2", "password_hash"):
        assert leak not in resp.text
    password, create = resp.json()["items"]
    for entry in (password, create):
        made_by(entry, me, "token", start, end)
        assert (entry["object_id"], entry["object_name"]) == (str(made.json()["id"]), "alice")
    assert create["action"] == CREATE
    assert create["after"]["role"] == "editor"
    assert create["after"]["password"] == MASK
    assert password["action"] == UPDATE
    assert password["before"] == password["after"] == {"password": MASK}


async def test_logins_and_failed_logins(live, db) -> None:
    async with admin(live) as http:
        await http.post(
            "/api/v1/users", json={"name": "bob", "role": "editor", "password": PASSWORD}
        )
    start = await db_now(db)
    async with logged_in(live, "bob", PASSWORD) as bob:
        made = await bob.post(
            "/api/v1/channels",
            json={"name": "bobs", "kind": "webhook", "config": {"url": "http://127.0.0.1:9/"}},
        )
        assert made.status_code == 201, made.text
    wrong = "not bob's password at all"
    async with httpx.AsyncClient(base_url=live.url) as anon:
        for name in ("bob", "mallory"):
            resp = await anon.post("/api/v1/auth/login", json={"username": name, "password": wrong})
            assert resp.status_code == 401, resp.text
    end = await db_now(db)
    async with admin(live) as http:
        resp = await http.get("/api/v1/audit")
    assert wrong not in resp.text and PASSWORD not in resp.text
    entries = [e for e in resp.json()["items"] if e["object_kind"] != "user"]
    failed_nobody, failed_bob, channel, login = entries
    made_by(login, "bob", "user", start, end)
    assert (login["action"], login["object_kind"]) == ("login", "session")
    made_by(channel, "bob", "user", start, end)
    assert (channel["action"], channel["object_name"]) == (CREATE, "bobs")
    # A failed login names the user it tried (who may not exist), never the password.
    made_by(failed_bob, "bob", "anonymous", start, end)
    made_by(failed_nobody, "mallory", "anonymous", start, end)
    for failed in (failed_bob, failed_nobody):
        assert failed["action"] == "login_failed"
        assert failed["before"] is None


async def test_filters_and_pages(live, db) -> None:
    async with admin(live) as http:
        me = await my_name(http)
        ids = []
        for i in range(3):
            resp = await http.post("/api/v1/targets", json={**HTTP_TARGET, "name": f"t{i}"})
            ids.append(resp.json()["id"])
        middle = await db_now(db)
        await http.post(
            "/api/v1/users", json={"name": "carol", "role": "admin", "password": PASSWORD}
        )
        await http.patch(f"/api/v1/targets/{ids[0]}", json={"interval_s": 45})
        async with logged_in(live, "carol", PASSWORD) as carol:
            await carol.delete(f"/api/v1/targets/{ids[1]}")

        everything = await audit(http)
        assert [e["id"] for e in everything] == sorted((e["id"] for e in everything), reverse=True)
        assert len(everything) == 7  # 3 creates, user, update, login, delete

        by_carol = await audit(http, actor="carol")
        assert [(e["action"], e["object_kind"]) for e in by_carol] == [
            (DELETE, "target"),
            ("login", "session"),
        ]
        assert {e["actor"] for e in await audit(http, actor=me)} == {me}
        assert len(await audit(http, actor=me)) == 5
        assert [e["actor"] for e in await audit(http, actor_kind="user")] == ["carol", "carol"]
        assert await audit(http, actor="nobody") == []

        first = await audit(http, object_kind="target", object_id=str(ids[0]))
        assert [e["action"] for e in first] == [UPDATE, CREATE]
        assert [e["object_name"] for e in await audit(http, action=DELETE)] == ["t1"]
        assert {e["object_kind"] for e in await audit(http, object_kind="target")} == {"target"}

        later = await audit(http, since=middle.isoformat())
        earlier = await audit(http, until=middle.isoformat())
        assert [e["object_name"] for e in earlier] == ["t2", "t1", "t0"]
        assert len(later) == 4
        assert {e["id"] for e in later} | {e["id"] for e in earlier} == {
            e["id"] for e in everything
        }
        # A naive time is UTC.
        naive = middle.astimezone(UTC).replace(tzinfo=None)
        assert await audit(http, since=naive.isoformat()) == later

        # Pages of two walk the same entries, newest first, none twice.
        seen: list[int] = []
        cursor = None
        while True:
            params: dict[str, Any] = {"limit": 2}
            if cursor:
                params["cursor"] = cursor
            page = (await http.get("/api/v1/audit", params=params)).json()
            seen += [e["id"] for e in page["items"]]
            cursor = page["next"]
            if cursor is None:
                break
        assert seen == [e["id"] for e in everything]


@pytest.mark.parametrize(
    ("params", "field"),
    [
        ({"since": "2030-01-01T00:00:00Z", "until": "2029-01-01T00:00:00Z"}, "since"),
        ({"cursor": "bm9wZQ"}, "cursor"),
        ({"actor_kind": "robot"}, "actor_kind"),
        ({"limit": "0"}, "limit"),
        ({"since": "yesterday"}, "since"),
        ({"actor": "a\x00b"}, "actor"),
    ],
    ids=["since-after-until", "cursor", "actor-kind", "limit", "since-not-a-time", "actor-nul"],
)
async def test_bad_filters_name_the_parameter(live, params, field) -> None:
    async with admin(live) as http:
        resp = await http.get("/api/v1/audit", params=params)
    assert resp.status_code == 400, resp.text
    assert [e["field"] for e in resp.json()["errors"]] == [field]


async def test_only_admins_read_the_log(live, tokens) -> None:
    async with httpx.AsyncClient(base_url=live.url) as anon:
        for scope in ("read", "write"):
            resp = await anon.get("/api/v1/audit", headers=bearer(tokens[scope]))
            assert resp.status_code == 403, resp.text
            assert "`admin`" in resp.json()["detail"]
        assert (await anon.get("/api/v1/audit")).status_code == 401
        assert (await anon.get("/api/v1/audit", headers=bearer(tokens["admin"]))).status_code == 200
