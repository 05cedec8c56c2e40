"""Text from users is text: a target named like an HTML payload shows literally and runs nothing."""

from __future__ import annotations

from playwright.async_api import Page, expect

from .conftest import Stack, login

XSS = "<img src=x onerror=alert(1)>"


async def test_html_in_a_name_renders_as_text_everywhere(stack: Stack, page: Page) -> None:
    await login(page, stack)
    target = await stack.post(
        "/targets",
        {
            "name": XSS,
            "kind": "http",
            "url": "http://127.0.0.1:9/",
            "interval_s": 60,
            "timeout_s": 5,
        },
    )
    await page.goto(stack.base + "/")
    await expect(page.get_by_role("link", name=XSS, exact=True)).to_have_text(XSS)

    await page.get_by_role("link", name=XSS, exact=True).click()
    await expect(page.get_by_role("heading", level=1)).to_have_text(XSS)
    await page.locator(".target-head").get_by_role("button", name="Delete").click()
    await expect(page.locator("#confirm-title")).to_have_text(f"Delete {XSS}?")
    await page.get_by_role("dialog").get_by_role("button", name="Cancel").click()

    await page.goto(f"{stack.base}/targets/{target['id']}/edit")
    await expect(page.get_by_label("Name", exact=True)).to_have_value(XSS)
    await expect(page.get_by_role("heading", level=1)).to_have_text(f"Edit {XSS}")

    assert await page.locator("img[src=x]").count() == 0
    page.watch.assert_clean()  # also fails if alert() opened a dialog
