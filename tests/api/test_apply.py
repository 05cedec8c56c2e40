"""POST /api/v1/apply: upsert by name in one transaction, prune, dry run, and all-or-nothing errors."""

from __future__ import annotations

from .conftest import HTTP_TARGET, create

WEB = {**HTTP_TARGET, "labels": {"env": "prod"}}
DB = {"name": "db", "kind": "tcp", "host": "127.0.0.1", "port": 5432}
GW = {"name": "gw", "kind": "icmp", "host": "::1"}


async def apply(client, targets, **params):
    resp = await client.post(
        "/api/v1/apply",
        json={"targets": targets},
        params={k: str(v).lower() for k, v in params.items()},
    )
    return resp


async def names(client) -> list[str]:
    return sorted(t["name"] for t in (await client.get("/api/v1/targets")).json()["items"])


async def test_apply_creates_updates_and_leaves_equal_targets_alone(client, db) -> None:
    first = (await apply(client, [WEB, DB])).json()
    assert (first["created"], first["updated"], first["unchanged"]) == (["db", "web"], [], [])
    before = {t["name"]: t for t in (await client.get("/api/v1/targets")).json()["items"]}

    second = (await apply(client, [{**WEB, "interval_s": 15}, DB, GW])).json()
    assert (second["created"], second["updated"], second["unchanged"]) == (["gw"], ["web"], ["db"])
    change = next(c for c in second["changes"] if c["name"] == "web")
    assert change == {
        "op": "update",
        "name": "web",
        "id": before["web"]["id"],
        "fields": {"interval_s": {"old": 30.0, "new": 15.0}},
        "hidden": [],
    }
    after = {t["name"]: t for t in (await client.get("/api/v1/targets")).json()["items"]}
    assert after["web"]["id"] == before["web"]["id"] and after["web"]["interval_s"] == 15
    assert after["db"]["updated_at"] == before["db"]["updated_at"], (
        "an unchanged target is not written"
    )


async def test_prune_deletes_what_the_document_does_not_name(client) -> None:
    await apply(client, [WEB, DB, GW])
    result = (await apply(client, [DB], prune=True)).json()
    assert result["deleted"] == ["gw", "web"] and result["unchanged"] == ["db"]
    assert await names(client) == ["db"]
    # without prune, targets missing from the file stay
    await apply(client, [WEB])
    assert await names(client) == ["db", "web"]


async def test_dry_run_reports_and_writes_nothing(client, db) -> None:
    await create(client, name="manual", url="http://127.0.0.1:15/")
    result = (await apply(client, [WEB, DB], prune=True, dry_run=True)).json()
    assert result["dry_run"] is True
    assert (result["created"], result["deleted"]) == (["db", "web"], ["manual"])
    created = next(c for c in result["changes"] if c["name"] == "db")
    assert created["fields"]["host"] == {"old": None, "new": "127.0.0.1"}
    assert await names(client) == ["manual"]


async def test_one_bad_target_writes_nothing(client, db) -> None:
    resp = await apply(
        client, [WEB, {**DB, "port": 70000}, {**GW, "interval_s": 5, "timeout_s": 9}]
    )
    assert resp.status_code == 400
    fields = [e["field"] for e in resp.json()["errors"]]
    assert fields == ["targets[1].port"]
    resp = await apply(
        client, [WEB, {**GW, "interval_s": 5, "timeout_s": 9}, {**DB, "name": "web"}]
    )
    assert resp.status_code == 400
    assert [e["field"] for e in resp.json()["errors"]] == [
        "targets[1].timeout_s",
        "targets[2].name",
    ]
    assert await names(client) == []


async def test_apply_rejects_a_document_without_targets(client) -> None:
    for body in ({}, {"targets": {}}, {"targets": [], "extra": 1}):
        resp = await client.post("/api/v1/apply", json=body)
        assert resp.status_code == 400, body
