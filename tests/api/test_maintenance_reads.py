"""What reads say while a maintenance window covers a target: the status `maintenance` (with the
window) in targets and the summary and its counts, the uptime endpoints' `maintenance_s`, the
checks and deliveries it flagged, and `vigil_target_maintenance` in /metrics (the live event is
in test_maintenance_events.py)."""

from __future__ import annotations

import shutil
import subprocess
from datetime import UTC, datetime, timedelta

import pytest

from .conftest import create

SET_STATE = (
    "UPDATE target_state SET status = $2, since = now() - interval '1 hour',"
    " last_checked_at = now() WHERE target_id = $1"
)


def iso(value: datetime) -> str:
    return value.isoformat()


async def add_window(client, **fields) -> dict:
    resp = await client.post("/api/v1/maintenance", json=fields)
    assert resp.status_code == 201, resp.text
    return resp.json()


async def statuses(client) -> dict[str, str]:
    items = (await client.get("/api/v1/targets")).json()["items"]
    return {t["name"]: t["status"] for t in items}


async def test_targets_in_a_window_read_maintenance_everywhere(client, db) -> None:
    web = await create(client, name="web")
    api = await create(client, name="api", labels={"env": "prod"})
    idle = await create(client, name="idle", labels={"env": "prod"}, enabled=False)
    other = await create(client, name="other")
    for target, stored in ((web, "down"), (api, "up"), (idle, "up"), (other, "down")):
        await db.execute(SET_STATE, target["id"], stored)

    listed_window = await add_window(client, name="by id", targets=[web["id"]], duration_s=600)
    await add_window(client, name="by labels", match_labels={"env": "prod"}, duration_s=1200)

    assert await statuses(client) == {
        "web": "maintenance",
        "api": "maintenance",
        "idle": "paused",  # paused wins: it is not checked at all
        "other": "down",
    }
    got = (await client.get(f"/api/v1/targets/{web['id']}")).json()
    assert got["status"] == "maintenance"
    assert got["maintenance"] == {
        "window_id": listed_window["id"],
        "name": "by id",
        "ends_at": listed_window["ends_at"],
    }
    assert (await client.get(f"/api/v1/targets/{other['id']}")).json()["maintenance"] is None

    summary = (await client.get("/api/v1/summary")).json()
    by_name = {i["name"]: i for i in summary["items"]}
    assert by_name["web"]["status"] == "maintenance"
    assert by_name["web"]["maintenance"]["name"] == "by id"
    assert by_name["api"]["maintenance"]["name"] == "by labels"
    assert by_name["other"]["maintenance"] is None
    # A paused target reads paused, though the window covers it.
    assert (by_name["idle"]["status"], by_name["idle"]["maintenance"]["name"]) == (
        "paused",
        "by labels",
    )
    expected = {"up": 0, "down": 1, "pending": 0, "maintenance": 2, "paused": 1, "total": 4}
    assert summary["counts"] == expected
    # Filtered counts are counted by another query: the same answer.
    assert (await client.get("/api/v1/summary?kind=http")).json()["counts"] == expected
    maintenance_only = (await client.get("/api/v1/summary?state=maintenance")).json()["items"]
    assert [i["name"] for i in maintenance_only] == ["api", "web"]
    assert [
        i["name"] for i in (await client.get("/api/v1/summary?state=down")).json()["items"]
    ] == ["other"]

    # Ended early: the stored status shows again.
    resp = await client.post(f"/api/v1/maintenance/{listed_window['id']}/end")
    assert resp.status_code == 200, resp.text
    assert (await statuses(client))["web"] == "down"
    counts = (await client.get("/api/v1/summary")).json()["counts"]
    assert (counts["down"], counts["maintenance"]) == (2, 1)


async def test_a_window_that_starts_later_changes_nothing_yet(client, db) -> None:
    web = await create(client, name="web")
    await db.execute(SET_STATE, web["id"], "up")
    start = datetime.now(UTC) + timedelta(hours=1)
    await add_window(
        client, name="later", targets=[web["id"]], starts_at=iso(start), duration_s=600
    )
    assert await statuses(client) == {"web": "up"}
    assert (await client.get("/api/v1/summary")).json()["counts"]["maintenance"] == 0


async def test_uptime_reports_the_time_windows_left_out(client, db) -> None:
    web = await create(client, name="web")
    now = datetime.now(UTC)
    hour = timedelta(hours=1)
    # Two overlapping windows (counted once: 1.5 h), one counted in uptime (not reported), and
    # one of another target.
    await add_window(
        client, name="a", targets=[web["id"]], starts_at=iso(now - 5 * hour), duration_s=3600
    )
    await add_window(
        client, name="b", targets=[web["id"]], starts_at=iso(now - 4.5 * hour), duration_s=3600
    )
    await add_window(
        client,
        name="counted",
        targets=[web["id"]],
        starts_at=iso(now - 8 * hour),
        duration_s=3600,
        include_in_uptime=True,
    )
    other = await create(client, name="other")
    await add_window(
        client, name="c", targets=[other["id"]], starts_at=iso(now - 5 * hour), duration_s=3600
    )
    uptime = f"/api/v1/targets/{web['id']}/uptime"
    day = (await client.get(uptime, params={"window": "24h"})).json()
    assert day["maintenance_s"] == pytest.approx(5400, abs=0.01)
    assert (await client.get(uptime, params={"window": "1h"})).json()["maintenance_s"] == 0
    # A range holding half of window a alone: since and until are whole hours.
    since = (now - 5 * hour).replace(minute=0, second=0, microsecond=0) + hour
    resp = await client.get(uptime, params={"since": iso(since), "until": iso(since + hour)})
    got = resp.json()
    covered = max(timedelta(0), min(now - 3.5 * hour, since + hour) - max(now - 5 * hour, since))
    assert got["maintenance_s"] == pytest.approx(covered.total_seconds(), abs=0.01)

    # Daily: the day of a window from 10:00 to 11:00 UTC two days ago holds its hour.
    two_days_ago = (now - timedelta(days=2)).replace(hour=10, minute=0, second=0, microsecond=0)
    await add_window(
        client, name="d", targets=[web["id"]], starts_at=iso(two_days_ago), duration_s=3600
    )
    daily = (await client.get(f"{uptime}/daily", params={"days": 4})).json()
    by_day = {d["day"]: d["maintenance_s"] for d in daily}
    assert by_day[two_days_ago.date().isoformat()] == 3600
    assert sum(by_day.values()) == pytest.approx(3600 + 5400, abs=0.01)
    assert all(set(d) == {"day", "uptime_pct", "checks", "maintenance_s"} for d in daily)
    # Without any window, nothing is reported.
    quiet = await create(client, name="quiet")
    path = f"/api/v1/targets/{quiet['id']}/uptime"
    assert (await client.get(path, params={"window": "30d"})).json()["maintenance_s"] == 0
    assert {d["maintenance_s"] for d in (await client.get(f"{path}/daily")).json()} == {0}


async def test_checks_say_the_window_they_were_made_in(client, db) -> None:
    web = await create(client, name="web")
    window = await add_window(client, targets=[web["id"]], duration_s=600)
    now = datetime.now(UTC)
    await db.executemany(
        "INSERT INTO checks (target_id, checked_at, ok, latency_ms, error_class,"
        " maintenance_window_id) VALUES ($1, $2, $3, 10, $4, $5)",
        [
            (web["id"], now - timedelta(seconds=20), False, "refused", window["id"]),
            (web["id"], now - timedelta(minutes=30), True, None, None),
        ],
    )
    items = (await client.get(f"/api/v1/targets/{web['id']}/checks")).json()["items"]
    assert [(c["ok"], c["maintenance_window_id"]) for c in items] == [
        (False, window["id"]),
        (True, None),
    ]


async def test_deliveries_say_the_window_that_held_them(client, db) -> None:
    resp = await client.post(
        "/api/v1/channels",
        json={"name": "hook", "kind": "webhook", "config": {"url": "http://127.0.0.1:9/hook"}},
    )
    assert resp.status_code == 201, resp.text
    route = await client.post(
        "/api/v1/routes", json={"name": "all", "channels": [resp.json()["id"]]}
    )
    assert route.status_code == 201, route.text
    web = await create(client, name="web")
    window = await add_window(client, targets=[web["id"]], duration_s=600)
    await db.execute(
        "INSERT INTO incidents (target_id, started_at, cause) VALUES ($1, now(), 'refused')",
        web["id"],
    )
    await db.execute(
        "UPDATE deliveries SET status = 'suppressed', maintenance_window_id = $1,"
        " last_error = 'in maintenance window x', finished_at = now()",
        window["id"],
    )
    (held,) = (await client.get("/api/v1/deliveries")).json()["items"]
    assert (held["status"], held["maintenance_window_id"], held["released_at"]) == (
        "suppressed",
        window["id"],
        None,
    )
    # Released when the window ended with the incident still open.
    await db.execute(
        "UPDATE deliveries SET status = 'pending', released_at = now(), last_error = NULL,"
        " finished_at = NULL"
    )
    released = (await client.get(f"/api/v1/deliveries/{held['id']}")).json()
    assert released["maintenance_window_id"] == window["id"] and released["released_at"]


@pytest.mark.skipif(shutil.which("promtool") is None, reason="promtool is installed by .ci/run")
async def test_metrics_mark_targets_in_maintenance(client, db) -> None:
    web = await create(client, name="web")
    other = await create(client, name="other")
    for target in (web, other):
        await db.execute(SET_STATE, target["id"], "down")
    await add_window(client, targets=[web["id"]], duration_s=600)
    text = (await client.get("/metrics")).text
    proc = subprocess.run(
        ["promtool", "check", "metrics"], input=text, capture_output=True, text=True, timeout=30
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
    lines = text.splitlines()
    assert f'vigil_target_maintenance{{id="{web["id"]}",kind="http",name="web"}} 1.0' in lines
    assert not [
        line
        for line in lines
        if line.startswith("vigil_target_maintenance{") and f'id="{other["id"]}"' in line
    ]
    # What the checks say stays: a rule leaves the target out with `unless on (id)`.
    assert f'vigil_target_up{{id="{web["id"]}",kind="http",name="web"}} 0.0' in lines
