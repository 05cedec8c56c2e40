"""A target's live state on its own JSON, and the summary's cached answers: exact after this
API's writes, refreshed after a state NOTIFY and after the TTL."""

from __future__ import annotations

import asyncio
import re

from vigil_api.uptime.controller import Q as UPTIME_Q
from vigil_core.notify import STATUS_CHANNEL
from vigil_core.rollups import BUCKET_COUNT

from .conftest import create

SET_STATE = (
    "UPDATE target_state SET status = $2, since = now() - interval '1 hour', "
    "last_checked_at = now(), last_latency_ms = 12.5, last_error_class = $3 WHERE target_id = $1"
)


async def test_target_json_carries_status_since_and_last_check(client, db) -> None:
    t = await create(client)
    assert t["status"] == "pending" and t["since"] is not None and t["last_checked_at"] is None

    await db.execute(SET_STATE, t["id"], "down", "timeout")
    got = (await client.get(f"/api/v1/targets/{t['id']}")).json()
    assert (got["status"], got["last_latency_ms"], got["last_error_class"]) == (
        "down",
        12.5,
        "timeout",
    )
    listed = (await client.get("/api/v1/targets")).json()["items"]
    assert [(i["id"], i["status"]) for i in listed] == [(t["id"], "down")]

    paused = (await client.post(f"/api/v1/targets/{t['id']}/pause")).json()
    assert paused["status"] == "paused"
    assert (await client.get(f"/api/v1/targets/{t['id']}")).json()["status"] == "paused"
    # Resuming sends the target back to pending until its next check (the trigger's reset).
    resumed = (await client.post(f"/api/v1/targets/{t['id']}/resume")).json()
    assert resumed["status"] == "pending"
    patched = (await client.patch(f"/api/v1/targets/{t['id']}", json={"enabled": False})).json()
    assert patched["status"] == "paused"


async def test_a_target_created_paused_is_paused_everywhere(client, db) -> None:
    """Created disabled, a target keeps the `pending` its state row starts with: every answer
    still shows it paused, and the state filter and both kinds of counts agree."""
    t = await create(client, name="created-paused", enabled=False)
    assert t["status"] == "paused"
    assert (
        await db.fetchval("SELECT status FROM target_state WHERE target_id = $1", t["id"])
        == "pending"
    )
    assert (await client.get(f"/api/v1/targets/{t['id']}")).json()["status"] == "paused"
    assert [i["status"] for i in (await client.get("/api/v1/targets")).json()["items"]] == [
        "paused"
    ]
    s = (await client.get("/api/v1/summary")).json()
    assert [i["status"] for i in s["items"]] == ["paused"]
    assert s["counts"] == {
        "up": 0,
        "down": 0,
        "pending": 0,
        "maintenance": 0,
        "paused": 1,
        "total": 1,
    }
    assert (await client.get("/api/v1/summary?kind=http")).json()["counts"]["paused"] == 1
    assert [
        i["name"] for i in (await client.get("/api/v1/summary?state=paused")).json()["items"]
    ] == [t["name"]]
    assert (await client.get("/api/v1/summary?state=pending")).json()["items"] == []

    # Whatever its row says, a paused target is not up in /metrics (its certificate expiry
    # shows that the scrape read the row).
    await db.execute(SET_STATE, t["id"], "up", None)
    await db.execute("UPDATE target_state SET tls_expires_at = now() WHERE target_id = $1", t["id"])
    series = {
        line.partition("{")[0]
        for line in (await client.get("/metrics")).text.splitlines()
        if f'id="{t["id"]}"' in line
    }
    assert series == {"vigil_target_tls_expiry_timestamp_seconds"}


async def _all_counts(client) -> dict:
    return (await client.get("/api/v1/summary")).json()["counts"]


async def test_summary_answers_are_cached_until_a_write_or_a_state_notify(app, client, db) -> None:
    counts, pages = app.state.summary_counts, app.state.summary_pages
    old_ttls = counts.ttl_s, pages.ttl_s
    # Long enough that only invalidation can refresh them.
    counts.ttl_s = pages.ttl_s = 60.0
    try:
        a, b = await create(client, name="a"), await create(client, name="b")
        assert (await _all_counts(client))["pending"] == 2

        # A write straight in the database with no NOTIFY: the answer given stays as it was;
        # one never asked before (and its filtered counts, never cached) shows it at once.
        await db.execute(SET_STATE, a["id"], "up", None)
        s = (await client.get("/api/v1/summary")).json()
        assert (s["counts"]["pending"], s["counts"]["up"]) == (2, 0)
        assert [i["status"] for i in s["items"]] == ["pending", "pending"]
        s = (await client.get("/api/v1/summary?kind=http")).json()
        assert s["counts"]["up"] == 1
        assert [i["status"] for i in s["items"]] == ["up", "pending"]

        # A state change as the worker announces it: the hub drops the answers (the counts are
        # counted again), as soon as it hears the NOTIFY.
        await db.execute(
            "SELECT pg_notify($1, $2)",
            STATUS_CHANNEL,
            f'{{"type":"state","target_id":{a["id"]},"status":"up","previous":"pending",'
            f'"since":"2026-01-01T00:00:00Z"}}',
        )
        async with asyncio.timeout(10):
            while (s := (await client.get("/api/v1/summary")).json())["counts"]["up"] != 1:
                await asyncio.sleep(0.05)
        assert [i["status"] for i in s["items"]] == ["up", "pending"]

        # A write through this API: exact in the very next answer.
        await db.execute(SET_STATE, b["id"], "down", "status")
        await client.post(f"/api/v1/targets/{a['id']}/pause")
        s = (await client.get("/api/v1/summary")).json()
        assert s["counts"] == {
            "up": 0,
            "down": 1,
            "pending": 0,
            "maintenance": 0,
            "paused": 1,
            "total": 2,
        }
        assert [i["status"] for i in s["items"]] == ["paused", "down"]

        # And refreshed in the background once the TTL has passed otherwise.
        counts.ttl_s = pages.ttl_s = 0.6
        counts.invalidate()
        pages.clear()
        assert (await _all_counts(client))["down"] == 1
        await db.execute(SET_STATE, b["id"], "up", None)
        assert (await _all_counts(client))["down"] == 1
        await asyncio.sleep(0.7)
        async with asyncio.timeout(10):
            while (await _all_counts(client))["up"] != 1:
                await asyncio.sleep(0.05)
    finally:
        counts.ttl_s, pages.ttl_s = old_ttls


def test_uptime_query_sums_every_latency_bucket() -> None:
    # The buckets are spelled out in the query; a new bucket must be added there too.
    assert sorted(
        int(i) for i in re.findall(r"latency_buckets\[(\d+)\]", UPTIME_Q["uptime"])
    ) == list(range(1, BUCKET_COUNT + 1))
