"""Live updates: a target made through the form goes up, down and up again on screen as its
server stops and starts, and the page rides out a network drop and an API restart, all
without a reload."""

from __future__ import annotations

import re

from playwright.async_api import Page, expect

from .conftest import LIVE_DEADLINE_MS, Loopback, Stack, login

NO_RELOAD = "window.__vigilTestMarker"


async def test_http_target_from_the_form_follows_its_server_live(
    stack: Stack, loopback: Loopback, page: Page
) -> None:
    await login(page, stack)
    await page.goto(stack.base + "/")
    await page.evaluate(f"{NO_RELOAD} = 'same page'")

    await page.get_by_role("link", name="New target").click()
    await page.get_by_label("Name", exact=True).fill("loopback web")
    await page.get_by_label("HTTP(S)").check()
    await page.get_by_label("URL", exact=True).fill(loopback.url)
    await page.get_by_label("Interval (seconds)").fill("1")
    await page.get_by_label("Timeout (seconds)").fill("0.5")
    await page.get_by_label("Down after").fill("1")
    await page.get_by_label("Up after").fill("1")
    await page.get_by_label("Labels", exact=True).fill("suite: live")
    await page.get_by_role("button", name="Create target").click()
    await expect(page).to_have_url(re.compile(r"/targets/\d+$"))
    await expect(page.get_by_role("heading", level=1)).to_have_text("loopback web")

    await page.get_by_role("link", name="All targets").click()
    # Other tests' targets share this database: the label filter narrows list and counts.
    await page.get_by_label("Label", exact=True).fill("suite:live")
    await expect(page.locator(".count.c-all .n")).to_have_text("1")
    row = page.locator("tbody tr", has=page.get_by_role("link", name="loopback web", exact=True))
    badge = row.locator(".badge")
    await expect(badge).to_have_text("Up", timeout=LIVE_DEADLINE_MS)
    await expect(row.locator(".spark-line, .spark-dot").first).to_be_visible(
        timeout=LIVE_DEADLINE_MS
    )

    await loopback.stop()
    await expect(badge).to_have_text("Down", timeout=LIVE_DEADLINE_MS)
    await expect(row.locator(".err-class")).to_have_text("refused", timeout=LIVE_DEADLINE_MS)
    await expect(page.locator(".count.c-down .n")).to_have_text("1", timeout=LIVE_DEADLINE_MS)

    await loopback.start()
    await expect(badge).to_have_text("Up", timeout=LIVE_DEADLINE_MS)
    await expect(page.locator(".count.c-down .n")).to_have_text("0", timeout=LIVE_DEADLINE_MS)

    assert await page.evaluate(NO_RELOAD) == "same page", "the page reloaded"
    page.watch.assert_clean()


async def test_page_reconnects_after_a_network_drop_and_an_api_restart(
    own_stack: Stack, loopback: Loopback, page: Page
) -> None:
    await login(page, own_stack)
    stack = own_stack
    target = await stack.post(
        "/targets",
        {
            "name": "survives restarts",
            "kind": "http",
            "url": loopback.url,
            "interval_s": 1,
            "timeout_s": 0.5,
            "failure_threshold": 1,
            "success_threshold": 1,
        },
    )
    await page.goto(f"{stack.base}/targets/{target['id']}")
    await page.evaluate(f"{NO_RELOAD} = 'same page'")
    live = page.locator("#live")
    badge = page.locator(".target-head .badge")
    await expect(live).to_have_attribute("data-state", "live", timeout=LIVE_DEADLINE_MS)
    await expect(badge).to_have_text("Up", timeout=LIVE_DEADLINE_MS)

    # A network drop: the browser goes offline and comes back; the page opens a new stream.
    await page.context.set_offline(True)
    await expect(live).to_have_attribute("data-state", "reconnecting", timeout=LIVE_DEADLINE_MS)
    await page.context.set_offline(False)
    await expect(live).to_have_attribute("data-state", "live", timeout=LIVE_DEADLINE_MS)

    # An open event stream keeps uvicorn from finishing a graceful stop; 3 s, then SIGKILL.
    stack.stop_api(timeout=3)
    await expect(live).to_have_attribute("data-state", "reconnecting", timeout=LIVE_DEADLINE_MS)
    await stack.start_api()
    await expect(live).to_have_attribute("data-state", "live", timeout=LIVE_DEADLINE_MS)

    # Only the new connection can bring this news.
    await loopback.stop()
    await expect(badge).to_have_text("Down", timeout=LIVE_DEADLINE_MS)
    await expect(page.locator("table.checks tbody tr").first.locator(".err-class")).to_have_text(
        "refused", timeout=LIVE_DEADLINE_MS
    )
    assert await page.evaluate(NO_RELOAD) == "same page", "the page reloaded"
