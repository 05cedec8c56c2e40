"""The target form with write-only secrets: header values and a URL's password show as
********, say they are kept, go back unchanged when not edited (the stored values stay), and a
URL password needs the "Allow a password in the URL" box."""

from __future__ import annotations

import re

from playwright.async_api import Page, expect

from vigil_core.db import connect

from .conftest import Stack, login

MASK = "********"
TOKEN = "Bearer ui-secret-4d3c2b1a0f9e8d7c"
PASSWORD = "ui-pw-8e7d6c5b4a39"
# As the API reads them back: jsonb orders an object's keys, shorter ones first.
SHOWN_HEADERS = f"X-Env: {MASK}\nAuthorization: {MASK}"
URL = f"http://probe:{PASSWORD}@127.0.0.1:9/health"  # the discard port: nothing listens


async def stored(stack: Stack, target_id: int) -> tuple[str, dict]:
    conn = await connect(stack.db_url)
    try:
        row = await conn.fetchrow("SELECT address, settings FROM targets WHERE id = $1", target_id)
    finally:
        await conn.close()
    return row["address"], row["settings"]


async def test_masked_secrets_are_kept_through_an_edit(stack: Stack, page: Page) -> None:
    await login(page, stack)
    target = await stack.post(
        "/targets",
        {
            "name": "secret form",
            "kind": "http",
            "url": URL,
            "allow_url_password": True,
            "headers": {"Authorization": TOKEN, "X-Env": "prod"},
            "interval_s": 60,
            "timeout_s": 5,
        },
    )
    tid = target["id"]
    await page.goto(f"{stack.base}/targets/{tid}/edit")
    headers = page.get_by_label("Request headers")
    await expect(headers).to_have_value(SHOWN_HEADERS)
    await expect(page.get_by_label("URL", exact=True)).to_have_value(
        f"http://probe:{MASK}@127.0.0.1:9/health"
    )
    await expect(page.get_by_label("Allow a password in the URL")).to_be_checked()
    await expect(page.locator("[data-field=headers] .help")).to_contain_text(
        f"Leave {MASK} to keep a stored value"
    )
    await expect(page.locator("[data-field=url] .help")).to_contain_text("keep the stored one")
    html = await page.content()
    assert TOKEN not in html and PASSWORD not in html

    # An edit of another field: the masks go back, the stored values stay.
    await page.get_by_label("Interval (seconds)").fill("45")
    await page.get_by_role("button", name="Save changes").click()
    await expect(page).to_have_url(f"{stack.base}/targets/{tid}")
    address, settings = await stored(stack, tid)
    assert (address, settings["headers"]) == (URL, {"Authorization": TOKEN, "X-Env": "prod"})
    assert PASSWORD not in await page.content()

    # A value typed over a mask replaces that one only.
    await page.goto(f"{stack.base}/targets/{tid}/edit")
    await expect(headers).to_have_value(SHOWN_HEADERS)
    await headers.fill(f"Authorization: {MASK}\nX-Env: staging")
    await page.get_by_role("button", name="Save changes").click()
    await expect(page).to_have_url(f"{stack.base}/targets/{tid}")
    assert (await stored(stack, tid))[1]["headers"] == {"Authorization": TOKEN, "X-Env": "staging"}


async def test_a_url_password_needs_the_box(stack: Stack, page: Page) -> None:
    await login(page, stack)
    page.watch.expect(r"status of 400|HTTP 400: POST .*/api/v1/targets")
    await page.goto(stack.base + "/targets/new")
    await page.get_by_label("Name", exact=True).fill("url password")
    url = page.get_by_label("URL", exact=True)
    await url.fill(URL)
    await page.get_by_role("button", name="Create target").click()
    url_error = page.locator("[data-field=url] .field-error")
    await expect(url_error).to_contain_text("the URL holds a password")
    await expect(url).to_have_attribute("aria-invalid", "true")

    await page.get_by_label("Allow a password in the URL").check()
    await page.get_by_role("button", name="Create target").click()
    await expect(page).to_have_url(re.compile(rf"^{re.escape(stack.base)}/targets/\d+$"))
    tid = int(page.url.rstrip("/").rsplit("/", 1)[1])
    assert (await stored(stack, tid))[0] == URL
    assert PASSWORD not in await page.content()
    page.watch.assert_clean()
