"""Target dependencies: depends_on in every write and read, the 400s (unknown, self, cycle),
deleting a target others depend on, and no cycle from two concurrent writes."""

from __future__ import annotations

import asyncio

import aiohttp
import pytest

from vigil_api.targets import dependencies
from vigil_core.db import connect

from ..support import create_target
from .conftest import HTTP_TARGET, LiveServer, create, make_app


async def get(client, target_id: int) -> dict:
    resp = await client.get(f"/api/v1/targets/{target_id}")
    assert resp.status_code == 200, resp.text
    return resp.json()


async def patch(client, target_id: int, **fields):
    return await client.patch(f"/api/v1/targets/{target_id}", json=fields)


def problem_fields(resp) -> dict[str, str]:
    assert resp.status_code == 400, resp.text
    return {e["field"]: e["message"] for e in resp.json()["errors"]}


async def test_depends_on_is_written_with_the_target_and_read_back_sorted(client, db) -> None:
    db_t = await create(client, name="db")
    lb = await create(client, name="lb")
    assert db_t["depends_on"] == [] and lb["depends_on"] == []

    web = await create(client, name="web", depends_on=[lb["id"], db_t["id"], lb["id"]])
    assert web["depends_on"] == sorted([db_t["id"], lb["id"]])
    assert (await get(client, web["id"]))["depends_on"] == web["depends_on"]
    listed = {t["name"]: t for t in (await client.get("/api/v1/targets")).json()["items"]}
    assert listed["web"]["depends_on"] == web["depends_on"] and listed["db"]["depends_on"] == []
    rows = await db.fetch(
        "SELECT depends_on_id FROM target_dependencies WHERE target_id = $1 ORDER BY 1",
        web["id"],
    )
    assert [r[0] for r in rows] == web["depends_on"]


async def test_patch_keeps_dependencies_unless_it_sends_them(client) -> None:
    a, b = await create(client, name="a"), await create(client, name="b")
    web = await create(client, name="web", depends_on=[a["id"]])

    resp = await patch(client, web["id"], interval_s=10)
    assert resp.status_code == 200 and resp.json()["depends_on"] == [a["id"]]
    resp = await patch(client, web["id"], depends_on=[b["id"]])
    assert resp.status_code == 200 and resp.json()["depends_on"] == [b["id"]]
    assert (await get(client, web["id"]))["interval_s"] == 10
    resp = await patch(client, web["id"], depends_on=[])
    assert resp.status_code == 200 and resp.json()["depends_on"] == []


async def test_put_replaces_dependencies_and_leaving_them_out_clears_them(client) -> None:
    a, b = await create(client, name="a"), await create(client, name="b")
    web = await create(client, name="web", depends_on=[a["id"]])
    body = {**HTTP_TARGET, "name": "web"}
    resp = await client.put(f"/api/v1/targets/{web['id']}", json={**body, "depends_on": [b["id"]]})
    assert resp.status_code == 200 and resp.json()["depends_on"] == [b["id"]]
    resp = await client.put(f"/api/v1/targets/{web['id']}", json=body)
    assert resp.status_code == 200 and resp.json()["depends_on"] == []


async def test_unknown_ids_are_rejected_and_nothing_is_written(client, db) -> None:
    a = await create(client, name="a")
    missing = a["id"] + 1000
    resp = await client.post(
        "/api/v1/targets", json={**HTTP_TARGET, "name": "web", "depends_on": [a["id"], missing]}
    )
    assert problem_fields(resp) == {"depends_on": f"no target has the id {missing}"}
    assert await db.fetchval("SELECT count(*) FROM targets WHERE name = 'web'") == 0

    resp = await patch(client, a["id"], depends_on=[0])
    assert "depends_on[0]" in problem_fields(resp)


async def test_a_target_cannot_depend_on_itself(client) -> None:
    a = await create(client, name="a")
    resp = await patch(client, a["id"], depends_on=[a["id"]])
    assert problem_fields(resp) == {"depends_on": f"names the target itself ({a['id']})"}
    resp = await client.put(
        f"/api/v1/targets/{a['id']}", json={**HTTP_TARGET, "name": "a", "depends_on": [a["id"]]}
    )
    assert "depends_on" in problem_fields(resp)


@pytest.mark.parametrize("length", [2, 4], ids=["a-b-a", "a-b-c-d-a"])
async def test_a_cycle_is_rejected_and_the_target_stays_as_it_was(client, length) -> None:
    chain = [await create(client, name=f"t{i}") for i in range(length)]
    for child, parent in zip(chain, chain[1:], strict=False):
        resp = await patch(client, child["id"], depends_on=[parent["id"]])
        assert resp.status_code == 200, resp.text
    last, first = chain[-1], chain[0]
    resp = await patch(client, last["id"], depends_on=[first["id"]], interval_s=10)
    message = problem_fields(resp)["depends_on"]
    assert message.startswith(f"target {first['id']} ('t0') already depends on this one")
    assert "cycle" in message
    after = await get(client, last["id"])
    assert after["depends_on"] == [] and after["interval_s"] == 30, (
        "a rejected write changes nothing"
    )


async def test_a_target_others_depend_on_can_be_deleted(client) -> None:
    db_t = await create(client, name="db")
    web = await create(client, name="web", depends_on=[db_t["id"]])
    resp = await client.delete(f"/api/v1/targets/{db_t['id']}")
    assert resp.status_code == 204
    assert (await get(client, web["id"]))["depends_on"] == []


async def test_a_write_waits_for_a_concurrent_one_and_sees_its_edge(
    db, db_url, admin_headers
) -> None:
    # Another API process is writing B->A and has not committed: A->B alone looks valid, so
    # the PATCH must wait for that transaction (the dependencies lock) and then see the cycle.
    # Through a real server of its own: the in-process test client holds the event loop
    # during a call, and this module's app already runs under that client.
    async with (
        LiveServer(make_app(db_url)) as live,
        aiohttp.ClientSession(live.url, headers=admin_headers) as http,
    ):
        a = await create_target(http, live.url, {**HTTP_TARGET, "name": "a"})
        b = await create_target(http, live.url, {**HTTP_TARGET, "name": "b"})
        other = await connect(db_url)
        try:
            async with other.transaction():
                await dependencies.write(other, b["id"], [a["id"]])
                task = asyncio.create_task(
                    http.patch(f"/api/v1/targets/{a['id']}", json={"depends_on": [b["id"]]})
                )
                await wait_until_blocked(db, task)
        finally:
            await other.close()
        async with await asyncio.wait_for(task, 30) as resp:
            assert resp.status == 400, await resp.text()
            errors = (await resp.json())["errors"]
        assert errors[0]["field"] == "depends_on" and "cycle" in errors[0]["message"]
        stored = await db.fetch("SELECT target_id, depends_on_id FROM target_dependencies")
        assert [tuple(r) for r in stored] == [(b["id"], a["id"])]


async def wait_until_blocked(conn, task: asyncio.Task, deadline_s: float = 20) -> None:
    """Until a backend waits for an advisory lock; fails if `task` ends first. (`conn` must
    not be in a transaction: pg_stat_activity is read once per transaction.)"""
    end = asyncio.get_running_loop().time() + deadline_s
    while asyncio.get_running_loop().time() < end:
        assert not task.done(), "the write did not wait for the other one"
        waiting = await conn.fetchval(
            "SELECT count(*) FROM pg_stat_activity WHERE wait_event_type = 'Lock'"
            " AND wait_event = 'advisory'"
        )
        if waiting:
            return
        await asyncio.sleep(0.02)
    raise AssertionError("no write waited for the dependencies lock")
