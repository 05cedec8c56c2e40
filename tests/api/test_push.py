"""The push endpoint: pings by GET and POST, validation, unknown tokens, the rate limit,
token rotation, and the schedule each successful ping moves."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from datetime import timedelta

import asyncpg
import pytest
from litestar.testing import AsyncTestClient

from vigil_api.push.limiter import RateLimiter

from .conftest import create

PERIOD_S = 120.0
GRACE_S = 30.0


@pytest.fixture
async def db(db_url: str) -> AsyncIterator[asyncpg.Connection]:
    conn = await asyncpg.connect(db_url)
    try:
        yield conn
    finally:
        await conn.close()


async def push_target(db: asyncpg.Connection, name: str = "nightly", **cols: object) -> int:
    """A push target written straight into the table, as psql or `vigil apply` would."""
    return await db.fetchval(
        """INSERT INTO targets (name, kind, address, interval_s, timeout_s, settings, enabled)
           VALUES ($1, 'push', 'push', $2, 5, $3::jsonb, $4) RETURNING id""",
        name,
        cols.get("interval_s", PERIOD_S),
        cols.get("settings", f'{{"grace_s": {GRACE_S}}}'),
        cols.get("enabled", True),
    )


async def token_of(db: asyncpg.Connection, target_id: int) -> str:
    return await db.fetchval("SELECT token FROM push_tokens WHERE target_id = $1", target_id)


async def pings(db: asyncpg.Connection, target_id: int) -> list[asyncpg.Record]:
    return await db.fetch(
        "SELECT ok, message, duration_ms FROM push_pings WHERE target_id = $1 ORDER BY id",
        target_id,
    )


async def schedule(db: asyncpg.Connection, target_id: int) -> asyncpg.Record:
    return await db.fetchrow(
        "SELECT anchor_at, next_check_at, now() AS db_now FROM schedule WHERE target_id = $1",
        target_id,
    )


async def test_a_push_target_gets_a_token_and_waits_a_period_and_grace(
    client: AsyncTestClient, db: asyncpg.Connection
) -> None:
    target_id = await push_target(db)
    assert re.fullmatch(r"[0-9a-f]{64}", await token_of(db, target_id))
    row = await schedule(db, target_id)
    # inserted in an earlier transaction: now() has moved on a little since
    assert row["anchor_at"] - row["db_now"] <= timedelta(seconds=GRACE_S)
    assert row["anchor_at"] - row["db_now"] > timedelta(seconds=GRACE_S - 5)
    assert row["next_check_at"] - row["anchor_at"] == timedelta(seconds=PERIOD_S)
    other = await push_target(db, "other")
    assert await token_of(db, other) != await token_of(db, target_id)


async def test_a_target_that_stops_being_push_loses_its_token(
    client: AsyncTestClient, db: asyncpg.Connection
) -> None:
    target_id = await push_target(db)
    token = await token_of(db, target_id)
    await db.execute(
        "UPDATE targets SET kind = 'tcp', address = '127.0.0.1:9', settings = '{}' WHERE id = $1",
        target_id,
    )
    assert await token_of(db, target_id) is None
    assert (await client.get(f"/api/v1/push/{token}")).status_code == 404


@pytest.mark.parametrize("method", ["get", "post"])
async def test_a_ping_is_stored_and_restarts_the_period(
    client: AsyncTestClient, db: asyncpg.Connection, method: str
) -> None:
    target_id = await push_target(db)
    token = await token_of(db, target_id)
    before = await schedule(db, target_id)
    resp = await getattr(client, method)(f"/api/v1/push/{token}?msg=backup+done&duration_ms=1500")
    assert resp.status_code == 200, resp.text
    assert resp.json() == {"status": "up", "recorded": True}
    [ping] = await pings(db, target_id)
    assert (ping["ok"], ping["message"], ping["duration_ms"]) == (True, "backup done", 1500.0)
    after = await schedule(db, target_id)
    assert after["anchor_at"] > before["anchor_at"]
    # anchored a grace after the ping, the next `missed` slot one period later
    assert after["anchor_at"] - after["db_now"] <= timedelta(seconds=GRACE_S)
    assert after["anchor_at"] - after["db_now"] > timedelta(seconds=GRACE_S - 5)
    assert after["next_check_at"] - after["anchor_at"] == timedelta(seconds=PERIOD_S)


async def test_a_down_ping_is_a_failure_and_leaves_the_schedule(
    client: AsyncTestClient, db: asyncpg.Connection
) -> None:
    target_id = await push_target(db)
    token = await token_of(db, target_id)
    before = await schedule(db, target_id)
    resp = await client.post(f"/api/v1/push/{token}", params={"status": "down", "msg": "exit 3"})
    assert resp.status_code == 200, resp.text
    assert resp.json() == {"status": "down", "recorded": True}
    [ping] = await pings(db, target_id)
    assert (ping["ok"], ping["message"], ping["duration_ms"]) == (False, "exit 3", None)
    after = await schedule(db, target_id)
    assert (after["anchor_at"], after["next_check_at"]) == (
        before["anchor_at"],
        before["next_check_at"],
    )


async def test_a_paused_targets_ping_is_answered_not_stored(
    client: AsyncTestClient, db: asyncpg.Connection
) -> None:
    target_id = await push_target(db, enabled=False)
    resp = await client.get(f"/api/v1/push/{await token_of(db, target_id)}")
    assert resp.status_code == 200, resp.text
    assert resp.json() == {"status": "up", "recorded": False}
    assert await pings(db, target_id) == []


@pytest.mark.parametrize(
    ("query", "field"),
    [
        ("status=sideways", "status"),
        ("status=UP", "status"),
        ("msg=" + "x" * 501, "msg"),
        ("msg=a%00b", "msg"),
        ("duration_ms=-1", "duration_ms"),
        ("duration_ms=abc", "duration_ms"),
        ("duration_ms=1e3", "duration_ms"),
        ("duration_ms=700000000", "duration_ms"),
    ],
    ids=[
        "unknown-status",
        "status-case",
        "msg-too-long",
        "msg-nul",
        "negative-duration",
        "duration-not-number",
        "duration-exponent",
        "duration-over-7-days",
    ],
)
async def test_bad_parameters_are_400_naming_the_parameter(
    client: AsyncTestClient, db: asyncpg.Connection, query: str, field: str
) -> None:
    target_id = await push_target(db)
    resp = await client.get(f"/api/v1/push/{await token_of(db, target_id)}?{query}")
    assert resp.status_code == 400, resp.text
    assert [e["field"] for e in resp.json()["errors"]] == [field]
    assert await pings(db, target_id) == []


async def test_a_message_of_500_characters_is_stored(
    client: AsyncTestClient, db: asyncpg.Connection
) -> None:
    target_id = await push_target(db)
    msg = "é" * 500
    resp = await client.get(f"/api/v1/push/{await token_of(db, target_id)}", params={"msg": msg})
    assert resp.status_code == 200, resp.text
    assert (await pings(db, target_id))[0]["message"] == msg


async def test_a_message_that_is_not_utf8_is_stored_with_replacements(
    client: AsyncTestClient, db: asyncpg.Connection
) -> None:
    target_id = await push_target(db)
    resp = await client.get(f"/api/v1/push/{await token_of(db, target_id)}?msg=ok%FF%FE")
    assert resp.status_code == 200, resp.text
    assert (await pings(db, target_id))[0]["message"] == "ok\ufffd\ufffd"


@pytest.mark.parametrize(
    "token", ["0" * 64, "not-a-token", "f" * 300, "%27%20OR%201=1--"], ids=str.__len__
)
async def test_an_unknown_token_is_404_with_the_same_answer(
    client: AsyncTestClient, db: asyncpg.Connection, token: str
) -> None:
    await push_target(db)
    resp = await client.get(f"/api/v1/push/{token}")
    assert resp.status_code == 404
    assert resp.json()["detail"] == "no push target has this URL"
    assert token not in resp.text


async def test_over_the_rate_limit_a_ping_is_429_with_retry_after(
    client: AsyncTestClient, db: asyncpg.Connection
) -> None:
    target_id = await push_target(db)
    url = f"/api/v1/push/{await token_of(db, target_id)}"
    answers = [(await client.get(url)).status_code for _ in range(10)]
    assert answers == [200] * 10  # the burst
    resp = await client.get(url)
    assert resp.status_code == 429
    assert int(resp.headers["retry-after"]) >= 1
    assert len(await pings(db, target_id)) == 10
    # another token has its own bucket
    other = await push_target(db, "other")
    assert (await client.get(f"/api/v1/push/{await token_of(db, other)}")).status_code == 200


async def test_rotation_makes_the_old_url_404_at_once(
    client: AsyncTestClient, db: asyncpg.Connection
) -> None:
    target_id = await push_target(db)
    old = await token_of(db, target_id)
    resp = await client.post(f"/api/v1/targets/{target_id}/push-token")
    assert resp.status_code == 200, resp.text
    new = await token_of(db, target_id)
    assert new != old
    assert resp.json() == {"push_url": f"http://127.0.0.1/api/v1/push/{new}"}
    assert (await client.get(f"/api/v1/push/{old}")).status_code == 404
    assert (await client.get(f"/api/v1/push/{new}")).status_code == 200


async def test_rotation_of_a_target_that_is_not_push_is_404(
    client: AsyncTestClient, db: asyncpg.Connection
) -> None:
    http = await create(client)
    resp = await client.post(f"/api/v1/targets/{http['id']}/push-token")
    assert resp.status_code == 404
    assert "push target" in resp.json()["detail"]
    assert (await client.post("/api/v1/targets/999999999/push-token")).status_code == 404


# -- the limiter on its own (a clock of our own: no sleeping) ------------------------------


class Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


@pytest.mark.parametrize(
    ("after_s", "allowed"),
    [(0.0, False), (0.5, False), (1.0, True), (30.0, True)],
    ids=["at-once", "half-a-token", "one-token", "long-after"],
)
def test_the_bucket_refills_at_its_rate(after_s: float, allowed: bool) -> None:
    clock = Clock()
    limiter = RateLimiter(1.0, 3, clock=clock)
    assert [limiter.take("k") for _ in range(3)] == [0.0, 0.0, 0.0]
    clock.now += after_s
    assert (limiter.take("k") == 0.0) is allowed


def test_the_wait_says_when_a_token_is_free() -> None:
    clock = Clock()
    limiter = RateLimiter(0.5, 1, clock=clock)
    assert limiter.take("k") == 0.0
    assert limiter.take("k") == pytest.approx(2.0)


def test_memory_is_bounded_by_forgetting_the_least_recent_key() -> None:
    clock = Clock()
    limiter = RateLimiter(1.0, 1, max_keys=100, clock=clock)
    limiter.take("kept")
    for i in range(1000):
        limiter.take("kept") if i % 10 == 0 else None
        limiter.take(f"random-{i}")
    assert len(limiter) == 100
    assert limiter.take("kept") > 0  # still remembered as spent: it was used recently
