"""Push targets end to end: pings through the real API app, two in-process workers turning
them into results, and `missed` recorded on time, once, when the pings stop."""

from __future__ import annotations

import asyncio
import datetime as dt
from collections.abc import AsyncIterator
from contextlib import AsyncExitStack

import pytest
from litestar.testing import AsyncTestClient

from vigil_api.app import create_app
from vigil_core.kinds import PushSettings
from vigil_core.settings import Settings
from vigil_worker.checks import CheckContext, ClaimedTarget, run_check
from vigil_worker.checks.push import span

from ..support import TEST_SECRET_KEY
from .conftest import add_target, running_worker, wait_for, worker_settings

PERIOD_S, GRACE_S = 2.0, 1.0


@pytest.fixture
async def api(db_url: str) -> AsyncIterator[AsyncTestClient]:
    """The real API app, in-process, on the test's database."""
    app = create_app(Settings(database_url=db_url, db_pool_max_size=3, secret_key=TEST_SECRET_KEY))
    async with AsyncTestClient(app, base_url="http://127.0.0.1") as client:
        yield client


async def push_target(db, name: str = "backup") -> tuple[int, str]:
    target_id = await add_target(
        db, name, "push", "push", interval_s=PERIOD_S, settings={"grace_s": GRACE_S}
    )
    token = await db.fetchval("SELECT token FROM push_tokens WHERE target_id = $1", target_id)
    return target_id, token


async def ping(api: AsyncTestClient, token: str, **params: str) -> None:
    resp = await api.get(f"/api/v1/push/{token}", params=params)
    assert resp.status_code == 200, resp.text


async def workers(stack: AsyncExitStack, db_url: str, n: int, **settings: object) -> None:
    for _ in range(n):
        await stack.enter_async_context(running_worker(worker_settings(db_url, **settings)))


CHECKS = "SELECT checked_at, due_at, ok, error_class FROM checks WHERE target_id = $1 ORDER BY 1"


async def test_pings_keep_it_up_and_silence_is_missed_on_time_once(
    db, db_url: str, api: AsyncTestClient
) -> None:
    target_id, token = await push_target(db)
    async with AsyncExitStack() as stack:
        await workers(stack, db_url, 2)
        for _ in range(5):  # every second for 5 s: more than a period + grace in all
            await ping(api, token)
            await asyncio.sleep(1.0)  # the cron job's own pace, not a wait for the system
        await wait_for(
            lambda: db.fetchval("SELECT count(*) = 5 FROM checks WHERE target_id = $1", target_id),
            what="the five pings stored",
        )
        assert (
            await db.fetchval("SELECT status FROM target_state WHERE target_id = $1", target_id)
            == "up"
        )
        last_ping = await db.fetchval(
            "SELECT max(checked_at) FROM checks WHERE target_id = $1 AND ok", target_id
        )
        # Silence: the first miss is due period + grace after the last ping, the next a period on.
        await wait_for(
            lambda: db.fetchval(
                "SELECT count(*) >= 2 FROM checks WHERE target_id = $1 AND error_class = 'missed'",
                target_id,
            ),
            timeout=15,
            what="two missed slots",
        )
    rows = await db.fetch(CHECKS, target_id)
    assert [r["ok"] for r in rows[:5]] == [True] * 5  # no miss while the pings came
    missed = [r for r in rows if r["error_class"] == "missed"]
    assert missed[0]["due_at"] == last_ping + dt.timedelta(seconds=PERIOD_S + GRACE_S)
    assert missed[1]["due_at"] == missed[0]["due_at"] + dt.timedelta(seconds=PERIOD_S)
    for row in missed:  # on time
        assert dt.timedelta(0) <= row["checked_at"] - row["due_at"] < dt.timedelta(seconds=1)
    # two workers, each slot once
    assert len({r["due_at"] for r in missed}) == len(missed)
    message = await db.fetchval(
        "SELECT error_message FROM checks WHERE target_id = $1 AND error_class = 'missed' LIMIT 1",
        target_id,
    )
    assert message == "no ping for 3s (period 2s + grace 1s)"
    state = await db.fetchrow("SELECT status FROM target_state WHERE target_id = $1", target_id)
    assert state["status"] == "down"


async def test_a_ping_cancels_a_missed_slot_claimed_ahead(
    db, db_url: str, api: AsyncTestClient
) -> None:
    """With a lookahead longer than period + grace, every slot is claimed as soon as it exists;
    each ping must take it back from whichever worker holds it."""
    target_id, token = await push_target(db)
    async with AsyncExitStack() as stack:
        await workers(stack, db_url, 2, worker_lookahead_s=5.0)
        for _ in range(6):
            await ping(api, token)
            await asyncio.sleep(1.0)
        await wait_for(
            lambda: db.fetchval("SELECT count(*) = 6 FROM checks WHERE target_id = $1", target_id),
            what="the six pings stored",
        )
    rows = await db.fetch(CHECKS, target_id)
    pings = [r for r in rows if r["ok"]]
    assert len(pings) == 6
    # Stopping lets the slots claimed ahead run (drain): those after the last ping are real
    # misses; none may come before it.
    for row in rows:
        if not row["ok"]:
            assert row["error_class"] == "missed"
            assert row["due_at"] >= pings[-1]["checked_at"] + dt.timedelta(
                seconds=PERIOD_S + GRACE_S
            )


async def test_a_down_ping_opens_an_incident_and_an_up_ping_ends_it(
    db, db_url: str, api: AsyncTestClient
) -> None:
    target_id, token = await push_target(db)
    async with running_worker(worker_settings(db_url)):
        await ping(api, token, status="down", msg="backup failed: disk full", duration_ms="1200")
        incident = await wait_for(
            lambda: db.fetchrow(
                "SELECT cause, ended_at FROM incidents WHERE target_id = $1", target_id
            ),
            what="an incident",
        )
        assert "backup failed: disk full" in incident["cause"]
        check = await db.fetchrow(
            "SELECT ok, error_class, error_message, latency_ms FROM checks WHERE target_id = $1",
            target_id,
        )
        assert dict(check) == {
            "ok": False,
            "error_class": "push_down",
            "error_message": "backup failed: disk full",
            "latency_ms": 1200.0,
        }
        await ping(api, token, msg="retried: ok")
        await wait_for(
            lambda: db.fetchval(
                "SELECT ended_at IS NOT NULL FROM incidents WHERE target_id = $1", target_id
            ),
            what="the incident ended",
        )
    details = await db.fetchval("SELECT details FROM checks WHERE target_id = $1 AND ok", target_id)
    assert details == {"message": "retried: ok"}


async def test_pings_sent_while_no_worker_runs_are_taken_at_start(
    db, db_url: str, api: AsyncTestClient
) -> None:
    target_id, token = await push_target(db)
    for _ in range(3):
        await ping(api, token)
    async with running_worker(worker_settings(db_url)):
        await wait_for(
            lambda: db.fetchval("SELECT count(*) = 3 FROM checks WHERE target_id = $1", target_id),
            what="the waiting pings stored",
        )
    assert await db.fetchval("SELECT count(*) FROM push_pings") == 0


async def test_the_sql_grace_default_is_the_settings_default(db) -> None:
    assert await db.fetchval("SELECT vigil_push_grace_s('{}')") == PushSettings().grace_s


@pytest.mark.parametrize(
    ("seconds", "text"),
    [
        (3, "3s"),
        (60, "1m"),
        (90, "1m30s"),
        (180, "3m"),
        (3600, "1h"),
        (86400 + 61, "1d1m1s"),
        (2.5, "2.5s"),
        (0, "0s"),
    ],
    ids=lambda v: str(v),
)
def test_span(seconds: float, text: str) -> None:
    assert span(seconds) == text


async def test_a_claimed_push_slot_is_missed_without_any_network() -> None:
    now = dt.datetime.now(dt.UTC)
    target = ClaimedTarget(
        id=1,
        name="nightly",
        kind="push",
        address="push",
        interval_s=120,
        timeout_s=5,
        settings=PushSettings(grace_s=60),
        anchor_at=now,
        due_at=now,
    )
    outcome = await run_check(target, CheckContext())
    assert (outcome.ok, outcome.error_class, outcome.error_message) == (
        False,
        "missed",
        "no ping for 3m (period 2m + grace 1m)",
    )
