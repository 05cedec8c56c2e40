"""/metrics: the notification queue (vigil_notifications_pending and
vigil_notifications_oldest_pending_age_seconds), read from deliveries, lint-clean under promtool."""

from __future__ import annotations

import shutil

import asyncpg
import pytest
from litestar.testing import AsyncTestClient

from ..support import bearer, mint_token
from .conftest import create, make_app
from .test_metrics import promtool_check

pytestmark = pytest.mark.skipif(
    shutil.which("promtool") is None, reason="promtool is installed by .ci/run"
)


@pytest.fixture(autouse=True)
async def no_channels(db: asyncpg.Connection) -> None:
    # tests/api/conftest's emptying predates alerting: it leaves channels, routes and test events.
    await db.execute("DELETE FROM routes; DELETE FROM channels; DELETE FROM alert_events")


async def scrape(db_url: str) -> dict[str, float]:
    """One scrape of a fresh app (the series are cached for a few seconds per app)."""
    async with AsyncTestClient(make_app(db_url), base_url="http://127.0.0.1") as c:
        resp = await c.get("/metrics", headers=bearer(await mint_token(db_url, "read")))
    assert resp.status_code == 200
    promtool_check(resp.text)
    return {
        line.split(" ")[0]: float(line.split(" ")[1])
        for line in resp.text.splitlines()
        if line.startswith("vigil_notifications_")
    }


async def test_an_empty_queue_is_zero(db_url) -> None:
    assert await scrape(db_url) == {
        "vigil_notifications_pending": 0.0,
        "vigil_notifications_oldest_pending_age_seconds": 0.0,
    }


async def test_the_queue_counts_pending_and_sending_and_ages_the_oldest_due(
    client, db, db_url
) -> None:
    channels = [
        await db.fetchval(
            "INSERT INTO channels (name, kind, config) VALUES ($1, 'slack', $2) RETURNING id",
            name,
            {"url": "http://127.0.0.1:9/x"},
        )
        for name in ("a", "b", "c", "d", "e")
    ]
    await db.execute(
        "INSERT INTO routes (name) VALUES ('all');"
        " INSERT INTO route_channels (route_id, channel_id)"
        " SELECT r.id, c.id FROM routes r, channels c"
    )
    target = await create(client)
    await db.execute(
        "INSERT INTO incidents (target_id, started_at, cause) VALUES ($1, now(), 'refused')",
        target["id"],
    )
    rows = await db.fetch("SELECT id FROM deliveries ORDER BY channel_id")
    assert len(rows) == len(channels)
    late, sending, sent, held, fresh = (r["id"] for r in rows)
    # pending for ten minutes (retrying): the oldest
    await db.execute(
        "UPDATE deliveries SET created_at = now() - interval '600 seconds', attempts = 3,"
        " next_attempt_at = now() + interval '1 minute' WHERE id = $1",
        late,
    )
    await db.execute(
        "UPDATE deliveries SET status = 'sending', attempts = 1,"
        " created_at = now() - interval '30 seconds' WHERE id = $1",
        sending,
    )
    # final: not in the queue, however old
    await db.execute(
        "UPDATE deliveries SET status = 'sent', created_at = now() - interval '2 days'"
        " WHERE id = $1",
        sent,
    )
    # a firing held back by a route's delay_s for another hour: waiting, but not late
    await db.execute(
        "UPDATE deliveries SET created_at = now() - interval '1 hour',"
        " next_attempt_at = now() + interval '1 hour' WHERE id = $1",
        held,
    )
    got = await scrape(db_url)
    assert got["vigil_notifications_pending"] == 4.0  # late, sending, held, fresh
    assert 600 <= got["vigil_notifications_oldest_pending_age_seconds"] < 660

    await db.execute("UPDATE deliveries SET status = 'failed' WHERE id = $1", late)
    got = await scrape(db_url)
    assert got["vigil_notifications_pending"] == 3.0
    assert 30 <= got["vigil_notifications_oldest_pending_age_seconds"] < 90
