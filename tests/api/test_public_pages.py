"""Public status pages: /status/<slug> (HTML that needs no script), .json and /feed.atom show
the right overall state, each target's status under its display name, 90 daily uptime bars from
the roll-ups, maintenance and incidents with their updates; they never show a target's name,
address, labels, error or incident cause; they answer without credentials, revalidate with
ETags, are cached (one load per TTL for a burst) and never read the checks table."""

from __future__ import annotations

import asyncio
import gzip
import xml.etree.ElementTree as ET
from datetime import UTC, datetime, timedelta

import asyncpg
import feedparser
import httpx
import pytest
from litestar import Litestar
from litestar.testing import AsyncTestClient

from vigil_api.cache import SharedCache
from vigil_api.public.controller import ASSET_URLS
from vigil_api.ui.controller import CONTENT_SECURITY_POLICY

from ..support import bearer
from .conftest import LiveServer, create, make_app
from .public_support import (
    add_day,
    add_incident,
    add_page,
    add_window,
    days_ago,
    inline_code,
    parse_html,
    set_state,
)

# What the monitor knows of the targets and must never show on a public route.
SECRETS = [
    "zz-secret-web-7f3a",
    "zz-secret-api-1b2c",
    "zz-secret-db-5d6e",
    "zz-secret-legacy-9e9e",
    "zz-secret-other-0000",
    "10.66.77.88",
    "s3cr3t-path",
    "hunter2",
    "zzlabelkey",
    "secret-label-9q",
    "zz-secret-error-message",
    "zz-secret-cause",
    "zz-secret-window-only-other",
]
ATOM = "{http://www.w3.org/2005/Atom}"


@pytest.fixture(autouse=True)
def fresh_cache(app: Litestar) -> SharedCache:
    """The module's app keeps its cache between tests; each test starts without one."""
    cache: SharedCache = app.state.public_cache
    cache.clear()
    return cache


def secret_target(name: str, **fields) -> dict:
    return {
        "name": name,
        "url": f"http://10.66.77.88:8123/s3cr3t-path/{name}?token=hunter2",
        "labels": {"zzlabelkey": "secret-label-9q"},
        **fields,
    }


@pytest.fixture
async def scene(client, db: asyncpg.Connection) -> dict:
    """Website up (with roll-ups), Public API down (an open incident with updates), Database in
    maintenance, Legacy paused; a target on no page; windows on now and coming."""
    now = datetime.now(UTC)
    web = await create(client, **secret_target("zz-secret-web-7f3a"))
    api = await create(client, **secret_target("zz-secret-api-1b2c"))
    dbt = await create(client, **secret_target("zz-secret-db-5d6e"))
    legacy = await create(client, **secret_target("zz-secret-legacy-9e9e", enabled=False))
    other = await create(client, **secret_target("zz-secret-other-0000"))
    await set_state(db, web["id"], "up")
    await set_state(
        db, api["id"], "down", error_class="refused", error_message="zz-secret-error-message"
    )
    await set_state(db, dbt["id"], "up")
    await set_state(db, other["id"], "down")
    for ago, checks, ok in ((1, 100, 100), (2, 100, 50), (3, 1000, 995), (4, 100, 96)):
        await add_day(db, web["id"], days_ago(ago), checks, ok)
    await add_day(db, web["id"], days_ago(120), 100, 0)  # outside the 90 days
    open_incident = await add_incident(
        db, api["id"], now - timedelta(minutes=30), cause="zz-secret-cause"
    )
    resolved = await add_incident(
        db, web["id"], now - timedelta(days=2, hours=1), now - timedelta(days=2), "zz-secret-cause"
    )
    await add_incident(db, web["id"], now - timedelta(days=40, hours=1), now - timedelta(days=40))
    await add_incident(db, other["id"], now - timedelta(minutes=5))
    updates = f"/api/v1/incidents/{open_incident}/updates"
    for status, message in (
        ("investigating", "We see errors <b>on</b> the API & look into it."),
        ("identified", "A bad deploy; rolling back."),
    ):
        resp = await client.post(updates, json={"status": status, "message": message})
        assert resp.status_code == 201, resp.text
    active = await add_window(
        db,
        "Maintenance of zz-secret-db-5d6e",
        now - timedelta(minutes=10),
        now + timedelta(hours=1),
        [dbt["id"]],
    )
    upcoming = await add_window(
        db,
        "Network upgrade",
        now + timedelta(days=2),
        now + timedelta(days=2, hours=2),
        description="Switch swap in the rack of zz-secret-web-7f3a and zz-secret-other-0000.",
        match_labels={"zzlabelkey": "secret-label-9q"},
    )
    await add_window(
        db,
        "zz-secret-window-only-other",
        now - timedelta(minutes=1),
        now + timedelta(hours=1),
        [other["id"]],
    )
    await add_window(db, "Long past", now - timedelta(days=3), now - timedelta(days=2), [web["id"]])
    page = await add_page(
        client,
        "acme",
        title='Acme <script>alert("t")</script> & Co',
        description="Live status of Acme's services.",
        groups=[
            {
                "name": "Frontend",
                "targets": [
                    {"target_id": web["id"], "display_name": "Web & <Shop>"},
                    {"target_id": api["id"], "display_name": "Public API"},
                ],
            },
            {
                "name": "Backend",
                "targets": [
                    {"target_id": dbt["id"], "display_name": "Database"},
                    {"target_id": legacy["id"], "display_name": "Legacy"},
                    {"target_id": api["id"], "display_name": "API again"},
                ],
            },
            {"name": "Nothing yet"},
        ],
    )
    return {
        "page": page,
        "web": web["id"],
        "api": api["id"],
        "db": dbt["id"],
        "legacy": legacy["id"],
        "other": other["id"],
        "open_incident": open_incident,
        "resolved_incident": resolved,
        "active_window": active,
        "upcoming_window": upcoming,
    }


def assert_no_secrets(body: str, where: str) -> None:
    leaked = [s for s in SECRETS if s in body]
    assert not leaked, f"{where} shows {leaked}"


async def test_the_page_shows_states_bars_maintenance_and_incidents(anon_client, scene) -> None:
    resp = await anon_client.get("/status/acme")
    assert resp.status_code == 200, resp.text
    assert resp.headers["content-type"] == "text/html; charset=utf-8"
    doc = parse_html(resp.text)
    assert doc.one("title").text == 'Acme <script>alert("t")</script> & Co: status'
    assert doc.one("h1").text == 'Acme <script>alert("t")</script> & Co'
    assert "<script>alert" not in resp.text and "<Shop>" not in resp.text
    assert inline_code(doc) == []

    overall = doc.one(id="overall")
    assert overall.attrs["data-status"] == "partial_outage"
    assert overall.text == "Partial outage"

    groups = doc.find_all("section", "group")
    assert [g.one("h2").text for g in groups] == ["Frontend", "Backend", "Nothing yet"]
    shown = [
        [
            (
                t.one("span", "tname").text,
                t.one("span", "status").attrs["data-status"],
                t.one("span", "status").text,
            )
            for t in g.find_all("li", "target")
        ]
        for g in groups
    ]
    assert shown == [
        [("Web & <Shop>", "up", "Operational"), ("Public API", "down", "Outage")],
        [
            ("Database", "maintenance", "Maintenance"),
            ("Legacy", "paused", "Paused"),
            ("API again", "down", "Outage"),
        ],
        [],
    ]

    web = doc.one("li", "target", data_target=str(scene["web"]))
    # One element per run of equal days, `dN` wide: 85 days without data, then a day each.
    bars = web.one("ol", "bars").find_all("li")
    assert [b.attrs["class"] for b in bars] == [
        "b0 d85",
        "b3 d1",
        "b2 d1",
        "b4 d1",
        "b1 d1",
        "b0 d1",
    ]
    assert [b.attrs["title"] for b in bars] == [
        f"{days_ago(89)} to {days_ago(5)}: no data",
        f"{days_ago(4)}: 96 %",
        f"{days_ago(3)}: 99.50 %",
        f"{days_ago(2)}: 50 %",
        f"{days_ago(1)}: 100 %",
        f"{days_ago(0)}: no data",
    ]
    for api in doc.find_all("li", "target", data_target=str(scene["api"])):  # in both groups
        assert [b.attrs["class"] for b in api.one("ol", "bars").find_all("li")] == ["b0 d90"]
    assert web.one("span", "uptime").text == "95.46 % uptime"  # 1241 of 1300 checks

    windows = doc.one("section", "maintenance").find_all("li", "mw")
    assert [(w.one("h3").text, w.classes) for w in windows] == [
        ("Maintenance of Database", {"mw", "m-active"}),
        ("Network upgrade", {"mw", "m-upcoming"}),
    ]
    assert windows[0].one("p", "affects").text == "Affects: Database"
    assert windows[1].one("p", "text").text == (
        "Switch swap in the rack of Web & <Shop> and another service."
    )
    # By its labels, the upcoming window covers every target of the page.
    assert (
        windows[1].one("p", "affects").text == "Affects: Web & <Shop>, Public API, Database, Legacy"
    )

    incidents = doc.one("section", "incidents").find_all("li", "incident")
    assert [i.attrs["id"] for i in incidents] == [
        f"incident-{scene['open_incident']}",
        f"incident-{scene['resolved_incident']}",
    ]
    assert incidents[0].one("h3").text == "Public API: outage Identified"
    assert [u.one("p", "text").text for u in incidents[0].find_all("li")] == [
        "A bad deploy; rolling back.",
        "We see errors <b>on</b> the API & look into it.",
    ]
    assert incidents[1].one("h3").text == "Web & <Shop>: outage Resolved"
    assert_no_secrets(resp.text, "the HTML")


async def test_the_page_loads_its_style_and_script_from_files(anon_client, scene) -> None:
    doc = parse_html((await anon_client.get("/status/acme")).text)
    css = doc.one("link", rel="stylesheet").attrs["href"]
    js = doc.one("script").attrs["src"]
    for url, media in ((css, "text/css"), (js, "text/javascript")):
        resp = await anon_client.get(url)
        assert resp.status_code == 200 and resp.headers["content-type"].startswith(media)
        assert resp.headers["x-content-type-options"] == "nosniff"
        again = await anon_client.get(url, headers={"if-none-match": resp.headers["etag"]})
        assert again.status_code == 304
    assert (await anon_client.get("/status-assets/nothing.js")).status_code == 404


async def test_the_page_is_served_under_the_uis_csp(anon_client, client, scene) -> None:
    resp = await anon_client.get("/status/acme")
    assert resp.headers["content-security-policy"] == CONTENT_SECURITY_POLICY
    assert resp.headers["x-frame-options"] == "DENY"
    assert resp.headers["referrer-policy"] == "no-referrer"
    page = scene["page"]
    body = {k: page[k] for k in ("slug", "title", "description", "groups")}
    resp = await client.put(
        f"/api/v1/status-pages/{page['id']}",
        json={**body, "logo_url": "https://cdn.example.com:8443/brand/logo.svg?v=2"},
    )
    assert resp.status_code == 200, resp.text
    resp = await anon_client.get("/status/acme")
    csp = resp.headers["content-security-policy"]
    assert "img-src 'self' data: https://cdn.example.com:8443;" in csp
    assert csp.replace(" https://cdn.example.com:8443", "") == CONTENT_SECURITY_POLICY
    logo = parse_html(resp.text).one("img", "logo")
    assert logo.attrs["src"] == "https://cdn.example.com:8443/brand/logo.svg?v=2"


async def test_json(anon_client, scene) -> None:
    resp = await anon_client.get("/status/acme.json")
    assert resp.status_code == 200, resp.text
    assert resp.headers["content-type"].startswith("application/json")
    assert resp.headers["access-control-allow-origin"] == "*"
    body = resp.json()
    assert body["page"]["slug"] == "acme" and body["page"]["url"] == "/status/acme"
    assert body["page"]["feed_url"] == "/status/acme/feed.atom"
    assert (body["status"], body["status_text"]) == ("partial_outage", "Partial outage")
    assert body["days"] == {"first": days_ago(89).isoformat(), "last": days_ago(0).isoformat()}
    targets = [t for g in body["groups"] for t in g["targets"]]
    assert [(t["id"], t["name"], t["status"]) for t in targets] == [
        (scene["web"], "Web & <Shop>", "up"),
        (scene["api"], "Public API", "down"),
        (scene["db"], "Database", "maintenance"),
        (scene["legacy"], "Legacy", "paused"),
        (scene["api"], "API again", "down"),
    ]
    web = targets[0]
    assert len(web["daily"]) == 90
    assert web["daily"][-5:] == [96.0, 99.5, 50.0, 100.0, None]
    assert web["uptime_pct"] == 95.462
    assert targets[1]["daily"] == [None] * 90 and targets[1]["uptime_pct"] is None
    assert set(targets[0]) == {
        "id",
        "name",
        "status",
        "status_text",
        "since",
        "uptime_pct",
        "daily",
    }
    assert [(m["name"], m["active"], m["targets"]) for m in body["maintenance"]] == [
        ("Maintenance of Database", True, ["Database"]),
        ("Network upgrade", False, ["Web & <Shop>", "Public API", "Database", "Legacy"]),
    ]
    incident = body["incidents"][0]
    assert (incident["id"], incident["target"], incident["status"]) == (
        scene["open_incident"],
        "Public API",
        "identified",
    )
    assert incident["ended_at"] is None
    assert [u["status"] for u in incident["updates"]] == ["identified", "investigating"]
    assert set(incident["updates"][0]) == {"status", "message", "created_at"}  # no author
    assert body["incidents"][1]["status"] == "resolved"
    assert len(body["incidents"]) == 2
    assert_no_secrets(resp.text, "the JSON")


async def test_the_atom_feed(anon_client, scene) -> None:
    resp = await anon_client.get("/status/acme/feed.atom")
    assert resp.status_code == 200, resp.text
    assert resp.headers["content-type"] == "application/atom+xml; charset=utf-8"
    assert resp.headers["cache-control"] == "public, max-age=60"
    assert_no_secrets(resp.text, "the feed")

    feed = feedparser.parse(resp.content)
    assert not feed.bozo, feed.bozo_exception
    assert feed.version == "atom10"
    assert feed.feed.title == 'Acme <script>alert("t")</script> & Co'
    assert feed.feed.id == "urn:vigil:status-page:acme"
    assert feed.feed.link == "http://127.0.0.1/status/acme"
    ids = [e.id for e in feed.entries]
    assert set(ids) == {
        f"urn:vigil:incident:{scene['open_incident']}",
        f"urn:vigil:incident:{scene['resolved_incident']}",
        next(i for i in ids if i.startswith(f"urn:vigil:maintenance:{scene['active_window']}:")),
        next(i for i in ids if i.startswith(f"urn:vigil:maintenance:{scene['upcoming_window']}:")),
    }
    updated = [e.updated_parsed for e in feed.entries]
    assert all(updated) and updated == sorted(updated, reverse=True)
    assert feed.feed.updated_parsed >= updated[0]  # the newest entry, or the page's last edit
    open_entry = next(e for e in feed.entries if e.id.endswith(f":{scene['open_incident']}"))
    assert open_entry.title == "Public API: outage (Identified)"
    assert open_entry.link == f"http://127.0.0.1/status/acme#incident-{scene['open_incident']}"
    assert "We see errors <b>on</b> the API & look into it." in open_entry.content[0].value
    assert "A bad deploy; rolling back." in open_entry.content[0].value
    maintenance = next(e for e in feed.entries if "Network upgrade" in e.title)
    assert maintenance.title == "Maintenance (scheduled): Network upgrade"
    assert "Affects: Web & <Shop>, Public API, Database, Legacy." in maintenance.content[0].value

    # What RFC 4287 requires of a feed and of each entry, in the Atom namespace.
    root = ET.fromstring(resp.content)
    assert root.tag == f"{ATOM}feed"
    for name in ("id", "title", "updated", "author"):
        assert root.find(f"{ATOM}{name}") is not None, name
    for entry in root.findall(f"{ATOM}entry"):
        for name in ("id", "title", "updated"):
            assert entry.find(f"{ATOM}{name}") is not None, name


async def test_the_feed_links_follow_the_host_asked(anon_client, scene) -> None:
    for host in ("localhost", "127.0.0.1:8443"):
        resp = await anon_client.get("/status/acme/feed.atom", headers={"host": host})
        assert resp.status_code == 200, resp.text
        feed = feedparser.parse(resp.content)
        assert feed.feed.link == f"http://{host}/status/acme"
        assert all(e.link.startswith(f"http://{host}/status/acme#") for e in feed.entries)


async def test_an_empty_page(anon_client, client) -> None:
    await add_page(client, "empty", [])
    doc = parse_html((await anon_client.get("/status/empty")).text)
    assert doc.one(id="overall").attrs["data-status"] == "operational"
    assert doc.one("p", "none").text == "No incidents in the last 30 days."
    feed = feedparser.parse((await anon_client.get("/status/empty/feed.atom")).content)
    assert not feed.bozo and feed.entries == []


@pytest.mark.parametrize(
    ("statuses", "overall", "text"),
    [
        (["up", "up"], "operational", "All systems operational"),
        (["up", "pending", "paused"], "operational", "All systems operational"),
        (["up", "down"], "partial_outage", "Partial outage"),
        (["down", "down", "paused"], "major_outage", "Major outage"),
        (["up", "maintenance"], "maintenance", "Maintenance in progress"),
        (["down", "maintenance"], "major_outage", "Major outage"),
        (["down", "up", "maintenance"], "partial_outage", "Partial outage"),
    ],
    ids=[
        "all-up",
        "pending-and-paused-count-for-nothing",
        "some-down",
        "every-watched-one-down",
        "maintenance",
        "an-outage-beats-maintenance",
        "partial-with-maintenance",
    ],
)
async def test_the_overall_state(
    anon_client, client, db: asyncpg.Connection, statuses: list[str], overall: str, text: str
) -> None:
    now = datetime.now(UTC)
    refs = []
    for i, status in enumerate(statuses):
        target = await create(client, name=f"t{i}", enabled=status != "paused")
        if status == "maintenance":
            await set_state(db, target["id"], "up")
            await add_window(
                db, f"w{i}", now - timedelta(minutes=1), now + timedelta(hours=1), [target["id"]]
            )
        elif status != "paused":
            await set_state(db, target["id"], status)
        refs.append({"target_id": target["id"], "display_name": f"T{i}"})
    await add_page(client, "states", [{"name": "All", "targets": refs}])
    doc = parse_html((await anon_client.get("/status/states")).text)
    assert (doc.one(id="overall").attrs["data-status"], doc.one(id="overall").text) == (
        overall,
        text,
    )
    got = [s.attrs["data-status"] for s in doc.find_all("span", "status")]
    assert got == statuses


@pytest.mark.parametrize(
    "path",
    ["/status/acme", "/status/acme.json", "/status/acme/feed.atom"],
    ids=["html", "json", "atom"],
)
async def test_etag_revalidation_and_cache_headers(anon_client, scene, path: str) -> None:
    first = await anon_client.get(path)
    etag = first.headers["etag"]
    assert etag.startswith('W/"') and first.headers["cache-control"].startswith("public, max-age=")
    assert first.headers["vary"] == "accept-encoding"
    for sent in (etag, etag.removeprefix("W/"), f'"other", {etag}', "*"):
        again = await anon_client.get(path, headers={"if-none-match": sent})
        assert again.status_code == 304, sent
        assert again.content == b""
        assert again.headers["etag"] == etag
        assert again.headers["cache-control"] == first.headers["cache-control"]
    other = await anon_client.get(path, headers={"if-none-match": 'W/"something-else"'})
    assert other.status_code == 200 and other.content == first.content


async def test_max_age_of_page_and_json(anon_client, scene) -> None:
    for path in ("/status/acme", "/status/acme.json"):
        assert (await anon_client.get(path)).headers["cache-control"] == "public, max-age=5"


async def test_an_unchanged_page_keeps_its_etag(anon_client, scene, fresh_cache) -> None:
    first = await anon_client.get("/status/acme")
    fresh_cache.clear()
    again = await anon_client.get("/status/acme", headers={"if-none-match": first.headers["etag"]})
    assert again.status_code == 304


async def test_gzip(anon_client, scene) -> None:
    plain = await anon_client.get("/status/acme", headers={"accept-encoding": "identity"})
    assert "content-encoding" not in plain.headers
    async with anon_client.stream(
        "GET", "/status/acme", headers={"accept-encoding": "gzip, br"}
    ) as resp:
        raw = b"".join([chunk async for chunk in resp.aiter_raw()])
    assert resp.headers["content-encoding"] == "gzip"
    assert len(raw) < len(plain.content) / 3
    assert gzip.decompress(raw) == plain.content


async def test_the_page_follows_edits_and_updates(anon_client, client, scene) -> None:
    page = scene["page"]
    before = await anon_client.get("/status/acme")
    resp = await client.put(
        f"/api/v1/status-pages/{page['id']}",
        json={
            "slug": "acme",
            "title": "Renamed",
            "groups": [
                {"name": "Only", "targets": [{"target_id": scene["web"], "display_name": "Web"}]}
            ],
        },
    )
    assert resp.status_code == 200
    after = parse_html((await anon_client.get("/status/acme")).text)
    assert after.one("h1").text == "Renamed"
    assert [s.text for s in after.find_all("span", "tname")] == ["Web"]
    assert after.one(id="overall").attrs["data-status"] == "operational"
    assert before.headers["etag"] != (await anon_client.get("/status/acme")).headers["etag"]
    # An update to an incident of a target the page no longer shows is not on it.
    await client.post(
        f"/api/v1/incidents/{scene['open_incident']}/updates",
        json={"status": "monitoring", "message": "Fix deployed."},
    )
    assert "Fix deployed." not in (await anon_client.get("/status/acme")).text
    await client.post(
        f"/api/v1/incidents/{scene['resolved_incident']}/updates",
        json={"status": "resolved", "message": "All good since."},
    )
    assert "All good since." in (await anon_client.get("/status/acme")).text


@pytest.mark.parametrize(
    "path",
    [
        "/status/nope",
        "/status/nope.json",
        "/status/nope/feed.atom",
        "/status/Acme",
        "/status/acme.xml",
        "/status/.json",
        "/status/a_b",
    ],
    ids=[
        "unknown",
        "unknown-json",
        "unknown-feed",
        "uppercase",
        "other-suffix",
        "no-slug",
        "underscore",
    ],
)
async def test_unknown_pages_are_404(anon_client, scene, path: str) -> None:
    resp = await anon_client.get(path)
    assert resp.status_code == 404, resp.text
    assert resp.headers["content-type"].startswith("application/problem+json")


async def test_a_deleted_page_is_gone(anon_client, client, scene) -> None:
    assert (await anon_client.get("/status/acme")).status_code == 200
    assert (await client.delete(f"/api/v1/status-pages/{scene['page']['id']}")).status_code == 204
    assert (await anon_client.get("/status/acme")).status_code == 404


async def test_no_credentials_needed_and_bad_ones_do_not_matter(anon_client, scene) -> None:
    resp = await anon_client.get("/status/acme", headers=bearer("vgl_not-a-real-token"))
    assert resp.status_code == 200


async def test_a_burst_of_visitors_costs_one_load(db_url: str, scene) -> None:
    # An app of its own behind a real server, so the requests really overlap (the module's
    # app runs in the in-process client's thread, and serves one request at a time).
    app = make_app(db_url)
    cache: SharedCache = app.state.public_cache
    async with (
        LiveServer(app) as server,
        httpx.AsyncClient(base_url=server.url, timeout=30) as anon,
    ):
        answers = await asyncio.gather(*(anon.get("/status/acme") for _ in range(40)))
        answers += await asyncio.gather(*(anon.get("/status/acme.json") for _ in range(20)))
        answers += await asyncio.gather(*(anon.get("/status/nope") for _ in range(20)))
    assert [a.status_code for a in answers] == [200] * 60 + [404] * 20
    assert len({a.content for a in answers[:40]}) == 1
    assert cache.loads == 2  # acme once, for both renders; the unknown slug once


async def test_head_answers_as_get_without_the_body(db_url: str, scene) -> None:
    """Uptime and link checkers ask with HEAD: the GET's status and headers (its length too),
    no body, through a real server; an unknown page is a 404 for HEAD as for GET."""
    app = make_app(db_url)
    web = scene["web"]
    paths = [
        "/status/acme",
        "/status/acme.json",
        "/status/acme/feed.atom",
        f"/badge/{web}/status.svg",
        f"/badge/{web}/uptime.svg?window=7d",
        f"/badge/{web}/latency.svg",
        ASSET_URLS["status.css"],
    ]
    async with (
        LiveServer(app) as server,
        httpx.AsyncClient(base_url=server.url, timeout=30) as anon,
    ):
        for path in paths:
            for encoding in ("identity", "gzip"):
                sent = {"accept-encoding": encoding}
                got = await anon.get(path, headers=sent)
                head = await anon.head(path, headers=sent)
                assert (head.status_code, got.status_code) == (200, 200), path
                assert head.content == b"", path
                assert int(got.headers["content-length"]) > 0, path
                for name in (
                    "content-length",
                    "content-type",
                    "etag",
                    "cache-control",
                    "content-encoding",
                ):
                    assert head.headers.get(name) == got.headers.get(name), (path, name)
            revalidated = await anon.head(path, headers={"if-none-match": got.headers["etag"]})
            assert revalidated.status_code == 304, path
        assert (await anon.head("/status/nope")).status_code == 404
        assert (await anon.head("/badge/987654321/status.svg")).status_code == 404


async def test_the_checks_table_is_never_read(db_url: str, scene, db: asyncpg.Connection) -> None:
    """With `checks` locked against every reader, the public routes still answer at once."""
    app = make_app(db_url, {"db_lock_timeout_s": 3})
    locker = await asyncpg.connect(db_url)
    try:
        tx = locker.transaction()
        await tx.start()
        await locker.execute("LOCK TABLE checks IN ACCESS EXCLUSIVE MODE")
        async with AsyncTestClient(app, base_url="http://127.0.0.1") as anon, asyncio.timeout(20):
            for path in (
                "/status/acme",
                "/status/acme.json",
                "/status/acme/feed.atom",
                f"/badge/{scene['web']}/status.svg",
                f"/badge/{scene['web']}/uptime.svg?window=30d",
                f"/badge/{scene['web']}/latency.svg",
            ):
                resp = await anon.get(path)
                assert resp.status_code == 200, (path, resp.text)
            # The lock holds: a route that reads checks waits and then fails.
            assert (
                await anon.get(
                    f"/api/v1/targets/{scene['web']}/checks",
                    headers=bearer(await _admin_token(db_url)),
                )
            ).status_code == 503
        await tx.rollback()
    finally:
        await locker.close()


async def _admin_token(db_url: str) -> str:
    from ..support import mint_token

    return await mint_token(db_url, "admin")
