"""The Notifications page and the alerting parts of a target's page, in a real browser against
real `vigil api` and `vigil worker` processes: a webhook channel made in the form reaches a
loopback receiver, signed, with its secrets masked and kept across edits; a receiver answering
410 shows the channel as broken; routes pick channels by checkbox; a target that goes down
shows its delivery; depends_on is chosen in the target form."""

from __future__ import annotations

import hashlib
import hmac
import uuid
from pathlib import Path

from playwright.async_api import Browser, Locator, Page, expect

from vigil_core.db import connect

from ..alerting.receivers import Answer, Receiver
from .conftest import LIVE_DEADLINE_MS, Loopback, Stack, login, watch_page
from .test_pages import snapshot

MASK = "********"
SECRET = "ui-signing-secret-0123456789"


def unique(prefix: str) -> str:
    """A name no other test on the shared stack uses."""
    return f"{prefix} {uuid.uuid4().hex[:8]}"


def row_named(page: Page, table: str, name: str) -> Locator:
    """The row of `table` whose row header is `name` (on a phone too, where rows are cards)."""
    return page.locator(f"table.{table} tbody tr").filter(has=page.locator("th", has_text=name))


def channel_row(page: Page, name: str) -> Locator:
    return row_named(page, "channels", name)


async def stored_config(db_url: str, channel_id: int) -> dict:
    conn = await connect(db_url)
    try:
        return await conn.fetchval("SELECT config FROM channels WHERE id = $1", channel_id)
    finally:
        await conn.close()


def signature_ok(headers: dict[str, str], body: bytes, secret: str) -> bool:
    parts = dict(p.split("=", 1) for p in headers["X-Vigil-Signature"].split(","))
    signed = parts["t"].encode() + b"." + body
    expected = hmac.new(secret.encode(), signed, hashlib.sha256).hexdigest()
    return hmac.compare_digest(expected, parts["v1"])


async def test_webhook_channel_made_in_the_form_sends_a_signed_test_and_keeps_its_secrets(
    stack: Stack, shared_db_url: str, page: Page
) -> None:
    await login(page, stack)
    name = unique("ui hook")
    async with Receiver() as rx:
        await page.goto(stack.base + "/")
        await (
            page.get_by_role("navigation", name="Main")
            .get_by_role("link", name="Notifications")
            .click()
        )
        await expect(page).to_have_url(stack.base + "/notifications")
        await expect(page.get_by_role("heading", name="Notifications", level=1)).to_be_visible()

        await page.get_by_role("button", name="New channel").click()
        form = page.locator("form.panel-form")
        await expect(form.get_by_label("Name", exact=True)).to_be_focused()
        await form.get_by_label("Name", exact=True).fill(name)
        await expect(form.get_by_label("Kind", exact=True)).to_have_value("webhook")
        await form.get_by_label("URL", exact=True).fill(rx.url("/hook"))
        await form.get_by_label("Headers").fill("X-Token: token-abc-123")
        await form.get_by_label("Signing secret").fill(SECRET)
        await form.get_by_role("button", name="Create channel").click()

        row = channel_row(page, name)
        await expect(row.locator(".badge")).to_have_text("ok")
        await expect(form).to_have_count(0)
        _, body = await stack.get("/channels?limit=1000")
        channel = next(c for c in body["items"] if c["name"] == name)
        assert channel["config"]["secret"] == MASK
        assert channel["config"]["headers"] == {"X-Token": MASK}

        await row.get_by_role("button", name="Send test").click()
        result = row.locator(".test-result")
        await expect(result.locator(".badge")).to_have_text("sent", timeout=LIVE_DEADLINE_MS)
        await expect(result).to_contain_text("1 attempt")
        (first,) = await rx.wait_for(1)
        assert first.path == "/hook" and first.json()["event"] == "test"
        assert first.headers["X-Token"] == "token-abc-123"
        assert signature_ok(first.headers, first.body, SECRET)
        await expect(row.locator("td[data-label='Last sent']")).not_to_have_text("never")

        # Edit another field: the secrets show masked and go back masked, so they are kept.
        await row.get_by_role("button", name="Edit").click()
        await expect(form.get_by_label("Signing secret")).to_have_value(MASK)
        await expect(form.get_by_label("Headers")).to_have_value(f"X-Token: {MASK}")
        await form.get_by_label("URL", exact=True).fill(rx.url("/moved"))
        await form.get_by_role("button", name="Save channel").click()
        await expect(form).to_have_count(0)
        stored = await stored_config(shared_db_url, channel["id"])
        assert stored["secret"] == SECRET
        assert stored["headers"] == {"X-Token": "token-abc-123"}
        assert stored["url"] == rx.url("/moved")

        # And the receiver still gets both: the header, and a signature made with the secret.
        await row.get_by_role("button", name="Send test").click()
        second = (await rx.wait_for(2))[1]
        assert second.path == "/moved" and second.headers["X-Token"] == "token-abc-123"
        assert signature_ok(second.headers, second.body, SECRET)
        await expect(result.locator(".badge")).to_have_text("sent", timeout=LIVE_DEADLINE_MS)

        # The test deliveries are listed, newest first.
        deliveries = page.locator("table.deliveries tbody tr", has_text=name)
        await expect(deliveries).to_have_count(2, timeout=LIVE_DEADLINE_MS)
        await expect(deliveries.first.locator(".badge")).to_have_text("sent")
    page.watch.assert_clean()


async def test_a_receiver_answering_410_shows_the_channel_broken_and_retry_tries_again(
    stack: Stack, page: Page
) -> None:
    await login(page, stack)
    name = unique("gone hook")
    async with Receiver(default=Answer(status=410, body="this hook was removed")) as rx:
        await stack.post(
            "/channels", {"name": name, "kind": "webhook", "config": {"url": rx.url()}}
        )
        await page.goto(stack.base + "/notifications")
        row = channel_row(page, name)
        await expect(row.locator(".badge")).to_have_text("ok")

        await row.get_by_role("button", name="Send test").click()
        result = row.locator(".test-result")
        await expect(result.locator(".badge")).to_have_text("failed", timeout=LIVE_DEADLINE_MS)
        await expect(result).to_contain_text("410")
        await rx.wait_for(1)
        await expect(row.locator(".badge").first).to_have_text("broken")
        await expect(row).to_contain_text("this hook was removed")

        delivery = page.locator("table.deliveries tbody tr", has_text=name)
        await expect(delivery.locator(".badge")).to_have_text("failed")
        await expect(delivery).to_contain_text("410")
        await delivery.get_by_role("button", name="Retry").click()
        await rx.wait_for(2)  # sent again; the receiver still refuses it
        await expect(delivery.locator("td[data-label=Attempts]")).to_have_text(
            "2", timeout=LIVE_DEADLINE_MS
        )
        await expect(delivery.locator(".badge")).to_have_text("failed")
    page.watch.assert_clean()


async def test_channel_fields_follow_the_kind_and_api_errors_name_the_field(
    stack: Stack, page: Page
) -> None:
    await login(page, stack)
    page.watch.expect(r"status of 400|HTTP 400: POST .*/api/v1/channels")
    await page.goto(stack.base + "/notifications")
    await page.get_by_role("button", name="New channel").click()
    form = page.locator("form.panel-form")
    await form.get_by_label("Name", exact=True).fill(unique("mail"))
    await form.get_by_label("Kind", exact=True).select_option("email")
    await expect(form.get_by_label("URL", exact=True)).to_have_count(0)
    await form.get_by_label("SMTP host").fill("127.0.0.1")
    await form.get_by_label("From").fill("vigil@example.com")
    to = form.get_by_label("To", exact=True)
    await to.fill("ops@example.com, not-an-address")
    await expect(form.get_by_label("Verify the server's TLS certificate")).to_be_checked()
    await to.press("Enter")  # the keyboard submits

    error = form.locator("[data-field='config.to'] .field-error")
    await expect(error).to_be_visible()
    await expect(error).to_contain_text("item 2")
    await expect(to).to_have_attribute("aria-invalid", "true")
    await expect(to).to_be_focused()

    await form.get_by_label("Kind", exact=True).select_option("telegram")
    await expect(form.get_by_label("Bot token")).to_have_attribute("type", "password")
    await expect(form.get_by_label("Chat id")).to_be_visible()
    await expect(form.get_by_label("SMTP host")).to_have_count(0)
    await form.get_by_role("button", name="Cancel").click()
    await expect(form).to_have_count(0)
    await expect(page.get_by_role("button", name="New channel")).to_be_focused()
    page.watch.assert_clean()


async def test_a_route_is_created_with_its_channel_ticked(stack: Stack, page: Page) -> None:
    await login(page, stack)
    wanted, other = unique("route pick"), unique("route skip")
    picked = await stack.post(
        "/channels", {"name": wanted, "kind": "slack", "config": {"url": "http://127.0.0.1:9/"}}
    )
    await stack.post(
        "/channels", {"name": other, "kind": "discord", "config": {"url": "http://127.0.0.1:9/"}}
    )
    route_name = unique("ui route")
    suite = uuid.uuid4().hex[:8]  # matches no other test's targets on the shared stack
    await page.goto(stack.base + "/notifications")
    await page.get_by_role("button", name="New route").click()
    form = page.locator("form.panel-form")
    await form.get_by_label("Name", exact=True).fill(route_name)
    await form.get_by_label("Match labels").fill(f"suite={suite}\nteam = web")
    await form.get_by_role("checkbox", name=wanted).check()
    await form.get_by_label("Delay (seconds)").fill("30")
    await form.get_by_label("An outage shorter than the delay").select_option("summary")
    await form.get_by_label("Remind every (seconds)").fill("600")
    await form.get_by_label("Send a message when it is resolved").uncheck()
    await form.get_by_role("button", name="Create route").click()

    row = row_named(page, "routes", route_name)
    await expect(row).to_contain_text(wanted)
    await expect(row).not_to_contain_text(other)
    await expect(row).to_contain_text(f"suite={suite}")
    _, body = await stack.get("/routes?limit=1000")
    route = next(r for r in body["items"] if r["name"] == route_name)
    assert route["channels"] == [picked["id"]]
    assert route["match_labels"] == {"suite": suite, "team": "web"}
    assert (route["delay_s"], route["short_outage"], route["repeat_interval_s"]) == (
        30,
        "summary",
        600,
    )
    assert route["send_resolved"] is False

    # Editing shows what is stored.
    await row.get_by_role("button", name="Edit").click()
    await expect(form.get_by_role("checkbox", name=wanted)).to_be_checked()
    await expect(form.get_by_role("checkbox", name=other)).not_to_be_checked()
    shown = await form.get_by_label("Match labels").input_value()
    assert set(shown.split("\n")) == {f"suite={suite}", "team=web"}
    await form.get_by_role("button", name="Cancel").click()
    page.watch.assert_clean()


async def test_depends_on_is_chosen_in_the_target_form_and_shown_by_name(
    stack: Stack, page: Page
) -> None:
    await login(page, stack)
    parent_name = unique("parent")
    parent = await stack.post(
        "/targets",
        {"name": parent_name, "kind": "tcp", "host": "127.0.0.1", "port": 9, "enabled": False},
    )
    child = await stack.post(
        "/targets",
        {"name": unique("child"), "kind": "tcp", "host": "127.0.0.1", "port": 9, "enabled": False},
    )
    await page.goto(f"{stack.base}/targets/{child['id']}/edit")
    depends = page.get_by_label("Depends on")
    await expect(depends.locator("option", has_text=parent_name)).to_have_count(1)
    await expect(depends.locator("option", has_text=child["name"])).to_have_count(0)  # not itself
    await depends.select_option(label=parent_name)
    await page.get_by_role("button", name="Save changes").click()
    await expect(page).to_have_url(f"{stack.base}/targets/{child['id']}")
    await expect(
        page.locator("dd.depends").get_by_role("link", name=parent_name)
    ).to_have_attribute("href", f"/targets/{parent['id']}")
    assert (await stack.get(f"/targets/{child['id']}"))[1]["depends_on"] == [parent["id"]]

    await page.goto(f"{stack.base}/targets/{child['id']}/edit")
    await expect(page.get_by_label("Depends on")).to_have_values([str(parent["id"])])
    page.watch.assert_clean()


async def test_a_target_that_goes_down_shows_its_delivery(
    stack: Stack, loopback: Loopback, page: Page
) -> None:
    await login(page, stack)
    suite = uuid.uuid4().hex[:8]
    async with Receiver() as rx:
        channel = await stack.post(
            "/channels",
            {"name": unique("down hook"), "kind": "webhook", "config": {"url": rx.url("/down")}},
        )
        await stack.post(
            "/routes",
            {
                "name": unique("down route"),
                "match_labels": {"suite": suite},
                "channels": [channel["id"]],
            },
        )
        target = await stack.post(
            "/targets",
            {
                "name": unique("goes down"),
                "kind": "http",
                "url": loopback.url,
                "interval_s": 1,
                "timeout_s": 0.5,
                "labels": {"suite": suite},
            },
        )
        await page.goto(f"{stack.base}/targets/{target['id']}")
        await expect(page.locator(".target-head .badge")).to_have_text(
            "Up", timeout=LIVE_DEADLINE_MS
        )
        await expect(page.get_by_text("No alerts sent for this target.")).to_be_visible()

        await loopback.stop()
        await expect(page.locator(".target-head .badge")).to_have_text(
            "Down", timeout=LIVE_DEADLINE_MS
        )
        (firing,) = await rx.wait_for(1)
        assert firing.json()["event"] == "firing"
        assert firing.json()["target"]["id"] == target["id"]
        row = page.locator("table.deliveries tbody tr").first
        await expect(row.locator("td[data-label=Event]")).to_have_text("firing")
        await expect(row.locator(".badge")).to_have_text("sent", timeout=LIVE_DEADLINE_MS)
        await expect(row.locator("td[data-label=Attempts]")).to_have_text("1")
        await expect(row).to_contain_text(channel["name"])
    page.watch.assert_clean()


async def test_notifications_page_fits_a_phone_and_works_by_keyboard(
    browser: Browser, stack: Stack
) -> None:
    name = unique("phone hook")
    await stack.post(
        "/channels",
        {
            "name": name,
            "kind": "webhook",
            "config": {"url": "http://127.0.0.1:9/a/long/path/" + "x" * 60},
        },
    )
    ctx = await browser.new_context(viewport={"width": 400, "height": 800}, color_scheme="light")
    try:
        page = await ctx.new_page()
        watch = watch_page(page)
        await login(page, stack)
        await page.goto(stack.base + "/#/notifications")  # the hash form of a link works too
        await expect(page).to_have_url(stack.base + "/notifications")
        await expect(channel_row(page, name)).to_be_visible()
        await expect(page.get_by_role("link", name="Notifications")).to_be_visible()
        overflow = await page.evaluate("document.documentElement.scrollWidth - window.innerWidth")
        assert overflow <= 0, f"the page is {overflow}px wider than a 400 px phone"

        new = page.get_by_role("button", name="New channel")
        await new.focus()
        await page.keyboard.press("Enter")
        form = page.locator("form.panel-form")
        await expect(form.get_by_label("Name", exact=True)).to_be_focused()
        overflow = await page.evaluate("document.documentElement.scrollWidth - window.innerWidth")
        assert overflow <= 0, f"the open form is {overflow}px wider than a 400 px phone"
        await form.get_by_role("button", name="Cancel").focus()
        await page.keyboard.press("Enter")
        await expect(new).to_be_focused()

        row = channel_row(page, name)
        await row.get_by_role("button", name="Delete").focus()
        await page.keyboard.press("Enter")
        dialog = page.get_by_role("dialog")
        await expect(dialog).to_contain_text(f"Delete {name}?")
        await page.keyboard.press("Tab")
        await page.keyboard.press("Enter")
        await expect(row).to_have_count(0)
        watch.assert_clean()
    finally:
        await ctx.close()


SCREENS = [
    ("light", {"width": 1280, "height": 900}, "light"),
    ("dark", {"width": 1280, "height": 900}, "dark"),
    ("phone", {"width": 400, "height": 844}, "light"),
]


async def test_screenshots(browser: Browser, api_only: Stack, artifacts: Path) -> None:
    """Pictures of the Notifications page (test-artifacts/ui/notifications-*.png), which must
    fit their viewport and follow the colour scheme. No worker runs: the tests stay pending."""
    slack = await api_only.post(
        "/channels",
        {"name": "Ops Slack", "kind": "slack", "config": {"url": "https://hooks.slack.com/x"}},
    )
    mail = await api_only.post(
        "/channels",
        {
            "name": "On-call mail",
            "kind": "email",
            "config": {
                "host": "smtp.example.com",
                "from_address": "vigil@example.com",
                "to": ["oncall@example.com"],
                "password": "hunter2",
            },
        },
    )
    await api_only.post(
        "/channels",
        {
            "name": "Old hook",
            "kind": "webhook",
            "enabled": False,
            "config": {"url": "https://example.com/hook"},
        },
    )
    await api_only.post(
        "/routes",
        {
            "name": "Production",
            "match_labels": {"env": "prod"},
            "channels": [slack["id"], mail["id"]],
            "delay_s": 60,
            "short_outage": "summary",
            "repeat_interval_s": 3600,
        },
    )
    await api_only.post("/routes", {"name": "Everything to Slack", "channels": [slack["id"]]})
    for channel in (slack, mail):
        await api_only.post(f"/channels/{channel['id']}/test?wait_s=0", {})
    for name, viewport, scheme in SCREENS:
        ctx = await browser.new_context(
            viewport=viewport, color_scheme=scheme, device_scale_factor=1
        )
        try:
            page = await ctx.new_page()
            watch = watch_page(page)
            await login(page, api_only)
            await page.goto(api_only.base + "/notifications")
            await expect(page.locator("table.deliveries tbody tr")).to_have_count(2)
            await expect(page.locator("table.routes tbody tr")).to_have_count(2)
            await snapshot(page, scheme, artifacts / f"notifications-{name}.png")
            await page.get_by_role("button", name="New channel").click()
            await (
                page.locator("form.panel-form")
                .get_by_label("Kind", exact=True)
                .select_option("email")
            )
            await snapshot(page, scheme, artifacts / f"notifications-form-{name}.png")
            watch.assert_clean()
        finally:
            await ctx.close()


async def test_html_in_channel_and_route_names_renders_as_text(stack: Stack, page: Page) -> None:
    await login(page, stack)
    xss = f"<img src=x onerror=alert(1)> {uuid.uuid4().hex[:6]}"
    channel = await stack.post(
        "/channels", {"name": xss, "kind": "slack", "config": {"url": "http://127.0.0.1:9/"}}
    )
    await stack.post(
        "/routes", {"name": xss, "match_labels": {"x": xss}, "channels": [channel["id"]]}
    )
    await page.goto(stack.base + "/notifications")
    await expect(row_named(page, "channels", xss).locator("th")).to_have_text(xss)
    route = row_named(page, "routes", xss)
    await expect(route).to_contain_text(f"x={xss}")
    await route.get_by_role("button", name="Edit").click()
    await expect(page.locator("form.panel-form h3")).to_have_text(f"Edit {xss}")
    await expect(page.get_by_role("checkbox", name=xss)).to_be_checked()
    await page.locator("form.panel-form").get_by_role("button", name="Cancel").click()
    await row_named(page, "channels", xss).get_by_role("button", name="Delete").click()
    await expect(page.locator("#confirm-title")).to_have_text(f"Delete {xss}?")
    await page.get_by_role("dialog").get_by_role("button", name="Cancel").click()
    assert await page.locator("img[src=x]").count() == 0
    page.watch.assert_clean()  # also fails if alert() opened a dialog
