"""Every page loads without console errors or failed requests; screenshots of the dashboard and
a target page (light, dark, phone) are saved under test-artifacts/ui/; the dashboard's first
rows paint within a second at 10,000 targets."""

from __future__ import annotations

import asyncio
import time
from pathlib import Path

import pytest
from playwright.async_api import Browser, Page, expect

from vigil_core.db import connect

from .conftest import LIVE_DEADLINE_MS, Loopback, Stack, login, watch_page
from .seed import seed_history, seed_many


async def wait_for_checks(stack: Stack, target_id: int, count: int, deadline_s: float = 30) -> None:
    end = time.monotonic() + deadline_s
    while time.monotonic() < end:
        status, body = await stack.get(f"/targets/{target_id}/checks?limit={count}")
        if status == 200 and len(body["items"]) >= count:
            return
        await asyncio.sleep(0.2)
    raise AssertionError(f"target {target_id} had fewer than {count} checks after {deadline_s}s")


async def test_every_page_loads_cleanly(stack: Stack, loopback: Loopback, page: Page) -> None:
    await login(page, stack)
    target = await stack.post(
        "/targets",
        {
            "name": "clean page",
            "kind": "http",
            "url": loopback.url,
            "interval_s": 1,
            "timeout_s": 0.5,
            "labels": {"env": "test"},
        },
    )
    tid = target["id"]
    await wait_for_checks(stack, tid, 2)
    pages = [
        ("/", page.get_by_role("link", name="clean page")),
        ("/?kind=http&label=env:test&q=clean", page.get_by_role("link", name="clean page")),
        (f"/targets/{tid}", page.locator("table.checks tbody tr").first),
        (f"/targets/{tid}/edit", page.get_by_label("URL", exact=True)),
        ("/targets/new", page.get_by_label("Name", exact=True)),
    ]
    for path, ready in pages:
        await page.goto(stack.base + path)
        await expect(ready).to_be_visible(timeout=LIVE_DEADLINE_MS)
        await expect(page.locator("#live")).to_have_attribute("data-state", "live")
        await page.wait_for_timeout(1000)  # live updates arrive meanwhile
        page.watch.assert_clean()


SCREENS = [
    ("light", {"width": 1280, "height": 900}, "light"),
    ("dark", {"width": 1280, "height": 900}, "dark"),
    ("phone", {"width": 390, "height": 844}, "light"),
]

# Page background luminance (0..1): light mode reads light, dark mode dark.
BACKGROUND_LUMINANCE = r"""() => {
  const [r, g, b] = getComputedStyle(document.body).backgroundColor.match(/\d+/g).map(Number);
  return (0.2126 * r + 0.7152 * g + 0.0722 * b) / 255;
}"""


async def check_layout(page: Page, scheme: str) -> None:
    """Nothing sticks out sideways (phones scroll only down), and the theme follows the system."""
    overflow = await page.evaluate("document.documentElement.scrollWidth - window.innerWidth")
    assert overflow <= 0, f"{page.url} is {overflow}px wider than the viewport"
    luminance = await page.evaluate(BACKGROUND_LUMINANCE)
    assert (luminance < 0.2) if scheme == "dark" else (luminance > 0.8), (
        f"{scheme} background: {luminance:.2f}"
    )


async def snapshot(page: Page, scheme: str, path: Path) -> None:
    """A full-page picture from the top, with no hover effect, after the layout checks."""
    await page.evaluate("window.scrollTo(0, 0)")
    await page.mouse.move(0, 0)
    await page.wait_for_load_state("networkidle")
    await check_layout(page, scheme)
    await page.screenshot(path=path, full_page=True)


async def seed_fleet(stack: Stack, db_url: str) -> None:
    fleet = [
        (
            "Shop front",
            "http",
            {"url": "https://shop.example.com/"},
            {"env": "prod", "team": "web"},
            95,
            "up",
            62,
        ),
        (
            "Checkout API",
            "http",
            {"url": "https://api.example.com/v2/checkout/health"},
            {"env": "prod"},
            140,
            "up",
            48,
        ),
        (
            "Postgres primary",
            "tcp",
            {"host": "db1.internal", "port": 5432},
            {"env": "prod", "team": "data"},
            2.4,
            "up",
            None,
        ),
        (
            "Search cluster",
            "http",
            {"url": "https://search.example.com/_cluster/health"},
            {"env": "prod"},
            310,
            "down",
            9,
        ),
        ("Edge router", "icmp", {"host": "192.0.2.1"}, {"site": "ams"}, 11, "up", None),
        (
            "Staging web",
            "http",
            {"url": "https://staging.example.com/"},
            {"env": "staging"},
            180,
            "pending",
            20,
        ),
        (
            "Legacy FTP gateway",
            "tcp",
            {"host": "ftp.example.com", "port": 21},
            {"env": "prod"},
            35,
            "up",
            None,
        ),
    ]
    conn = await connect(db_url)
    try:
        for i, (name, kind, addr, labels, base, status, tls) in enumerate(fleet):
            t = await stack.post(
                "/targets",
                {
                    "name": name,
                    "kind": kind,
                    **addr,
                    "labels": labels,
                    "interval_s": 60,
                    "timeout_s": 10,
                    "enabled": name != "Legacy FTP gateway",
                },
            )
            await seed_history(
                conn,
                t["id"],
                base_ms=base,
                status=status,
                seed=i,
                outages=i % 4,
                tls_days=tls,
                since_hours=5 + 13 * i,
            )
    finally:
        await conn.close()


async def test_screenshots(browser: Browser, api_only: Stack, db_url: str, artifacts: Path) -> None:
    """Pictures for people to look at (test-artifacts/ui/*.png); they must load cleanly too."""
    await seed_fleet(api_only, db_url)
    for name, viewport, scheme in SCREENS:
        ctx = await browser.new_context(
            viewport=viewport, color_scheme=scheme, device_scale_factor=1
        )
        try:
            page = await ctx.new_page()
            watch = watch_page(page)
            await login(page, api_only)
            await page.goto(api_only.base + "/")
            # Rows load their sparklines as they scroll into view; a full-page picture needs all.
            rows = page.locator("tbody tr[data-id]")
            await expect(rows).to_have_count(7)
            await rows.last.scroll_into_view_if_needed()
            await expect(page.locator("tbody tr .spark")).to_have_count(7)
            await snapshot(page, scheme, artifacts / f"dashboard-{name}.png")
            await page.get_by_role("link", name="Search cluster").click()
            await expect(page.locator(".chart-line").first).to_be_visible()
            await expect(page.locator("table.checks tbody tr").first).to_be_visible()
            await expect(page.locator(".stat", has_text="TLS certificate")).to_contain_text("days")
            await snapshot(page, scheme, artifacts / f"target-{name}.png")
            await page.get_by_role("link", name="Edit").click()
            await expect(page.get_by_label("URL", exact=True)).to_have_value(
                "https://search.example.com/_cluster/health"
            )
            await snapshot(page, scheme, artifacts / f"form-{name}.png")
            watch.assert_clean()
        finally:
            await ctx.close()


@pytest.mark.parametrize("count", [10_000], ids=["10k-targets"])
async def test_dashboard_first_rows_paint_within_a_second(
    api_only: Stack, db_url: str, count: int, page: Page
) -> None:
    await login(page, api_only)
    conn = await connect(db_url)
    try:
        await seed_many(conn, count)
    finally:
        await conn.close()
    await page.goto(api_only.base + "/")  # warm: module cache and the API's query plans
    await expect(page.locator(".count.c-all .n")).to_have_text(str(count))
    best = None
    for _ in range(3):
        await page.reload()
        await expect(page.locator("tbody tr[data-id]").first).to_be_visible()
        painted = await page.evaluate("performance.getEntriesByName('vigil:rows')[0].startTime")
        best = painted if best is None else min(best, painted)
    print(f"dashboard first rows at {count} targets: {best:.0f} ms after navigation start")
    assert best < 1000, (
        f"first rows painted {best:.0f} ms after navigation start at {count} targets"
    )
    assert await page.locator("tbody tr[data-id]").count() <= 100, (
        "the dashboard must page, not render all"
    )
    page.watch.assert_clean()
