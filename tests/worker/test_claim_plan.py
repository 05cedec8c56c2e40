"""A claim's cost follows the batch, not the fleet: under the claim pool's settings
(main.CLAIM_SETTINGS), claim_due's plan looks the claimed rows up by key and reads neither
targets nor schedule in full. Under the other pool's settings the generic plan hashed every
target for each claim (O(targets) a claim; bench/README.md has the figures)."""

from __future__ import annotations

import json
from typing import Any

from vigil_core.db import connect, load_queries
from vigil_worker.main import CLAIM_SETTINGS

from .conftest import running_worker, worker_settings

Q = load_queries("vigil_worker")
TARGETS = 10_000


def nodes(plan: dict[str, Any]) -> list[dict[str, Any]]:
    """Every node of an EXPLAIN (FORMAT JSON) plan, depth first."""
    found = [plan]
    for child in plan.get("Plans", ()):
        found += nodes(child)
    return found


async def test_a_claim_at_10k_targets_reads_only_the_claimed_rows(db_url: str) -> None:
    conn = await connect(db_url, server_settings=CLAIM_SETTINGS)
    try:
        await conn.execute(
            """INSERT INTO targets (name, kind, address, interval_s, timeout_s)
               SELECT 'plan ' || g, 'tcp', '127.0.0.1:9', 60, 5 FROM generate_series(1, $1::int) g""",
            TARGETS,
        )
        await conn.execute("UPDATE schedule SET next_check_at = now()")  # every one is due
        await conn.execute("ANALYZE targets; ANALYZE schedule")
        raw = await conn.fetchval("EXPLAIN (FORMAT JSON) " + Q["claim_due"], 1.0, 256)
    finally:
        await conn.close()
    explained = json.loads(raw) if isinstance(raw, str) else raw
    plan = nodes(explained[0]["Plan"])
    kinds = [(n["Node Type"], n.get("Relation Name")) for n in plan]
    assert not [k for k in kinds if k[0] in ("Hash Join", "Merge Join", "Seq Scan")], kinds
    assert ("Index Scan", "targets") in kinds, kinds
    assert ("Tid Scan", "schedule") in kinds, kinds  # the locked rows, updated where they lie


async def test_the_worker_claims_on_a_connection_of_its_own_with_those_settings(
    db_url: str,
) -> None:
    async with running_worker(worker_settings(db_url)) as worker:
        assert worker.claim_pool is not None and worker.pool is not None
        claim = await worker.claim_pool.fetchval(
            "SELECT array[current_setting('enable_hashjoin'), current_setting('enable_mergejoin')]"
        )
        other = await worker.pool.fetchval("SELECT current_setting('enable_hashjoin')")
    assert claim == ["off", "off"]
    assert other == "on"  # the flushes and maintenance keep the planner's every join
