"""/api/v1/maintenance: windows of each kind read back as written, the "from now" shortcut, the
active / upcoming / past lists, ending early, validation naming each field, and occurrences
computed in the window's time zone, across a change of daylight saving time."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from .conftest import create

BERLIN = ZoneInfo("Europe/Berlin")


def iso(value: datetime) -> str:
    return value.isoformat()


def at(text: str) -> datetime:
    return datetime.fromisoformat(text)


async def add_window(client, **fields: Any) -> dict:
    resp = await client.post("/api/v1/maintenance", json=fields)
    assert resp.status_code == 201, resp.text
    return resp.json()


async def listed(client, **params: Any) -> list[dict]:
    resp = await client.get("/api/v1/maintenance", params=params)
    assert resp.status_code == 200, resp.text
    return resp.json()["items"]


async def test_a_one_off_window_reads_as_written(client, db) -> None:
    web = await create(client, name="web")
    start = datetime.now(UTC).replace(microsecond=0) + timedelta(days=2)
    window = await add_window(
        client,
        name="db upgrade",
        description="Postgres 17",
        targets=[web["id"]],
        match_labels={"team": "data"},
        starts_at=start.astimezone(BERLIN).isoformat(),
        ends_at=iso(start + timedelta(hours=2)),
        time_zone="Europe/Berlin",
    )
    assert (at(window["starts_at"]), at(window["ends_at"])) == (start, start + timedelta(hours=2))
    shown = {k: v for k, v in window.items() if k not in ("id", "created_at", "updated_at")}
    assert {k: v for k, v in shown.items() if k not in ("starts_at", "ends_at")} == {
        "name": "db upgrade",
        "description": "Postgres 17",
        "kind": "once",
        "targets": [web["id"]],
        "match_labels": {"team": "data"},
        "days": None,
        "start_time": None,
        "cron": None,
        "duration_s": 7200,
        "time_zone": "Europe/Berlin",
        "include_in_uptime": False,
        "state": "upcoming",
        "current": None,
        "next": {"starts_at": window["starts_at"], "ends_at": window["ends_at"]},
    }
    path = f"/api/v1/maintenance/{window['id']}"
    assert (await client.get(path)).json() == window
    assert await listed(client) == [window]
    occurrences = (await client.get(f"{path}/occurrences")).json()["items"]
    assert occurrences == [
        {"starts_at": window["starts_at"], "ends_at": window["ends_at"], "ended_early": False}
    ]
    stored = await db.fetch("SELECT starts_at, ends_at FROM maintenance_occurrences")
    assert [(r["starts_at"], r["ends_at"]) for r in stored] == [(start, start + timedelta(hours=2))]


async def test_the_shortcut_starts_now_and_is_named_after_its_targets(client, db) -> None:
    web, db_target = await create(client, name="web"), await create(client, name="db")
    before = await db.fetchval("SELECT now()")
    window = await add_window(client, targets=[web["id"], db_target["id"]], duration_s=1800)
    after = await db.fetchval("SELECT now()")
    assert window["name"] == "Maintenance of web, db"
    assert window["kind"] == "once" and window["state"] == "active"
    starts, ends = at(window["starts_at"]), at(window["ends_at"])
    assert before <= starts <= after and ends - starts == timedelta(seconds=1800)
    assert window["current"] == {"starts_at": window["starts_at"], "ends_at": window["ends_at"]}
    assert window["next"] is None and window["duration_s"] == 1800
    assert window["targets"] == sorted([web["id"], db_target["id"]])

    again = await add_window(client, targets=[web["id"], db_target["id"]], duration_s=600)
    assert again["name"] == "Maintenance of web, db (2)"
    many = [await create(client, name=f"t{i}") for i in range(4)]
    named = await add_window(client, targets=[t["id"] for t in many], duration_s=60)
    assert named["name"] == "Maintenance of t0, t1, t2 and 1 more"
    by_labels = await add_window(client, match_labels={"env": "prod"}, duration_s=60)
    assert by_labels["name"] == "Maintenance of env=prod"


async def test_recurring_windows_infer_their_kind(client) -> None:
    web = await create(client)
    weekly = await add_window(
        client,
        name="patch night",
        targets=[web["id"]],
        days=["sun", "Saturday"],
        start_time="2:30",
        duration_s=3600,
        time_zone="Europe/Berlin",
    )
    assert (weekly["kind"], weekly["days"], weekly["start_time"]) == (
        "weekly",
        ["sat", "sun"],
        "02:30",
    )
    assert (weekly["starts_at"], weekly["ends_at"], weekly["cron"]) == (None, None, None)
    assert weekly["state"] == "upcoming" or weekly["current"] is not None
    nxt = at(weekly["next"]["starts_at"]).astimezone(BERLIN)
    assert (nxt.isoweekday() in (6, 7), nxt.hour, nxt.minute) == (True, 2, 30)

    cron = await add_window(
        client, name="backups", targets=[web["id"]], cron="0  3 * * *", duration_s=900
    )
    assert (cron["kind"], cron["cron"], cron["days"], cron["time_zone"]) == (
        "cron",
        "0 3 * * *",
        None,
        "UTC",
    )
    nxt = at(cron["next"]["starts_at"])
    assert (nxt.hour, nxt.minute) == (3, 0)
    assert at(cron["next"]["ends_at"]) - nxt == timedelta(seconds=900)


async def test_states_filter_and_order_the_list(client, db) -> None:
    web = await create(client, name="web", labels={"env": "prod"})
    other = await create(client, name="other")
    now = datetime.now(UTC)

    def once(name: str, start: timedelta, length: timedelta, **fields: Any) -> dict:
        return {
            "name": name,
            "starts_at": iso(now + start),
            "ends_at": iso(now + start + length),
            **fields,
        }

    hour = timedelta(hours=1)
    old = await add_window(client, **once("old", -5 * hour, hour, targets=[web["id"]]))
    recent = await add_window(client, **once("recent", -3 * hour, hour, targets=[other["id"]]))
    later = await add_window(client, **once("later", 5 * hour, hour, targets=[web["id"]]))
    soon = await add_window(client, **once("soon", 2 * hour, hour, match_labels={"env": "prod"}))
    long = await add_window(client, **once("long", -hour, 4 * hour, targets=[other["id"]]))
    short = await add_window(client, **once("short", -hour, 2 * hour, targets=[web["id"]]))

    names = [w["name"] for w in await listed(client)]
    # active (ending soonest first), upcoming (starting soonest first), past (newest first)
    assert names == ["short", "long", "soon", "later", "recent", "old"]
    assert [w["name"] for w in await listed(client, state="active")] == ["short", "long"]
    assert [w["name"] for w in await listed(client, state="upcoming")] == ["soon", "later"]
    assert [w["name"] for w in await listed(client, state="past")] == ["recent", "old"]
    assert {w["state"] for w in await listed(client, state="past")} == {"past"}
    # A target's windows: those listing it and those matching its labels.
    assert [w["name"] for w in await listed(client, target_id=web["id"])] == [
        "short",
        "soon",
        "later",
        "old",
    ]
    assert [w["name"] for w in await listed(client, target_id=other["id"], state="active")] == [
        "long"
    ]
    assert [w["name"] for w in await listed(client, limit=2)] == ["short", "long"]
    for bad in ({"state": "current"}, {"target_id": 0}, {"limit": 0}, {"limit": 1001}):
        resp = await client.get("/api/v1/maintenance", params=bad)
        assert resp.status_code == 400, (bad, resp.text)
        assert resp.json()["errors"][0]["field"] == next(iter(bad)), resp.text
    assert old["state"] == recent["state"] == "past" and later["state"] == soon["state"]
    assert long["state"] == short["state"] == "active"


async def test_put_replaces_every_field_and_plans_again(client, db) -> None:
    web, db_target = await create(client, name="web"), await create(client, name="db")
    window = await add_window(
        client,
        name="w",
        description="first",
        targets=[web["id"]],
        starts_at=iso(datetime.now(UTC) + timedelta(days=1)),
        duration_s=600,
        include_in_uptime=True,
    )
    path = f"/api/v1/maintenance/{window['id']}"
    resp = await client.put(
        path,
        json={
            "name": "w2",
            "targets": [db_target["id"]],
            "days": ["mon"],
            "start_time": "04:00",
            "duration_s": 7200,
        },
    )
    assert resp.status_code == 200, resp.text
    got = resp.json()
    assert (got["name"], got["kind"], got["targets"], got["description"]) == (
        "w2",
        "weekly",
        [db_target["id"]],
        "",
    )
    assert (got["starts_at"], got["include_in_uptime"], got["time_zone"]) == (None, False, "UTC")
    assert got["updated_at"] > window["updated_at"] and got["created_at"] == window["created_at"]
    assert (await client.get(path)).json() == got
    starts = [
        r["starts_at"]
        for r in await db.fetch(
            "SELECT starts_at FROM maintenance_occurrences WHERE window_id = $1", window["id"]
        )
    ]
    assert starts and all(s.isoweekday() == 1 and (s.hour, s.minute) == (4, 0) for s in starts)
    rows = await db.fetch(
        "SELECT target_id FROM maintenance_window_targets WHERE window_id = $1", window["id"]
    )
    assert [r["target_id"] for r in rows] == [db_target["id"]]

    # Without a name, a PUT names the window after its targets (its own old name is free).
    resp = await client.put(path, json={"targets": [db_target["id"]], "duration_s": 60})
    assert resp.json()["name"] == "Maintenance of db"
    resp = await client.put(path, json={"targets": [db_target["id"]], "duration_s": 60})
    assert resp.json()["name"] == "Maintenance of db"

    missing = "/api/v1/maintenance/987654321"
    resp = await client.put(missing, json={"targets": [web["id"]], "duration_s": 60})
    assert resp.status_code == 404 and "maintenance window 987654321 does not exist" in resp.text


async def test_names_are_unique(client) -> None:
    web = await create(client)
    body = {"name": "nightly", "targets": [web["id"]], "cron": "0 1 * * *", "duration_s": 600}
    first = await add_window(client, **body)
    other = await add_window(client, **{**body, "name": "weekly"})
    resp = await client.post("/api/v1/maintenance", json=body)
    assert resp.status_code == 409
    assert resp.json()["errors"] == [
        {"field": "name", "message": "a maintenance window named 'nightly' already exists"}
    ]
    resp = await client.put(f"/api/v1/maintenance/{other['id']}", json=body)
    assert resp.status_code == 409 and resp.json()["errors"][0]["field"] == "name"
    assert [w["id"] for w in await listed(client)] and first["name"] == "nightly"
    assert (await client.get(f"/api/v1/maintenance/{other['id']}")).json()["name"] == "weekly"


async def test_ending_a_window_early(client, db) -> None:
    web = await create(client)
    window = await add_window(client, targets=[web["id"]], duration_s=3600)
    path = f"/api/v1/maintenance/{window['id']}"
    resp = await client.post(f"{path}/end")
    assert resp.status_code == 200, resp.text
    ended = resp.json()
    assert (ended["state"], ended["current"], ended["next"]) == ("past", None, None)
    assert at(ended["ends_at"]) < at(window["ends_at"])
    assert ended["ends_at"] == (await client.get(path)).json()["ends_at"]
    occurrences = (await client.get(f"{path}/occurrences")).json()["items"]
    assert occurrences == [
        {"starts_at": window["starts_at"], "ends_at": ended["ends_at"], "ended_early": True}
    ]
    assert [w["id"] for w in await listed(client, state="past")] == [window["id"]]

    resp = await client.post(f"{path}/end")
    assert resp.status_code == 409
    assert resp.json()["errors"] == [
        {
            "field": "state",
            "message": f"maintenance window {window['id']} is not active: no occurrence of it"
            " runs now",
        }
    ]
    upcoming = await add_window(
        client,
        name="later",
        targets=[web["id"]],
        starts_at=iso(datetime.now(UTC) + timedelta(hours=1)),
        duration_s=60,
    )
    assert (await client.post(f"/api/v1/maintenance/{upcoming['id']}/end")).status_code == 409
    assert (await client.post("/api/v1/maintenance/987654321/end")).status_code == 404


async def test_ending_a_recurring_window_early_keeps_the_next_occurrences(client, db) -> None:
    web = await create(client)
    # A weekly window that started five minutes ago, in UTC.
    started = (datetime.now(UTC) - timedelta(minutes=5)).replace(second=0, microsecond=0)
    day = ["mon", "tue", "wed", "thu", "fri", "sat", "sun"][started.isoweekday() - 1]
    window = await add_window(
        client,
        name="weekly",
        targets=[web["id"]],
        days=[day],
        start_time=started.strftime("%H:%M"),
        duration_s=3600,
    )
    assert window["state"] == "active"
    assert at(window["current"]["starts_at"]) == started
    assert at(window["next"]["starts_at"]) == started + timedelta(days=7)
    resp = await client.post(f"/api/v1/maintenance/{window['id']}/end")
    assert resp.status_code == 200, resp.text
    ended = resp.json()
    assert (ended["state"], ended["current"]) == ("upcoming", None)
    assert ended["next"] == window["next"]

    # Replanned (a PUT), the occurrence ended early stays ended.
    body = {
        "name": "weekly",
        "targets": [web["id"]],
        "days": [day],
        "start_time": started.strftime("%H:%M"),
        "duration_s": 7200,
    }
    resp = await client.put(f"/api/v1/maintenance/{window['id']}", json=body)
    assert resp.status_code == 200 and resp.json()["state"] == "upcoming", resp.text
    row = await db.fetchrow(
        "SELECT ends_at, ended_early FROM maintenance_occurrences"
        " WHERE window_id = $1 AND starts_at = $2",
        window["id"],
        started,
    )
    assert row["ended_early"] and row["ends_at"] < started + timedelta(hours=1)


async def test_delete(client, db) -> None:
    web = await create(client)
    window = await add_window(client, targets=[web["id"]], duration_s=600)
    path = f"/api/v1/maintenance/{window['id']}"
    assert (await client.delete(path)).status_code == 204
    assert await db.fetchval("SELECT count(*) FROM maintenance_occurrences") == 0
    assert await db.fetchval("SELECT count(*) FROM maintenance_window_targets") == 0
    for method in ("get", "delete"):
        resp = await getattr(client, method)(path)
        assert resp.status_code == 404 and "maintenance window" in resp.text
    assert (await client.get(f"{path}/occurrences")).status_code == 404
    assert (await client.get("/api/v1/maintenance/0")).status_code == 400


async def test_a_deleted_target_leaves_its_windows(client) -> None:
    web, db_target = await create(client, name="web"), await create(client, name="db")
    window = await add_window(client, targets=[web["id"], db_target["id"]], duration_s=600)
    assert (await client.delete(f"/api/v1/targets/{web['id']}")).status_code == 204
    got = (await client.get(f"/api/v1/maintenance/{window['id']}")).json()
    assert got["targets"] == [db_target["id"]]


UNKNOWN = 9_000_001
FUTURE = "2030-06-01T10:00:00Z"
# (case id, request body (merged over one covering a target), the field the 400 must name, a
# word its message must hold)
BAD_BODIES = [
    (
        "unknown target",
        {"targets": [UNKNOWN], "duration_s": 60},
        "targets[0]",
        f"target {UNKNOWN} does not exist",
    ),
    ("target id zero", {"targets": [0]}, "targets[0]", ">= 1"),
    ("target id text", {"targets": ["web"]}, "targets[0]", "int"),
    ("targets not a list", {"targets": 1}, "targets", "array"),
    ("covers nothing", {"targets": [], "duration_s": 60}, "targets", "at least one target"),
    ("unknown time zone", {"time_zone": "Mars/Olympus"}, "time_zone", "unknown time zone"),
    ("time zone path", {"time_zone": "../../etc/passwd"}, "time_zone", "unknown time zone"),
    ("time zone too long", {"time_zone": "A" * 65}, "time_zone", "length"),
    ("bad cron field", {"cron": "61 * * * *", "duration_s": 600}, "cron", "Bad minute"),
    ("cron of 6 fields", {"cron": "0 0 * * * *", "duration_s": 600}, "cron", "five fields"),
    ("cron never fires", {"cron": "0 0 30 2 *", "duration_s": 600}, "cron", "day-of-month"),
    ("cron nickname", {"cron": "@daily", "duration_s": 600}, "cron", "five fields"),
    (
        "weekly without days",
        {"kind": "weekly", "start_time": "02:00", "duration_s": 600},
        "days",
        "needs days",
    ),
    (
        "unknown day",
        {"days": ["funday"], "start_time": "02:00", "duration_s": 600},
        "days",
        "unknown day",
    ),
    ("no days", {"days": [], "start_time": "02:00", "duration_s": 600}, "days", "length"),
    (
        "weekly without start",
        {"days": ["mon"], "duration_s": 600},
        "start_time",
        "needs start_time",
    ),
    (
        "start time 25:00",
        {"days": ["mon"], "start_time": "25:00", "duration_s": 600},
        "start_time",
        "regex",
    ),
    (
        "start time seconds",
        {"days": ["mon"], "start_time": "02:00:30", "duration_s": 600},
        "start_time",
        "regex",
    ),
    ("recurring too short", {"cron": "0 1 * * *", "duration_s": 59}, "duration_s", "between 60"),
    ("recurring too long", {"cron": "0 1 * * *", "duration_s": 604801}, "duration_s", "between 60"),
    ("recurring without duration", {"cron": "0 1 * * *"}, "duration_s", "between 60"),
    ("duration zero", {"duration_s": 0}, "duration_s", ">= 1"),
    ("duration over 366 days", {"duration_s": 366 * 86400 + 1}, "duration_s", "<="),
    ("duration a float", {"duration_s": 60.5}, "duration_s", "int"),
    (
        "ends before it starts",
        {"starts_at": FUTURE, "ends_at": "2030-06-01T09:00:00Z"},
        "ends_at",
        "after starts_at",
    ),
    (
        "longer than 366 days",
        {"starts_at": FUTURE, "ends_at": "2031-06-03T10:00:00Z"},
        "ends_at",
        "366 days",
    ),
    (
        "no offset",
        {"starts_at": "2030-06-01T10:00:00", "duration_s": 60},
        "starts_at",
        "UTC offset",
    ),
    ("no end", {"starts_at": FUTURE}, "ends_at", "needs ends_at"),
    ("nothing at all", {}, "ends_at", "needs ends_at"),
    (
        "end and duration disagree",
        {"starts_at": FUTURE, "ends_at": "2030-06-01T11:00:00Z", "duration_s": 60},
        "duration_s",
        "disagrees",
    ),
    (
        "past the year 9999",
        {"starts_at": "9999-12-31T23:00:00Z", "duration_s": 7200},
        "duration_s",
        "9999",
    ),
    (
        "offset out of range",
        {"starts_at": "0001-01-01T00:00:00+05:00", "duration_s": 60},
        "starts_at",
        "out of range",
    ),
    ("not a time", {"starts_at": "tomorrow", "duration_s": 60}, "starts_at", "datetime"),
    (
        "days on a cron window",
        {"cron": "0 1 * * *", "days": ["mon"], "duration_s": 600},
        "days",
        "not a field of a cron window",
    ),
    (
        "cron on a one-off",
        {"kind": "once", "cron": "0 1 * * *", "duration_s": 600},
        "cron",
        "not a field of a once window",
    ),
    (
        "starts_at on a weekly",
        {"days": ["mon"], "start_time": "01:00", "duration_s": 600, "starts_at": FUTURE},
        "starts_at",
        "not a field of a weekly",
    ),
    ("unknown kind", {"kind": "monthly"}, "kind", "enum"),
    ("unknown field", {"colour": "red", "duration_s": 60}, "colour", "known"),
    ("empty name", {"name": "", "duration_s": 60}, "name", "length"),
    ("name with a control", {"name": "a\u202eb", "duration_s": 60}, "name", "U+202E"),
    (
        "description too long",
        {"description": "x" * 2001, "duration_s": 60},
        "description",
        "length",
    ),
    (
        "label value bidi",
        {"match_labels": {"env": "a\u202e"}, "duration_s": 60},
        "match_labels.env",
        "U+202E",
    ),
    ("label key", {"match_labels": {"1env": "a"}, "duration_s": 60}, "match_labels", "regex"),
    ("include not a bool", {"include_in_uptime": 1, "duration_s": 60}, "include_in_uptime", "bool"),
]


@pytest.mark.parametrize(
    ("body", "field", "word"), [c[1:] for c in BAD_BODIES], ids=[c[0] for c in BAD_BODIES]
)
async def test_invalid_windows_are_refused_naming_the_field(client, db, body, field, word) -> None:
    web = await create(client)
    existing = await add_window(client, name="existing", targets=[web["id"]], duration_s=600)
    path = f"/api/v1/maintenance/{existing['id']}"
    for method, url in (("post", "/api/v1/maintenance"), ("put", path)):
        resp = await getattr(client, method)(url, json={"targets": [web["id"]], **body})
        assert resp.status_code == 400, (method, resp.text)
        errors = resp.json()["errors"]
        assert [e["field"] for e in errors] == [field], (method, errors)
        assert word in errors[0]["message"], (method, errors)
    assert await db.fetchval("SELECT count(*) FROM maintenance_windows") == 1
    assert (await client.get(path)).json() == existing


async def test_every_unknown_target_is_named_with_the_other_errors(client, db) -> None:
    web = await create(client)
    body = {
        "targets": [web["id"], UNKNOWN, UNKNOWN + 1],
        "time_zone": "Nowhere/Town",
        "duration_s": 60,
    }
    resp = await client.post("/api/v1/maintenance", json=body)
    assert resp.status_code == 400
    assert resp.json()["errors"] == [
        {
            "field": "time_zone",
            "message": "unknown time zone 'Nowhere/Town': use an IANA name such as Europe/Berlin",
        },
        {"field": "targets[1]", "message": f"target {UNKNOWN} does not exist"},
        {"field": "targets[2]", "message": f"target {UNKNOWN + 1} does not exist"},
    ]
    assert await db.fetchval("SELECT count(*) FROM maintenance_windows") == 0


async def test_occurrences_recent_and_next(client, db) -> None:
    web = await create(client)
    window = await add_window(
        client, name="daily", targets=[web["id"]], cron="0 4 * * *", duration_s=600
    )
    path = f"/api/v1/maintenance/{window['id']}/occurrences"
    # Three that ended, as if the window had existed for days.
    today = datetime.now(UTC).replace(hour=4, minute=0, second=0, microsecond=0)
    past = [today - timedelta(days=d) for d in (3, 2, 1)]
    await db.executemany(
        "INSERT INTO maintenance_occurrences (window_id, starts_at, ends_at)"
        " VALUES ($1, $2, $2::timestamptz + interval '10 minutes') ON CONFLICT DO NOTHING",
        [(window["id"], s) for s in past],
    )
    items = (await client.get(path, params={"limit": 2})).json()["items"]
    starts = [at(i["starts_at"]) for i in items]
    assert starts == sorted(starts) and len(items) == 4
    ended = [s for s, i in zip(starts, items, strict=True) if at(i["ends_at"]) <= datetime.now(UTC)]
    assert ended == starts[:2] and ended[-1] >= past[-1]
    for a, b in zip(starts[2:], starts[3:], strict=False):
        assert b - a == timedelta(days=1)
    # Past the 35 days planned, the next ones are computed from the schedule.
    items = (await client.get(path, params={"limit": 60})).json()["items"]
    upcoming = [at(i["starts_at"]) for i in items if at(i["ends_at"]) > datetime.now(UTC)]
    assert len(upcoming) == 60
    assert all(b - a == timedelta(days=1) for a, b in zip(upcoming, upcoming[1:], strict=False))
    planned = await db.fetchval(
        "SELECT planned_until FROM maintenance_windows WHERE id = $1", window["id"]
    )
    assert upcoming[-1] > planned
    for bad in (0, 501):
        assert (await client.get(path, params={"limit": bad})).status_code == 400


def _sundays_0230_berlin(year: int) -> list[tuple[str, datetime]]:
    """The cases: the Sunday the clocks go forward, the one they go back, and one either side."""
    march = max(d for d in (datetime(year, 3, day) for day in range(25, 32)) if d.isoweekday() == 7)
    october = max(
        d for d in (datetime(year, 10, day) for day in range(25, 32)) if d.isoweekday() == 7
    )
    return [
        # 02:30 does not exist that night: it starts at 03:00 summer time (01:00 UTC).
        ("skipped", datetime(year, 3, march.day, 1, 0, tzinfo=UTC)),
        ("week before, winter time", datetime(year, 3, march.day - 7, 1, 30, tzinfo=UTC)),
        (
            "week after, summer time",
            (march + timedelta(days=7)).replace(hour=0, minute=30, tzinfo=UTC),
        ),
        # 02:30 happens twice: once, at the first (summer time, 00:30 UTC).
        ("repeated", datetime(year, 10, october.day, 0, 30, tzinfo=UTC)),
        (
            "week after, winter time",
            (october + timedelta(days=7)).replace(hour=1, minute=30, tzinfo=UTC),
        ),
    ]


NEXT_YEAR = datetime.now(UTC).year + 1
DST_CASES = _sundays_0230_berlin(NEXT_YEAR)


async def test_a_weekly_berlin_window_across_both_changes_of_daylight_saving_time(client) -> None:
    """The table of DST_CASES, through the API: every Sunday 02:30 in Europe/Berlin for over a
    year, the night the clocks skip 02:30 and the night they repeat it included."""
    web = await create(client)
    window = await add_window(
        client,
        name="sunday",
        targets=[web["id"]],
        days=["sun"],
        start_time="02:30",
        duration_s=3600,
        time_zone="Europe/Berlin",
    )
    resp = await client.get(
        f"/api/v1/maintenance/{window['id']}/occurrences", params={"limit": 110}
    )
    items = resp.json()["items"]
    by_day = {at(i["starts_at"]).date(): i for i in items}
    assert len(by_day) == len(items) == 110, "one occurrence a Sunday, none doubled or lost"
    for case, start in DST_CASES:
        got = by_day[start.date()]
        assert at(got["starts_at"]) == start, case
        assert at(got["ends_at"]) - at(got["starts_at"]) == timedelta(hours=1), case
    for item in items:
        local = at(item["starts_at"]).astimezone(BERLIN)
        assert local.isoweekday() == 7
        assert (local.hour, local.minute) in ((2, 30), (3, 0))
