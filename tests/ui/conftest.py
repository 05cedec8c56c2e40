"""UI test fixtures: Debian's Chromium through Playwright (async API), real `vigil api` and
`vigil worker` processes on the test's own database, and a loopback HTTP server the test controls."""

from __future__ import annotations

import os
import re
import subprocess
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from pathlib import Path

import aiohttp
import pytest
from aiohttp import web
from playwright.async_api import Browser, BrowserContext, Page, async_playwright

from vigil_core import accounts
from vigil_core.db import connect

from ..conftest import database_from_template
from ..support import bearer, free_port, mint_token, spawn_vigil, stop_process, wait_http_ok

CHROMIUM = os.environ.get("VIGIL_TEST_CHROMIUM", "/usr/lib/chromium/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts" / "ui"

# Generous: two shared cores, other suites running at the same time.
LIVE_DEADLINE_MS = 30_000


@pytest.fixture(scope="session")
async def browser() -> AsyncIterator[Browser]:
    if not Path(CHROMIUM).exists():
        pytest.fail(
            f"Chromium not found at {CHROMIUM}; install the `chromium` apt package (see .ci/run)"
        )
    async with async_playwright() as pw:
        b = await pw.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)
        try:
            yield b
        finally:
            await b.close()


@dataclass
class Watch:
    """Everything a page reported that a user would call broken: console errors, uncaught
    exceptions, failed or 4xx/5xx requests, and JS dialogs (alert/confirm/prompt)."""

    problems: list[str] = field(default_factory=list)
    dialogs: list[str] = field(default_factory=list)
    expected: list[re.Pattern[str]] = field(default_factory=list)

    def expect(self, pattern: str) -> None:
        """A problem matching `pattern` is part of the test (a 400 from a rejected form, say)."""
        self.expected.append(re.compile(pattern))

    def add(self, text: str) -> None:
        if not any(p.search(text) for p in self.expected):
            self.problems.append(text)

    def assert_clean(self) -> None:
        assert not self.dialogs, f"a JS dialog opened: {self.dialogs}"
        assert not self.problems, "the page reported problems:\n" + "\n".join(self.problems)


def watch_page(page: Page) -> Watch:
    w = Watch()

    def on_console(msg) -> None:
        if msg.type in ("error", "warning"):
            w.add(f"console.{msg.type}: {msg.text} ({msg.location.get('url', '')})")

    def on_request_failed(req) -> None:
        # Cancelled on purpose (a navigation, or the page's AbortController when it leaves a
        # view): the user sees nothing wrong. Real failures are refused, reset, 4xx or 5xx.
        if "ERR_ABORTED" in (req.failure or ""):
            return
        w.add(f"request failed: {req.method} {req.url} {req.failure}")

    def on_response(resp) -> None:
        if resp.status >= 400:
            w.add(f"HTTP {resp.status}: {resp.request.method} {resp.url}")

    async def on_dialog(dialog) -> None:
        w.dialogs.append(f"{dialog.type}: {dialog.message}")
        await dialog.dismiss()

    page.on("console", on_console)
    page.on("pageerror", lambda exc: w.add(f"uncaught: {exc}"))
    page.on("requestfailed", on_request_failed)
    page.on("response", on_response)
    page.on("dialog", on_dialog)
    return w


@pytest.fixture
async def context(browser: Browser) -> AsyncIterator[BrowserContext]:
    ctx = await browser.new_context(viewport={"width": 1280, "height": 900}, color_scheme="light")
    ctx.set_default_timeout(15_000)
    try:
        yield ctx
    finally:
        await ctx.close()


@pytest.fixture
async def page(context: BrowserContext) -> Page:
    p = await context.new_page()
    p.watch = watch_page(p)  # type: ignore[attr-defined]
    return p


class Stack:
    """`vigil api` and (optionally) `vigil worker` as real child processes on one database."""

    def __init__(self, db_url: str, worker: bool) -> None:
        self.db_url = db_url
        self.port = free_port()
        self.base = f"http://127.0.0.1:{self.port}"
        self.env = {
            "VIGIL_DATABASE_URL": db_url,
            "VIGIL_LOG_LEVEL": "warning",
            "VIGIL_WORKER_METRICS_PORT": "0",
            "VIGIL_WORKER_POLL_INTERVAL_S": "5",
        }
        self.api: subprocess.Popen | None = None
        self.worker: subprocess.Popen | None = None
        self.with_worker = worker
        self.token = ""  # an admin token, made at start
        self.headers: dict[str, str] = {}

    @staticmethod
    def password(name: str) -> str:
        """The password `user(name, ...)` gave the user."""
        return f"{name}-test-password"

    async def user(self, name: str, role: str) -> str:
        """A user with that role (made once); returns the name."""
        conn = await connect(self.db_url)
        try:
            if await accounts.get_user(conn, name) is None:
                await accounts.create_user(conn, name, role, self.password(name))
        finally:
            await conn.close()
        return name

    async def start_api(self) -> None:
        self.api = spawn_vigil(["api", "--port", str(self.port)], self.env)
        await wait_http_ok(self.base + "/readyz", deadline_s=30, proc=self.api)

    def stop_api(self, timeout: float = 15) -> str:
        out = stop_process(self.api, timeout=timeout) if self.api else ""
        self.api = None
        return out

    async def start(self) -> None:
        if not self.token:
            self.token = await mint_token(self.db_url, "admin")
            self.headers = bearer(self.token)
            await self.user("admin", "admin")
        await self.start_api()
        if self.with_worker:
            self.worker = spawn_vigil(["worker"], self.env)

    def stop(self) -> None:
        self.stop_api()
        if self.worker:
            stop_process(self.worker)
            self.worker = None

    async def post(self, path: str, body: dict) -> dict:
        async with (
            aiohttp.ClientSession(headers=self.headers) as s,
            s.post(self.base + "/api/v1" + path, json=body) as r,
        ):
            data = await r.json(content_type=None)
            assert r.status == 201, f"POST {path} -> {r.status}: {data}"
            return data

    async def get(self, path: str) -> tuple[int, object]:
        async with (
            aiohttp.ClientSession(headers=self.headers) as s,
            s.get(self.base + "/api/v1" + path) as r,
        ):
            return r.status, await r.json(content_type=None)


async def login(page: Page, stack: Stack, user: str = "admin") -> None:
    """Log the page's browser context in as `user` (made by stack.user, or the stack's admin),
    through the API the login form uses; the cookie is the context's from then on."""
    resp = await page.context.request.post(
        f"{stack.base}/api/v1/auth/login",
        data={"username": user, "password": stack.password(user)},
    )
    assert resp.ok, f"login as {user} failed: {resp.status} {await resp.text()}"


@asynccontextmanager
async def running_stack(db_url: str, *, worker: bool) -> AsyncIterator[Stack]:
    st = Stack(db_url, worker=worker)
    await st.start()
    try:
        yield st
    finally:
        st.stop()


@pytest.fixture(scope="session")
def shared_db_url(pg_server_url: str, template_db: str) -> Iterator[str]:
    """One migrated database for the browser tests that share a running stack."""
    with database_from_template(pg_server_url, template_db, "vigil_ui") as url:
        yield url


@pytest.fixture(scope="session")
async def stack(shared_db_url: str) -> AsyncIterator[Stack]:
    """The API and a worker, started once and shared: each test uses its own target names
    (and labels, where it counts states), so tests do not see each other's targets."""
    async with running_stack(shared_db_url, worker=True) as st:
        yield st


@pytest.fixture
async def own_stack(db_url: str) -> AsyncIterator[Stack]:
    """The API and a worker on the test's own database, for a test that stops the API."""
    async with running_stack(db_url, worker=True) as st:
        yield st


@pytest.fixture
async def api_only(db_url: str) -> AsyncIterator[Stack]:
    """The API alone: nothing is checked, so the data the test seeds stays as seeded."""
    async with running_stack(db_url, worker=False) as st:
        yield st


class Loopback:
    """An HTTP server on 127.0.0.1 that the test stops and starts again on the same port."""

    def __init__(self) -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}/"
        self.runner: web.AppRunner | None = None

    async def start(self) -> None:
        async def ok(request: web.Request) -> web.Response:
            return web.Response(text="ok")

        app = web.Application()
        app.router.add_get("/", ok)
        self.runner = web.AppRunner(app)
        await self.runner.setup()
        await web.TCPSite(self.runner, "127.0.0.1", self.port, reuse_address=True).start()

    async def stop(self) -> None:
        if self.runner:
            await self.runner.cleanup()
            self.runner = None


@pytest.fixture
async def loopback() -> AsyncIterator[Loopback]:
    srv = Loopback()
    await srv.start()
    try:
        yield srv
    finally:
        await srv.stop()


@pytest.fixture(scope="session")
def artifacts() -> Iterator[Path]:
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    yield ARTIFACTS
