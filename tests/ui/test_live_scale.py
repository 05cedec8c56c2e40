"""The dashboard at 10,000 targets: it paints fast, its live stream asks only for what it shows
(the states and results of its page's rows, and the counts under its filters), a change of
state reaches the row and the counts without the rows being drawn again, and the target page's
stream asks for that target alone."""

from __future__ import annotations

import asyncio
import re
import time
from urllib.parse import parse_qs, urlsplit

from playwright.async_api import Page, expect

from vigil_core.db import connect
from vigil_core.notify import STATUS_CHANNEL, StateChanged, encode

from .conftest import LIVE_DEADLINE_MS, Stack, login
from .seed import seed_many

COUNT = 10_000
PAINT_DEADLINE_MS = 5000  # the goal is 1 s; two shared cores and other suites running


async def change_state(db_url: str, target_id: int, status: str, previous: str) -> None:
    """What the worker does when a target's state changes: the row, then the NOTIFY."""
    conn = await connect(db_url)
    try:
        async with conn.transaction():
            since = await conn.fetchval(
                "UPDATE target_state SET status = $2, since = now() WHERE target_id = $1"
                " RETURNING since",
                target_id,
                status,
            )
            payload = StateChanged(
                target_id=target_id, status=status, previous=previous, since=since.isoformat()
            )
            await conn.execute("SELECT pg_notify($1, $2)", STATUS_CHANNEL, encode(payload))
    finally:
        await conn.close()


def stream_query(url: str) -> dict[str, list[str]]:
    return parse_qs(urlsplit(url).query)


async def test_dashboard_at_10k_targets_streams_only_what_it_shows(
    api_only: Stack, db_url: str, page: Page
) -> None:
    await login(page, api_only)
    conn = await connect(db_url)
    try:
        await seed_many(conn, COUNT)
        down = await conn.fetchval("SELECT count(*) FROM target_state WHERE status = 'down'")
    finally:
        await conn.close()
    streams: list[str] = []
    page.on("request", lambda r: streams.append(r.url) if "/api/v1/events" in r.url else None)

    await page.goto(api_only.base + "/")
    rows = page.locator("tbody tr[data-id]")
    await expect(rows.first).to_be_visible()
    painted = await page.evaluate("performance.getEntriesByName('vigil:rows')[0].startTime")
    print(
        f"dashboard first rows at {COUNT} targets (cold): {painted:.0f} ms after navigation start"
    )
    assert painted <= PAINT_DEADLINE_MS
    await expect(page.locator(".count.c-all .n")).to_have_text(str(COUNT))
    await expect(page.locator("#live")).to_have_attribute("data-state", "live")

    # The stream the page settles on: its rows' states and results, and the counts.
    shown = [int(i) for i in await rows.evaluate_all("rs => rs.map(r => r.dataset.id)")]
    assert len(shown) <= 100

    def settled() -> dict[str, list[str]]:
        return stream_query(streams[-1])

    async def settled_on_rows() -> None:
        q = settled()
        assert set(q["type"][0].split(",")) == {"state", "result", "maintenance", "counts"}
        assert sorted(int(i) for i in q["target_id"]) == sorted(shown)

    await with_deadline(settled_on_rows)

    # A change of state on a shown row: its badge and the counts follow, and the row (the link
    # a user may be clicking) is the same element, not drawn again.
    first = rows.first
    await first.locator("a.name").evaluate("a => { a.dataset.marker = 'kept'; }")
    target_id = shown[0]
    status = await first.get_attribute("data-status")
    new, old = ("down", "up") if status == "up" else ("up", "down")
    await change_state(db_url, target_id, new, old)
    await expect(first.locator(".badge")).to_have_text(new.capitalize(), timeout=LIVE_DEADLINE_MS)
    expected_down = down + (1 if new == "down" else -1)
    await expect(page.locator(".count.c-down .n")).to_have_text(
        str(expected_down), timeout=LIVE_DEADLINE_MS
    )
    assert await first.locator("a.name").get_attribute("data-marker") == "kept"

    # A change of state off the page still moves the counts (they cover every target).
    conn = await connect(db_url)
    try:
        off_page = await conn.fetchval(
            "SELECT target_id FROM target_state WHERE status = 'up' AND NOT target_id = ANY($1)"
            " LIMIT 1",
            shown,
        )
    finally:
        await conn.close()
    await change_state(db_url, off_page, "down", "up")
    await expect(page.locator(".count.c-down .n")).to_have_text(
        str(expected_down + 1), timeout=LIVE_DEADLINE_MS
    )
    assert await first.locator("a.name").get_attribute("data-marker") == "kept"

    # The target page's stream: that target's states and results only.
    await first.locator("a.name").click()
    await expect(page).to_have_url(re.compile(rf"/targets/{target_id}$"))
    await expect(page.locator(".target-head .badge")).to_have_text(new.capitalize())

    async def settled_on_target() -> None:
        q = settled()
        assert "counts" not in q["type"][0] and "result" in q["type"][0]
        assert q["target_id"] == [str(target_id)]

    await with_deadline(settled_on_target)
    await change_state(db_url, target_id, old, new)
    await expect(page.locator(".target-head .badge")).to_have_text(
        old.capitalize(), timeout=LIVE_DEADLINE_MS
    )
    page.watch.assert_clean()


async def with_deadline(check, timeout_ms: int = LIVE_DEADLINE_MS) -> None:
    """Run the async assertion `check` until it passes, or raise its error at the deadline."""
    end = time.monotonic() + timeout_ms / 1000
    while True:
        try:
            await check()
            return
        except (AssertionError, KeyError, IndexError):
            if time.monotonic() > end:
                raise
            await asyncio.sleep(0.05)
