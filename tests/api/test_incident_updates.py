"""/api/v1/incidents/{id}/updates: editors' updates read back in order under the poster's name,
trimmed, validated by field, 404 for an unknown incident or update, and gone with their
incident."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import asyncpg
import pytest

from ..support import bearer
from .conftest import create


@pytest.fixture
async def incident(client, db: asyncpg.Connection) -> int:
    target = await create(client, name="incident target")
    started = datetime.now(UTC) - timedelta(minutes=10)
    return await db.fetchval(
        "INSERT INTO incidents (target_id, started_at, cause) VALUES ($1, $2, 'refused')"
        " RETURNING id",
        target["id"],
        started,
    )


def path(incident_id: int) -> str:
    return f"/api/v1/incidents/{incident_id}/updates"


async def me(client) -> str:
    return (await client.get("/api/v1/auth/me")).json()["name"]


async def test_updates_read_back_in_order_under_the_posters_name(client, incident: int) -> None:
    first = await client.post(
        path(incident), json={"status": "investigating", "message": "  Looking into it.\n"}
    )
    assert first.status_code == 201, first.text
    second = await client.post(
        path(incident),
        json={"status": "identified", "message": "A bad deploy.\n\nRolling back."},
    )
    assert second.status_code == 201, second.text
    got = first.json()
    assert got["incident_id"] == incident
    assert (got["status"], got["message"]) == ("investigating", "Looking into it.")
    assert got["author"] == await me(client)
    listed = (await client.get(path(incident))).json()["items"]
    assert [u["id"] for u in listed] == [first.json()["id"], second.json()["id"]]
    assert listed[1]["message"] == "A bad deploy.\n\nRolling back."
    assert listed[0] == got


async def test_an_incident_without_updates_lists_none(client, incident: int) -> None:
    assert (await client.get(path(incident))).json() == {"items": []}


async def test_delete(client, incident: int) -> None:
    made = (await client.post(path(incident), json={"status": "monitoring", "message": "m"})).json()
    resp = await client.delete(f"{path(incident)}/{made['id']}")
    assert resp.status_code == 204
    assert (await client.get(path(incident))).json() == {"items": []}
    again = await client.delete(f"{path(incident)}/{made['id']}")
    assert again.status_code == 404


async def test_an_update_is_deleted_only_through_its_own_incident(
    client, db: asyncpg.Connection, incident: int
) -> None:
    target_id = await db.fetchval("SELECT target_id FROM incidents WHERE id = $1", incident)
    other = await db.fetchval(
        "INSERT INTO incidents (target_id, started_at, ended_at, cause)"
        " VALUES ($1, now() - interval '2 hours', now() - interval '1 hour', 'timeout')"
        " RETURNING id",
        target_id,
    )
    made = (await client.post(path(incident), json={"status": "resolved", "message": "ok"})).json()
    assert (await client.delete(f"{path(other)}/{made['id']}")).status_code == 404
    assert len((await client.get(path(incident))).json()["items"]) == 1


@pytest.mark.parametrize("method", ["GET", "POST"], ids=["list", "post"])
async def test_an_unknown_incident_is_404(client, method: str) -> None:
    kwargs = {"json": {"status": "investigating", "message": "m"}} if method == "POST" else {}
    resp = await client.request(method, path(987654321), **kwargs)
    assert resp.status_code == 404, resp.text
    assert "incident 987654321 does not exist" in resp.json()["detail"]


@pytest.mark.parametrize(
    ("body", "field", "message"),
    [
        ({"message": "m"}, "status", "is required"),
        ({"status": "fixed", "message": "m"}, "status", "Invalid enum value"),
        ({"status": "resolved"}, "message", "is required"),
        ({"status": "resolved", "message": ""}, "message", "length >= 1"),
        ({"status": "resolved", "message": " \n\t "}, "message", "must not be empty"),
        ({"status": "resolved", "message": "x" * 5001}, "message", "length <= 5000"),
        ({"status": "resolved", "message": "a\x00b"}, "message", "regex"),
        ({"status": "resolved", "message": "bell\x07"}, "message", "control characters (U+0007"),
        ({"status": "resolved", "message": "m", "author": "me"}, "author", "is not a known field"),
    ],
    ids=[
        "no-status",
        "unknown-status",
        "no-message",
        "empty-message",
        "blank-message",
        "long-message",
        "nul",
        "control-character",
        "author-is-not-input",
    ],
)
async def test_invalid_input_names_the_field(
    client, incident: int, body: dict, field: str, message: str
) -> None:
    resp = await client.post(path(incident), json=body)
    assert resp.status_code == 400, resp.text
    errors = resp.json()["errors"]
    assert [e["field"] for e in errors] == [field], errors
    assert message in errors[0]["message"], errors
    assert (await client.get(path(incident))).json() == {"items": []}


async def test_updates_go_with_their_incident(
    client, db: asyncpg.Connection, incident: int
) -> None:
    await client.post(path(incident), json={"status": "investigating", "message": "m"})
    await db.execute("DELETE FROM incidents WHERE id = $1", incident)
    assert await db.fetchval("SELECT count(*) FROM incident_updates") == 0


async def test_a_read_token_reads_but_does_not_post(
    client, tokens: dict[str, str], incident: int
) -> None:
    read = bearer(tokens["read"])
    assert (await client.get(path(incident), headers=read)).status_code == 200
    resp = await client.post(
        path(incident), json={"status": "investigating", "message": "m"}, headers=read
    )
    assert resp.status_code == 403


async def test_posting_is_audited(client, db: asyncpg.Connection, incident: int) -> None:
    made = await client.post(path(incident), json={"status": "investigating", "message": "m"})
    actions = await db.fetch(
        "SELECT action, actor FROM audit_log WHERE object_kind = 'incident_update'"
        " AND object_id = $1",
        str(made.json()["id"]),
    )
    assert [(r["action"], r["actor"]) for r in actions] == [("create", await me(client))]
