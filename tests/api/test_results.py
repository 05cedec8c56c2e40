"""Results: keyset pages of checks, uptime from roll-ups against brute force, incidents, summary."""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta

import pytest

from vigil_core.rollups import BUCKET_COUNT, bucket_index, percentile

from .conftest import create

INSERT_CHECK = """INSERT INTO checks (target_id, checked_at, ok, latency_ms, status_code, error_class, error_message)
                  VALUES ($1, $2, $3, $4, $5, $6, $7)"""


async def test_check_pages_have_no_duplicates_or_gaps_while_rows_arrive(client, db) -> None:
    t = await create(client)
    now = datetime.now(UTC).replace(microsecond=0)
    rows = []
    for i in range(120):
        at = now - timedelta(seconds=30 + i // 3)  # three checks share each timestamp
        rows.append(
            (t["id"], at, i % 5 != 0, float(i), 200, None if i % 5 else "status", f"row-{i}")
        )
    await db.executemany(INSERT_CHECK, rows)
    expected = {r[6] for r in rows}

    seen: list[str] = []
    cursor = None
    for _ in range(100):
        params = {"limit": 7}
        if cursor:
            params["cursor"] = cursor
        page = (await client.get(f"/api/v1/targets/{t['id']}/checks", params=params)).json()
        times = [c["checked_at"] for c in page["items"]]
        assert times == sorted(times, reverse=True), "newest first"
        seen += [c["error_message"] for c in page["items"]]
        # new checks arrive between pages, newer than everything paged so far
        await db.executemany(
            INSERT_CHECK,
            [
                (t["id"], datetime.now(UTC), True, 1.0, 200, None, f"new-{len(seen)}-{k}")
                for k in range(3)
            ],
        )
        if not (cursor := page["next"]):
            break
    assert await db.fetchval("SELECT count(*) FROM checks WHERE error_message LIKE 'new-%'") >= 30
    assert seen[0].startswith("row-"), "the first page starts at the newest stored row"
    assert not [s for s in seen if s.startswith("new-")], (
        "rows newer than the first page never show up later"
    )
    seen_old = seen
    assert len(seen_old) == len(set(seen_old)), "a row came twice"
    assert set(seen_old) == expected, "a row was skipped"


async def test_checks_time_range_and_limit(client, db) -> None:
    t = await create(client)
    # within the partitions that always exist (yesterday onwards)
    base = (datetime.now(UTC) - timedelta(hours=20)).replace(second=0, microsecond=0)
    await db.executemany(
        INSERT_CHECK,
        [(t["id"], base + timedelta(minutes=i), True, 1.0, 200, None, str(i)) for i in range(10)],
    )
    page = (
        await client.get(
            f"/api/v1/targets/{t['id']}/checks",
            params={
                "since": (base + timedelta(minutes=2)).isoformat(),
                "until": (base + timedelta(minutes=5)).isoformat(),
            },
        )
    ).json()
    assert [c["error_message"] for c in page["items"]] == ["4", "3", "2"]
    assert page["next"] is None
    page = (await client.get(f"/api/v1/targets/{t['id']}/checks?limit=2")).json()
    assert [c["error_message"] for c in page["items"]] == ["9", "8"] and page["next"]


async def _write_history(db, target_id: int, hours: int, seed: int) -> list[tuple]:
    """Raw checks over the last `hours` hours and the hourly roll-ups a worker would keep."""
    rng = random.Random(seed)
    now = datetime.now(UTC)
    await db.execute("SELECT vigil_ensure_check_partitions($1, 1)", hours // 24 + 2)
    checks = []
    at = now - timedelta(hours=hours)
    while at < now - timedelta(seconds=5):
        ok = rng.random() > 0.1
        latency = None if not ok and rng.random() < 0.5 else rng.lognormvariate(3.5, 1.0)
        checks.append(
            (target_id, at, ok, latency, 200 if ok else 500, None if ok else "status", None)
        )
        at += timedelta(seconds=rng.uniform(200, 700))
    await db.executemany(INSERT_CHECK, checks)
    # asyncpg hands back the stored values (real latency), so the roll-ups match them exactly
    stored = await db.fetch(
        "SELECT checked_at, ok, latency_ms FROM checks WHERE target_id = $1", target_id
    )
    hours_map: dict[datetime, dict] = {}
    for r in stored:
        h = r["checked_at"].replace(minute=0, second=0, microsecond=0)
        agg = hours_map.setdefault(
            h, {"checks": 0, "ok": 0, "sum": 0.0, "max": 0.0, "n": 0, "b": [0] * BUCKET_COUNT}
        )
        agg["checks"] += 1
        agg["ok"] += r["ok"]
        if r["latency_ms"] is not None:
            agg["sum"] += r["latency_ms"]
            agg["max"] = max(agg["max"], r["latency_ms"])
            agg["n"] += 1
            agg["b"][bucket_index(r["latency_ms"])] += 1
    await db.executemany(
        """INSERT INTO check_rollups_hourly (target_id, hour, checks, ok, latency_sum_ms, latency_max_ms,
                                             latency_count, latency_buckets) VALUES ($1,$2,$3,$4,$5,$6,$7,$8)""",
        [
            (target_id, h, a["checks"], a["ok"], a["sum"], a["max"], a["n"], a["b"])
            for h, a in hours_map.items()
        ],
    )
    return [tuple(r) for r in stored]


def _brute_force(stored: list[tuple], since: datetime, until: datetime) -> dict:
    rows = [r for r in stored if since <= r[0] < until]
    lat = [r[2] for r in rows if r[2] is not None]
    buckets = [0] * BUCKET_COUNT
    for v in lat:
        buckets[bucket_index(v)] += 1
    return {
        "checks": len(rows),
        "ok": sum(r[1] for r in rows),
        "uptime_pct": round(100 * sum(r[1] for r in rows) / len(rows), 4) if rows else None,
        "avg": sum(lat) / len(lat) if lat else None,
        "max": max(lat) if lat else None,
        "p95": percentile(buckets, 0.95, max(lat)) if lat else None,
        "true_p50": sorted(lat)[max(0, int(0.5 * len(lat)) - 1)] if lat else None,
    }


def _ceil_hour(t: datetime) -> datetime:
    f = t.replace(minute=0, second=0, microsecond=0)
    return f if f == t else f + timedelta(hours=1)


@pytest.mark.parametrize(
    "query", ["window=1h", "window=24h", "window=7d", "window=30d", "", "custom"]
)
async def test_uptime_from_rollups_equals_brute_force_over_raw_checks(client, db, query) -> None:
    t = await create(client)
    stored = await _write_history(db, t["id"], hours=31 * 24, seed=7)
    if query == "custom":
        now = datetime.now(UTC)
        query = f"since={(now - timedelta(days=3, minutes=17)).isoformat()}&until={(now - timedelta(days=1)).isoformat()}"
        query = query.replace("+", "%2B")
    got = (await client.get(f"/api/v1/targets/{t['id']}/uptime?{query}")).json()
    since = datetime.fromisoformat(got["since"])
    until = _ceil_hour(datetime.fromisoformat(got["until"]))
    assert since.minute == since.second == 0
    want = _brute_force(stored, since, until)
    assert want["checks"] > 0
    assert (got["checks"], got["ok"], got["uptime_pct"]) == (
        want["checks"],
        want["ok"],
        want["uptime_pct"],
    )
    assert got["latency_ms"]["avg"] == pytest.approx(want["avg"], rel=1e-6)
    assert got["latency_ms"]["max"] == pytest.approx(want["max"], rel=1e-6)
    assert got["latency_ms"]["p95"] == pytest.approx(want["p95"], rel=1e-9)
    # the bucket estimate lands within the true value's bucket
    p50 = got["latency_ms"]["p50"]
    assert bucket_index(p50) in (
        bucket_index(want["true_p50"]) - 1,
        bucket_index(want["true_p50"]),
        bucket_index(want["true_p50"]) + 1,
    )


async def test_uptime_counts_a_current_hour_left_on_a_past_day(client, db) -> None:
    """A target no longer checked keeps its last roll-up hour in target_state; a range whose
    whole days (read from the daily roll-ups) hold that hour counts it."""
    t = await create(client)
    hour = datetime.now(UTC).replace(minute=0, second=0, microsecond=0) - timedelta(days=4)
    await db.execute(
        """UPDATE target_state SET cur_hour = $2, cur_checks = 6, cur_ok = 5, cur_latency_count = 5,
                               cur_latency_sum_ms = 50, cur_latency_max_ms = 14, cur_latency_buckets = $3
                         WHERE target_id = $1""",
        t["id"],
        hour,
        [0, 0, 0, 5] + [0] * 13,
    )
    for query in ("window=7d", "window=30d"):
        got = (await client.get(f"/api/v1/targets/{t['id']}/uptime?{query}")).json()
        assert (got["checks"], got["ok"], got["latency_ms"]["max"]) == (6, 5, 14), query
    days = (await client.get(f"/api/v1/targets/{t['id']}/uptime/daily?days=7")).json()
    assert [d["checks"] for d in days if d["day"] == hour.date().isoformat()] == [6]


async def test_uptime_daily_and_latency_points(client, db) -> None:
    t = await create(client)
    stored = await _write_history(db, t["id"], hours=72, seed=3)
    days = (await client.get(f"/api/v1/targets/{t['id']}/uptime/daily?days=5")).json()
    assert len(days) == 5 and days[-1]["day"] == datetime.now(UTC).date().isoformat()
    assert sum(d["checks"] for d in days) == len(stored)
    assert days[0]["checks"] == 0 and days[0]["uptime_pct"] is None
    points = (await client.get(f"/api/v1/targets/{t['id']}/latency?window=24h")).json()
    assert 20 <= len(points) <= 25
    assert [p["t"] for p in points] == sorted(p["t"] for p in points)


async def test_uptime_without_checks_is_null(client) -> None:
    t = await create(client)
    got = (await client.get(f"/api/v1/targets/{t['id']}/uptime?window=7d")).json()
    assert got["uptime_pct"] is None and got["checks"] == 0 and got["latency_ms"]["p99"] is None


async def test_incidents_list_with_duration_and_cause(client, db) -> None:
    a = await create(client, name="a")
    b = await create(client, name="b", url="http://127.0.0.1:12/")
    now = datetime.now(UTC)
    await db.executemany(
        "INSERT INTO incidents (target_id, started_at, ended_at, cause) VALUES ($1, $2, $3, $4)",
        [
            (a["id"], now - timedelta(hours=5), now - timedelta(hours=4), "timeout"),
            (b["id"], now - timedelta(hours=3), now - timedelta(hours=2, minutes=30), "refused"),
            (a["id"], now - timedelta(minutes=10), None, "status 503"),
        ],
    )
    all_ = (await client.get("/api/v1/incidents")).json()
    assert [(i["target_name"], i["cause"]) for i in all_["items"]] == [
        ("a", "status 503"),
        ("b", "refused"),
        ("a", "timeout"),
    ]
    assert all_["items"][2]["duration_s"] == pytest.approx(3600)
    assert all_["items"][0]["ended_at"] is None and all_["items"][0]["duration_s"] >= 600

    mine = (await client.get(f"/api/v1/targets/{a['id']}/incidents?limit=1")).json()
    assert [i["cause"] for i in mine["items"]] == ["status 503"] and mine["next"]
    more = (
        await client.get(
            f"/api/v1/targets/{a['id']}/incidents", params={"limit": 1, "cursor": mine["next"]}
        )
    ).json()
    assert [i["cause"] for i in more["items"]] == ["timeout"] and more["next"] is None
    open_ = (await client.get("/api/v1/incidents?open=true")).json()
    assert [i["cause"] for i in open_["items"]] == ["status 503"]


async def test_summary_states_counts_filters_and_pages(client, db) -> None:
    specs = [
        ("api-1", "http", "up", {"env": "prod"}),
        ("api-2", "http", "down", {"env": "prod"}),
        ("db", "tcp", "up", {"env": "dev"}),
        ("gw", "icmp", "pending", {}),
        ("old", "icmp", "up", {}),
    ]
    ids = {}
    for name, kind, status, labels in specs:
        body = {"name": name, "kind": kind, "labels": labels}
        body |= {"url": "http://127.0.0.1:9/"} if kind == "http" else {"host": "127.0.0.1"}
        body |= {"port": 5432} if kind == "tcp" else {}
        ids[name] = (await client.post("/api/v1/targets", json=body)).json()["id"]
        await db.execute(
            "UPDATE target_state SET status = $2, since = now() - interval '1 hour', "
            "last_checked_at = now(), last_latency_ms = 12.5 WHERE target_id = $1",
            ids[name],
            status,
        )
    await client.post(f"/api/v1/targets/{ids['old']}/pause")
    hour = datetime.now(UTC).replace(minute=0, second=0, microsecond=0)
    await db.execute(
        "INSERT INTO check_rollups_hourly (target_id, hour, checks, ok, latency_buckets) VALUES ($1, $2, 4, 3, $3)",
        ids["api-1"],
        hour,
        [0] * BUCKET_COUNT,
    )

    s = (await client.get("/api/v1/summary")).json()
    assert s["counts"] == {
        "up": 2,
        "down": 1,
        "pending": 1,
        "maintenance": 0,
        "paused": 1,
        "total": 5,
    }
    by_name = {i["name"]: i for i in s["items"]}
    assert list(by_name) == ["api-1", "api-2", "db", "gw", "old"]
    assert by_name["api-1"]["uptime_24h"] == 75.0 and by_name["api-2"]["uptime_24h"] is None
    assert by_name["old"]["status"] == "paused"
    assert by_name["db"]["for_s"] >= 3600 and by_name["db"]["last_latency_ms"] == 12.5

    assert [i["name"] for i in (await client.get("/api/v1/summary?state=up")).json()["items"]] == [
        "api-1",
        "db",
    ]
    assert [i["name"] for i in (await client.get("/api/v1/summary?kind=icmp")).json()["items"]] == [
        "gw",
        "old",
    ]
    prod = (await client.get("/api/v1/summary?label=env:prod")).json()
    assert [i["name"] for i in prod["items"]] == ["api-1", "api-2"] and prod["counts"]["total"] == 2
    assert [i["name"] for i in (await client.get("/api/v1/summary?q=API")).json()["items"]] == [
        "api-1",
        "api-2",
    ]
    assert (await client.get("/api/v1/summary?q=%25")).json()["items"] == []  # no LIKE wildcards

    names, cursor = [], None
    for _ in range(10):
        page = (
            await client.get(
                "/api/v1/summary", params={"limit": 2, **({"cursor": cursor} if cursor else {})}
            )
        ).json()
        names += [i["name"] for i in page["items"]]
        if not (cursor := page["next"]):
            break
    assert names == ["api-1", "api-2", "db", "gw", "old"]
