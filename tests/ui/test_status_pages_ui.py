"""The status page editor and incident updates in the web UI: a page made with ordered groups of
targets under display names (moved up and down), saved, edited and opened at its public link; a
bad slug shown at its field; an update posted to an ongoing incident on the target page and shown
there; and a viewer sees pages and updates but none of the controls."""

from __future__ import annotations

import asyncio
import time
from pathlib import Path

from playwright.async_api import Browser, Locator, Page, expect

from .conftest import Stack, login, watch_page
from .test_auth import unique
from .test_pages import SCREENS, snapshot

REFUSED_URL = "http://127.0.0.1:9/"  # nothing listens: a target checking it goes down


async def new_target(stack: Stack, name: str, **extra: object) -> dict:
    return await stack.post(
        "/targets",
        {"name": name, "kind": "http", "url": REFUSED_URL, "interval_s": 60, **extra},
    )


async def open_incident(stack: Stack, name: str) -> tuple[dict, dict]:
    """A target that checks a closed port every second and is down after one failure, and its
    open incident once the worker has opened it."""
    target = await new_target(stack, name, interval_s=1, timeout_s=0.5, failure_threshold=1)
    end = time.monotonic() + 30
    while time.monotonic() < end:
        status, body = await stack.get(f"/targets/{target['id']}/incidents?open=true")
        if status == 200 and body["items"]:  # type: ignore[index]
            return target, body["items"][0]  # type: ignore[index]
        await asyncio.sleep(0.2)
    raise AssertionError(f"no incident opened for {name} within 30 s")


def group(form: Locator, index: int) -> Locator:
    return form.locator(f"[data-field='groups[{index}]']")


def row(form: Locator, g: int, t: int) -> Locator:
    return form.locator(f"[data-field='groups[{g}].targets[{t}]']")


async def add_target(form: Locator, g: int, t: int, name: str, display: str | None = None) -> None:
    await group(form, g).get_by_role("button", name=f"Add a target to group {g + 1}").click()
    await row(form, g, t).get_by_label("Target", exact=True).select_option(label=name)
    if display is not None:
        await row(form, g, t).get_by_label("Display name").fill(display)


async def test_status_page_editor_round_trip(stack: Stack, page: Page) -> None:
    await login(page, stack)
    web = await new_target(stack, unique("sp web"))
    api_t = await new_target(stack, unique("sp api"))
    db = await new_target(stack, unique("sp db"))
    slug = unique("acme").lower()
    await page.goto(stack.base + "/status-pages")
    await page.get_by_role("button", name="New status page").click()
    form = page.locator("form.status-page-form")
    await form.get_by_label("Slug").fill(slug)
    await form.get_by_label("Title").fill("Acme status")
    await form.get_by_label("Description").fill("How Acme is doing")

    # Group 1: the API, then the web front under a public name; the web front is moved up.
    await group(form, 0).get_by_label("Group name").fill("Web")
    await add_target(form, 0, 0, api_t["name"])
    await add_target(form, 0, 1, web["name"], "Public website")
    await form.get_by_role("button", name="Move target 2 of group 1 up").click()
    await expect(form.get_by_role("button", name="Move target 1 of group 1 up")).to_be_disabled()
    await expect(row(form, 0, 0).get_by_label("Display name")).to_have_value("Public website")
    # Group 2, moved above group 1.
    await form.get_by_role("button", name="Add group").click()
    await group(form, 1).get_by_label("Group name").fill("Data")
    await add_target(form, 1, 0, db["name"], "Database")
    await form.get_by_role("button", name="Move group 2 up").click()
    await expect(group(form, 0).get_by_label("Group name")).to_have_value("Data")
    await form.get_by_role("button", name="Create page").click()

    list_row = page.locator(f"tr[data-slug='{slug}']")
    await expect(list_row).to_contain_text("2 groups, 3 targets")
    link = list_row.get_by_role("link", name=f"/status/{slug}")
    await expect(link).to_have_attribute("href", f"/status/{slug}")
    pid = int(await list_row.get_attribute("data-id") or 0)
    status, stored = await stack.get(f"/status-pages/{pid}")
    assert status == 200, stored
    assert stored["title"] == "Acme status" and stored["description"] == "How Acme is doing"  # type: ignore[index]
    assert [
        (g["name"], [(t["target_id"], t["display_name"]) for t in g["targets"]])
        for g in stored["groups"]  # type: ignore[index]
    ] == [
        ("Data", [(db["id"], "Database")]),
        ("Web", [(web["id"], "Public website"), (api_t["id"], api_t["name"])]),
    ]

    # Edit: the groups come back in order; remove the database, move Web up, save.
    await list_row.get_by_role("button", name="Edit Acme status").click()
    await expect(group(form, 1).get_by_label("Group name")).to_have_value("Web")
    await expect(row(form, 1, 1).get_by_label("Display name")).to_have_value(api_t["name"])
    await form.get_by_role("button", name="Remove target 1 of group 1").click()
    await form.get_by_role("button", name="Move group 2 up").click()
    await form.get_by_label("Title").fill("Acme services")
    await form.get_by_role("button", name="Save page").click()
    await expect(list_row).to_contain_text("Acme services")
    await expect(list_row).to_contain_text("2 groups, 2 targets")
    status, stored = await stack.get(f"/status-pages/{pid}")
    assert [g["name"] for g in stored["groups"]] == ["Web", "Data"]  # type: ignore[index]
    assert stored["groups"][1]["targets"] == []  # type: ignore[index]

    # The public link opens the page, which shows display names and no address.
    async with page.context.expect_page() as opened:
        await link.click()
    public = await opened.value
    await public.wait_for_load_state()
    assert public.url == f"{stack.base}/status/{slug}"
    await expect(public.get_by_text("Public website").first).to_be_visible()
    assert REFUSED_URL not in await public.content()
    await public.close()

    # Delete asks first.
    await list_row.get_by_role("button", name="Delete Acme services").click()
    await page.get_by_role("dialog").get_by_role("button", name="Delete").click()
    await expect(list_row).to_have_count(0)
    assert (await stack.get(f"/status-pages/{pid}"))[0] == 404
    page.watch.assert_clean()


async def test_a_bad_slug_is_shown_at_its_field(stack: Stack, page: Page) -> None:
    await login(page, stack)
    page.watch.expect(r"status of 400|HTTP 400: POST .*/api/v1/status-pages")
    await page.goto(stack.base + "/status-pages")
    await page.get_by_role("button", name="New status page").click()
    form = page.locator("form.status-page-form")
    slug = form.get_by_label("Slug")
    await slug.fill("Not A Slug!")
    await form.get_by_label("Title").fill("Bad slug")
    await form.get_by_role("button", name="Create page").click()
    error = form.locator("[data-field=slug] .field-error")
    await expect(error).to_be_visible()
    await expect(error).not_to_be_empty()
    await expect(slug).to_have_attribute("aria-invalid", "true")
    await expect(slug).to_be_focused()
    page.watch.assert_clean()


async def test_incident_update_posted_on_the_target_page(stack: Stack, page: Page) -> None:
    await login(page, stack)
    target, incident = await open_incident(stack, unique("iu down"))
    await page.goto(f"{stack.base}/targets/{target['id']}")
    # The ongoing incident shows its updates (none yet) and the form.
    updates = page.locator(f".incident-updates[data-incident='{incident['id']}']")
    await expect(updates).to_contain_text("No updates yet.")
    await updates.get_by_label("Status").select_option("identified")
    await updates.get_by_label("Message").fill("A bad deploy <b>rolled back</b>")
    await updates.get_by_role("button", name="Post update").click()
    item = updates.locator("li[data-status=identified]")
    await expect(item).to_contain_text("A bad deploy <b>rolled back</b>")  # text, not HTML
    await expect(item.locator(".badge")).to_have_text("Identified")
    await expect(updates.get_by_label("Message")).to_have_value("")
    status, body = await stack.get(f"/incidents/{incident['id']}/updates")
    assert [(u["status"], u["message"]) for u in body["items"]] == [  # type: ignore[index]
        ("identified", "A bad deploy <b>rolled back</b>")
    ]

    # Collapsing and opening again keeps it; a second update comes first.
    toggle = page.locator(f"tr[data-id='{incident['id']}']").get_by_role("button", name="Updates")
    await toggle.click()
    await expect(updates).to_have_count(0)
    await toggle.click()
    await expect(item).to_be_visible()
    await updates.get_by_label("Status").select_option("monitoring")
    await updates.get_by_label("Message").fill("Watching it")
    await updates.get_by_role("button", name="Post update").click()
    await expect(updates.locator("li").first).to_contain_text("Watching it")

    # Delete asks first.
    await item.get_by_role("button").click()
    await page.get_by_role("dialog").get_by_role("button", name="Delete").click()
    await expect(updates.locator("li")).to_have_count(1)
    page.watch.assert_clean()


async def test_a_viewer_sees_pages_and_updates_but_no_controls(stack: Stack, page: Page) -> None:
    viewer = await stack.user(unique("sp-viewer"), "viewer")
    target, incident = await open_incident(stack, unique("iu viewed"))
    await stack.post(
        f"/incidents/{incident['id']}/updates",
        {"status": "investigating", "message": "Looking into it"},
    )
    slug = unique("viewed").lower()
    await stack.post(
        "/status-pages",
        {
            "slug": slug,
            "title": "Viewed page",
            "groups": [{"name": "All", "targets": [{"target_id": target["id"]}]}],
        },
    )
    await login(page, stack, viewer)

    await page.goto(stack.base + "/status-pages")
    list_row = page.locator(f"tr[data-slug='{slug}']")
    await expect(list_row.get_by_role("link", name=f"/status/{slug}")).to_be_visible()
    await expect(page.get_by_role("button", name="New status page")).to_have_count(0)
    await expect(list_row.get_by_role("button")).to_have_count(0)

    await page.goto(f"{stack.base}/targets/{target['id']}")
    updates = page.locator(f".incident-updates[data-incident='{incident['id']}']")
    await expect(updates).to_contain_text("Looking into it")
    await expect(updates.locator("form")).to_have_count(0)
    await expect(updates.get_by_role("button")).to_have_count(0)
    page.watch.assert_clean()


async def test_screenshots(browser: Browser, stack: Stack, artifacts: Path) -> None:
    """Pictures of the status page list and its editor with two groups (light, dark, phone)
    under test-artifacts/ui/; nothing may be wider than the screen."""
    shop = await new_target(stack, unique("Shop front"))
    pay = await new_target(stack, unique("Payments API"))
    slug = unique("shop").lower()
    await stack.post(
        "/status-pages",
        {
            "slug": slug,
            "title": "Shop status",
            "description": "Live state of the shop and its payment services",
            "groups": [
                {"name": "Website", "targets": [{"target_id": shop["id"], "display_name": "Shop"}]},
                {"name": "Payments", "targets": [{"target_id": pay["id"]}]},
            ],
        },
    )
    for name, viewport, scheme in SCREENS:
        ctx = await browser.new_context(viewport=viewport, color_scheme=scheme, locale="en-GB")
        try:
            page = await ctx.new_page()
            watch = watch_page(page)
            await login(page, stack)
            await page.goto(stack.base + "/status-pages")
            list_row = page.locator(f"tr[data-slug='{slug}']")
            await expect(list_row).to_be_visible()
            await snapshot(page, scheme, artifacts / f"status-pages-{name}.png")
            await list_row.get_by_role("button", name="Edit Shop status").click()
            form = page.locator("form.status-page-form")
            await expect(group(form, 1).get_by_label("Group name")).to_have_value("Payments")
            await snapshot(page, scheme, artifacts / f"status-page-form-{name}.png")
            watch.assert_clean()
        finally:
            await ctx.close()
