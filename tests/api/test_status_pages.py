"""/api/v1/status-pages: pages read as written with their groups in order, display names that
default to the target's name when written, groups replaced as a whole by PUT, every rule
answered with a 400 naming the field, unknown targets named, unique slugs, and targets that
leave their pages when deleted."""

from __future__ import annotations

from typing import Any

import asyncpg
import pytest

from .conftest import create

PAGES = "/api/v1/status-pages"


async def add_page(client, **fields: Any) -> dict:
    body = {"slug": "status", "title": "Acme status", **fields}
    resp = await client.post(PAGES, json=body)
    assert resp.status_code == 201, resp.text
    return resp.json()


async def test_a_page_reads_as_written(client) -> None:
    web = await create(client, name="web-internal")
    api = await create(client, name="api-internal")
    page = await add_page(
        client,
        description="What is up at Acme.\nUpdated live.",
        logo_url="https://cdn.example.com/logo.svg",
        groups=[
            {"name": "Frontend", "targets": [{"target_id": web["id"], "display_name": "Website"}]},
            {"name": "Backend", "targets": [{"target_id": api["id"]}, {"target_id": web["id"]}]},
            {"name": "Empty"},
        ],
    )
    assert page["slug"] == "status" and page["url"] == "/status/status"
    assert page["title"] == "Acme status"
    assert page["description"] == "What is up at Acme.\nUpdated live."
    assert page["logo_url"] == "https://cdn.example.com/logo.svg"
    assert page["groups"] == [
        {"name": "Frontend", "targets": [{"target_id": web["id"], "display_name": "Website"}]},
        {
            "name": "Backend",
            "targets": [
                {"target_id": api["id"], "display_name": "api-internal"},
                {"target_id": web["id"], "display_name": "web-internal"},
            ],
        },
        {"name": "Empty", "targets": []},
    ]
    assert (await client.get(f"{PAGES}/{page['id']}")).json() == page
    assert (await client.get(PAGES)).json() == {"items": [page]}


async def test_defaults(client) -> None:
    page = await add_page(client)
    assert (page["description"], page["logo_url"], page["groups"]) == ("", None, [])


async def test_the_default_display_name_is_the_name_when_written(client) -> None:
    target = await create(client, name="before")
    page = await add_page(client, groups=[{"name": "G", "targets": [{"target_id": target["id"]}]}])
    resp = await client.patch(f"/api/v1/targets/{target['id']}", json={"name": "after"})
    assert resp.status_code == 200, resp.text
    got = (await client.get(f"{PAGES}/{page['id']}")).json()
    assert got["groups"][0]["targets"][0]["display_name"] == "before"


async def test_put_replaces_every_field_and_all_groups(client) -> None:
    a, b, c = [await create(client, name=n) for n in ("a", "b", "c")]
    page = await add_page(
        client,
        description="old",
        logo_url="https://example.com/a.png",
        groups=[
            {"name": "One", "targets": [{"target_id": a["id"]}, {"target_id": b["id"]}]},
            {"name": "Two", "targets": [{"target_id": c["id"]}]},
        ],
    )
    resp = await client.put(
        f"{PAGES}/{page['id']}",
        json={
            "slug": "renamed",
            "title": "New title",
            "groups": [
                {
                    "name": "Only",
                    "targets": [
                        {"target_id": c["id"], "display_name": "Cee"},
                        {"target_id": a["id"]},
                    ],
                }
            ],
        },
    )
    assert resp.status_code == 200, resp.text
    got = resp.json()
    assert (got["slug"], got["title"], got["description"], got["logo_url"]) == (
        "renamed",
        "New title",
        "",
        None,
    )
    assert got["url"] == "/status/renamed"
    assert got["groups"] == [
        {
            "name": "Only",
            "targets": [
                {"target_id": c["id"], "display_name": "Cee"},
                {"target_id": a["id"], "display_name": "a"},
            ],
        }
    ]
    assert got["created_at"] == page["created_at"] and got["updated_at"] > page["updated_at"]
    assert (await client.get(f"{PAGES}/{page['id']}")).json() == got


async def test_a_deleted_target_leaves_its_pages(client) -> None:
    a, b = await create(client, name="a"), await create(client, name="b")
    page = await add_page(
        client, groups=[{"name": "G", "targets": [{"target_id": a["id"]}, {"target_id": b["id"]}]}]
    )
    assert (await client.delete(f"/api/v1/targets/{a['id']}")).status_code == 204
    got = (await client.get(f"{PAGES}/{page['id']}")).json()
    assert got["groups"] == [
        {"name": "G", "targets": [{"target_id": b["id"], "display_name": "b"}]}
    ]


async def test_delete(client) -> None:
    page = await add_page(client)
    assert (await client.delete(f"{PAGES}/{page['id']}")).status_code == 204
    assert (await client.get(f"{PAGES}/{page['id']}")).status_code == 404
    assert (await client.delete(f"{PAGES}/{page['id']}")).status_code == 404
    assert (await client.get(PAGES)).json() == {"items": []}


@pytest.mark.parametrize(
    ("method", "suffix"),
    [("GET", ""), ("PUT", ""), ("DELETE", "")],
    ids=["get", "put", "delete"],
)
async def test_unknown_page_is_404(client, method: str, suffix: str) -> None:
    kwargs = {"json": {"slug": "x", "title": "x"}} if method == "PUT" else {}
    resp = await client.request(method, f"{PAGES}/987654321{suffix}", **kwargs)
    assert resp.status_code == 404, resp.text
    assert "status page 987654321 does not exist" in resp.json()["detail"]


async def test_slugs_are_unique(client) -> None:
    await add_page(client, slug="one")
    other = await add_page(client, slug="two")
    resp = await client.post(PAGES, json={"slug": "one", "title": "again"})
    assert resp.status_code == 409, resp.text
    assert resp.json()["errors"] == [
        {"field": "slug", "message": "a status page with the slug 'one' already exists"}
    ]
    resp = await client.put(f"{PAGES}/{other['id']}", json={"slug": "one", "title": "t"})
    assert resp.status_code == 409 and resp.json()["errors"][0]["field"] == "slug"


async def test_unknown_targets_are_named(client) -> None:
    known = await create(client, name="known")
    resp = await client.post(
        PAGES,
        json={
            "slug": "s",
            "title": "t",
            "groups": [
                {"name": "A", "targets": [{"target_id": known["id"]}, {"target_id": 987654321}]},
                {"name": "B", "targets": [{"target_id": 987654322}]},
            ],
        },
    )
    assert resp.status_code == 400, resp.text
    assert resp.json()["errors"] == [
        {"field": "groups[0].targets[1].target_id", "message": "no target has the id 987654321"},
        {"field": "groups[1].targets[0].target_id", "message": "no target has the id 987654322"},
    ]
    assert (await client.get(PAGES)).json() == {"items": []}


SLUG_RULE = "must be 1 to 64 characters of a-z, 0-9 and '-'"


@pytest.mark.parametrize(
    ("fields", "field", "message"),
    [
        ({"slug": "Acme"}, "slug", SLUG_RULE),
        ({"slug": "-acme"}, "slug", SLUG_RULE),
        ({"slug": "acme-"}, "slug", SLUG_RULE),
        ({"slug": "ac_me"}, "slug", SLUG_RULE),
        ({"slug": "acme.json"}, "slug", SLUG_RULE),
        ({"slug": "a" * 65}, "slug", SLUG_RULE),
        ({"slug": "a/b"}, "slug", SLUG_RULE),
        ({"slug": ""}, "slug", "length >= 1"),
        ({"slug": 7}, "slug", "must be str"),
        ({"title": ""}, "title", "length >= 1"),
        ({"title": " padded"}, "title", "regex"),
        ({"title": "bidi\u202eeman"}, "title", "control or format characters"),
        ({"title": "x" * 201}, "title", "length <= 200"),
        ({"description": "x" * 5001}, "description", "length <= 5000"),
        ({"logo_url": "ftp://example.com/logo.png"}, "logo_url", "regex"),
        ({"logo_url": "javascript:alert(1)"}, "logo_url", "regex"),
        ({"logo_url": "https://exa;mple.com/logo.png"}, "logo_url", "http(s) URL with a host"),
        ({"logo_url": "https://example.com:99999/l.png"}, "logo_url", "http(s) URL with a host"),
        ({"groups": [{"targets": []}]}, "groups[0].name", "is required"),
        ({"groups": [{"name": "G", "extra": 1}]}, "groups[0].extra", "is not a known field"),
        (
            {"groups": [{"name": "G", "targets": [{"target_id": 0}]}]},
            "groups[0].targets[0].target_id",
            ">= 1",
        ),
        (
            {"groups": [{"name": "G", "targets": [{"target_id": 1, "display_name": " x"}]}]},
            "groups[0].targets[0].display_name",
            "regex",
        ),
        ({"colour": "red"}, "colour", "is not a known field"),
    ],
    ids=[
        "slug-uppercase",
        "slug-leading-dash",
        "slug-trailing-dash",
        "slug-underscore",
        "slug-dot",
        "slug-too-long",
        "slug-slash",
        "slug-empty",
        "slug-not-a-string",
        "title-empty",
        "title-padded",
        "title-bidi-override",
        "title-too-long",
        "description-too-long",
        "logo-ftp",
        "logo-javascript",
        "logo-odd-host",
        "logo-bad-port",
        "group-without-name",
        "group-unknown-field",
        "target-id-zero",
        "display-name-padded",
        "unknown-field",
    ],
)
async def test_invalid_input_names_the_field(
    client, fields: dict, field: str, message: str
) -> None:
    body = {"slug": "ok", "title": "ok", **fields}
    for resp in (
        await client.post(PAGES, json=body),
        await client.put(f"{PAGES}/{(await _any_page(client))}", json=body),
    ):
        assert resp.status_code == 400, resp.text
        errors = resp.json()["errors"]
        assert [e["field"] for e in errors] == [field], errors
        assert message in errors[0]["message"], errors


async def _any_page(client) -> int:
    listed = (await client.get(PAGES)).json()["items"]
    if listed:
        return listed[0]["id"]
    return (await add_page(client, slug="existing"))["id"]


async def test_a_target_twice_in_one_group_is_named(client) -> None:
    t = await create(client, name="t")
    resp = await client.post(
        PAGES,
        json={
            "slug": "s",
            "title": "t",
            "groups": [
                {"name": "A", "targets": [{"target_id": t["id"]}, {"target_id": t["id"]}]},
                {"name": "B", "targets": [{"target_id": t["id"]}]},
            ],
        },
    )
    assert resp.status_code == 400, resp.text
    assert resp.json()["errors"] == [
        {
            "field": "groups[0].targets[1].target_id",
            "message": f"lists target {t['id']} twice in the group",
        }
    ]


async def test_writes_are_audited(client, db: asyncpg.Connection) -> None:
    t = await create(client, name="t")
    page = await add_page(client, groups=[{"name": "G", "targets": [{"target_id": t["id"]}]}])
    await client.put(f"{PAGES}/{page['id']}", json={"slug": "status", "title": "Renamed"})
    await client.delete(f"{PAGES}/{page['id']}")
    rows = await db.fetch(
        "SELECT action, object_kind FROM audit_log WHERE object_kind LIKE 'status_page%'"
        " ORDER BY id"
    )
    kinds = {(r["action"], r["object_kind"]) for r in rows}
    assert {
        ("create", "status_page"),
        ("create", "status_page_group"),
        ("create", "status_page_target"),
        ("update", "status_page"),
        ("delete", "status_page"),
    } <= kinds, kinds


async def test_reading_needs_credentials(anon_client) -> None:
    resp = await anon_client.get(PAGES)
    assert resp.status_code == 401
