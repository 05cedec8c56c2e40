"""The API's two pools: statements with optional filters are planned for their values every
time (a generic plan cannot drop the filters that are off), reads of one row by its key keep
their plan (re-planning GET /api/v1/targets/{id} cost six times its execution)."""

from __future__ import annotations

import asyncio

import aiohttp

from ..support import mint_token
from .conftest import HTTP_TARGET, LiveServer, make_app

PLANS = (
    "SELECT coalesce(sum(generic_plans), 0) AS generic, coalesce(sum(custom_plans), 0) AS custom"
    " FROM pg_prepared_statements WHERE statement LIKE $1"
)


async def _plans(pool, like: str) -> tuple[int, int]:
    """Generic and custom plans of the statements matching `like`, over every connection of
    `pool` (each session sees only its own prepared statements)."""
    conns = [await pool.acquire() for _ in range(pool.get_size())]
    try:
        rows = [await c.fetchrow(PLANS, like) for c in conns]
    finally:
        await asyncio.gather(*(pool.release(c) for c in conns))
    return sum(r["generic"] for r in rows), sum(r["custom"] for r in rows)


async def test_keyed_reads_keep_their_plans_and_filtered_reads_do_not(db_url) -> None:
    # An app of this test's own, served in this test's event loop, where its pools live.
    app = make_app(db_url)
    async with (
        LiveServer(app, await mint_token(db_url, "admin")) as live,
        aiohttp.ClientSession(live.url, headers=live.headers) as http,
    ):
        async with http.post("/api/v1/targets", json={**HTTP_TARGET, "name": "planned"}) as r:
            assert r.status == 201, await r.text()
            target = await r.json()
        for _ in range(12):
            async with http.get(f"/api/v1/targets/{target['id']}") as r:
                assert r.status == 200
            async with http.get("/api/v1/summary?kind=http") as r:
                assert r.status == 200
            app.state.summary_pages.clear()  # so that each summary reads the database
        await _check_plans(app.state.db)


async def _check_plans(db) -> None:
    keyed, main = await db.keyed_pool(), await db.pool()
    assert keyed.get_max_size() == db.max_size
    generic, custom = await _plans(keyed, "%vigil_target_window%WHERE t.id = $1%")
    # The first five executions of a statement are planned for their values; then it is kept.
    assert generic >= 12 - 5 * keyed.get_size() and custom <= 5 * keyed.get_size(), (
        generic,
        custom,
    )
    generic, custom = await _plans(main, "%ORDER BY t.name%LIMIT $6%")
    assert (generic, custom) == (0, custom) and custom >= 12, (generic, custom)
    async with keyed.acquire() as conn:
        assert await conn.fetchval("SHOW plan_cache_mode") == "auto"
    async with main.acquire() as conn:
        assert await conn.fetchval("SHOW plan_cache_mode") == "force_custom_plan"
