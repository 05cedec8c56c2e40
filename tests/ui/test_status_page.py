"""A public status page in Chromium, logged out: with JavaScript it shows the right overall state,
statuses, 90-day bars, maintenance and incidents, and follows a change live from its JSON; with
JavaScript disabled it shows the same as served; no CSP violation or console error either way,
and no private data of the targets on screen. Screenshots go to test-artifacts/ui/."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

from playwright.async_api import Browser, Page, expect

from vigil_core.db import connect

from .conftest import LIVE_DEADLINE_MS, Stack, watch_page

SECRETS = ["zz-secret-shop", "zz-secret-pay", "zz-secret-db", "10.77.1.2", "hunter2", "zzlabel"]


async def seed(stack: Stack) -> dict[str, int]:
    """Shop up with a bad day two days ago, Payments down with an open incident and an update,
    Database in maintenance; a page that shows them under other names."""
    ids = {}
    for key in ("shop", "pay", "db"):
        target = await stack.post(
            "/targets",
            {
                "name": f"zz-secret-{key}",
                "kind": "http",
                "url": f"http://10.77.1.2:9/{key}?token=hunter2",
                "interval_s": 60,
                "timeout_s": 5,
                "labels": {"zzlabel": "x"},
            },
        )
        ids[key] = target["id"]
    now = datetime.now(UTC)
    conn = await connect(stack.db_url)
    try:
        for key, status in (("shop", "up"), ("pay", "down"), ("db", "up")):
            await conn.execute(
                "UPDATE target_state SET status = $2, since = now() - interval '2 hours',"
                " last_error_message = 'zz-secret-db error' WHERE target_id = $1",
                ids[key],
                status,
            )
        bad_day = datetime.combine(now.date() - timedelta(days=2), datetime.min.time(), UTC)
        await conn.execute(
            "INSERT INTO check_rollups_hourly (target_id, hour, checks, ok, latency_sum_ms,"
            " latency_max_ms, latency_count, latency_buckets)"
            " VALUES ($1, $2, 100, 80, 1600, 20, 80, array_fill(0, ARRAY[17]))",
            ids["shop"],
            bad_day + timedelta(hours=3),
        )
        incident = await conn.fetchval(
            "INSERT INTO incidents (target_id, started_at, cause) VALUES ($1, $2, 'zz-secret-db')"
            " RETURNING id",
            ids["pay"],
            now - timedelta(minutes=20),
        )
        window = await conn.fetchval(
            "INSERT INTO maintenance_windows (name, description, kind, starts_at, ends_at)"
            " VALUES ('Database upgrade', 'To version 17.', 'once', $1, $2) RETURNING id",
            now - timedelta(minutes=5),
            now + timedelta(hours=1),
        )
        await conn.execute(
            "INSERT INTO maintenance_window_targets VALUES ($1, $2)", window, ids["db"]
        )
        await conn.execute(
            "INSERT INTO maintenance_occurrences (window_id, starts_at, ends_at)"
            " SELECT id, starts_at, ends_at FROM maintenance_windows WHERE id = $1",
            window,
        )
    finally:
        await conn.close()
    await stack.post(
        f"/incidents/{incident}/updates",
        {"status": "identified", "message": "The card processor times out."},
    )
    await stack.post(
        "/status-pages",
        {
            "slug": "acme",
            "title": "Acme status",
            "description": "How Acme is doing.",
            "groups": [
                {
                    "name": "Shop",
                    "targets": [
                        {"target_id": ids["shop"], "display_name": "Storefront"},
                        {"target_id": ids["pay"], "display_name": "Payments"},
                    ],
                },
                {"name": "Data", "targets": [{"target_id": ids["db"], "display_name": "Database"}]},
            ],
        },
    )
    return ids


async def assert_served_states(page: Page) -> None:
    overall = page.locator("#overall")
    await expect(overall).to_have_attribute("data-status", "partial_outage")
    await expect(overall).to_have_text("Partial outage")
    rows = page.locator("li.target")
    await expect(rows).to_have_count(3)
    await expect(rows.locator(".tname")).to_have_text(["Storefront", "Payments", "Database"])
    await expect(rows.locator(".status")).to_have_text(["Operational", "Outage", "Maintenance"])
    # Runs of equal days: 87 without data, the bad day, 2 without data.
    bars = rows.first.locator("ol.bars li")
    await expect(bars).to_have_count(3)
    await expect(bars.nth(1)).to_have_class("b4 d1")
    two_days_ago = (datetime.now(UTC).date() - timedelta(days=2)).isoformat()
    await expect(bars.nth(1)).to_have_attribute("title", f"{two_days_ago}: 80 %")
    await expect(page.locator(".maintenance h3")).to_have_text(["Database upgrade"])
    await expect(page.locator(".maintenance .affects")).to_have_text("Affects: Database")
    incident = page.locator("li.incident")
    await expect(incident.locator("h3")).to_have_text("Payments: outage Identified")
    await expect(incident.locator(".updates .text")).to_have_text("The card processor times out.")
    # Drawn to scale: a run is as wide as its days, each day a visible bar.
    boxes = [await bars.nth(i).bounding_box() for i in range(3)]
    assert all(b is not None and b["height"] >= 20 for b in boxes), boxes
    day = boxes[1]["width"]  # type: ignore[index]
    assert day >= 2, boxes
    assert abs(boxes[0]["width"] - 87 * day) < 3 and abs(boxes[2]["width"] - 2 * day) < 2, boxes  # type: ignore[index]
    text = await page.locator("body").inner_text()
    html = await page.content()
    leaked = [s for s in SECRETS if s in text or s in html]
    assert not leaked, f"the page shows {leaked}"


async def test_with_javascript_live(api_only: Stack, page: Page, artifacts: Path) -> None:
    ids = await seed(api_only)
    await page.goto(f"{api_only.base}/status/acme")
    await assert_served_states(page)
    # The script ran: times are in the browser's zone and words, not the served "... UTC".
    await expect(page.locator("li.incident .when time").first).not_to_contain_text("UTC")
    await page.screenshot(path=artifacts / "status-page-light.png", full_page=True)

    conn = await connect(api_only.db_url)
    try:
        await conn.execute("UPDATE target_state SET status = 'up' WHERE target_id = $1", ids["pay"])
    finally:
        await conn.close()
    # The cache's TTL, then the script's next refresh from the JSON: no reload.
    overall = page.locator("#overall")
    await expect(overall).to_have_attribute(
        "data-status", "maintenance", timeout=LIVE_DEADLINE_MS + 10_000
    )
    await expect(overall).to_have_text("Maintenance in progress")
    await expect(page.locator("li.target .status")).to_have_text(
        ["Operational", "Operational", "Maintenance"]
    )
    assert int(await page.locator("body").get_attribute("data-refreshed") or 0) >= 1
    page.watch.assert_clean()  # type: ignore[attr-defined]


async def test_without_javascript(api_only: Stack, browser: Browser, artifacts: Path) -> None:
    await seed(api_only)
    for scheme in ("light", "dark"):
        ctx = await browser.new_context(
            java_script_enabled=False, color_scheme=scheme, viewport={"width": 390, "height": 844}
        )
        try:
            page = await ctx.new_page()
            watch = watch_page(page)
            resp = await page.goto(f"{api_only.base}/status/acme")
            assert resp is not None and resp.status == 200
            await assert_served_states(page)
            # As served: no script changed the times.
            await expect(page.locator("li.incident .when time").first).to_contain_text("UTC")
            # A phone scrolls only down.
            overflow = await page.evaluate(
                "document.documentElement.scrollWidth - window.innerWidth"
            )
            assert overflow <= 0, f"{overflow}px wider than the phone"
            await page.screenshot(path=artifacts / f"status-page-nojs-{scheme}.png", full_page=True)
            watch.assert_clean()
        finally:
            await ctx.close()
