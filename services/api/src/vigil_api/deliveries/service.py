"""Deliveries: reading the log, retrying a failed one, and waiting for one to settle.

The API never sends anything: a retry or a test only writes the row and wakes the workers'
dispatchers (pg_notify('vigil_alerts')), which claim it.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Mapping
from typing import Any

import asyncpg

from vigil_core.db import Conn, load_queries

from ..errors import Conflict, NotFound
from .schemas import Delivery

Q = load_queries(__package__)

UNSETTLED = frozenset({"pending", "sending"})
POLL_S = 0.1

_FIELDS = tuple(Delivery.__struct_fields__)


def to_delivery(row: asyncpg.Record | Mapping[str, Any]) -> Delivery:
    return Delivery(**{name: row[name] for name in _FIELDS})


async def get(conn: Conn | asyncpg.Pool, delivery_id: int) -> asyncpg.Record:
    row = await conn.fetchrow(Q["get_delivery"], delivery_id)
    if row is None:
        raise NotFound("delivery", delivery_id)
    return row


def _not_retryable(row: asyncpg.Record | Mapping[str, Any]) -> Conflict:
    ident, status = row["id"], row["status"]
    if status == "pending":
        why = (
            f"delivery {ident} is pending: it will be sent at {row['next_attempt_at'].isoformat()}"
        )
    elif status == "sending":
        why = f"delivery {ident} is being sent now (attempt {row['attempts']})"
    else:
        why = f"only a failed delivery can be retried; delivery {ident} is {status}"
    return Conflict(why, field="status")


async def retry(conn: Conn, delivery_id: int) -> asyncpg.Record:
    """A failed delivery back to pending, due now (NotFound; Conflict saying why not).

    Not a firing (or reminder) whose incident's resolve already went to the channel: sent after
    it, the firing would open the alert there again, and nothing would ever close it."""
    async with conn.transaction():
        row = await conn.fetchrow(Q["lock_delivery"], delivery_id)
        if row is None:
            raise NotFound("delivery", delivery_id)
        if row["status"] != "failed":
            raise _not_retryable(row)
        if (resolve := await conn.fetchrow(Q["resolve_gone"], delivery_id)) is not None:
            raise Conflict(
                f"delivery {delivery_id} is the {row['event_kind']} of incident"
                f" {row['incident_id']}, whose resolve (delivery {resolve['id']}, {resolve['status']})"
                " has already gone to this channel: sent now, it would reopen the alert there",
                field="status",
            )
        await conn.execute(Q["retry_delivery"], delivery_id)
        return await get(conn, delivery_id)


async def wait_settled(pool: asyncpg.Pool, delivery_id: int, wait_s: float) -> asyncpg.Record:
    """The delivery once it has left pending/sending, or as it is after `wait_s` seconds.

    Polls the row (a connection is borrowed for each look only): the outcome is written by
    whichever worker claimed it, and a poll every POLL_S is cheap next to a send."""
    deadline = time.monotonic() + wait_s
    for _ in range(int(wait_s / POLL_S) + 1):
        if time.monotonic() >= deadline:
            break
        status = await pool.fetchval(Q["delivery_status"], delivery_id)
        if status is None or status not in UNSETTLED:
            break
        await asyncio.sleep(min(POLL_S, max(0.0, deadline - time.monotonic())))
    return await get(pool, delivery_id)
