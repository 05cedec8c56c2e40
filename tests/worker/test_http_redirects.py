"""Redirects as the HTTP check follows them: the limit, methods, Locations, cookies and headers."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from urllib.parse import quote

import pytest
from aiohttp import web

from vigil_worker.checks import CheckContext, run_check

from .test_checks import ctx, target  # noqa: F401  (ctx is a fixture)


@dataclass
class Hit:
    port: int
    method: str
    path: str
    headers: dict[str, str]
    body: bytes


@dataclass
class Origins:
    """Two loopback servers on different ports, so two origins; every request is recorded."""

    a: str
    b: str
    hits: list[Hit] = field(default_factory=list)

    def paths(self) -> list[str]:
        return [h.path for h in self.hits]


def _app(hits: list[Hit]) -> web.Application:
    @web.middleware
    async def record(request: web.Request, handler):
        hits.append(
            Hit(
                request.url.port,
                request.method,
                request.raw_path,
                dict(request.headers),
                await request.read(),
            )
        )
        return await handler(request)

    async def chain(request: web.Request) -> web.Response:
        left = int(request.match_info["n"])
        if left == 0:
            return web.Response(text="end of chain")
        raise web.HTTPFound(f"/chain/{left - 1}")

    async def loop(request: web.Request) -> web.Response:
        raise web.HTTPFound("/loop")

    async def to(request: web.Request) -> web.Response:
        """Answers ?status= with ?location= as it is (relative, absolute, another origin)."""
        if "status" not in request.query:
            return web.Response(text="arrived")
        return web.Response(
            status=int(request.query["status"]), headers={"Location": request.query["location"]}
        )

    async def echo(request: web.Request) -> web.Response:
        return web.Response(text="echo")

    async def cookie_set(request: web.Request) -> web.Response:
        resp = web.HTTPFound("/cookie/check")
        resp.set_cookie("session", "abc123", path="/")
        raise resp

    async def cookie_check(request: web.Request) -> web.Response:
        return web.Response(status=200 if request.cookies.get("session") == "abc123" else 403)

    app = web.Application(middlewares=[record])
    app.router.add_get("/chain/{n}", chain)
    app.router.add_get("/loop", loop)
    app.router.add_route("*", "/to", to)
    app.router.add_route("*", "/echo", echo)
    app.router.add_route("*", "/rel/dir/to", to)
    app.router.add_route("*", "/rel/{tail:.*}", echo)
    app.router.add_get("/cookie/set", cookie_set)
    app.router.add_get("/cookie/check", cookie_check)
    return app


@pytest.fixture(scope="module")
async def origins() -> AsyncIterator[Origins]:
    hits: list[Hit] = []
    runner = web.AppRunner(_app(hits), access_log=None)
    await runner.setup()
    sites = [web.TCPSite(runner, "127.0.0.1", 0) for _ in range(2)]
    for site in sites:
        await site.start()
    a, b = (f"http://127.0.0.1:{s._server.sockets[0].getsockname()[1]}" for s in sites)
    yield Origins(a=a, b=b, hits=hits)
    await runner.cleanup()


@pytest.fixture
def fresh(origins: Origins) -> Origins:
    origins.hits.clear()
    return origins


# (id, path, settings, ok, error_class, status, requests the server saw)
LIMIT_CASES = [
    ("exactly-the-limit", "/chain/10", {"max_redirects": 10}, True, None, 200, 11),
    (
        "one-past-the-limit",
        "/chain/11",
        {"max_redirects": 10},
        False,
        "too_many_redirects",
        302,
        11,
    ),
    ("default-limit-is-10", "/chain/10", {}, True, None, 200, 11),
    ("limit-3-chain-3", "/chain/3", {"max_redirects": 3}, True, None, 200, 4),
    ("limit-3-chain-4", "/chain/4", {"max_redirects": 3}, False, "too_many_redirects", 302, 4),
    ("limit-1-loop", "/loop", {"max_redirects": 1}, False, "too_many_redirects", 302, 2),
    # 0 follows none: the 3xx itself is the answer, judged by the status rule (default 2xx/3xx)
    ("limit-0-loop-is-one-request", "/loop", {"max_redirects": 0}, True, None, 302, 1),
    (
        "limit-0-status-rule",
        "/chain/1",
        {"max_redirects": 0, "expected_status": [200]},
        False,
        "status",
        302,
        1,
    ),
    ("not-followed", "/loop", {"follow_redirects": False, "max_redirects": 10}, True, None, 302, 1),
]


@pytest.mark.parametrize(
    "path, settings, ok, error_class, status, requests",
    [c[1:] for c in LIMIT_CASES],
    ids=[c[0] for c in LIMIT_CASES],
)
async def test_redirect_limit(
    fresh: Origins, ctx: CheckContext, path, settings, ok, error_class, status, requests
) -> None:
    outcome = await run_check(target("http", fresh.a + path, 5, **settings), ctx)
    assert (outcome.ok, outcome.error_class, outcome.status_code) == (ok, error_class, status), (
        outcome.error_message
    )
    assert len(fresh.hits) == requests


# (id, first method, redirect status, method of the next hop, body on the next hop)
METHOD_CASES = [
    ("303-post-becomes-get", "POST", 303, "GET", b""),
    ("303-put-becomes-get", "PUT", 303, "GET", b""),
    ("303-head-stays-head", "HEAD", 303, "HEAD", b""),
    ("301-post-becomes-get", "POST", 301, "GET", b""),
    ("302-post-becomes-get", "POST", 302, "GET", b""),
    ("302-put-stays-put", "PUT", 302, "PUT", b"payload"),
    ("307-post-keeps-method-and-body", "POST", 307, "POST", b"payload"),
    ("308-put-keeps-method-and-body", "PUT", 308, "PUT", b"payload"),
    ("307-get-stays-get", "GET", 307, "GET", b"payload"),
]


@pytest.mark.parametrize(
    "method, status, next_method, next_body",
    [c[1:] for c in METHOD_CASES],
    ids=[c[0] for c in METHOD_CASES],
)
async def test_redirect_method(
    fresh: Origins, ctx: CheckContext, method, status, next_method, next_body
) -> None:
    url = f"{fresh.a}/to?status={status}&location=/echo"
    outcome = await run_check(target("http", url, 5, method=method, body="payload"), ctx)
    assert outcome.ok and outcome.status_code == 200, outcome.error_message
    first, second = fresh.hits
    assert (first.method, first.body) == (method, b"payload")
    assert (second.method, second.path, second.body) == (next_method, "/echo", next_body)


# (id, Location, the next request's raw path), resolved against /rel/dir/to?status=302&...
LOCATION_CASES = [
    ("sibling", "other", "/rel/dir/other"),
    ("parent", "../up", "/rel/up"),
    ("absolute-path", "/echo", "/echo"),
    ("query-only", "?y=2", "/rel/dir/to?y=2"),
    ("fragment-dropped", "/echo#part", "/echo"),
    ("non-ascii-is-percent-encoded", "/rel/caf\u00e9", "/rel/caf%C3%A9"),
]


@pytest.mark.parametrize(
    "location, path", [c[1:] for c in LOCATION_CASES], ids=[c[0] for c in LOCATION_CASES]
)
async def test_relative_location(fresh: Origins, ctx: CheckContext, location, path) -> None:
    url = f"{fresh.a}/rel/dir/to?status=302&location={quote(location, safe='')}"
    outcome = await run_check(target("http", url, 5), ctx)
    assert outcome.ok and outcome.status_code == 200, outcome.error_message
    assert fresh.paths()[1] == path


async def test_cookies_live_for_one_check(fresh: Origins, ctx: CheckContext) -> None:
    outcome = await run_check(target("http", fresh.a + "/cookie/set", 5), ctx)
    assert outcome.ok and outcome.status_code == 200, outcome.error_message  # sent on the next hop
    assert "session=abc123" in fresh.hits[1].headers.get("Cookie", "")
    again = await run_check(target("http", fresh.a + "/cookie/check", 5), ctx)
    assert again.status_code == 403  # the next check starts with an empty jar
    assert "Cookie" not in fresh.hits[2].headers


async def test_target_cookie_header_is_kept_beside_the_jar(
    fresh: Origins, ctx: CheckContext
) -> None:
    outcome = await run_check(
        target("http", fresh.a + "/cookie/set", 5, headers={"Cookie": "theme=dark"}), ctx
    )
    assert outcome.ok, outcome.error_message
    assert fresh.hits[1].headers["Cookie"] == "theme=dark; session=abc123"


CUSTOM = {"Authorization": "Bearer secret", "X-Api-Key": "k-123", "X-Vigil": "yes"}


async def test_custom_headers_stay_with_their_origin(fresh: Origins, ctx: CheckContext) -> None:
    # a -> a (same origin) -> b (other port: other origin) -> a (home again)
    back_home = quote(f"{fresh.a}/echo", safe="")
    to_b = quote(f"{fresh.b}/to?status=302&location={back_home}", safe="")
    url = f"{fresh.a}/to?status=302&location={quote('/to?status=307&location=' + to_b, safe='')}"
    outcome = await run_check(target("http", url, 5, headers=CUSTOM), ctx)
    assert outcome.ok, outcome.error_message
    ports = [h.port for h in fresh.hits]
    a_port, b_port = int(fresh.a.rsplit(":", 1)[1]), int(fresh.b.rsplit(":", 1)[1])
    assert ports == [a_port, a_port, b_port, a_port]
    for hit in fresh.hits:
        sent = {k: hit.headers.get(k) for k in CUSTOM}
        assert sent == (CUSTOM if hit.port == a_port else dict.fromkeys(CUSTOM)), hit.path
