"""Login rate limits, counted in PostgreSQL so that every API replica sees the same failures:
at most USER_LIMIT failures per user name and ADDRESS_LIMIT per client address in WINDOW_S."""

from __future__ import annotations

import math
from dataclasses import dataclass

from vigil_core.db import Conn

from .credentials import Q

WINDOW_S = 900.0
USER_LIMIT = 5
ADDRESS_LIMIT = 20


@dataclass(frozen=True, slots=True)
class Blocked:
    retry_after_s: int
    reason: str


async def blocked(conn: Conn, username: str, address: str) -> Blocked | None:
    """Whether another attempt is refused now, and for how long."""
    row = await conn.fetchrow(Q["login_failures"], username, address, WINDOW_S)
    assert row is not None  # an aggregate: always one row
    now = row["now"]
    for count, oldest, limit, what in (
        (row["by_user"], row["user_oldest"], USER_LIMIT, "for this user"),
        (row["by_address"], row["address_oldest"], ADDRESS_LIMIT, "from this address"),
    ):
        if count >= limit and oldest is not None:
            wait = WINDOW_S - (now - oldest).total_seconds()
            return Blocked(max(1, math.ceil(wait)), f"too many failed logins {what}")
    return None


async def failed(conn: Conn, username: str, address: str) -> None:
    await conn.execute(Q["record_login_failure"], username[:200], address)


async def succeeded(conn: Conn, username: str) -> None:
    await conn.execute(Q["clear_login_failures"], username)
