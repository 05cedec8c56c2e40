"""/api/v1/users: admins create, list, change and delete users; passwords are write-only (never
in an answer or a log), a new password ends the user's sessions, and the last admin stays."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import asyncpg
import httpx
import pytest

from .conftest import LiveServer

pytestmark = pytest.mark.timeout(60)

PASSWORD = "correct horse battery staple"


def password_of(name: str) -> str:
    return f"{PASSWORD} of {name}"


@pytest.fixture(autouse=True)
async def no_users(db: asyncpg.Connection) -> None:
    # Users (and the sessions and tokens they made) are not emptied between tests by the
    # module's fixtures; the module's own tokens were made by no user and stay.
    await db.execute("DELETE FROM users; DELETE FROM login_failures")


@asynccontextmanager
async def session(
    live: LiveServer, name: str, password: str | None = None
) -> AsyncIterator[httpx.AsyncClient]:
    """A browser-like client logged in through POST /api/v1/auth/login: its own cookie jar,
    and the CSRF header and same-origin Origin the UI sends with every unsafe request."""
    async with httpx.AsyncClient(base_url=live.url) as c:
        resp = await c.post(
            "/api/v1/auth/login",
            json={"username": name, "password": password or password_of(name)},
        )
        assert resp.status_code == 200, resp.text
        c.headers.update({"X-CSRF-Token": resp.json()["csrf_token"], "Origin": live.url})
        yield c


async def add_user(http: httpx.AsyncClient, name: str, role: str = "viewer") -> dict:
    resp = await http.post(
        "/api/v1/users", json={"name": name, "role": role, "password": password_of(name)}
    )
    assert resp.status_code == 201, resp.text
    return resp.json()


async def login_status(anon: httpx.AsyncClient, name: str, password: str) -> int:
    resp = await anon.post("/api/v1/auth/login", json={"username": name, "password": password})
    anon.cookies.clear()
    return resp.status_code


def no_password_in(text: str, *passwords: str) -> None:
    for pw in passwords:
        assert pw not in text
    assert "argon2" not in text
    assert "password_hash" not in text


async def test_create_list_and_sign_in(http, live, anon, capsys) -> None:
    created = await add_user(http, "alice", "editor")
    assert created["name"] == "alice"
    assert created["role"] == "editor"
    assert created["scopes"] == ["read", "write"]
    assert created["last_login_at"] is None
    assert set(created) == {
        "id", "name", "role", "scopes", "created_at", "updated_at", "last_login_at"
    }  # fmt: skip

    async with session(live, "alice") as alice:
        me = (await alice.get("/api/v1/auth/me")).json()
        assert (me["kind"], me["name"], me["role"]) == ("user", "alice", "editor")

    listed = await http.get("/api/v1/users")
    assert listed.status_code == 200
    [item] = listed.json()["items"]
    assert item["name"] == "alice"
    assert item["last_login_at"] is not None
    out = capsys.readouterr()
    no_password_in(str(created) + listed.text + out.out + out.err, password_of("alice"))


async def test_users_are_listed_by_name(http) -> None:
    for name in ("carol", "alice", "bob"):
        await add_user(http, name)
    names = [u["name"] for u in (await http.get("/api/v1/users")).json()["items"]]
    assert names == ["alice", "bob", "carol"]


@pytest.mark.parametrize(
    ("body", "field", "says"),
    [
        ({"name": "x y", "role": "viewer", "password": PASSWORD}, "name", "regex"),
        ({"name": "", "role": "viewer", "password": PASSWORD}, "name", "regex"),
        ({"name": "-dash", "role": "viewer", "password": PASSWORD}, "name", "regex"),
        ({"name": "a" * 65, "role": "viewer", "password": PASSWORD}, "name", "regex"),
        ({"name": "dan", "role": "root", "password": PASSWORD}, "role", "viewer, editor, admin"),
        ({"name": "dan", "role": "viewer", "password": "short"}, "password", "12"),
        ({"name": "dan", "role": "viewer", "password": " " * 20}, "password", "spaces"),
        ({"name": "dan", "role": "viewer", "password": "x" * 1025}, "password", "1024"),
        ({"name": "dan", "role": "viewer"}, "password", "required"),
        ({"name": "dan", "role": "viewer", "password": PASSWORD, "admin": True}, "admin", "known"),
    ],
    ids=[
        "name-space",
        "name-empty",
        "name-leading-dash",
        "name-too-long",
        "role-unknown",
        "password-short",
        "password-spaces",
        "password-too-long",
        "password-missing",
        "unknown-field",
    ],
)
async def test_create_names_the_field_it_refuses(http, capsys, body, field, says) -> None:
    resp = await http.post("/api/v1/users", json=body)
    assert resp.status_code == 400, resp.text
    [error] = resp.json()["errors"]
    assert error["field"] == field
    assert says in error["message"]
    assert (await http.get("/api/v1/users")).json()["items"] == []
    if len(body.get("password", "")) >= 12 and body["password"].strip():
        out = capsys.readouterr()
        no_password_in(resp.text + out.out + out.err, body["password"])


async def test_a_name_is_taken_once(http) -> None:
    await add_user(http, "alice")
    resp = await http.post(
        "/api/v1/users", json={"name": "alice", "role": "admin", "password": PASSWORD}
    )
    assert resp.status_code == 409, resp.text
    assert resp.json()["errors"] == [
        {"field": "name", "message": "a user named 'alice' already exists"}
    ]
    [alice] = (await http.get("/api/v1/users")).json()["items"]
    assert alice["role"] == "viewer"


async def test_role_change_applies_at_once(http, live, anon) -> None:
    await add_user(http, "bob", "editor")
    async with session(live, "bob") as bob:
        made = await bob.post("/api/v1/channels", json=CHANNEL)
        assert made.status_code == 201, made.text
        resp = await http.patch("/api/v1/users/bob", json={"role": "viewer"})
        assert resp.status_code == 200, resp.text
        assert (resp.json()["role"], resp.json()["scopes"]) == ("viewer", ["read"])
        # The session stays, with the lower role: writes are refused, reads still work.
        refused = await bob.delete(f"/api/v1/channels/{made.json()['id']}")
        assert refused.status_code == 403, refused.text
        assert "`write`" in refused.json()["detail"]
        assert (await bob.get("/api/v1/channels")).status_code == 200


CHANNEL = {"name": "hook", "kind": "webhook", "config": {"url": "http://127.0.0.1:9/hook"}}


async def test_new_password_ends_sessions(http, live, anon, capsys) -> None:
    await add_user(http, "carol", "viewer")
    new = "a brand new passphrase 42"
    async with session(live, "carol") as carol:
        assert (await carol.get("/api/v1/targets")).status_code == 200
        resp = await http.patch("/api/v1/users/carol", json={"password": new})
        assert resp.status_code == 200, resp.text
        assert resp.json()["role"] == "viewer"
        gone = await carol.get("/api/v1/targets")
        assert gone.status_code == 401, gone.text
    assert await login_status(anon, "carol", password_of("carol")) == 401
    assert await login_status(anon, "carol", new) == 200
    out = capsys.readouterr()
    no_password_in(resp.text + out.out + out.err, new, password_of("carol"))


async def test_patch_role_and_password_together(http, live, anon) -> None:
    await add_user(http, "dave", "viewer")
    new = "dave's second passphrase"
    resp = await http.patch("/api/v1/users/dave", json={"role": "admin", "password": new})
    assert resp.status_code == 200, resp.text
    assert resp.json()["role"] == "admin"
    async with session(live, "dave", new) as dave:
        assert (await dave.get("/api/v1/users")).status_code == 200


async def test_empty_patch_changes_nothing(http) -> None:
    before = await add_user(http, "erin")
    resp = await http.patch("/api/v1/users/erin", json={})
    assert resp.status_code == 200, resp.text
    assert resp.json() == before


@pytest.mark.parametrize(
    ("body", "field"),
    [({"role": "owner"}, "role"), ({"password": "short"}, "password"), ({"name": "x"}, "name")],
    ids=["role", "password", "name-is-not-changeable"],
)
async def test_patch_names_the_field_it_refuses(http, anon, body, field) -> None:
    await add_user(http, "frank", "editor")
    resp = await http.patch("/api/v1/users/frank", json=body)
    assert resp.status_code == 400, resp.text
    assert [e["field"] for e in resp.json()["errors"]] == [field]
    [frank] = (await http.get("/api/v1/users")).json()["items"]
    assert frank["role"] == "editor"
    assert await login_status(anon, "frank", password_of("frank")) == 200


@pytest.mark.parametrize("method", ["PATCH", "DELETE"])
async def test_unknown_user_is_404(http, method) -> None:
    resp = await http.request(method, "/api/v1/users/nobody", json={"role": "viewer"})
    assert resp.status_code == 404, resp.text
    assert resp.json()["detail"] == "user 'nobody' does not exist"


async def test_delete_takes_sessions_and_tokens_along(http, live, anon, db) -> None:
    await add_user(http, "gina", "admin")
    await add_user(http, "keeper", "admin")
    async with session(live, "gina") as gina:
        made = await gina.post("/api/v1/tokens", json={"name": "gina-ci", "scope": "read"})
        assert made.status_code == 201, made.text
        token = made.json()["token"]
        resp = await http.delete("/api/v1/users/gina")
        assert resp.status_code == 204, resp.text
        assert (await gina.get("/api/v1/targets")).status_code == 401
    refused = await http.get("/api/v1/targets", headers={"Authorization": f"Bearer {token}"})
    assert refused.status_code == 401
    assert await db.fetchval("SELECT count(*) FROM api_tokens WHERE name = 'gina-ci'") == 0
    assert [u["name"] for u in (await http.get("/api/v1/users")).json()["items"]] == ["keeper"]


async def test_the_last_admin_stays(http) -> None:
    await add_user(http, "root", "admin")
    await add_user(http, "viewer1", "viewer")
    demote = await http.patch("/api/v1/users/root", json={"role": "editor"})
    assert demote.status_code == 409, demote.text
    assert "last admin" in demote.json()["detail"]
    assert demote.json()["errors"][0]["field"] == "role"
    delete = await http.delete("/api/v1/users/root")
    assert delete.status_code == 409, delete.text
    assert "last admin" in delete.json()["detail"]
    # Other users, and the last admin's own password, can still change.
    assert (await http.delete("/api/v1/users/viewer1")).status_code == 204
    assert (await http.patch("/api/v1/users/root", json={"role": "admin"})).status_code == 200
    renewed = await http.patch("/api/v1/users/root", json={"password": "a fresh passphrase"})
    assert renewed.status_code == 200

    await add_user(http, "root2", "admin")
    assert (await http.patch("/api/v1/users/root", json={"role": "viewer"})).status_code == 200
    assert (await http.delete("/api/v1/users/root2")).status_code == 409


async def test_two_admins_demoted_at_once_leave_one(http, db) -> None:
    """Each request alone would be allowed; together they would leave no admin."""
    for _ in range(5):
        await add_user(http, "ann", "admin")
        await add_user(http, "ben", "admin")
        answers = await asyncio.gather(
            http.patch("/api/v1/users/ann", json={"role": "viewer"}),
            http.delete("/api/v1/users/ben"),
        )
        assert sorted(a.status_code for a in answers) in ([200, 409], [204, 409]), [
            a.text for a in answers
        ]
        admins = [
            u["name"]
            for u in (await http.get("/api/v1/users")).json()["items"]
            if u["role"] == "admin"
        ]
        assert len(admins) == 1
        await db.execute("DELETE FROM users")


async def test_only_admins_reach_users(http, tokens, anon) -> None:
    await add_user(http, "hank")
    for scope in ("read", "write"):
        auth = {"Authorization": f"Bearer {tokens[scope]}"}
        resp = await anon.get("/api/v1/users", headers=auth)
        assert resp.status_code == 403, resp.text
        assert "`admin`" in resp.json()["detail"]
        resp = await anon.delete("/api/v1/users/hank", headers=auth)
        assert resp.status_code == 403, resp.text
    assert (await anon.get("/api/v1/users")).status_code == 401
    assert [u["name"] for u in (await http.get("/api/v1/users")).json()["items"]] == ["hank"]
