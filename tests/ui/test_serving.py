"""The API serves every UI asset itself, with a CSP that forbids inline script, and the UI's
source never turns text into HTML."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator

import pytest
from litestar.testing import AsyncTestClient

from vigil_api.app import create_app
from vigil_api.ui.controller import ASSETS
from vigil_core.settings import Settings

from ..support import TEST_SECRET_KEY


@pytest.fixture
async def client(db_url: str) -> AsyncIterator[AsyncTestClient]:
    settings = Settings(database_url=db_url, secret_key=TEST_SECRET_KEY)
    async with AsyncTestClient(app=create_app(settings), base_url="http://127.0.0.1") as c:
        yield c


@pytest.mark.parametrize(
    ("path", "media"),
    [
        ("/", "text/html"),
        ("/targets/new", "text/html"),
        ("/targets/42", "text/html"),
        ("/targets/42/edit", "text/html"),
        ("/notifications", "text/html"),
        ("/maintenance", "text/html"),
        ("/status-pages", "text/html"),
        ("/login", "text/html"),
        ("/audit", "text/html"),
        ("/access", "text/html"),
        ("/ui/js/app.js", "text/javascript"),
        ("/ui/style.css", "text/css"),
        ("/ui/favicon.svg", "image/svg+xml"),
        ("/favicon.ico", "image/svg+xml"),
    ],
    ids=[
        "dashboard",
        "new",
        "target",
        "edit",
        "notifications",
        "maintenance",
        "status-pages",
        "login",
        "audit",
        "access",
        "module",
        "css",
        "icon",
        "favicon",
    ],
)
async def test_ui_routes_serve_with_csp(client: AsyncTestClient, path: str, media: str) -> None:
    resp = await client.get(path)
    assert resp.status_code == 200
    assert resp.headers["content-type"].startswith(media)
    csp = resp.headers["content-security-policy"]
    assert "script-src 'self'" in csp and "unsafe-inline" not in csp and "default-src 'none'" in csp
    assert resp.headers["x-content-type-options"] == "nosniff"


@pytest.mark.parametrize(
    "path",
    ["/ui/nope.js", "/ui/../app.py", "/ui/%2e%2e/controller.py", "/ui/index.html", "/targets/abc"],
    ids=["missing", "dotdot", "encoded-dotdot", "shell-under-ui", "non-numeric-id"],
)
async def test_unknown_ui_paths_are_404(client: AsyncTestClient, path: str) -> None:
    assert (await client.get(path)).status_code == 404


async def test_assets_revalidate_with_etag(client: AsyncTestClient) -> None:
    first = await client.get("/ui/js/app.js")
    again = await client.get("/ui/js/app.js", headers={"if-none-match": first.headers["etag"]})
    assert again.status_code == 304 and again.content == b""


def test_every_module_import_resolves_to_a_served_asset() -> None:
    for name, asset in ASSETS.items():
        if not name.endswith(".js"):
            continue
        for target in re.findall(r'^import .* from "\./([^"]+)";$', asset.body.decode(), re.M):
            assert f"js/{target}" in ASSETS, f"{name} imports ./{target}, which is not served"
    html = ASSETS["index.html"].body.decode()
    for ref in re.findall(r'(?:src|href)="/ui/([^"]+)"', html):
        assert ref in ASSETS, f"index.html references /ui/{ref}, which is not served"


def test_no_inline_script_style_or_html_parsing() -> None:
    html = ASSETS["index.html"].body.decode()
    assert re.findall(r"<script(?![^>]*\bsrc=)[^>]*>", html) == [], "inline <script> in index.html"
    assert not re.search(r"\son[a-z]+\s*=", html), "inline event handler in index.html"
    assert not re.search(r"\sstyle\s*=", html), "inline style attribute in index.html"
    sinks = re.compile(
        r"innerHTML|outerHTML|insertAdjacentHTML|document\.write|\beval\(|new Function|\.style\s*="
    )
    for name, asset in ASSETS.items():
        if name.endswith(".js"):
            found = sinks.findall(asset.body.decode())
            assert not found, f"{name} uses {found}: user text must never be parsed as HTML"
