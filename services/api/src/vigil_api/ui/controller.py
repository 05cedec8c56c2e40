"""Serves the web UI: the HTML shell for each client-side route and the static assets under /ui/.

The UI is plain JS modules and SVG with no build step. Every asset ships inside the vigil-api
wheel and is read into memory once, so serving needs no file system access per request and no
path from a request ever reaches the file system.

Everything here is public: the shell and the assets hold no data (the page reads it from the
API with the session cookie, and goes to /login when it has none), and the login page must load
before anyone has logged in. The Host check still applies (DNS rebinding).
"""

from __future__ import annotations

import hashlib
import mimetypes
from dataclasses import dataclass
from importlib import resources
from importlib.resources.abc import Traversable

from litestar import Controller, Request, Response, get
from litestar.exceptions import NotFoundException
from litestar.params import FromPath

# No inline script, no inline style, nothing from another origin: user text can never run.
CONTENT_SECURITY_POLICY = "; ".join(
    [
        "default-src 'none'",
        "script-src 'self'",
        "style-src 'self'",
        "img-src 'self' data:",
        "connect-src 'self'",
        "manifest-src 'self'",
        "base-uri 'none'",
        "form-action 'self'",
        "frame-ancestors 'none'",
    ]
)

SECURITY_HEADERS = {
    "content-security-policy": CONTENT_SECURITY_POLICY,
    "x-content-type-options": "nosniff",
    "referrer-policy": "no-referrer",
    "x-frame-options": "DENY",
    # Revalidate every time (cheap: ETag); a new release is picked up on the next load.
    "cache-control": "no-cache",
}

MEDIA_TYPES = {
    ".js": "text/javascript; charset=utf-8",
    ".css": "text/css; charset=utf-8",
    ".html": "text/html; charset=utf-8",
    ".svg": "image/svg+xml",
    ".json": "application/json",
}


@dataclass(frozen=True, slots=True)
class Asset:
    body: bytes
    media_type: str
    etag: str


def _load_assets() -> dict[str, Asset]:
    """Every file under static/, keyed by its path relative to static/ (for example `js/app.js`)."""
    assets: dict[str, Asset] = {}
    root = resources.files(__package__).joinpath("static")

    def walk(node: Traversable, prefix: str) -> None:
        for child in node.iterdir():
            name = f"{prefix}{child.name}"
            if child.is_dir():
                walk(child, name + "/")
                continue
            body = child.read_bytes()
            suffix = "." + child.name.rsplit(".", 1)[-1] if "." in child.name else ""
            media = (
                MEDIA_TYPES.get(suffix)
                or mimetypes.guess_type(child.name)[0]
                or "application/octet-stream"
            )
            etag = '"' + hashlib.sha256(body).hexdigest()[:20] + '"'
            assets[name] = Asset(body, media, etag)

    walk(root, "")
    return assets


ASSETS = _load_assets()


def _serve(request: Request, asset: Asset) -> Response:
    headers = {**SECURITY_HEADERS, "etag": asset.etag}
    if request.headers.get("if-none-match") == asset.etag:
        return Response(content=b"", status_code=304, headers=headers)
    return Response(content=asset.body, media_type=asset.media_type, headers=headers)


def _shell(request: Request) -> Response:
    return _serve(request, ASSETS["index.html"])


class UIController(Controller):
    """The dashboard, target pages and forms, the notifications, maintenance and status-pages
    pages, the admins' audit and access pages, and the login page. Routing happens in the browser (History API)."""

    path = "/"
    include_in_schema = False
    opt = {"access": "public"}

    @get("/", operation_id="uiDashboard")
    async def dashboard(self, request: Request) -> Response:
        return _shell(request)

    @get("/targets/new", operation_id="uiNewTarget")
    async def new_target(self, request: Request) -> Response:
        return _shell(request)

    @get("/targets/{target_id:int}", operation_id="uiTarget")
    async def target(self, request: Request, target_id: FromPath[int]) -> Response:
        return _shell(request)

    @get("/targets/{target_id:int}/edit", operation_id="uiEditTarget")
    async def edit_target(self, request: Request, target_id: FromPath[int]) -> Response:
        return _shell(request)

    @get("/notifications", operation_id="uiNotifications")
    async def notifications(self, request: Request) -> Response:
        return _shell(request)

    @get("/maintenance", operation_id="uiMaintenance")
    async def maintenance(self, request: Request) -> Response:
        return _shell(request)

    @get("/status-pages", operation_id="uiStatusPages")
    async def status_pages(self, request: Request) -> Response:
        return _shell(request)

    @get("/audit", operation_id="uiAudit")
    async def audit(self, request: Request) -> Response:
        return _shell(request)

    @get("/access", operation_id="uiAccess")
    async def access(self, request: Request) -> Response:
        return _shell(request)

    @get("/login", operation_id="uiLogin")
    async def login(self, request: Request) -> Response:
        return _shell(request)

    @get("/ui/{asset_path:path}", operation_id="uiAsset")
    async def asset(self, request: Request, asset_path: FromPath[str]) -> Response:
        asset = ASSETS.get(asset_path.lstrip("/"))
        if asset is None or asset_path.endswith("index.html"):
            raise NotFoundException(f"no UI asset named {asset_path!r}")
        return _serve(request, asset)

    @get("/favicon.ico", operation_id="uiFavicon")
    async def favicon(self, request: Request) -> Response:
        return _serve(request, ASSETS["favicon.svg"])
