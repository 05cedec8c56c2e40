"""Public handlers, open to anyone (no credentials; the Host check still applies): status pages as
HTML, JSON and Atom, their stylesheet and script, and SVG badges of targets on a page.

Every answer comes from the process's SharedCache: a burst of visitors costs one load and one
render per page (or badge) per TTL, reads only status pages, target_state, roll-ups, incidents
and maintenance, never the checks table, and revalidates with ETags. The page is served under
the UI's Content-Security-Policy, with the logo's origin added to img-src when it has one.
"""

from __future__ import annotations

import asyncio
import hashlib
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from importlib import resources
from typing import Annotated, Any

import asyncpg
import msgspec
from litestar import Controller, HttpMethod, Request, Response, route
from litestar.params import FromPath, QueryParameter

from ..cache import TTL_S, SharedCache
from ..errors import NotFound
from ..params import TargetId
from ..status_pages.service import SLUG, logo_origin
from ..timerange import WINDOWS, ceil_hour, floor_hour, split_days
from ..ui.controller import CONTENT_SECURITY_POLICY, SECURITY_HEADERS
from . import atom, badges, html, page
from .answer import Rendered, rendered, send

PAGE_MAX_AGE_S = int(TTL_S)
# Feed readers and README badges (through image proxies) ask seldom and need no second's news.
FEED_MAX_AGE_S = 60
BADGE_MAX_AGE_S = 60
ASSET_MAX_AGE_S = 86400
BADGE_WINDOW = "^(24h|7d|30d)$"
# Uptime checkers and link checkers ask with HEAD: the same answer without its body.
READ = [HttpMethod.GET, HttpMethod.HEAD]
MAX_RENDERS = 8  # kept per page load: the HTML, the JSON and feeds for a few Host names

_JSON = msgspec.json.Encoder()
_NOSNIFF = {"x-content-type-options": "nosniff"}
_SVG_HEADERS = {**_NOSNIFF, "content-security-policy": "default-src 'none'"}


def _load_assets() -> dict[str, tuple[bytes, str, str]]:
    """status.css and status.js: body, media type and a version for their URLs."""
    root = resources.files(__package__).joinpath("static")
    out = {}
    for name, media in (
        ("status.css", "text/css"),
        ("status.js", "text/javascript"),
    ):
        body = root.joinpath(name).read_bytes()
        out[name] = (body, media, hashlib.sha256(body).hexdigest()[:12])
    return out


ASSETS = _load_assets()
ASSET_URLS = {
    name: f"/status-assets/{name}?v={version}" for name, (_, _, version) in ASSETS.items()
}
_ASSET_ANSWERS = {
    name: rendered(body, media, ASSET_MAX_AGE_S, _NOSNIFF)
    for name, (body, media, _) in ASSETS.items()
}


def _page_headers(page_: page.PublicPage) -> dict[str, str]:
    headers = {k: v for k, v in SECURITY_HEADERS.items() if k != "cache-control"}
    origin = logo_origin(page_.page.logo_url)
    if origin is not None:
        headers["content-security-policy"] = CONTENT_SECURITY_POLICY.replace(
            "img-src 'self' data:", f"img-src 'self' data: {origin}"
        )
    return headers


def _render(page_: page.PublicPage, kind: tuple[str, ...], previous: Rendered | None) -> Rendered:
    if kind[0] == "html":
        text = html.render(page_, ASSET_URLS, page.INCIDENT_DAYS)
        return rendered(text.encode(), "text/html", PAGE_MAX_AGE_S, _page_headers(page_), previous)
    if kind[0] == "json":
        return rendered(
            _JSON.encode(page_),
            "application/json",
            PAGE_MAX_AGE_S,
            {**_NOSNIFF, "access-control-allow-origin": "*"},
            previous,
        )
    return rendered(
        atom.render(page_, kind[1]).encode(),
        "application/atom+xml; charset=utf-8",
        FEED_MAX_AGE_S,
        _NOSNIFF,
        previous,
    )


class PageEntry:
    """One load of a page and its renders (HTML, JSON, Atom per base URL), each made once, in a
    thread, so a large page does not stall the event loop while it renders. A render equal to
    the previous entry's is that one (same ETag, no second gzip)."""

    def __init__(self, page_: page.PublicPage, previous: PageEntry | None = None) -> None:
        self.page = page_
        self._renders: dict[tuple[str, ...], asyncio.Future[Rendered]] = {}
        self._previous = previous

    def kinds(self) -> list[tuple[str, ...]]:
        return list(self._renders)

    def done(self, kind: tuple[str, ...]) -> Rendered | None:
        fut = self._renders.get(kind)
        if fut is None or not fut.done() or fut.cancelled() or fut.exception() is not None:
            return None
        return fut.result()

    async def render(self, kind: tuple[str, ...]) -> Rendered:
        fut = self._renders.get(kind)
        if fut is None or (fut.done() and (fut.cancelled() or fut.exception() is not None)):
            previous = self._previous.done(kind) if self._previous is not None else None
            fut = asyncio.ensure_future(asyncio.to_thread(_render, self.page, kind, previous))
            # The feed has a render per Host it was asked under: without VIGIL_API_ALLOWED_HOSTS
            # those are the client's to choose, so only the first few are kept.
            if kind in self._renders or len(self._renders) < MAX_RENDERS:
                self._renders[kind] = fut
        return await asyncio.shield(fut)

    def forget_previous(self) -> None:
        self._previous = None


def _cache(request: Request) -> SharedCache:
    cache: SharedCache = request.app.state.public_cache
    return cache


async def _pool(request: Request) -> asyncpg.Pool:
    """The pool, asked for only when the cache must load (not a dependency of the handlers: a
    request the cache answers costs no lookup of it)."""
    pool: asyncpg.Pool = await request.app.state.db.pool()
    return pool


async def _page(request: Request, slug: str, kind: tuple[str, ...]) -> Response:
    if not SLUG.match(slug):
        raise NotFound("status page", repr(slug))

    async def load(old: PageEntry | None) -> PageEntry | None:
        async with (await _pool(request)).acquire() as conn:
            loaded = await page.load(conn, slug)
        if loaded is None:
            return None
        entry = PageEntry(loaded, old)
        # What visitors asked of the old load is ready before this one replaces it.
        for asked in old.kinds() if old is not None else ():
            await entry.render(asked)
        entry.forget_previous()  # a chain of entries would keep every old page alive
        return entry

    entry = await _cache(request).get(("page", slug), load)
    if entry is None:
        raise NotFound("status page", repr(slug))
    return send(request, await entry.render(kind))


async def _badge(
    request: Request, key: tuple[Any, ...], load: Callable[[], Awaitable[str | None]]
) -> Response:
    async def fill(_old: object) -> Rendered | None:
        svg = await load()
        return (
            None
            if svg is None
            else rendered(svg.encode(), "image/svg+xml", BADGE_MAX_AGE_S, _SVG_HEADERS)
        )

    answer = await _cache(request).get(key, fill)
    if answer is None:
        raise NotFound("badge of target", key[1])
    return send(request, answer)


async def _rollups(request: Request, target_id: int, window: str) -> asyncpg.Record | None:
    """Sums over the window's hours of a target on a page (None: it is on none)."""
    now = datetime.now(UTC)
    since, until = floor_hour(now - WINDOWS[window]), ceil_hour(now)
    part = split_days(since, until)
    return await (await _pool(request)).fetchrow(
        page.Q["badge_rollups"],
        target_id,
        since,
        until,
        part.first_day,
        part.end_day,
        part.head_end,
        part.tail_start,
    )


Window = Annotated[str, QueryParameter(pattern=BADGE_WINDOW, description="24h, 7d or 30d")]


class PublicController(Controller):
    path = "/"
    include_in_schema = False
    opt = {"access": "public"}

    @route("/status/{slug:str}", http_method=READ, operation_id="publicStatusPage")
    async def status_page(self, request: Request, slug: FromPath[str]) -> Response:
        """The page as HTML, or as JSON at /status/<slug>.json."""
        if slug.endswith(".json"):
            return await _page(request, slug.removesuffix(".json"), ("json",))
        return await _page(request, slug, ("html",))

    @route("/status/{slug:str}/feed.atom", http_method=READ, operation_id="publicStatusFeed")
    async def feed(self, request: Request, slug: FromPath[str]) -> Response:
        base = str(request.base_url).rstrip("/")
        return await _page(request, slug, ("atom", base))

    @route("/status-assets/{name:str}", http_method=READ, operation_id="publicStatusAsset")
    async def asset(self, request: Request, name: FromPath[str]) -> Response:
        answer = _ASSET_ANSWERS.get(name)
        if answer is None:
            raise NotFound("status page asset", repr(name))
        return send(request, answer)

    @route("/badge/{target_id:int}/status.svg", http_method=READ, operation_id="publicStatusBadge")
    async def status_badge(self, request: Request, target_id: TargetId) -> Response:
        async def load() -> str | None:
            status = await (await _pool(request)).fetchval(page.Q["badge_status"], target_id)
            return None if status is None else badges.status_badge(status)

        return await _badge(request, ("status", target_id), load)

    @route("/badge/{target_id:int}/uptime.svg", http_method=READ, operation_id="publicUptimeBadge")
    async def uptime_badge(
        self, request: Request, target_id: TargetId, window: Window = "24h"
    ) -> Response:
        async def load() -> str | None:
            row = await _rollups(request, target_id, window)
            return None if row is None else badges.uptime_badge(window, row["checks"], row["ok"])

        return await _badge(request, ("uptime", target_id, window), load)

    @route(
        "/badge/{target_id:int}/latency.svg", http_method=READ, operation_id="publicLatencyBadge"
    )
    async def latency_badge(
        self, request: Request, target_id: TargetId, window: Window = "24h"
    ) -> Response:
        async def load() -> str | None:
            row = await _rollups(request, target_id, window)
            if row is None:
                return None
            return badges.latency_badge(window, row["latency_sum_ms"], row["latency_count"])

        return await _badge(request, ("latency", target_id, window), load)
