"""A form that offers a list (a maintenance window's or a status page's targets, a route's
channels) cannot be opened before the page has read that list: its "New" button stays disabled
until then. Before, a click that beat the read opened a form offering nothing, and it stayed so
(a busy machine made the maintenance UI test fail that way). Likewise the target edit form takes
no typing until it holds the stored target."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

import pytest
from playwright.async_api import Locator, Page, Route, expect

from .conftest import Stack, login
from .test_auth import unique

REFUSED_URL = "http://127.0.0.1:9/"  # nothing listens there


async def a_target(stack: Stack) -> str:
    name = unique("list wait")
    await stack.post("/targets", {"name": name, "kind": "http", "url": REFUSED_URL})
    return name


async def a_channel(stack: Stack) -> str:
    name = unique("list wait")
    await stack.post("/channels", {"name": name, "kind": "slack", "config": {"url": REFUSED_URL}})
    return name


async def offers_target_in_window_form(form: Locator, name: str) -> None:
    targets = form.get_by_label("Targets", exact=True)
    await expect(targets.locator("option", has_text=name)).to_have_count(1)


async def offers_target_in_page_form(form: Locator, name: str) -> None:
    await form.get_by_role("button", name="Add a target to group 1").click()
    picker = form.locator("[data-field='groups[0].targets[0]']").get_by_label("Target", exact=True)
    await expect(picker.locator("option", has_text=name)).to_have_count(1)


async def offers_channel_in_route_form(form: Locator, name: str) -> None:
    await expect(form.get_by_role("checkbox", name=name)).to_be_visible()


@dataclass(frozen=True)
class Case:
    path: str
    held: str  # the list read the page must wait for (a glob of its URL)
    make: Callable[[Stack], Awaitable[str]]
    button: str
    form: str
    offers: Callable[[Locator, str], Awaitable[None]]


CASES = {
    "maintenance": Case(
        "/maintenance", "**/api/v1/targets?*", a_target, "New window",
        "form.maintenance-form", offers_target_in_window_form,
    ),
    "status-pages": Case(
        "/status-pages", "**/api/v1/targets?*", a_target, "New status page",
        "form.status-page-form", offers_target_in_page_form,
    ),
    "routes": Case(
        "/notifications", "**/api/v1/channels?*", a_channel, "New route",
        "form.panel-form", offers_channel_in_route_form,
    ),
}  # fmt: skip


class Held:
    """A request held back by hold(): asked() waits until the page makes it, release() lets
    it go."""

    def __init__(self) -> None:
        self._asked = asyncio.Event()
        self._released = asyncio.Event()

    async def route(self, route: Route) -> None:
        self._asked.set()
        await self._released.wait()
        await route.continue_()

    async def asked(self) -> None:
        await asyncio.wait_for(self._asked.wait(), 15)

    def release(self) -> None:
        self._released.set()


async def hold(page: Page, url_glob: str) -> Held:
    """Hold back the page's requests to `url_glob` until the answer's release()."""
    held = Held()
    await page.route(url_glob, held.route)
    return held


@pytest.mark.parametrize("case", CASES.values(), ids=CASES.keys())
async def test_new_button_waits_until_the_list_is_read(
    stack: Stack, page: Page, case: Case
) -> None:
    await login(page, stack)
    name = await case.make(stack)
    held = await hold(page, case.held)
    await page.goto(stack.base + case.path)
    await held.asked()
    button = page.get_by_role("button", name=case.button)
    await expect(button).to_be_disabled()

    held.release()
    await expect(button).to_be_enabled()
    await button.click()
    await case.offers(page.locator(case.form), name)
    page.watch.assert_clean()


async def test_the_edit_form_takes_no_typing_until_the_target_is_read(
    stack: Stack, page: Page
) -> None:
    """The edit form fills its fields from the stored target once it is read; a value typed
    before then was overwritten and the old one saved (the auth UI test's edit failed so on a
    busy machine). Now the fields stay disabled until the target is in the form."""
    await login(page, stack)
    target = await stack.post(
        "/targets",
        {"name": unique("edit wait"), "kind": "http", "url": REFUSED_URL, "interval_s": 60},
    )
    held = await hold(page, f"**/api/v1/targets/{target['id']}")
    await page.goto(f"{stack.base}/targets/{target['id']}/edit")
    await held.asked()
    interval = page.get_by_label("Interval (seconds)")
    await expect(interval).to_be_disabled()
    await expect(page.get_by_role("button", name="Save changes")).to_be_disabled()

    typing = asyncio.create_task(interval.fill("120"))  # waits for the field to be enabled
    held.release()
    await typing
    await expect(interval).to_have_value("120")
    await page.get_by_role("button", name="Save changes").click()
    await expect(page.locator("dl.settings")).to_contain_text("120 s")
    status, stored = await stack.get(f"/targets/{target['id']}")
    assert status == 200
    assert isinstance(stored, dict) and stored["interval_s"] == 120
    page.watch.assert_clean()
