"""Managing targets through the UI: edit, pause and resume with confirmation, delete, and the
API's validation errors shown next to the field they name."""

from __future__ import annotations

import re

from playwright.async_api import Page, expect

from .conftest import Stack, login

REFUSED_URL = "http://127.0.0.1:9/"  # the discard port: nothing listens on loopback


async def test_edit_interval_pause_resume_and_delete(stack: Stack, page: Page) -> None:
    await login(page, stack)
    target = await stack.post(
        "/targets",
        {
            "name": "edit me",
            "kind": "http",
            "url": REFUSED_URL,
            "interval_s": 60,
            "timeout_s": 5,
        },
    )
    tid = target["id"]
    await page.goto(f"{stack.base}/targets/{tid}")
    head = page.locator(".target-head")

    await head.get_by_role("link", name="Edit").click()
    interval = page.get_by_label("Interval (seconds)")
    await expect(interval).to_have_value("60")
    await interval.fill("45")
    await page.get_by_role("button", name="Save changes").click()
    await expect(page).to_have_url(f"{stack.base}/targets/{tid}")
    await expect(page.locator("dl.settings")).to_contain_text("45 s")
    assert (await stack.get(f"/targets/{tid}"))[1]["interval_s"] == 45

    dialog = page.get_by_role("dialog")
    await head.get_by_role("button", name="Pause").click()
    await expect(dialog).to_contain_text("Pause edit me?")
    await dialog.get_by_role("button", name="Cancel").click()
    await expect(dialog).to_be_hidden()
    assert (await stack.get(f"/targets/{tid}"))[1]["enabled"] is True

    # By keyboard: focus starts on Cancel, Escape backs out.
    await head.get_by_role("button", name="Pause").focus()
    await page.keyboard.press("Enter")
    await expect(dialog.get_by_role("button", name="Cancel")).to_be_focused()
    await page.keyboard.press("Escape")
    await expect(dialog).to_be_hidden()
    assert (await stack.get(f"/targets/{tid}"))[1]["enabled"] is True

    await head.get_by_role("button", name="Pause").click()
    await dialog.get_by_role("button", name="Pause").click()
    await expect(head.locator(".badge")).to_have_text("Paused")
    assert (await stack.get(f"/targets/{tid}"))[1]["enabled"] is False

    # By keyboard: Tab from Cancel to the confirming button, Enter.
    await head.get_by_role("button", name="Resume").click()
    await page.keyboard.press("Tab")
    await expect(dialog.get_by_role("button", name="Resume")).to_be_focused()
    await page.keyboard.press("Enter")
    await expect(head.get_by_role("button", name="Pause")).to_be_visible()
    assert (await stack.get(f"/targets/{tid}"))[1]["enabled"] is True

    await head.get_by_role("button", name="Delete").click()
    await expect(dialog).to_contain_text("cannot be undone")
    await dialog.get_by_role("button", name="Delete").click()
    await expect(page).to_have_url(stack.base + "/")
    await expect(page.get_by_role("link", name="edit me", exact=True)).to_have_count(0)
    assert (await stack.get(f"/targets/{tid}"))[0] == 404
    page.watch.assert_clean()


async def test_api_validation_errors_appear_next_to_their_field(stack: Stack, page: Page) -> None:
    await login(page, stack)
    page.watch.expect(r"status of 400|HTTP 400: POST .*/api/v1/targets")
    await page.goto(stack.base + "/targets/new")
    await page.get_by_label("Name", exact=True).fill("bad input")
    url = page.get_by_label("URL", exact=True)
    await url.fill("ftp://example.invalid/")
    await url.press("Enter")  # the keyboard submits the form

    url_error = page.locator("[data-field=url] .field-error")
    await expect(url_error).to_be_visible()
    await expect(url_error).not_to_be_empty()
    await expect(url).to_have_attribute("aria-invalid", "true")
    await expect(url).to_be_focused()

    await url.fill(REFUSED_URL)
    await page.get_by_label("Interval (seconds)").fill("5")
    await page.get_by_label("Timeout (seconds)").fill("10")
    await page.get_by_role("button", name="Create target").click()
    timeout_error = page.locator("[data-field=timeout_s] .field-error")
    await expect(timeout_error).to_be_visible()
    await expect(timeout_error).to_contain_text(re.compile("interval", re.I))
    await expect(url_error).to_be_hidden()
    await expect(page).to_have_url(stack.base + "/targets/new")
    page.watch.assert_clean()


async def test_tcp_and_icmp_forms_send_their_own_fields(stack: Stack, page: Page) -> None:
    await login(page, stack)
    for kind_label, name, fill in [
        ("TCP", "db port", {"Host": "127.0.0.1", "Port": "9"}),
        ("ICMP ping", "loopback ping", {"Host": "127.0.0.1"}),
    ]:
        await page.goto(stack.base + "/targets/new")
        await page.get_by_label(kind_label).check()
        await expect(page.get_by_label("URL", exact=True)).to_be_hidden()
        await page.get_by_label("Name", exact=True).fill(name)
        for label, value in fill.items():
            await page.get_by_label(label, exact=True).fill(value)
        await page.get_by_label("Labels", exact=True).fill("env: test\nteam: ops")
        await page.get_by_role("button", name="Create target").click()
        await expect(page).to_have_url(re.compile(r"/targets/\d+$"))
        tid = int(page.url.rsplit("/", 1)[1])
        body = (await stack.get(f"/targets/{tid}"))[1]
        assert body["host"] == "127.0.0.1" and body["labels"] == {"env": "test", "team": "ops"}
        assert body["port"] == (9 if kind_label == "TCP" else None)
    page.watch.assert_clean()
