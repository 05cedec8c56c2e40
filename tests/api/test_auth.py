"""Authentication end to end through the real app: tokens, sessions, CSRF, the Host check, JSON
only for unsafe requests, login rate limits, revocation across replicas, and the audit context."""

from __future__ import annotations

import asyncio
import datetime as dt
import time

import httpx
import pytest
from litestar.testing import AsyncTestClient

from vigil_core import accounts, tokens
from vigil_core.db import connect

from ..support import TEST_KEYRING, bearer, mint_token
from .conftest import HTTP_TARGET, LiveServer, make_app

PASSWORD = "correct horse battery staple"


@pytest.fixture
async def browser(module_client: AsyncTestClient, db_url: str) -> httpx.AsyncClient:
    """A client with its own cookie jar and no token, on the module's app: a browser."""
    return httpx.AsyncClient(transport=module_client._transport, base_url="http://127.0.0.1")


@pytest.fixture
async def user(db_url: str) -> str:
    conn = await connect(db_url)
    try:
        await conn.execute("DELETE FROM users; DELETE FROM login_failures")
        await accounts.create_user(conn, "alice", "editor", PASSWORD)
    finally:
        await conn.close()
    return "alice"


async def login(client: httpx.AsyncClient, name: str, password: str = PASSWORD, **headers: str):
    return await client.post(
        "/api/v1/auth/login", json={"username": name, "password": password}, headers=headers
    )


# -- tokens ------------------------------------------------------------------------------------


async def test_no_credentials_is_401_with_a_problem_and_bearer_challenge(anon_client) -> None:
    resp = await anon_client.get("/api/v1/targets")
    assert resp.status_code == 401
    assert resp.headers["www-authenticate"].startswith("Bearer")
    assert resp.headers["content-type"] == "application/problem+json"
    assert "vigil token create" in resp.json()["detail"]


@pytest.mark.parametrize(
    ("header", "says"),
    [
        ("Basic dXNlcjpwYXNz", "Bearer"),
        ("Bearer ", "Bearer"),
        ("Bearer vgl_short", "malformed"),
        ("Bearer " + tokens.generate()[:-1] + "x", "malformed"),  # a typo: the checksum fails
        ("Bearer " + tokens.generate(), "unknown"),  # well formed, never issued
    ],
    ids=["basic", "empty", "short", "checksum", "unknown"],
)
async def test_bad_tokens_are_refused_with_the_reason(anon_client, header, says) -> None:
    resp = await anon_client.get("/api/v1/targets", headers={"Authorization": header})
    assert resp.status_code == 401
    assert says in resp.json()["detail"]


async def test_a_token_in_the_query_string_is_not_accepted(anon_client, tokens) -> None:
    for name in ("token", "access_token", "api_key"):
        resp = await anon_client.get(f"/api/v1/targets?{name}={tokens['admin']}")
        assert resp.status_code == 401, name


async def test_a_scope_too_small_is_403_naming_the_scope(anon_client, tokens) -> None:
    resp = await anon_client.post(
        "/api/v1/targets", json=HTTP_TARGET, headers=bearer(tokens["read"])
    )
    assert resp.status_code == 403
    assert "`write` scope" in resp.json()["detail"]
    resp = await anon_client.get("/api/v1/audit", headers=bearer(tokens["write"]))
    assert resp.status_code == 403
    assert "`admin` scope" in resp.json()["detail"]


async def test_revoking_a_token_takes_effect_at_once(anon_client, db_url) -> None:
    token = await mint_token(db_url, "read", name="soon-revoked")
    assert (await anon_client.get("/api/v1/targets", headers=bearer(token))).status_code == 200
    conn = await connect(db_url)
    try:
        assert await accounts.revoke_token(conn, "soon-revoked")
    finally:
        await conn.close()
    # The app's cache is dropped by the NOTIFY the revocation sends.
    async with asyncio.timeout(5):
        while (await anon_client.get("/api/v1/targets", headers=bearer(token))).status_code != 401:
            await asyncio.sleep(0.05)
    resp = await anon_client.get("/api/v1/targets", headers=bearer(token))
    assert "revoked" in resp.json()["detail"]


async def test_a_revocation_reaches_another_replica(db_url) -> None:
    """Two API processes' worth of apps on one database: revoking through one is heard by the
    other's LISTEN, so the other stops accepting the token without waiting for its cache."""
    admin = await mint_token(db_url, "admin")
    victim = await mint_token(db_url, "read", name="cross-replica")
    async with (
        LiveServer(make_app(db_url)) as a,
        LiveServer(make_app(db_url)) as b,
        httpx.AsyncClient(timeout=10) as http,
    ):
        assert (
            await http.get(f"{b.url}/api/v1/targets", headers=bearer(victim))
        ).status_code == 200
        listed = await http.get(f"{a.url}/api/v1/tokens", headers=bearer(admin))
        token_id = next(t["id"] for t in listed.json()["items"] if t["name"] == "cross-replica")
        started = time.monotonic()
        resp = await http.delete(f"{a.url}/api/v1/tokens/{token_id}", headers=bearer(admin))
        assert resp.status_code == 204, resp.text
        async with asyncio.timeout(5):
            while (
                await http.get(f"{b.url}/api/v1/targets", headers=bearer(victim))
            ).status_code != 401:
                await asyncio.sleep(0.02)
        # well inside the cache's 30 s: it was the NOTIFY, not the expiry
        assert time.monotonic() - started < 5


async def test_an_expired_token_is_refused(anon_client, db_url) -> None:
    past = dt.datetime.now(dt.UTC) - dt.timedelta(seconds=1)
    token = await mint_token(db_url, "read", expires_at=past)
    resp = await anon_client.get("/api/v1/targets", headers=bearer(token))
    assert resp.status_code == 401
    assert "expired" in resp.json()["detail"]


async def test_a_token_never_does_more_than_its_maker_can_now(anon_client, db_url, user) -> None:
    conn = await connect(db_url)
    try:
        alice = await accounts.get_user(conn, user)
        token, _ = await accounts.create_token(
            conn,
            TEST_KEYRING,
            name="alice-admin",
            scope="admin",
            expires_at=None,
            created_by="user:alice",
            created_by_user_id=alice["id"],
        )
    finally:
        await conn.close()
    me = (await anon_client.get("/api/v1/auth/me", headers=bearer(token))).json()
    assert me["scope"] == "write"  # alice is an editor
    assert (await anon_client.get("/api/v1/audit", headers=bearer(token))).status_code == 403


# -- sessions and CSRF -------------------------------------------------------------------------


async def test_login_sets_a_safe_cookie_and_me_gives_the_csrf_token(browser, user) -> None:
    resp = await login(browser, user)
    assert resp.status_code == 200, resp.text
    cookie = resp.headers["set-cookie"]
    assert cookie.startswith("vigil_session=")
    for flag in ("HttpOnly", "SameSite=Lax", "Path=/"):
        assert flag.lower() in cookie.lower(), cookie
    assert "secure" not in cookie.lower()  # plain http on loopback
    me = (await browser.get("/api/v1/auth/me")).json()
    assert me["kind"] == "user" and me["name"] == "alice" and me["role"] == "editor"
    assert me["scopes"] == ["read", "write"]
    assert me["csrf_token"] == resp.json()["csrf_token"]


async def test_over_https_the_cookie_is_secure_and_host_prefixed(module_client, user) -> None:
    https = httpx.AsyncClient(transport=module_client._transport, base_url="https://localhost")
    resp = await login(https, user)
    assert resp.status_code == 200, resp.text
    cookie = resp.headers["set-cookie"]
    assert cookie.startswith("__Host-vigil_session=") and "secure" in cookie.lower()


async def test_a_cookie_write_needs_the_csrf_token_and_the_same_origin(browser, user) -> None:
    csrf = (await login(browser, user)).json()["csrf_token"]
    same = {"origin": "http://127.0.0.1"}
    cases = [
        ({**same}, 403, "CSRF"),  # no token
        ({**same, "x-csrf-token": "forged"}, 403, "CSRF"),
        ({"x-csrf-token": csrf}, 403, "Cross-site"),  # neither Origin nor Sec-Fetch-Site
        ({"x-csrf-token": csrf, "origin": "http://evil.example"}, 403, "Cross-site"),
        ({"x-csrf-token": csrf, "sec-fetch-site": "cross-site"}, 403, "Cross-site"),
        ({"x-csrf-token": csrf, "sec-fetch-site": "same-site"}, 403, "Cross-site"),
    ]
    for headers, status, title in cases:
        resp = await browser.post("/api/v1/targets", json=HTTP_TARGET, headers=headers)
        assert resp.status_code == status, (headers, resp.text)
        assert title in resp.json()["title"], (headers, resp.text)
    resp = await browser.post(
        "/api/v1/targets", json=HTTP_TARGET, headers={"x-csrf-token": csrf, **same}
    )
    assert resp.status_code == 201, resp.text
    resp = await browser.delete(
        f"/api/v1/targets/{resp.json()['id']}",
        headers={"x-csrf-token": csrf, "sec-fetch-site": "same-origin"},
    )
    assert resp.status_code == 204, resp.text


async def test_a_bearer_request_needs_no_csrf_token(anon_client, tokens) -> None:
    resp = await anon_client.post(
        "/api/v1/targets",
        json=HTTP_TARGET,
        headers={**bearer(tokens["write"]), "origin": "http://evil.example"},
    )
    assert resp.status_code == 201, resp.text


async def test_logout_ends_the_session_everywhere(browser, user) -> None:
    csrf = (await login(browser, user)).json()["csrf_token"]
    cookie = browser.cookies.get("vigil_session")
    assert (await browser.get("/api/v1/targets")).status_code == 200
    resp = await browser.post(
        "/api/v1/auth/logout", headers={"x-csrf-token": csrf, "sec-fetch-site": "same-origin"}
    )
    assert resp.status_code == 204
    # A copy of the cookie (another tab, a thief) is refused too.
    thief = httpx.AsyncClient(
        transport=browser._transport,
        base_url="http://127.0.0.1",
        cookies={"vigil_session": cookie},
    )
    resp = await thief.get("/api/v1/targets")
    assert resp.status_code == 401
    assert "logged out" in resp.json()["detail"]


async def test_an_idle_session_ends(app, browser, user, db_url) -> None:
    await login(browser, user)
    conn = await connect(db_url)
    try:
        await conn.execute("UPDATE sessions SET last_seen_at = now() - interval '13 hours'")
    finally:
        await conn.close()
    app.state.authenticator.clear()  # as after the cache's lifetime
    resp = await browser.get("/api/v1/targets")
    assert resp.status_code == 401
    assert "idle" in resp.json()["detail"]


async def test_wrong_passwords_are_rate_limited_and_logged_without_the_password(
    browser, user, capsys
) -> None:
    for _ in range(5):
        resp = await login(browser, user, "not the password at all")
        assert resp.status_code == 401
        assert resp.json()["detail"] == "wrong username or password"
    resp = await login(browser, user)  # even the right password, for now
    assert resp.status_code == 429
    assert 800 < int(resp.headers["retry-after"]) <= 900
    logged = capsys.readouterr()
    assert "auth.login_failed" in logged.out + logged.err
    assert "not the password" not in logged.out + logged.err


async def test_an_unknown_user_gets_the_same_answer(browser, user) -> None:
    resp = await login(browser, "mallory", PASSWORD)
    assert resp.status_code == 401
    assert resp.json()["detail"] == "wrong username or password"


async def test_a_cross_site_login_is_refused(browser, user) -> None:
    resp = await login(browser, user, origin="http://evil.example")
    assert resp.status_code == 403


# -- Host, Content-Type ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("host", "status"),
    [
        ("localhost:8000", 200),
        ("127.0.0.1", 200),
        ("[::1]:8000", 200),
        ("LOCALHOST", 200),
        ("evil.example", 400),
        ("evil.example:8000", 400),
        ("localhost.evil.example", 400),
        ("127.0.0.1.nip.io", 400),
    ],
)
async def test_only_loopback_names_are_answered_by_default(anon_client, tokens, host, status):
    resp = await anon_client.get(
        "/api/v1/targets", headers={**bearer(tokens["read"]), "host": host}
    )
    assert resp.status_code == status, resp.text
    if status == 400:
        assert "VIGIL_API_ALLOWED_HOSTS" in resp.json()["detail"]


async def test_probes_answer_any_host(anon_client) -> None:
    for path in ("/healthz", "/readyz"):
        resp = await anon_client.get(path, headers={"host": "10.1.2.3:8000"})
        assert resp.status_code == 200, path


async def test_a_configured_host_list_is_the_only_one(db_url) -> None:
    token = await mint_token(db_url, "read")
    app = make_app(db_url, {"api_allowed_hosts": "vigil.example.com, *.internal.example"})
    async with AsyncTestClient(app, base_url="http://127.0.0.1") as c:
        for host, status in [
            ("vigil.example.com", 200),
            ("api.internal.example:443", 200),
            ("internal.example", 400),
            ("localhost", 400),
        ]:
            resp = await c.get("/api/v1/targets", headers={**bearer(token), "host": host})
            assert resp.status_code == status, host


@pytest.mark.parametrize(
    "content_type",
    ["text/plain", "application/x-www-form-urlencoded", "multipart/form-data; boundary=x"],
)
async def test_an_unsafe_request_that_is_not_json_is_415(anon_client, tokens, content_type):
    resp = await anon_client.post(
        "/api/v1/apply?prune=true",
        content=b'{"targets": []}',
        headers={**bearer(tokens["admin"]), "content-type": content_type},
    )
    assert resp.status_code == 415
    assert "application/json" in resp.json()["detail"]


async def test_a_push_ping_takes_any_body(client, anon_client) -> None:
    resp = await client.post(
        "/api/v1/targets", json={"name": "job", "kind": "push", "period_s": 3600}
    )
    assert resp.status_code == 201, resp.text
    path = resp.json()["push_url"].split("127.0.0.1", 1)[-1]
    resp = await anon_client.post(
        path, content=b"a=b", headers={"content-type": "application/x-www-form-urlencoded"}
    )
    assert resp.status_code == 200, resp.text


# -- metrics -------------------------------------------------------------------------------------


async def test_metrics_need_a_read_token_unless_public(anon_client, tokens, db_url) -> None:
    assert (await anon_client.get("/metrics")).status_code == 401
    assert (await anon_client.get("/metrics", headers=bearer(tokens["read"]))).status_code == 200
    async with AsyncTestClient(
        make_app(db_url, {"metrics_public": True}), base_url="http://127.0.0.1"
    ) as c:
        assert (await c.get("/metrics")).status_code == 200


async def test_rotating_the_server_key_keeps_tokens_sessions_and_csrf_tokens(
    browser, user, db_url
) -> None:
    """The new key in VIGIL_SECRET_KEY, the old one in VIGIL_SECRET_KEY_PREVIOUS: what was
    issued under the old key keeps working, and a token is re-keyed on its first use."""
    token = await mint_token(db_url, "write")
    csrf = (await login(browser, user)).json()["csrf_token"]
    cookie = browser.cookies.get("vigil_session")
    new_key = "a-brand-new-server-key-0123456789abcdef"
    from ..support import TEST_SECRET_KEY

    rotated = make_app(db_url, {"secret_key": new_key, "secret_key_previous": TEST_SECRET_KEY})
    async with AsyncTestClient(rotated, base_url="http://127.0.0.1") as c:
        assert (await c.get("/api/v1/targets", headers=bearer(token))).status_code == 200
        c.cookies.set("vigil_session", cookie)
        resp = await c.post(
            "/api/v1/targets",
            json=HTTP_TARGET,
            headers={"x-csrf-token": csrf, "sec-fetch-site": "same-origin"},
        )
        assert resp.status_code == 201, resp.text
    # Re-keyed: the new key alone accepts the token now.
    new_only = make_app(db_url, {"secret_key": new_key})
    async with AsyncTestClient(new_only, base_url="http://127.0.0.1") as c:
        assert (await c.get("/api/v1/targets", headers=bearer(token))).status_code == 200


async def test_an_ipv6_pod_ip_in_the_allowed_hosts_matches_its_bracketed_host(db_url) -> None:
    token = await mint_token(db_url, "read")
    app = make_app(db_url, {"api_allowed_hosts": "vigil-api,fd00::7"})
    async with AsyncTestClient(app, base_url="http://127.0.0.1") as c:
        resp = await c.get("/api/v1/targets", headers={**bearer(token), "host": "[fd00::7]:8000"})
        assert resp.status_code == 200, resp.text
