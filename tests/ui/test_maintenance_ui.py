"""Maintenance windows in the web UI: made through the form (one-off and weekly, shown in the
browser's time and the window's zone), listed as active or upcoming, ended early; the API's
validation errors at the field they name; the target page's "Pause alerts for 30 min" and "End
maintenance"; the dashboard's banner and `maintenance` status; and a viewer sees none of the
controls."""

from __future__ import annotations

import datetime as dt
import re
from pathlib import Path
from zoneinfo import ZoneInfo

from playwright.async_api import Browser, Locator, Page, expect

from .conftest import Stack, login, watch_page
from .test_auth import unique
from .test_pages import SCREENS, snapshot

REFUSED_URL = "http://127.0.0.1:9/"  # nothing listens: the target goes down, never up
BROWSER_ZONE = "America/New_York"
WINDOW_ZONE = "Asia/Tokyo"
DAYS = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")


async def new_target(stack: Stack, name: str, **extra: object) -> dict:
    return await stack.post(
        "/targets",
        {"name": name, "kind": "http", "url": REFUSED_URL, "interval_s": 60, **extra},
    )


async def windows_of(stack: Stack, target_id: int) -> list[dict]:
    status, body = await stack.get(f"/maintenance?target_id={target_id}")
    assert status == 200, body
    return body["items"]  # type: ignore[index]


def section(page: Page, state: str) -> Locator:
    """The Maintenance page's card for `state` (active, upcoming, past)."""
    return page.locator(f"section[aria-labelledby=mw-{state}-title]")


async def test_windows_made_in_the_form_are_listed_and_end_early(
    browser: Browser, stack: Stack
) -> None:
    # A browser in New York, a window in Tokyo: the list shows both clocks.
    ctx = await browser.new_context(
        viewport={"width": 1280, "height": 900}, timezone_id=BROWSER_ZONE, locale="en-GB"
    )
    ctx.set_default_timeout(15_000)
    try:
        page = await ctx.new_page()
        watch = watch_page(page)
        await login(page, stack)
        target = await new_target(stack, unique("mw form"))
        await page.goto(stack.base + "/maintenance")

        # A one-off from now (the form's default start) for an hour, for the target picked by name.
        once_name = unique("db upgrade")
        await page.get_by_role("button", name="New window").click()
        form = page.locator("form.maintenance-form")
        await expect(form.get_by_label("Time zone")).to_have_value(BROWSER_ZONE)
        await form.get_by_label("Name", exact=True).fill(once_name)
        await form.get_by_label("Description").fill("Postgres 17")
        await form.get_by_label("Targets", exact=True).select_option(label=target["name"])
        await form.get_by_role("button", name="Create window").click()
        await expect(form).to_have_count(0)
        active_row = section(page, "active").locator("tr", has_text=once_name)
        await expect(active_row).to_be_visible()
        await expect(active_row).to_contain_text(target["name"])
        await expect(active_row.locator(".occ-zone")).to_have_text(BROWSER_ZONE)

        (once,) = [w for w in await windows_of(stack, target["id"]) if w["name"] == once_name]
        assert once["kind"] == "once" and once["state"] == "active"
        assert once["targets"] == [target["id"]] and once["time_zone"] == BROWSER_ZONE
        length = dt.datetime.fromisoformat(once["ends_at"]) - dt.datetime.fromisoformat(
            once["starts_at"]
        )
        assert abs(length.total_seconds() - 3600) <= 60, length

        # Weekly, every day, six hours from now on Tokyo's clock, for 90 minutes, by labels.
        tokyo = dt.datetime.now(ZoneInfo(WINDOW_ZONE)).replace(second=0, microsecond=0)
        start = tokyo + dt.timedelta(hours=6)
        weekly_name = unique("nightly backup")
        await page.get_by_role("button", name="New window").click()
        await form.get_by_label("Name", exact=True).fill(weekly_name)
        await form.get_by_label("Weekly").check()
        await expect(form.get_by_label("Starts")).to_be_hidden()
        for day in DAYS:
            await form.get_by_label(day, exact=True).check()
        await form.get_by_label("Start time").fill(start.strftime("%H:%M"))
        await form.get_by_label("Duration").fill("1h30m")
        await form.get_by_label("Time zone").select_option(WINDOW_ZONE)
        await form.get_by_label("Match labels").fill(f"mwgroup={weekly_name}")
        await form.get_by_label("Count this time in uptime").check()
        await form.get_by_role("button", name="Create window").click()
        upcoming_row = section(page, "upcoming").locator("tr", has_text=weekly_name)
        await expect(upcoming_row).to_be_visible()
        await expect(upcoming_row).to_contain_text(f"at {start.strftime('%H:%M')}")
        await expect(upcoming_row).to_contain_text(f"mwgroup={weekly_name}")
        await expect(upcoming_row).to_contain_text("counted")
        # The next start on both clocks: the browser's (New York) and the window's (Tokyo).
        local = start.astimezone(ZoneInfo(BROWSER_ZONE)).strftime("%H:%M")
        await expect(upcoming_row.locator(".occ-local")).to_contain_text(local)
        await expect(upcoming_row.locator(".occ-zone")).to_contain_text(start.strftime("%H:%M"))
        await expect(upcoming_row.locator(".occ-zone")).to_contain_text(WINDOW_ZONE)
        status, body = await stack.get("/maintenance?state=upcoming&limit=1000")
        (weekly,) = [w for w in body["items"] if w["name"] == weekly_name]  # type: ignore[index]
        assert weekly["kind"] == "weekly" and weekly["days"] == [d.lower() for d in DAYS]
        assert weekly["start_time"] == start.strftime("%H:%M")
        assert weekly["duration_s"] == 5400 and weekly["time_zone"] == WINDOW_ZONE
        assert weekly["match_labels"] == {"mwgroup": weekly_name}
        assert weekly["include_in_uptime"] is True
        assert dt.datetime.fromisoformat(weekly["next"]["starts_at"]) == start

        # Edit: the form comes back filled in, and a change is saved.
        await upcoming_row.get_by_role("button", name=f"Edit {weekly_name}").click()
        await expect(form.get_by_label("Duration")).to_have_value("1h30m")
        await expect(form.get_by_label("Time zone")).to_have_value(WINDOW_ZONE)
        await expect(form.get_by_label("Tue", exact=True)).to_be_checked()
        await form.get_by_label("Duration").fill("2h")
        await form.get_by_role("button", name="Save window").click()
        await expect(upcoming_row).to_contain_text("for 2h 0m")
        status, body = await stack.get(f"/maintenance/{weekly['id']}")
        assert body["duration_s"] == 7200  # type: ignore[index]

        # End the one-off early: it asks first, then the window is past.
        dialog = page.get_by_role("dialog")
        await active_row.get_by_role("button", name=f"End {once_name} now").click()
        await expect(dialog).to_contain_text(f"End {once_name} now?")
        await dialog.get_by_role("button", name="End now").click()
        await expect(section(page, "past").locator("tr", has_text=once_name)).to_be_visible()
        await expect(section(page, "active").locator("tr", has_text=once_name)).to_have_count(0)
        status, body = await stack.get(f"/maintenance/{once['id']}")
        assert body["state"] == "past"  # type: ignore[index]

        # Delete asks too.
        await section(page, "past").get_by_role("button", name=f"Delete {once_name}").click()
        await dialog.get_by_role("button", name="Delete").click()
        await expect(page.locator("tr", has_text=once_name)).to_have_count(0)
        assert (await stack.get(f"/maintenance/{once['id']}"))[0] == 404
        watch.assert_clean()
    finally:
        await ctx.close()


async def test_validation_errors_appear_at_their_field(stack: Stack, page: Page) -> None:
    await login(page, stack)
    page.watch.expect(r"status of 400|HTTP 400: (POST|PUT) .*/api/v1/maintenance")
    target = await new_target(stack, unique("mw invalid"))
    await page.goto(stack.base + "/maintenance")
    await page.get_by_role("button", name="New window").click()
    form = page.locator("form.maintenance-form")
    await form.get_by_label("Name", exact=True).fill(unique("bad cron"))
    await form.get_by_label("Targets", exact=True).select_option(label=target["name"])
    await form.get_by_label("Cron", exact=True).check()
    await form.get_by_label("Cron expression").fill("every sunday")
    await form.get_by_label("Duration").fill("1h")
    await form.get_by_role("button", name="Create window").click()

    cron_error = form.locator("[data-field=cron] .field-error")
    await expect(cron_error).to_be_visible()
    await expect(cron_error).to_contain_text(re.compile("cron", re.I))
    cron = form.get_by_label("Cron expression")
    await expect(cron).to_have_attribute("aria-invalid", "true")
    await expect(cron).to_be_focused()

    # Weekly with no day ticked: the error is at the days, and the cron one is gone.
    await form.get_by_label("Weekly").check()
    await form.get_by_role("button", name="Create window").click()
    days_error = form.locator("[data-field=days] .field-error")
    await expect(days_error).to_be_visible()
    await expect(days_error).not_to_be_empty()
    await expect(cron_error).to_be_hidden()

    # A duration the form cannot read is refused before anything is sent.
    await form.get_by_label("Sat", exact=True).check()
    await form.get_by_label("Duration").fill("soon")
    await form.get_by_role("button", name="Create window").click()
    await expect(form.locator("[data-field=duration_s] .field-error")).to_contain_text("90m")
    assert await windows_of(stack, target["id"]) == []
    page.watch.assert_clean()


async def test_target_page_pauses_alerts_for_30_minutes(stack: Stack, page: Page) -> None:
    await login(page, stack)
    target = await new_target(stack, unique("mw pause"))
    tid = target["id"]
    await page.goto(f"{stack.base}/targets/{tid}")
    card = page.locator("section.mw-banner")
    head = page.locator(".target-head")
    await expect(card).to_contain_text("No maintenance planned")

    await card.get_by_role("button", name="Pause alerts for 30 min").click()
    await expect(head.locator(".badge")).to_have_text("Maintenance")
    await expect(card.locator(".mw-list li[data-state=active]")).to_be_visible()
    (win,) = await windows_of(stack, tid)
    assert win["state"] == "active" and win["kind"] == "once" and win["targets"] == [tid]
    length = dt.datetime.fromisoformat(win["ends_at"]) - dt.datetime.fromisoformat(win["starts_at"])
    assert length == dt.timedelta(minutes=30)
    await expect(head).to_contain_text(win["name"])
    status, body = await stack.get(f"/targets/{tid}")
    assert body["status"] == "maintenance"  # type: ignore[index]

    # The dashboard shows it too: the row's status and the banner of windows.
    await page.goto(f"{stack.base}/?q={target['name']}")
    row = page.locator(f"tr[data-id='{tid}']")
    await expect(row.locator(".badge")).to_have_text("Maintenance")
    await expect(page.locator("section.mw-banner")).to_contain_text(win["name"])
    await expect(page.locator(".count.c-maintenance")).to_be_visible()
    await page.locator(".count.c-maintenance").click()
    await expect(page).to_have_url(re.compile(r"state=maintenance"))
    await expect(row).to_be_visible()

    # The banner's link opens the window on the Maintenance page.
    await page.locator("section.mw-banner").get_by_role("link", name=win["name"]).click()
    await expect(page).to_have_url(f"{stack.base}/maintenance#mw-{win['id']}")
    await expect(page.locator(f"tr#mw-{win['id']}")).to_have_class(re.compile("highlight"))

    # "Schedule…" opens the form with this target ticked.
    await page.goto(f"{stack.base}/targets/{tid}")
    await card.get_by_role("link", name="Schedule…").click()
    await expect(page).to_have_url(f"{stack.base}/maintenance")
    picked = page.locator("form.maintenance-form").get_by_label("Targets", exact=True)
    await expect(picked.locator("option:checked")).to_have_text(target["name"])
    await page.get_by_role("button", name="Cancel").click()

    await page.goto(f"{stack.base}/targets/{tid}")
    await card.get_by_role("button", name="End maintenance").click()
    dialog = page.get_by_role("dialog")
    await expect(dialog).to_contain_text("every target it covers")
    await dialog.get_by_role("button", name="End maintenance").click()
    await expect(head.locator(".badge")).not_to_have_text("Maintenance")
    await expect(card.get_by_role("button", name="End maintenance")).to_have_count(0)
    (win,) = await windows_of(stack, tid)
    assert win["state"] == "past"
    page.watch.assert_clean()


async def test_a_viewer_sees_windows_but_no_controls(stack: Stack, page: Page) -> None:
    viewer = await stack.user(unique("mw-viewer"), "viewer")
    target = await new_target(stack, unique("mw viewed"))
    name = unique("viewed window")
    await stack.post("/maintenance", {"name": name, "targets": [target["id"]], "duration_s": 600})
    await login(page, stack, viewer)

    await page.goto(stack.base + "/maintenance")
    row = section(page, "active").locator("tr", has_text=name)
    await expect(row).to_be_visible()
    await expect(page.get_by_role("button", name="New window")).to_have_count(0)
    await expect(row.get_by_role("button")).to_have_count(0)

    await page.goto(f"{stack.base}/targets/{target['id']}")
    card = page.locator("section.mw-banner")
    await expect(card).to_contain_text(name)
    await expect(page.locator(".target-head .badge")).to_have_text("Maintenance")
    await expect(card.get_by_role("button")).to_have_count(0)
    await expect(card.get_by_role("link", name="Schedule…")).to_have_count(0)
    page.watch.assert_clean()


async def test_screenshots(browser: Browser, stack: Stack, artifacts: Path) -> None:
    """Pictures of the Maintenance page, its form and the dashboard's banner (light, dark,
    phone) under test-artifacts/ui/; nothing may be wider than the screen."""
    target = await new_target(stack, unique("mw shot"), labels={"env": "shot"})
    now_name = unique("Hotfix rollout")
    await stack.post(
        "/maintenance", {"name": now_name, "targets": [target["id"]], "duration_s": 3600}
    )
    await stack.post(
        "/maintenance",
        {
            "name": unique("Weekend backups"),
            "description": "Snapshots of every volume",
            "days": ["sat", "sun"],
            "start_time": "02:30",
            "duration_s": 7200,
            "time_zone": "Europe/Berlin",
            "match_labels": {"env": "shot"},
        },
    )
    for name, viewport, scheme in SCREENS:
        ctx = await browser.new_context(viewport=viewport, color_scheme=scheme, locale="en-GB")
        try:
            page = await ctx.new_page()
            watch = watch_page(page)
            await login(page, stack)
            await page.goto(stack.base + "/maintenance")
            await expect(page.locator("tr", has_text=now_name)).to_be_visible()
            await snapshot(page, scheme, artifacts / f"maintenance-{name}.png")
            await page.get_by_role("button", name="New window").click()
            await page.get_by_label("Weekly").check()
            await snapshot(page, scheme, artifacts / f"maintenance-form-{name}.png")
            await page.goto(f"{stack.base}/targets/{target['id']}")
            await expect(page.locator("section.mw-banner")).to_contain_text(now_name)
            await snapshot(page, scheme, artifacts / f"target-maintenance-{name}.png")
            await page.goto(f"{stack.base}/?label=env:shot")
            await expect(page.locator("section.mw-banner")).to_contain_text(now_name)
            await expect(page.locator(f"tr[data-id='{target['id']}'] .badge")).to_have_text(
                "Maintenance"
            )
            await snapshot(page, scheme, artifacts / f"dashboard-maintenance-{name}.png")
            watch.assert_clean()
        finally:
            await ctx.close()
