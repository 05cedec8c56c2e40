"""The DNS, push and HTTP-rule parts of the target form and page, in a real browser against real
`vigil api` and `vigil worker` processes: a DNS target made in the form shows the answers of a
loopback DNS server; a TLS target shows a loopback server's certificate; a push target shows its
secret URL, copies it, and goes up when pinged; an HTTP target's JSON conditions reach the API and its 400s land on the row they name; the form
fits a 400 px wide screen for every kind."""

from __future__ import annotations

import asyncio
import re
import ssl
import uuid
from pathlib import Path

import aiohttp
import pytest
from playwright.async_api import Browser, BrowserContext, Locator, Page, expect

from ..dns_server import dns_server
from ..faults.certs import make_certs
from .conftest import LIVE_DEADLINE_MS, Loopback, Stack, login, watch_page

KINDS = ["HTTP(S)", "TCP", "ICMP ping", "DNS", "TLS certificate", "Push (heartbeat)"]
BAD_REQUEST = r"status of 400|HTTP 400: (POST|PUT) .*/api/v1/targets"


def unique(prefix: str) -> str:
    """A name no other test on the shared stack uses."""
    return f"{prefix} {uuid.uuid4().hex[:8]}"


def part(page: Page, name: str) -> Locator:
    """The field wrapper the API's error path `name` lands on (json[1].path, ...)."""
    return page.locator(f'[data-field="{name}"]')


async def new_target(page: Page, stack: Stack, kind: str, name: str) -> None:
    await page.goto(stack.base + "/targets/new")
    await page.get_by_label(kind, exact=True).check()
    await page.get_by_label("Name", exact=True).fill(name)


async def created_id(page: Page) -> int:
    await expect(page).to_have_url(re.compile(r"/targets/\d+$"))
    return int(page.url.rsplit("/", 1)[1])


async def test_dns_target_made_in_the_form_shows_the_servers_answers(
    stack: Stack, page: Page, artifacts: Path
) -> None:
    await login(page, stack)
    async with dns_server() as dns:
        await new_target(page, stack, "DNS", unique("ui dns"))
        await expect(page.get_by_label("URL", exact=True)).to_be_hidden()
        await page.get_by_label("Name to resolve").fill("www.good.test")
        await page.get_by_label("Record type").select_option("A")
        await page.get_by_label("Server", exact=True).fill(dns.address)
        await page.get_by_label("Expected values").fill("127.0.0.1")
        await page.get_by_label("Interval (seconds)").fill("2")
        await page.get_by_label("Timeout (seconds)").fill("1")
        await page.get_by_label("Slow above (ms)").fill("900")
        await page.get_by_role("button", name="Create target").click()
        tid = await created_id(page)

        body = (await stack.get(f"/targets/{tid}"))[1]
        assert body["kind"] == "dns"
        assert (body["query_name"], body["record_type"], body["server"]) == (
            "www.good.test",
            "A",
            dns.address,
        )
        assert (body["expected"], body["match"], body["max_latency_ms"]) == (
            ["127.0.0.1"],
            "any",
            900,
        )

        answers = page.locator("section.dns-answers")
        await expect(answers.locator(".answers li")).to_have_text(
            ["127.0.0.1"], timeout=LIVE_DEADLINE_MS
        )
        await expect(answers).to_contain_text("NOERROR")
        await expect(answers).to_contain_text(dns.address)
        await expect(page.locator(".target-head .badge")).to_have_text(
            "Up", timeout=LIVE_DEADLINE_MS
        )
        assert dns.asked("www.good.test") >= 1
        await page.screenshot(path=artifacts / "target-dns.png", full_page=True)

        # The edit form reads the DNS fields back, and saving them keeps them.
        await page.locator(".target-head").get_by_role("link", name="Edit").click()
        await expect(page.get_by_label("Name to resolve")).to_have_value("www.good.test")
        await expect(page.get_by_label("Server", exact=True)).to_have_value(dns.address)
        await expect(page.get_by_label("Expected values")).to_have_value("127.0.0.1")
        await page.get_by_label("Match", exact=True).select_option("exact")
        await page.get_by_role("button", name="Save changes").click()
        await expect(page).to_have_url(f"{stack.base}/targets/{tid}")
        await expect(page.locator("dl.settings")).to_contain_text("exact of 127.0.0.1")
    page.watch.assert_clean()


async def test_tls_target_made_in_the_form_shows_the_certificate(
    db_url: str, page: Page, tmp_path: Path, artifacts: Path
) -> None:
    certs = make_certs(tmp_path)
    server_ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    server_ctx.load_cert_chain(*certs.pair("good"))

    async def handshake_then_close(_r: asyncio.StreamReader, w: asyncio.StreamWriter) -> None:
        w.close()

    server = await asyncio.start_server(handshake_then_close, "127.0.0.1", 0, ssl=server_ctx)
    port = server.sockets[0].getsockname()[1]
    # Its own worker, which trusts the test CA (and nothing else).
    st = Stack(db_url, worker=True)
    st.env["SSL_CERT_FILE"] = str(certs.ca)
    await st.start()
    try:
        await login(page, st)
        await new_target(page, st, "TLS certificate", unique("ui tls"))
        await page.get_by_label("Host", exact=True).fill("127.0.0.1")
        await page.get_by_label("Port", exact=True).fill(str(port))
        # The test leaf is valid for a week: ask for less so that the target is up.
        await page.get_by_label("Valid for at least (days)", exact=True).fill("3")
        await page.get_by_label("Interval (seconds)").fill("2")
        await page.get_by_label("Timeout (seconds)").fill("1")
        await page.get_by_role("button", name="Create target").click()
        tid = await created_id(page)
        body = (await st.get(f"/targets/{tid}"))[1]
        assert (body["host"], body["port"], body["min_days_valid"]) == ("127.0.0.1", port, 3)

        cert = page.locator("section.cert")
        await expect(cert).to_contain_text("CN=127.0.0.1", timeout=LIVE_DEADLINE_MS)
        await expect(cert).to_contain_text("Vigil fault-suite CA")
        await expect(cert.locator(".sans li")).to_have_text(["127.0.0.1"])
        await expect(cert.locator(".days-left")).to_have_text(re.compile(r"^\([67] days left\)$"))
        await expect(cert).to_contain_text("verified")
        await page.screenshot(path=artifacts / "target-tls.png", full_page=True)
        await expect(page.locator(".target-head .badge")).to_have_text(
            "Up", timeout=LIVE_DEADLINE_MS
        )
        page.watch.assert_clean()
    finally:
        st.stop()
        server.close()
        await server.wait_closed()


# Without the async clipboard (a plain-http origin other than localhost, or a browser that
# withholds it) the Copy button selects the URL instead, so Ctrl+C copies it.
NO_CLIPBOARD = "Object.defineProperty(navigator, 'clipboard', { value: undefined });"


@pytest.mark.parametrize("clipboard", [True, False], ids=["clipboard", "no-clipboard-api"])
async def test_push_target_shows_its_url_copies_it_and_goes_up_when_pinged(
    browser: Browser, stack: Stack, clipboard: bool, artifacts: Path
) -> None:
    # A phone-sized screen: the URL and the crontab line must stay usable there.
    ctx: BrowserContext = await browser.new_context(viewport={"width": 400, "height": 860})
    ctx.set_default_timeout(15_000)
    try:
        if clipboard:
            await ctx.grant_permissions(["clipboard-read", "clipboard-write"], origin=stack.base)
        else:
            await ctx.add_init_script(NO_CLIPBOARD)
        page = await ctx.new_page()
        watch = watch_page(page)
        await login(page, stack)
        await new_target(page, stack, "Push (heartbeat)", unique("ui push"))
        await expect(page.get_by_label("Interval (seconds)")).to_be_hidden()
        await page.get_by_label("Expected every (seconds)").fill("300")
        await page.get_by_label("Grace (seconds)").fill("30")
        await page.get_by_role("button", name="Create target").click()
        tid = await created_id(page)
        body = (await stack.get(f"/targets/{tid}"))[1]
        assert (body["kind"], body["period_s"], body["grace_s"]) == ("push", 300, 30)

        card = page.locator("section.push")
        url_box = card.get_by_role("textbox", name="Push URL")
        await expect(url_box).to_have_value(
            re.compile(r"^http://127\.0\.0\.1:\d+/api/v1/push/\S+$")
        )
        url = await url_box.input_value()
        assert url.endswith(body["push_url"].rsplit("/", 1)[1])
        await expect(card).to_contain_text("secret")
        await expect(card.locator("code.crontab")).to_have_text(
            f"*/5 * * * * your-job && curl -fsS -m 10 --retry 3 {url}"
        )

        overflow = await page.evaluate("document.documentElement.scrollWidth - innerWidth")
        assert overflow <= 0, f"the push target's page is {overflow}px wider than the screen"

        await card.get_by_role("button", name="Copy push URL").click()
        status = card.get_by_role("status")
        if clipboard:
            await expect(status).to_have_text("Copied.")
            assert await page.evaluate("navigator.clipboard.readText()") == url
        else:
            await expect(status).to_contain_text("Ctrl+C")
            await expect(url_box).to_be_focused()
            selected = await page.evaluate(
                "(() => { const e = document.activeElement;"
                " return e.value.slice(e.selectionStart, e.selectionEnd); })()"
            )
            assert selected == url
            await page.screenshot(path=artifacts / "target-push-400.png", full_page=True)

        await expect(page.locator(".target-head .badge")).to_have_text("Pending")
        async with aiohttp.ClientSession() as s, s.get(url) as r:
            assert r.status < 300, await r.text()
        await expect(page.locator(".target-head .badge")).to_have_text(
            "Up", timeout=LIVE_DEADLINE_MS
        )
        if clipboard:  # once is enough: replacing the URL after a confirmation
            await card.get_by_role("button", name="Replace URL").click()
            await page.locator("#confirm-ok").click()
            await expect(url_box).not_to_have_value(url)
            new_url = await url_box.input_value()
            async with aiohttp.ClientSession() as s:
                async with s.get(url) as r:
                    assert r.status == 404  # the old URL stopped working at once
                async with s.get(new_url) as r:
                    assert r.status < 300, await r.text()
        watch.assert_clean()
    finally:
        await ctx.close()


async def test_json_conditions_reach_the_api_and_a_bad_path_is_marked_on_its_row(
    stack: Stack, loopback: Loopback, page: Page
) -> None:
    await login(page, stack)
    page.watch.expect(BAD_REQUEST)
    name = unique("ui json")
    await new_target(page, stack, "HTTP(S)", name)
    await page.get_by_label("URL", exact=True).fill(loopback.url)
    add = page.get_by_role("button", name="Add condition")
    await add.click()
    await expect(part(page, "json[0].path").locator("input")).to_be_focused()
    await part(page, "json[0].path").locator("input").fill("status")
    await part(page, "json[0].value").locator("input").fill("ok")
    await add.click()
    await part(page, "json[1].path").locator("input").fill("items[")
    await part(page, "json[1].op").locator("select").select_option("exists")
    await expect(part(page, "json[1].value").locator("input")).to_be_disabled()
    await page.get_by_role("button", name="Create target").click()

    bad = part(page, "json[1].path")
    await expect(bad.locator(".field-error")).to_contain_text("JMESPath")
    await expect(bad.locator("input")).to_have_attribute("aria-invalid", "true")
    await expect(bad.locator("input")).to_be_focused()
    await expect(part(page, "json[0].path").locator(".field-error")).to_be_hidden()
    await expect(page).to_have_url(stack.base + "/targets/new")

    # Removing the first row renumbers the rest: the bad one is json[0] now.
    await page.get_by_role("button", name="Remove condition 1").click()
    await expect(part(page, "json[0].path").locator("input")).to_have_value("items[")
    await expect(part(page, "json[1]")).to_have_count(0)
    await part(page, "json[0].path").locator("input").fill("items[0].state")
    await part(page, "json[0].op").locator("select").select_option("==")
    await part(page, "json[0].value").locator("input").fill('"42"')
    await add.click()
    await part(page, "json[1].path").locator("input").fill("count")
    await part(page, "json[1].op").locator("select").select_option(">=")
    await part(page, "json[1].value").locator("input").fill("2")
    await page.get_by_label("regular expressions").check()
    await page.get_by_label("Body must contain").fill("^o+k$")
    await page.get_by_role("button", name="Create target").click()
    tid = await created_id(page)

    body = (await stack.get(f"/targets/{tid}"))[1]
    # A value that parses as JSON is sent as JSON: "42" is a string, 2 a number.
    assert [(c["path"], c["op"], c.get("value")) for c in body["json"]] == [
        ("items[0].state", "==", "42"),
        ("count", ">=", 2),
    ]
    assert body["keyword_regex"] is True and body["keyword"] == "^o+k$"

    # The edit form reads them back as typed.
    await page.get_by_role("link", name="Edit").click()
    await expect(part(page, "json[0].value").locator("input")).to_have_value('"42"')
    await expect(part(page, "json[1].value").locator("input")).to_have_value("2")
    await expect(part(page, "json[1].op").locator("select")).to_have_value(">=")
    await expect(page.get_by_label("regular expressions")).to_be_checked()
    page.watch.assert_clean()


async def test_the_form_fits_a_400px_screen_for_every_kind(
    browser: Browser, stack: Stack, artifacts: Path
) -> None:
    ctx = await browser.new_context(viewport={"width": 400, "height": 800}, device_scale_factor=1)
    try:
        page = await ctx.new_page()
        watch = watch_page(page)
        await login(page, stack)
        await page.goto(stack.base + "/targets/new")
        await page.get_by_role("button", name="Add condition").click()
        await page.get_by_role("button", name="Add condition").click()
        for kind in KINDS:
            await page.get_by_label(kind, exact=True).check()
            overflow = await page.evaluate("document.documentElement.scrollWidth - innerWidth")
            assert overflow <= 0, f"{kind}: the form is {overflow}px wider than the screen"
            for control in await page.locator("form input:visible, form select:visible").all():
                box = await control.bounding_box()
                assert box is not None and box["x"] >= 0 and box["x"] + box["width"] <= 400, (
                    f"{kind}: {await control.get_attribute('id')} sticks out: {box}"
                )
            slug = re.sub(r"\W+", "-", kind.lower()).strip("-")
            await page.screenshot(path=artifacts / f"form-400-{slug}.png", full_page=True)
        watch.assert_clean()
    finally:
        await ctx.close()
