"""SVG badges of targets on a public page: valid SVG in the svg namespace with the right texts
and colours for status, uptime (24h, 7d, 30d from the roll-ups) and latency; cache headers and
ETags; 404 for a target on no page; no target name in them."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from datetime import UTC, datetime, timedelta

import asyncpg
import pytest
from litestar import Litestar

from vigil_api.cache import SharedCache
from vigil_api.public.badges import badge, text_width

from .conftest import create
from .public_support import add_page, add_rollup, add_window, set_state

SVG = "{http://www.w3.org/2000/svg}"


@pytest.fixture(autouse=True)
def fresh_cache(app: Litestar) -> SharedCache:
    cache: SharedCache = app.state.public_cache
    cache.clear()
    return cache


def parse(body: bytes) -> dict:
    """The badge's parts: its size, label and value (each text is drawn twice: shadow, then
    text) and the value's colour."""
    root = ET.fromstring(body)
    assert root.tag == f"{SVG}svg"
    texts = [t.text for t in root.iter(f"{SVG}text")]
    assert len(texts) == 4 and texts[0] == texts[1] and texts[2] == texts[3], texts
    rects = list(root.find(f"{SVG}g").iter(f"{SVG}rect"))
    label_w, value_w = float(rects[0].get("width")), float(rects[1].get("width"))
    assert float(root.get("width")) == label_w + value_w
    return {
        "label": texts[0],
        "value": texts[2],
        "colour": rects[1].get("fill"),
        "title": root.find(f"{SVG}title").text,
        "aria": root.get("aria-label"),
        "width": float(root.get("width")),
    }


async def get_badge(anon_client, path: str) -> dict:
    resp = await anon_client.get(path)
    assert resp.status_code == 200, resp.text
    assert resp.headers["content-type"] == "image/svg+xml"
    return parse(resp.content)


@pytest.fixture
async def on_page(client) -> dict:
    """Targets named like secrets, on a page under other names."""
    ids = {}
    for key in ("up", "down", "maint", "paused", "quiet"):
        target = await create(client, name=f"zz-secret-badge-{key}", enabled=key != "paused")
        ids[key] = target["id"]
    await add_page(
        client,
        "badges",
        [
            {
                "name": "G",
                "targets": [{"target_id": i, "display_name": f"T{i}"} for i in ids.values()],
            }
        ],
    )
    return ids


async def test_status_badges(anon_client, db: asyncpg.Connection, on_page: dict) -> None:
    now = datetime.now(UTC)
    await set_state(db, on_page["up"], "up")
    await set_state(db, on_page["down"], "down")
    await set_state(db, on_page["maint"], "down")
    await add_window(
        db, "w", now - timedelta(minutes=1), now + timedelta(hours=1), [on_page["maint"]]
    )
    expected = {
        "up": ("up", "#4c1"),
        "down": ("down", "#e05d44"),
        "maint": ("maintenance", "#007ec6"),
        "paused": ("paused", "#9f9f9f"),
        "quiet": ("pending", "#9f9f9f"),
    }
    for key, (value, colour) in expected.items():
        got = await get_badge(anon_client, f"/badge/{on_page[key]}/status.svg")
        assert (got["label"], got["value"], got["colour"]) == ("status", value, colour), key
        assert got["title"] == got["aria"] == f"status: {value}"


async def test_uptime_badges_by_window(anon_client, db: asyncpg.Connection, on_page: dict) -> None:
    tid = on_page["up"]
    hour = datetime.now(UTC).replace(minute=0, second=0, microsecond=0)
    await add_rollup(db, tid, hour - timedelta(hours=2), 1000, 999)  # in every window
    await add_rollup(db, tid, hour - timedelta(days=3), 1000, 900)  # 7d and 30d
    await add_rollup(db, tid, hour - timedelta(days=20), 3000, 3000)  # 30d only
    await add_rollup(db, tid, hour - timedelta(days=40), 1000, 0)  # none
    cases = {
        "24h": ("99.90%", "#4c1"),
        "7d": ("94.95%", "#fe7d37"),  # 1899 of 2000
        "30d": ("97.98%", "#dfb317"),  # 4899 of 5000
    }
    for window, (value, colour) in cases.items():
        got = await get_badge(anon_client, f"/badge/{tid}/uptime.svg?window={window}")
        assert (got["label"], got["value"], got["colour"]) == (f"uptime {window}", value, colour)
    default = await get_badge(anon_client, f"/badge/{tid}/uptime.svg")
    assert default["label"] == "uptime 24h" and default["value"] == "99.90%"


async def test_uptime_without_checks_and_at_100(anon_client, db, on_page: dict) -> None:
    got = await get_badge(anon_client, f"/badge/{on_page['quiet']}/uptime.svg")
    assert (got["value"], got["colour"]) == ("no data", "#9f9f9f")
    hour = datetime.now(UTC).replace(minute=0, second=0, microsecond=0)
    await add_rollup(db, on_page["down"], hour - timedelta(hours=1), 100000, 99999)
    got = await get_badge(anon_client, f"/badge/{on_page['down']}/uptime.svg")
    assert got["value"] == "99.99%"  # never "100%" with a failed check
    await add_rollup(db, on_page["up"], hour - timedelta(hours=1), 60, 60)
    assert (await get_badge(anon_client, f"/badge/{on_page['up']}/uptime.svg"))["value"] == "100%"


async def test_latency_badges(anon_client, db: asyncpg.Connection, on_page: dict) -> None:
    hour = datetime.now(UTC).replace(minute=0, second=0, microsecond=0)
    await add_rollup(db, on_page["up"], hour - timedelta(hours=1), 10, 10, latency_ms=40)
    await add_rollup(db, on_page["up"], hour - timedelta(hours=3), 30, 30, latency_ms=80)
    got = await get_badge(anon_client, f"/badge/{on_page['up']}/latency.svg")
    assert (got["label"], got["value"], got["colour"]) == ("latency 24h", "70 ms", "#4c1")
    await add_rollup(db, on_page["down"], hour - timedelta(hours=1), 10, 10, latency_ms=1500)
    got = await get_badge(anon_client, f"/badge/{on_page['down']}/latency.svg?window=7d")
    assert (got["label"], got["value"], got["colour"]) == ("latency 7d", "1.50 s", "#fe7d37")
    got = await get_badge(anon_client, f"/badge/{on_page['quiet']}/latency.svg")
    assert got["value"] == "no data"


@pytest.mark.parametrize("kind", ["status", "uptime", "latency"])
async def test_a_target_on_no_page_has_no_badge(
    anon_client, client, on_page: dict, kind: str
) -> None:
    lonely = await create(client, name="lonely")
    assert (await anon_client.get(f"/badge/{lonely['id']}/{kind}.svg")).status_code == 404
    assert (await anon_client.get(f"/badge/987654321/{kind}.svg")).status_code == 404
    page = (await client.get("/api/v1/status-pages")).json()["items"][0]
    assert (await anon_client.get(f"/badge/{on_page['up']}/{kind}.svg")).status_code == 200
    resp = await client.put(
        f"/api/v1/status-pages/{page['id']}", json={"slug": "badges", "title": "t", "groups": []}
    )
    assert resp.status_code == 200
    assert (await anon_client.get(f"/badge/{on_page['up']}/{kind}.svg")).status_code == 404


@pytest.mark.parametrize(
    "query", ["window=1h", "window=90d", "window="], ids=["1h", "90d", "empty"]
)
async def test_an_unknown_window_is_400(anon_client, on_page: dict, query: str) -> None:
    resp = await anon_client.get(f"/badge/{on_page['up']}/uptime.svg?{query}")
    assert resp.status_code == 400, resp.text
    assert resp.json()["errors"][0]["field"] == "window"


async def test_cache_headers_and_etag(anon_client, on_page: dict) -> None:
    path = f"/badge/{on_page['up']}/status.svg"
    first = await anon_client.get(path)
    assert first.headers["cache-control"] == "public, max-age=60"
    assert first.headers["x-content-type-options"] == "nosniff"
    assert first.headers["content-security-policy"] == "default-src 'none'"
    again = await anon_client.get(path, headers={"if-none-match": first.headers["etag"]})
    assert again.status_code == 304 and again.content == b""


async def test_badges_need_no_credentials_and_name_no_target(anon_client, on_page: dict) -> None:
    for kind in ("status", "uptime", "latency"):
        resp = await anon_client.get(f"/badge/{on_page['up']}/{kind}.svg")
        assert resp.status_code == 200
        assert b"zz-secret" not in resp.content


@pytest.mark.parametrize(
    ("label", "value"),
    [("a<b", "x&y"), ('q"uote', "it's"), ("bell\x07", "v\ufffe")],
    ids=["markup", "quotes", "characters-xml-cannot-hold"],
)
def test_badge_texts_are_escaped(label: str, value: str) -> None:
    got = parse(badge(label, value, "#4c1").encode())
    assert got["label"] == label.replace("\x07", "")
    assert got["value"] == value.replace("\ufffe", "")


def test_wider_texts_make_wider_badges() -> None:
    assert text_width("maintenance") > text_width("up")
    assert (
        parse(badge("status", "maintenance", "#fff").encode())["width"]
        > parse(badge("status", "up", "#fff").encode())["width"]
    )
