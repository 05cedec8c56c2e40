"""Signing in to the web UI and what each role may do there, in a real browser: the login
form and its refusals, logout, controls hidden by role, the audit and access pages; and what a
page on another origin (CSRF) or a rebound DNS name cannot do with a logged-in browser."""

from __future__ import annotations

import re
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from urllib.parse import quote

import aiohttp
from aiohttp import web
from playwright.async_api import Browser, Page, Response, expect

from vigil_core.db import connect

from ..support import bearer, free_port, mint_token
from .conftest import Stack, login, watch_page
from .test_pages import SCREENS, snapshot

# The page asks GET /auth/me first; without a session that is a 401 and the page goes to login.
UNAUTHORIZED = r"status of 401|HTTP 401: "
SESSION_COOKIE = "vigil_session"


def unique(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:6]}"


async def new_target(stack: Stack, name: str) -> dict:
    return await stack.post(
        "/targets",
        {"name": name, "kind": "http", "url": "http://127.0.0.1:9/", "interval_s": 60},
    )


async def fill_login(page: Page, user: str, password: str) -> None:
    await page.get_by_label("Username").fill(user)
    await page.get_by_label("Password").fill(password)
    await page.get_by_role("button", name="Log in").click()


async def session_cookie(page: Page) -> str:
    cookies = {c["name"]: c for c in await page.context.cookies()}
    cookie = cookies[SESSION_COOKIE]
    assert cookie["httpOnly"], "page scripts must not read the session cookie"
    assert cookie["sameSite"] == "Lax"
    return cookie["value"]


async def test_log_in_edit_a_target_and_log_out(stack: Stack, page: Page) -> None:
    page.watch.expect(UNAUTHORIZED)
    editor = await stack.user(unique("ed"), "editor")
    target = await new_target(stack, unique("login edit"))
    tid = target["id"]

    # A protected page without a session: the login page, which comes back here afterwards.
    await page.goto(f"{stack.base}/targets/{tid}/edit")
    await expect(page).to_have_url(
        f"{stack.base}/login?next={quote(f'/targets/{tid}/edit', safe='')}"
    )
    await expect(page.get_by_role("heading", name="Log in to Vigil")).to_be_visible()
    await expect(page.get_by_role("navigation", name="Main")).to_be_hidden()
    await fill_login(page, editor, stack.password(editor))
    await expect(page).to_have_url(f"{stack.base}/targets/{tid}/edit")

    account = page.locator("#account")
    await expect(account.locator(".who-name")).to_have_text(editor)
    await expect(account.locator(".who-role")).to_have_text("editor")
    interval = page.get_by_label("Interval (seconds)")
    await expect(interval).to_have_value("60")
    await interval.fill("45")
    await page.get_by_role("button", name="Save changes").click()
    await expect(page).to_have_url(f"{stack.base}/targets/{tid}")
    await expect(page.locator("dl.settings")).to_contain_text("45 s")
    assert (await stack.get(f"/targets/{tid}"))[1]["interval_s"] == 45
    cookie = await session_cookie(page)

    await account.get_by_role("button", name="Log out").click()
    await expect(page).to_have_url(f"{stack.base}/login")
    await page.goto(f"{stack.base}/targets/{tid}")
    await expect(page).to_have_url(f"{stack.base}/login?next={quote(f'/targets/{tid}', safe='')}")
    # Logging out revoked the session itself, not only the browser's copy of the cookie.
    async with (
        aiohttp.ClientSession() as s,
        s.get(
            f"{stack.base}/api/v1/auth/me", headers={"Cookie": f"{SESSION_COOKIE}={cookie}"}
        ) as r,
    ):
        assert r.status == 401
    page.watch.assert_clean()


async def test_wrong_password_and_too_many_attempts_show_the_servers_answer(
    api_only: Stack, page: Page
) -> None:
    page.watch.expect(r"status of 40[19]|HTTP 40[19]|status of 429|HTTP 429: ")
    stack = api_only
    carol = await stack.user("carol", "viewer")
    await page.goto(f"{stack.base}/login?next=/notifications")
    alert = page.locator("form.login-form [role=alert]")
    password = page.get_by_label("Password")
    button = page.get_by_role("button", name="Log in")
    for attempt in range(5):
        await fill_login(page, carol, f"not the password {attempt}")
        await expect(alert).to_contain_text("wrong username or password")
        await expect(password).to_have_value("")
        await expect(password).to_be_focused()
    await expect(page).to_have_url(f"{stack.base}/login?next=/notifications")

    # The sixth try in the window is refused before the password is looked at: 429 with a wait.
    await fill_login(page, carol, stack.password(carol))
    await expect(alert).to_contain_text(re.compile(r"too many failed logins .*try again in \d+ s"))
    limited = page.get_by_role("button", name=re.compile(r"^Try again in \d+ s$"))
    await expect(limited).to_be_disabled()
    await expect(button).to_have_count(0)

    # `next` is a path on this origin or nothing: never a hop to another site.
    dave = await stack.user("dave", "viewer")
    await page.goto(f"{stack.base}/login?next=//evil.example/phish")
    await fill_login(page, dave, stack.password(dave))
    await expect(page).to_have_url(f"{stack.base}/")
    await expect(page.locator("#account .who-name")).to_have_text(dave)
    page.watch.assert_clean()


async def test_a_viewer_sees_no_controls_and_an_admin_sees_the_edit_in_the_audit_log(
    browser: Browser, stack: Stack, page: Page
) -> None:
    viewer = await stack.user(unique("viewer"), "viewer")
    name = unique("audited")
    target = await new_target(stack, name)
    tid = target["id"]
    channel = unique("viewer hook")
    await stack.post(
        "/channels", {"name": channel, "kind": "slack", "config": {"url": "http://127.0.0.1:9/"}}
    )
    await stack.post("/routes", {"name": unique("viewer route")})

    await login(page, stack, viewer)
    await page.goto(f"{stack.base}/targets/{tid}")
    head = page.locator(".target-head")
    await expect(head.get_by_role("heading", level=1)).to_have_text(name)
    await expect(page.locator("#account .who-role")).to_have_text("viewer")
    nav = page.get_by_role("navigation", name="Main")
    await expect(nav.get_by_role("link", name="Notifications")).to_be_visible()
    for hidden in ("New target", "Audit", "Access"):
        await expect(nav.get_by_role("link", name=hidden)).to_have_count(0)
    await expect(head.get_by_role("link")).to_have_count(0)
    await expect(head.get_by_role("button")).to_have_count(0)

    await nav.get_by_role("link", name="Notifications").click()
    await expect(page.locator("table.channels tr", has_text=channel)).to_be_visible()
    await expect(page.locator("table.routes tbody tr").first).to_be_visible()
    await expect(page.locator("section.notifications").get_by_role("button")).to_have_count(0)
    await expect(page.get_by_role("columnheader", name="Actions")).to_have_count(0)

    # A page typed in by hand says what is missing instead of offering a form that would fail.
    for path in (f"/targets/{tid}/edit", "/targets/new", "/audit", "/access"):
        await page.goto(stack.base + path)
        await expect(page.get_by_role("heading", name="Not allowed")).to_be_visible()
        await expect(page.locator("main")).to_contain_text("your role (viewer)")
        await expect(page.locator("main form")).to_have_count(0)
    page.watch.assert_clean()

    # The admin, in a browser of their own: edit the target, then read it in the audit log.
    ctx = await browser.new_context(viewport={"width": 1280, "height": 900})
    try:
        admin = await ctx.new_page()
        watch = watch_page(admin)
        await login(admin, stack)
        await admin.goto(f"{stack.base}/targets/{tid}")
        await admin.locator(".target-head").get_by_role("link", name="Edit").click()
        await admin.get_by_label("Interval (seconds)").fill("120")
        await admin.get_by_role("button", name="Save changes").click()
        await expect(admin.locator("dl.settings")).to_contain_text("120 s")

        await admin.locator(".target-head").get_by_role("link", name="History").click()
        await expect(admin).to_have_url(f"{stack.base}/audit?object_kind=target&object_id={tid}")
        rows = admin.locator("table.audit-log tbody tr[data-id]")
        await expect(rows).to_have_count(2)  # the create by the test's token, the edit
        edit = rows.first
        await expect(edit).to_have_attribute("data-action", "update")
        await expect(edit.locator("td").nth(1)).to_contain_text("admin")
        await expect(edit.locator("td").nth(1)).to_contain_text("user")
        await expect(edit).to_contain_text(name)
        await expect(edit).to_contain_text("127.0.0.1")
        await expect(rows.nth(1)).to_have_attribute("data-action", "create")

        show = edit.locator("button[aria-controls]")
        await expect(show).to_have_text("Show")
        await show.click()
        await expect(show).to_have_attribute("aria-expanded", "true")
        await expect(show).to_have_text("Hide")
        detail = admin.locator(f"#audit-{await edit.get_attribute('data-id')}")
        await expect(detail).to_be_visible()
        change = detail.locator("table.diff tr[data-path='interval_s']")
        await expect(change.locator(".before")).to_have_text("60")
        await expect(change.locator(".after")).to_have_text("120")
        # Only what changed: the unchanged URL is not in the update's diff.
        await expect(detail.locator("table.diff tr")).to_have_count(2)  # its head, interval_s

        await admin.get_by_label("Actor").fill("nobody-made-this")
        await expect(admin.locator("table.audit-log")).to_contain_text("No entries match")
        await admin.get_by_label("Actor").fill("admin")
        await expect(rows).to_have_count(1)
        assert "actor=admin" in admin.url
        watch.assert_clean()
    finally:
        await ctx.close()


async def test_the_audit_log_loads_more_entries_by_cursor(stack: Stack, page: Page) -> None:
    token_name = unique("bulk")
    headers = bearer(await mint_token(stack.db_url, "write", name=token_name))
    tid = (await new_target(stack, unique("paged")))["id"]
    async with aiohttp.ClientSession(headers=headers) as s:
        for i in range(51):
            async with s.patch(
                f"{stack.base}/api/v1/targets/{tid}", json={"interval_s": 61 + i}
            ) as r:
                assert r.status == 200, await r.text()

    await login(page, stack)
    await page.goto(f"{stack.base}/audit?actor={token_name}")
    rows = page.locator("table.audit-log tbody tr[data-id]")
    await expect(rows).to_have_count(50)
    await expect(rows.first.locator("td").nth(1)).to_contain_text(token_name)
    await page.get_by_role("button", name="Load more").click()
    await expect(rows).to_have_count(51)
    await expect(page.get_by_role("button", name="Load more")).to_be_hidden()
    await expect(page.locator(".pager-status")).to_have_text("51 entries, all shown")
    # Newest first: the first update (61) is the last row, once.
    ids = [int(i) for i in await rows.evaluate_all("rs => rs.map(r => r.dataset.id)")]
    assert ids == sorted(ids, reverse=True) and len(set(ids)) == 51
    await rows.last.get_by_role("button", name="Show").click()
    await expect(page.locator("table.diff tr[data-path='interval_s'] .after")).to_have_text("61")
    await expect(page.locator("table.diff")).to_have_count(1)  # drawn when opened

    # Time filters: local time in the inputs, UTC in the request and the address.
    await page.get_by_label("Until").fill("2000-01-01T00:00")
    await expect(page.locator("table.audit-log")).to_contain_text("No entries match")
    assert re.search(r"until=\d{4}-\d\d-\d\dT[\d%A:.]+Z", page.url), page.url
    await page.get_by_label("Until").fill("")
    await page.get_by_label("From").fill("2000-01-01T00:00")
    await expect(rows).to_have_count(50)
    page.watch.assert_clean()


async def test_an_editor_sees_channel_secrets_read_only_and_no_admin_pages(
    stack: Stack, page: Page
) -> None:
    editor = await stack.user(unique("ed"), "editor")
    name = unique("secret hook")
    await stack.post(
        "/channels",
        {
            "name": name,
            "kind": "webhook",
            "config": {"url": "http://127.0.0.1:9/hook", "secret": "s" * 20},
        },
    )
    await login(page, stack, editor)
    await page.goto(f"{stack.base}/notifications")
    nav = page.get_by_role("navigation", name="Main")
    await expect(nav.get_by_role("link", name="New target")).to_be_visible()
    await expect(nav.get_by_role("link", name="Audit")).to_have_count(0)
    await expect(nav.get_by_role("link", name="Access")).to_have_count(0)

    row = page.locator("table.channels tr", has_text=name)
    await row.get_by_role("button", name="Edit").click()
    form = page.locator("form.panel-form")
    secret = form.get_by_label("Signing secret")
    await expect(secret).to_have_attribute("readonly", "")
    await expect(form.locator("[data-field='config.secret'] .help")).to_contain_text(
        "Only an admin can change this secret"
    )
    await expect(form.get_by_label("URL", exact=True)).to_be_editable()
    await expect(form.get_by_label("Kind", exact=True)).to_be_disabled()
    await form.get_by_label("Name", exact=True).fill(name + " renamed")
    await form.get_by_role("button", name="Save channel").click()
    await expect(page.locator("table.channels tr", has_text=name + " renamed")).to_be_visible()
    conn = await connect(stack.db_url)
    try:
        stored = await conn.fetchval(
            "SELECT config->>'secret' FROM channels WHERE name = $1", name + " renamed"
        )
    finally:
        await conn.close()
    assert stored == "s" * 20, "the stored secret was kept"
    page.watch.assert_clean()


async def test_access_page_makes_a_token_shown_once_that_works_and_revokes_it(
    stack: Stack, page: Page
) -> None:
    await page.context.grant_permissions(["clipboard-read", "clipboard-write"], origin=stack.base)
    await login(page, stack)
    await page.goto(f"{stack.base}/")
    await page.get_by_role("navigation", name="Main").get_by_role("link", name="Access").click()
    await expect(page).to_have_url(f"{stack.base}/access")
    tokens = page.locator("section[aria-labelledby=tokens-title]")
    name = unique("ci")
    await tokens.get_by_role("button", name="New token").click()
    await tokens.get_by_label("Name", exact=True).fill(name)
    await tokens.get_by_label("Scope").select_option("read")
    await tokens.get_by_label("Expires after").select_option("30d")
    await tokens.get_by_role("button", name="Create token").click()

    shown = tokens.locator("#new-token")
    await expect(shown).to_have_value(re.compile(r"^vgl_[0-9A-Za-z]{46}$"))
    token = await shown.input_value()
    await expect(tokens).to_contain_text("it is not shown again")
    await tokens.get_by_role("button", name="Copy the token").click()
    await expect(tokens.locator(".copy-status")).to_have_text("Copied.")
    assert await page.evaluate("navigator.clipboard.readText()") == token

    async with aiohttp.ClientSession(headers=bearer(token)) as s:
        async with s.get(f"{stack.base}/api/v1/auth/me") as r:
            assert r.status == 200
            assert (await r.json())["name"] == name
        async with s.get(f"{stack.base}/api/v1/targets") as r:
            assert r.status == 200
        async with s.post(f"{stack.base}/api/v1/targets", json={"name": "no"}) as r:
            assert r.status == 403, "a read token cannot write"

    row = tokens.locator("table.tokens tr", has_text=name)
    await expect(row).to_contain_text(token[:12])
    await expect(row).to_contain_text("active")
    await tokens.get_by_role("button", name="Done").click()
    await expect(shown).to_have_count(0)
    await page.reload()
    await expect(row).to_be_visible()
    assert token not in await page.content(), "the token is shown once only"

    await row.get_by_role("button", name=f"Revoke {name}").click()
    await page.get_by_role("dialog").get_by_role("button", name="Revoke").click()
    await expect(row).to_contain_text("revoked")
    await expect(row.get_by_role("button")).to_have_count(0)
    async with (
        aiohttp.ClientSession(headers=bearer(token)) as s,
        s.get(f"{stack.base}/api/v1/targets") as r,
    ):
        assert r.status == 401
    page.watch.assert_clean()


async def api_login(stack: Stack, user: str, password: str) -> tuple[int, dict]:
    async with (
        aiohttp.ClientSession() as s,
        s.post(
            f"{stack.base}/api/v1/auth/login", json={"username": user, "password": password}
        ) as r,
    ):
        return r.status, await r.json(content_type=None)


async def test_access_page_creates_a_user_changes_role_and_password_and_deletes(
    stack: Stack, page: Page
) -> None:
    page.watch.expect(r"status of 400|HTTP 400: POST .*/api/v1/users")
    await login(page, stack)
    await page.goto(f"{stack.base}/access")
    users = page.locator("section[aria-labelledby=users-title]")
    name = unique("newbie")
    first, second = "first password 1234", "second password 5678"

    await users.get_by_role("button", name="New user").click()
    await users.get_by_label("Name", exact=True).fill(name)
    await users.get_by_label("Role", exact=True).select_option("viewer")
    await users.get_by_label("Password", exact=True).fill("short")
    await users.get_by_role("button", name="Create user").click()
    await expect(users.locator("[data-field=password] .field-error")).to_be_visible()
    await users.get_by_label("Password", exact=True).fill(first)
    await users.get_by_role("button", name="Create user").click()
    row = users.locator(f"tr[data-name='{name}']")
    await expect(row.get_by_label(f"Role of {name}")).to_have_value("viewer")
    assert (await api_login(stack, name, first))[1]["user"] == {"name": name, "role": "viewer"}

    await row.get_by_label(f"Role of {name}").select_option("editor")
    await expect(users.locator(".note")).to_have_text(f"{name} is now editor.")
    assert (await api_login(stack, name, first))[1]["user"]["role"] == "editor"

    await row.get_by_role("button", name=f"Reset the password of {name}").click()
    await users.get_by_label("New password", exact=True).fill(second)
    await users.get_by_role("button", name="Set password").click()
    await expect(users.locator(".note")).to_have_text(f"Password of {name} changed.")
    assert (await api_login(stack, name, first))[0] == 401
    assert (await api_login(stack, name, second))[0] == 200

    await row.get_by_role("button", name=f"Delete {name}").click()
    await page.get_by_role("dialog").get_by_role("button", name="Delete").click()
    await expect(row).to_have_count(0)
    status, listed = await stack.get("/users")
    assert status == 200 and name not in [u["name"] for u in listed["items"]]  # type: ignore[index]
    page.watch.assert_clean()


async def test_the_live_stream_sends_an_ended_session_to_login(api_only: Stack, page: Page) -> None:
    stack = api_only
    user = await stack.user("erin", "viewer")
    tid = (await new_target(stack, "stream watcher"))["id"]
    await login(page, stack, user)
    await page.goto(f"{stack.base}/targets/{tid}")
    await expect(page.locator("#live")).to_have_attribute("data-state", "live")

    # A new password ends the user's sessions; the stream learns it when it next connects.
    async with (
        aiohttp.ClientSession(headers=stack.headers) as s,
        s.patch(
            f"{stack.base}/api/v1/users/{user}", json={"password": "a brand new password"}
        ) as r,
    ):
        assert r.status == 200, await r.text()
    stack.stop_api(timeout=3)
    await stack.start_api()
    await expect(page).to_have_url(
        f"{stack.base}/login?next={quote(f'/targets/{tid}', safe='')}", timeout=20_000
    )


@asynccontextmanager
async def other_origin(html: str) -> AsyncIterator[str]:
    """A page of someone else's site: another port on loopback, so another origin (the
    browser still calls it the same site, so SameSite does not keep the cookie back)."""
    port = free_port()

    async def index(request: web.Request) -> web.Response:
        return web.Response(text=html, content_type="text/html")

    app = web.Application()
    app.router.add_get("/", index)
    runner = web.AppRunner(app)
    await runner.setup()
    await web.TCPSite(runner, "127.0.0.1", port).start()
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        await runner.cleanup()


EVIL_PAGE = """<!doctype html>
<html><body>
<form id="form" method="POST" action="{api}/api/v1/apply?prune=true" enctype="text/plain">
  <input name='{{"targets": [], "x": "' value='"}}'>
</form>
<script>
const API = "{api}";
window.results = {{}};
async function attempt(name, url, init) {{
  try {{
    const r = await fetch(url, {{ credentials: "include", ...init }});
    window.results[name] = `${{r.type}} ${{r.status}}`;
  }} catch (e) {{
    window.results[name] = "blocked";
  }}
}}
window.attack = async () => {{
  const prune = API + "/api/v1/apply?prune=true";
  await attempt("json", prune, {{ method: "POST", headers: {{ "content-type": "application/json" }}, body: '{{"targets": []}}' }});
  await attempt("text", prune, {{ method: "POST", mode: "no-cors", body: '{{"targets": []}}' }});
  await attempt("patch", API + "/api/v1/targets/{tid}", {{ method: "PATCH", headers: {{ "content-type": "application/json" }}, body: '{{"enabled": false}}' }});
  return window.results;
}};
</script>
</body></html>
"""


async def test_a_page_on_another_origin_cannot_change_anything(api_only: Stack, page: Page) -> None:
    stack = api_only
    tid = (await new_target(stack, "keep me"))["id"]
    await login(page, stack)
    await page.goto(f"{stack.base}/")
    await expect(page.locator("#account .who-name")).to_have_text("admin")
    cookie = await session_cookie(page)

    seen: list[Response] = []
    page.on("response", lambda r: seen.append(r) if r.url.startswith(stack.base) else None)
    async with other_origin(EVIL_PAGE.format(api=stack.base, tid=tid)) as evil:
        await page.goto(evil + "/")
        results = await page.evaluate("attack()")
        # JSON needs a CORS preflight, which the API does not grant: the request is never sent.
        assert results["json"] == "blocked"
        assert results["patch"] == "blocked"
        # A "simple" request is sent, and refused for its content type.
        assert results["text"] == "opaque 0"
        refused = [r for r in seen if r.request.method == "POST"]
        assert [r.status for r in refused] == [415]
        assert not [r for r in seen if r.request.method == "PATCH"]

        # A form post (the classic JSON-as-text/plain trick) is a navigation: refused as well.
        async with page.expect_navigation() as nav:
            await page.evaluate("document.getElementById('form').submit()")
        answer = await nav.value
        assert answer is not None and answer.status == 415
        # It carried the session cookie: SameSite lets it through from a same-site page.
        sent = await answer.request.all_headers()
        assert SESSION_COOKIE in sent.get("cookie", "") and sent["sec-fetch-site"] == "same-site"

    # What a script elsewhere could do with the cookie alone, without the page's CSRF token,
    # or with the token but from another origin: refused too. Our own origin: allowed.
    # (A Cookie header: aiohttp's jar keeps no cookies for an IP address.)
    async with aiohttp.ClientSession(headers={"Cookie": f"{SESSION_COOKIE}={cookie}"}) as s:
        async with s.get(f"{stack.base}/api/v1/auth/me") as r:
            csrf = (await r.json())["csrf_token"]
        url = f"{stack.base}/api/v1/targets/{tid}"
        for headers, status in [
            ({"Origin": evil}, 403),
            ({"Origin": evil, "X-CSRF-Token": csrf}, 403),
            ({"Sec-Fetch-Site": "same-site", "X-CSRF-Token": csrf}, 403),
            ({"Origin": stack.base, "X-CSRF-Token": "forged"}, 403),
            ({"Origin": stack.base, "X-CSRF-Token": csrf}, 200),
        ]:
            async with s.patch(url, json={"enabled": True}, headers=headers) as r:
                assert r.status == status, f"{headers}: {r.status} {await r.text()}"

    code, body = await stack.get(f"/targets/{tid}")
    assert code == 200 and body["enabled"] is True  # type: ignore[index]
    code, listed = await stack.get("/targets")
    assert [t["id"] for t in listed["items"]] == [tid]  # type: ignore[index]


async def test_a_request_for_a_foreign_host_is_refused(stack: Stack) -> None:
    """DNS rebinding: evil.example resolves to 127.0.0.1 for the victim's browser, whose
    requests then carry `Host: evil.example`."""
    port = stack.port
    async with aiohttp.ClientSession(headers=stack.headers) as s:
        for path in ("/api/v1/targets", "/", "/login", "/ui/js/app.js"):
            async with s.get(stack.base + path, headers={"Host": f"evil.example:{port}"}) as r:
                assert r.status == 400, f"{path}: {r.status}"
                if path.startswith("/api/"):
                    assert "VIGIL_API_ALLOWED_HOSTS" in (await r.json(content_type=None))["detail"]
            for host in (f"127.0.0.1:{port}", f"localhost:{port}"):
                async with s.get(stack.base + path, headers={"Host": host}) as r:
                    assert r.status == 200, f"{path} for {host}: {r.status}"


async def test_screenshots(browser: Browser, api_only: Stack, artifacts: Path) -> None:
    """Pictures of the login, audit and access pages (test-artifacts/ui/*.png), which must
    load cleanly and fit a phone too."""
    stack = api_only
    await stack.user("olivia", "editor")
    target = await new_target(stack, "Checkout API")
    async with aiohttp.ClientSession(headers=stack.headers) as s:
        for body in ({"interval_s": 30}, {"enabled": False}, {"labels": {"env": "prod"}}):
            async with s.patch(f"{stack.base}/api/v1/targets/{target['id']}", json=body) as r:
                assert r.status == 200
    for name, viewport, scheme in SCREENS:
        ctx = await browser.new_context(
            viewport=viewport, color_scheme=scheme, device_scale_factor=1
        )
        try:
            page = await ctx.new_page()
            watch = watch_page(page)
            await page.goto(stack.base + "/login")
            await expect(page.get_by_label("Username")).to_be_focused()
            await snapshot(page, scheme, artifacts / f"login-{name}.png")

            await login(page, stack)
            await page.goto(stack.base + "/audit")
            first = page.locator("table.audit-log tbody tr[data-action=update]").first
            await first.get_by_role("button", name="Show").click()
            await expect(page.locator("table.diff")).to_be_visible()
            await snapshot(page, scheme, artifacts / f"audit-{name}.png")

            await page.goto(stack.base + "/access")
            await page.get_by_role("button", name="New token").click()
            await page.get_by_label("Name", exact=True).fill(f"prometheus-{name}")
            await page.get_by_role("button", name="Create token").click()
            await expect(page.locator("#new-token")).to_be_visible()
            await snapshot(page, scheme, artifacts / f"access-{name}.png")
            watch.assert_clean()
        finally:
            await ctx.close()
