"""The API's basic contract: create, read, clear 400s that name the field, 404s, never a 500."""

from __future__ import annotations

import pytest
from litestar.testing import AsyncTestClient

from vigil_api.app import create_app
from vigil_core.settings import load_settings

from .support import TEST_SECRET_KEY


@pytest.fixture
async def client(db_url: str, admin_headers: dict[str, str]):
    app = create_app(load_settings({}, database_url=db_url, secret_key=TEST_SECRET_KEY))
    async with AsyncTestClient(app=app, base_url="http://127.0.0.1") as client:
        client.headers.update(admin_headers)
        yield client


VALID = {
    "name": "web",
    "kind": "http",
    "url": "http://127.0.0.1:8080/",
    "interval_s": 60,
    "timeout_s": 5,
}


async def test_create_get_list(client: AsyncTestClient) -> None:
    resp = await client.post("/api/v1/targets", json=VALID)
    assert resp.status_code == 201, resp.text
    target = resp.json()
    assert target["id"] > 0 and target["name"] == "web" and target["url"] == VALID["url"]
    assert (await client.get(f"/api/v1/targets/{target['id']}")).json()["name"] == "web"
    listed = (await client.get("/api/v1/targets")).json()
    items = listed["items"] if isinstance(listed, dict) else listed
    assert [t["id"] for t in items] == [target["id"]]


BAD = [
    ("missing_name", {k: v for k, v in VALID.items() if k != "name"}, "name"),
    ("interval_not_a_number", {**VALID, "interval_s": "soon"}, "interval_s"),
    ("interval_too_small", {**VALID, "interval_s": 0.5}, "interval_s"),
    ("url_not_http", {**VALID, "url": "ftp://127.0.0.1/"}, "url"),
    ("timeout_not_below_interval", {**VALID, "interval_s": 5, "timeout_s": 5}, "timeout_s"),
]


@pytest.mark.parametrize("body,field", [b[1:] for b in BAD], ids=[b[0] for b in BAD])
async def test_invalid_field_is_named(client: AsyncTestClient, body: dict, field: str) -> None:
    resp = await client.post("/api/v1/targets", json=body)
    assert resp.status_code == 400, resp.text
    problem = resp.json()
    assert field in problem["detail"]
    assert (await client.get("/api/v1/targets")).status_code == 200


async def test_malformed_json_is_400(client: AsyncTestClient) -> None:
    resp = await client.post(
        "/api/v1/targets", content=b'{"name": ', headers={"content-type": "application/json"}
    )
    assert resp.status_code == 400
    assert resp.headers["content-type"].startswith("application/problem+json")


async def test_unknown_id_is_404(client: AsyncTestClient) -> None:
    assert (await client.get("/api/v1/targets/999999")).status_code == 404
    assert (await client.get("/api/v1/targets/999999/checks")).status_code == 404


async def test_duplicate_name_is_409(client: AsyncTestClient) -> None:
    assert (await client.post("/api/v1/targets", json=VALID)).status_code == 201
    assert (await client.post("/api/v1/targets", json=VALID)).status_code == 409


async def test_health_probes(client: AsyncTestClient) -> None:
    assert (await client.get("/healthz")).status_code == 200
    assert (await client.get("/readyz")).status_code == 200
