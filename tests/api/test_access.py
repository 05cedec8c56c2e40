"""Who may call what: every route of the app, called without credentials, with each scope, and
with an expired and a revoked token, answers as the table below says.

A route that is added without an entry here fails `test_every_route_has_an_entry`: deciding who
may call it is part of adding it.
"""

from __future__ import annotations

import datetime as dt

import httpx
import pytest
from litestar import Litestar

from ..support import bearer, mint_token

PUBLIC, READ, WRITE, ADMIN = "public", "read", "write", "admin"

# (method, route path as Litestar spells it) -> what the caller needs.
ACCESS: dict[tuple[str, str], str] = {
    # open: probes, the login page and its assets, push URLs (the URL is the secret)
    ("GET", "/healthz"): PUBLIC,
    ("GET", "/readyz"): PUBLIC,
    ("POST", "/api/v1/auth/login"): PUBLIC,
    ("GET", "/api/v1/push/{token:str}"): PUBLIC,
    ("POST", "/api/v1/push/{token:str}"): PUBLIC,
    ("GET", "/"): PUBLIC,
    ("GET", "/login"): PUBLIC,
    ("GET", "/targets/new"): PUBLIC,
    ("GET", "/targets/{target_id:int}"): PUBLIC,
    ("GET", "/targets/{target_id:int}/edit"): PUBLIC,
    ("GET", "/notifications"): PUBLIC,
    ("GET", "/maintenance"): PUBLIC,
    ("GET", "/status-pages"): PUBLIC,
    ("GET", "/audit"): PUBLIC,
    ("GET", "/access"): PUBLIC,
    ("GET", "/ui/{asset_path:path}"): PUBLIC,
    ("GET", "/favicon.ico"): PUBLIC,
    # public status pages, their feeds and assets, and badges of targets on them
    ("GET", "/status/{slug:str}"): PUBLIC,
    ("GET", "/status/{slug:str}/feed.atom"): PUBLIC,
    ("GET", "/status-assets/{name:str}"): PUBLIC,
    ("GET", "/badge/{target_id:int}/status.svg"): PUBLIC,
    ("GET", "/badge/{target_id:int}/uptime.svg"): PUBLIC,
    ("GET", "/badge/{target_id:int}/latency.svg"): PUBLIC,
    # read: every GET, the event stream, metrics, the API's own description
    ("GET", "/metrics"): READ,
    ("GET", "/schema"): READ,
    ("GET", "/schema/openapi.json"): READ,
    ("GET", "/schema/swagger"): READ,
    ("GET", "/schema/oauth2-redirect.html"): READ,
    ("GET", "/schema/{path:str}"): READ,
    ("GET", "/api/v1/auth/me"): READ,
    ("POST", "/api/v1/auth/logout"): READ,
    ("GET", "/api/v1/events"): READ,
    ("GET", "/api/v1/summary"): READ,
    ("GET", "/api/v1/incidents"): READ,
    ("GET", "/api/v1/targets"): READ,
    ("GET", "/api/v1/targets/{target_id:int}"): READ,
    ("GET", "/api/v1/targets/{target_id:int}/checks"): READ,
    ("GET", "/api/v1/targets/{target_id:int}/incidents"): READ,
    ("GET", "/api/v1/targets/{target_id:int}/latency"): READ,
    ("GET", "/api/v1/targets/{target_id:int}/uptime"): READ,
    ("GET", "/api/v1/targets/{target_id:int}/uptime/daily"): READ,
    ("GET", "/api/v1/channels"): READ,
    ("GET", "/api/v1/channels/{channel_id:int}"): READ,
    ("GET", "/api/v1/routes"): READ,
    ("GET", "/api/v1/routes/{route_id:int}"): READ,
    ("GET", "/api/v1/deliveries"): READ,
    ("GET", "/api/v1/deliveries/{delivery_id:int}"): READ,
    ("GET", "/api/v1/status-pages"): READ,
    ("GET", "/api/v1/status-pages/{page_id:int}"): READ,
    ("GET", "/api/v1/incidents/{incident_id:int}/updates"): READ,
    ("GET", "/api/v1/maintenance"): READ,
    ("GET", "/api/v1/maintenance/{window_id:int}"): READ,
    ("GET", "/api/v1/maintenance/{window_id:int}/occurrences"): READ,
    # write: targets, channels, routes, deliveries, apply
    ("POST", "/api/v1/apply"): WRITE,
    ("POST", "/api/v1/targets"): WRITE,
    ("PUT", "/api/v1/targets/{target_id:int}"): WRITE,
    ("PATCH", "/api/v1/targets/{target_id:int}"): WRITE,
    ("DELETE", "/api/v1/targets/{target_id:int}"): WRITE,
    ("POST", "/api/v1/targets/{target_id:int}/pause"): WRITE,
    ("POST", "/api/v1/targets/{target_id:int}/resume"): WRITE,
    ("POST", "/api/v1/targets/{target_id:int}/push-token"): WRITE,
    ("POST", "/api/v1/channels"): WRITE,
    ("PUT", "/api/v1/channels/{channel_id:int}"): WRITE,
    ("PATCH", "/api/v1/channels/{channel_id:int}"): WRITE,
    ("DELETE", "/api/v1/channels/{channel_id:int}"): WRITE,
    ("POST", "/api/v1/channels/{channel_id:int}/test"): WRITE,
    ("POST", "/api/v1/routes"): WRITE,
    ("PUT", "/api/v1/routes/{route_id:int}"): WRITE,
    ("PATCH", "/api/v1/routes/{route_id:int}"): WRITE,
    ("DELETE", "/api/v1/routes/{route_id:int}"): WRITE,
    ("POST", "/api/v1/deliveries/{delivery_id:int}/retry"): WRITE,
    ("POST", "/api/v1/status-pages"): WRITE,
    ("PUT", "/api/v1/status-pages/{page_id:int}"): WRITE,
    ("DELETE", "/api/v1/status-pages/{page_id:int}"): WRITE,
    ("POST", "/api/v1/incidents/{incident_id:int}/updates"): WRITE,
    ("DELETE", "/api/v1/incidents/{incident_id:int}/updates/{update_id:int}"): WRITE,
    ("POST", "/api/v1/maintenance"): WRITE,
    ("PUT", "/api/v1/maintenance/{window_id:int}"): WRITE,
    ("DELETE", "/api/v1/maintenance/{window_id:int}"): WRITE,
    ("POST", "/api/v1/maintenance/{window_id:int}/end"): WRITE,
    # admin: users, tokens, the audit log
    ("GET", "/api/v1/tokens"): ADMIN,
    ("POST", "/api/v1/tokens"): ADMIN,
    ("DELETE", "/api/v1/tokens/{token_id:int}"): ADMIN,
    ("GET", "/api/v1/users"): ADMIN,
    ("POST", "/api/v1/users"): ADMIN,
    ("PATCH", "/api/v1/users/{name:str}"): ADMIN,
    ("DELETE", "/api/v1/users/{name:str}"): ADMIN,
    ("GET", "/api/v1/audit"): ADMIN,
}

# Values for path parameters: nothing by these ids or names exists, so a call that is let in
# ends in a 404 or a 400 and changes nothing.
SAMPLES = {
    "{target_id:int}": "987654321",
    "{channel_id:int}": "987654321",
    "{route_id:int}": "987654321",
    "{delivery_id:int}": "987654321",
    "{page_id:int}": "987654321",
    "{incident_id:int}": "987654321",
    "{update_id:int}": "987654321",
    "{slug:str}": "no-such-page",
    "{window_id:int}": "987654321",
    "{token_id:int}": "987654321",
    "{name:str}": "nobody-here",
    "{token:str}": "0" * 64,
    "{path:str}": "openapi.yaml",
    "{asset_path:path}": "style.css",
}
RANK = {PUBLIC: -1, READ: 0, WRITE: 1, ADMIN: 2}


def app_routes(app: Litestar) -> set[tuple[str, str]]:
    found = set()
    for route in app.routes:
        for handler in getattr(route, "route_handlers", []):
            for method in handler.http_methods:
                if method not in ("HEAD", "OPTIONS"):
                    found.add((method, route.path))
    return found


def concrete(path: str) -> str:
    for placeholder, value in SAMPLES.items():
        path = path.replace(placeholder, value)
    assert "{" not in path, f"add a sample value for the parameter in {path}"
    return path


@pytest.fixture(scope="module")
async def credentials(module_db_url: str, module_tokens: dict[str, str]) -> dict[str, str | None]:
    past = dt.datetime.now(dt.UTC) - dt.timedelta(minutes=1)
    expired = await mint_token(module_db_url, "admin", expires_at=past)
    revoked = await mint_token(module_db_url, "admin", name="access-revoked")
    from vigil_core import accounts
    from vigil_core.db import connect

    conn = await connect(module_db_url)
    try:
        assert await accounts.revoke_token(conn, "access-revoked")
    finally:
        await conn.close()
    return {"none": None, **module_tokens, "expired": expired, "revoked": revoked}


def test_every_route_has_an_entry(app: Litestar) -> None:
    routes = app_routes(app)
    missing = sorted(routes - ACCESS.keys())
    assert not missing, f"routes without an access entry in {__name__}.ACCESS: {missing}"
    stale = sorted(ACCESS.keys() - routes)
    assert not stale, f"entries for routes that no longer exist: {stale}"


async def call(client: httpx.AsyncClient, method: str, path: str, token: str | None) -> tuple:
    headers = bearer(token) if token else {}
    kwargs: dict = {"headers": headers}
    if method in ("POST", "PUT", "PATCH"):
        kwargs["json"] = {}
    # The event stream never ends: read the status line and leave.
    async with client.stream(method, concrete(path), **kwargs) as resp:
        return resp.status_code, dict(resp.headers), (await _body(resp, path))


async def _body(resp, path: str) -> bytes:
    if path == "/api/v1/events" and resp.status_code == 200:
        return b""
    return await resp.aread()


@pytest.mark.parametrize(
    "who", ["none", "read", "write", "admin", "expired", "revoked"], ids=lambda w: f"as-{w}"
)
@pytest.mark.parametrize(
    ("method", "path"), sorted(ACCESS), ids=[f"{m} {p}" for m, p in sorted(ACCESS)]
)
async def test_access(live, credentials, method: str, path: str, who: str) -> None:
    need = ACCESS[(method, path)]
    # A real server: the in-process client would wait for the event stream to end.
    async with httpx.AsyncClient(base_url=live.url, timeout=30) as http:
        status, headers, body = await call(http, method, path, credentials[who])
    if need == PUBLIC:
        assert status not in (401, 403), (status, body)
        return
    if who in ("none", "expired", "revoked"):
        assert status == 401, (status, body)
        assert headers.get("www-authenticate", "").startswith("Bearer"), headers
        assert headers["content-type"].startswith("application/problem+json")
        if who != "none":
            assert who.encode() in body, body  # "... was revoked" / "... expired at ..."
        return
    if RANK[who] < RANK[need]:
        assert status == 403, (status, body)
        assert f"`{need}` scope".encode() in body, body
        return
    assert status not in (401, 403, 500), (status, body)
